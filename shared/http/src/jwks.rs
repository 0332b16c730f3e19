//! The issuer's published signing keys (JWKS), for the routes API Gateway serves without its
//! JWT authorizer: anonymous reads of the public tables. A signed-in caller on those routes
//! (an author listing blog posts, drafts included) is still recognised — its token verified
//! here exactly as the authorizer would (signature by a published key, issuer, audience,
//! expiry) — and a bad token is still a 401, never a silent downgrade to anonymous.
//!
//! Keys are fetched at cold start; a token signed by a key not seen yet (the issuer rotated)
//! is refused and triggers one refetch, at most once a minute, so the next call succeeds.

use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};

use crate::error::ApiError;
use crate::identity::Claims;
use scaliyo_domain::ids::Caller;

/// How often an unknown key id may trigger a refetch.
const REFETCH_AFTER: Duration = Duration::from_secs(60);

pub struct IssuerKeys {
    issuer: String,
    audience: String,
    url: String,
    http: reqwest::Client,
    keys: RwLock<JwkSet>,
    last_fetch: Mutex<Instant>,
}

impl std::fmt::Debug for IssuerKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuerKeys")
            .field("issuer", &self.issuer)
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

async fn fetch(http: &reqwest::Client, url: &str) -> Result<JwkSet, String> {
    let response = http
        .get(url)
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .map_err(|e| format!("fetching the issuer's keys: {e}"))?;
    if !response.status().is_success() {
        return Err(format!("the issuer's keys answered {}", response.status()));
    }
    response
        .json::<JwkSet>()
        .await
        .map_err(|e| format!("the issuer's keys are not a JWKS: {e}"))
}

fn invalid(message: &str) -> ApiError {
    ApiError::unauthorized("invalid_token", message.to_owned())
}

impl IssuerKeys {
    /// Loads the keys at `url` (`<issuer>/.well-known/jwks.json` for Supabase and Cognito).
    pub async fn load(
        issuer: impl Into<String>,
        audience: impl Into<String>,
        url: impl Into<String>,
    ) -> Result<Arc<Self>, String> {
        let http = reqwest::Client::new();
        let url = url.into();
        let keys = fetch(&http, &url).await?;
        Ok(Arc::new(Self {
            issuer: issuer.into(),
            audience: audience.into(),
            url,
            http,
            keys: RwLock::new(keys),
            last_fetch: Mutex::new(Instant::now()),
        }))
    }

    /// Fetches the keys again in the background, unless that was done within the minute.
    fn refresh_soon(self: &Arc<Self>) {
        let Ok(mut last) = self.last_fetch.lock() else {
            return;
        };
        if last.elapsed() < REFETCH_AFTER {
            return;
        }
        *last = Instant::now();
        let this = self.clone();
        tokio::spawn(async move {
            match fetch(&this.http, &this.url).await {
                Ok(keys) => {
                    if let Ok(mut current) = this.keys.write() {
                        *current = keys;
                    }
                }
                Err(error) => tracing::warn!(%error, "refreshing the issuer's keys failed"),
            }
        });
    }

    /// The caller a bearer token names, if a published key signed it for our audience.
    pub fn verify(self: &Arc<Self>, token: &str) -> Result<Caller, ApiError> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|_| invalid("the token is malformed"))?;
        let key = {
            let keys = self
                .keys
                .read()
                .map_err(|_| invalid("the issuer's keys are unavailable"))?;
            let jwk = match &header.kid {
                Some(kid) => keys.find(kid).cloned(),
                None if keys.keys.len() == 1 => keys.keys.first().cloned(),
                None => None,
            };
            match jwk {
                Some(jwk) => DecodingKey::from_jwk(&jwk)
                    .map_err(|_| invalid("the issuer's key cannot verify tokens"))?,
                None => {
                    drop(keys);
                    self.refresh_soon();
                    return Err(invalid("the token is signed by an unknown key"));
                }
            }
        };
        // Only asymmetric algorithms: a published key must never verify an HMAC token.
        if !matches!(
            header.alg,
            Algorithm::RS256
                | Algorithm::RS384
                | Algorithm::RS512
                | Algorithm::PS256
                | Algorithm::PS384
                | Algorithm::PS512
                | Algorithm::ES256
                | Algorithm::ES384
                | Algorithm::EdDSA
        ) {
            return Err(invalid("the token's algorithm is not accepted"));
        }
        let mut validation = Validation::new(header.alg);
        validation.leeway = 5;
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        let data = jsonwebtoken::decode::<Claims>(token, &key, &validation).map_err(|e| match e
            .kind()
        {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                ApiError::unauthorized("token_expired", "the token has expired")
            }
            _ => invalid("the token is not valid for this API"),
        })?;
        crate::identity::caller_from(
            &data.claims.sub,
            data.claims.role.as_deref(),
            data.claims.email.as_deref(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use jsonwebtoken::{EncodingKey, Header};
    use p256::ecdsa::SigningKey;
    use p256::pkcs8::EncodePrivateKey;
    use serde_json::json;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    const USER: &str = "7f0c6c52-5b7e-4c1e-9d55-3f6a1c2b9e10";
    const ISSUER: &str = "https://project.supabase.example/auth/v1";

    fn key(seed: u8) -> (EncodingKey, serde_json::Value) {
        let signing = SigningKey::from_slice(&[seed; 32]).expect("a P-256 key");
        let der = signing.to_pkcs8_der().expect("PKCS#8");
        let point = signing.verifying_key().to_encoded_point(false);
        let jwk = json!({
            "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": format!("k{seed}"),
            "x": URL_SAFE_NO_PAD.encode(point.x().map(|x| x.to_vec()).unwrap_or_default()),
            "y": URL_SAFE_NO_PAD.encode(point.y().map(|y| y.to_vec()).unwrap_or_default()),
        });
        (EncodingKey::from_ec_der(der.as_bytes()), jwk)
    }

    fn token(key: &EncodingKey, kid: &str, issuer: &str, audience: &str, exp: i64) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(kid.to_owned());
        let claims = json!({ "sub": USER, "role": "authenticated", "email": "ada@example.com", "iss": issuer, "aud": audience, "exp": exp, "iat": 0 });
        jsonwebtoken::encode(&header, &claims, key).expect("a token")
    }

    #[tokio::test]
    async fn tokens_signed_by_a_published_key_for_us_are_callers_and_others_are_401() {
        let (signing, jwk) = key(7);
        let (stranger, _) = key(9);
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/auth/v1/.well-known/jwks.json"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "keys": [jwk] })))
            .mount(&server)
            .await;
        let keys = IssuerKeys::load(
            ISSUER,
            "authenticated",
            format!("{}/auth/v1/.well-known/jwks.json", server.uri()),
        )
        .await
        .expect("the keys");
        let later = chrono::Utc::now().timestamp() + 600;

        let caller = keys
            .verify(&token(&signing, "k7", ISSUER, "authenticated", later))
            .expect("a caller");
        assert_eq!(caller.user_id.to_string(), USER);
        assert_eq!(caller.email.as_deref(), Some("ada@example.com"));

        for (bad, code) in [
            (
                token(
                    &signing,
                    "k7",
                    "https://evil.example",
                    "authenticated",
                    later,
                ),
                "invalid_token",
            ),
            (
                token(&signing, "k7", ISSUER, "other-app", later),
                "invalid_token",
            ),
            (
                token(&signing, "k7", ISSUER, "authenticated", 1_000),
                "token_expired",
            ),
            (
                token(&stranger, "k7", ISSUER, "authenticated", later),
                "invalid_token",
            ),
            (
                token(&stranger, "k9", ISSUER, "authenticated", later),
                "invalid_token",
            ),
            ("not.a.token".to_owned(), "invalid_token"),
        ] {
            let error = keys.verify(&bad).expect_err("refused");
            assert_eq!(error.code, code, "{bad}");
        }
        // An HS256 token "signed" with the public key's text is never accepted.
        let forged = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &json!({ "sub": USER, "iss": ISSUER, "aud": "authenticated", "exp": later }),
            &EncodingKey::from_secret(b"k7"),
        )
        .expect("a token");
        assert!(keys.verify(&forged).is_err());
    }
}
