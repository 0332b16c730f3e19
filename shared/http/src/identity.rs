//! Who is calling. In Lambda, API Gateway's JWT authorizer has already verified the token and
//! its claims arrive in the request context; locally, the server verifies an HS256 bearer
//! token itself. Both end as the same `Caller`, so handlers cannot tell them apart.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use scaliyo_domain::ids::{Caller, OwnerId, Role};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// The claims this system reads. `role` is the profile role (`ADMIN`, `CLIENT`, `GUEST`);
/// any other value (e.g. Supabase's `authenticated`) counts as `CLIENT`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub exp: i64,
    #[serde(default)]
    pub iat: i64,
}

/// Turns verified claims into a caller; the subject must be a UUID.
pub(crate) fn caller_from(
    sub: &str,
    role: Option<&str>,
    email: Option<&str>,
) -> Result<Caller, ApiError> {
    let user_id = OwnerId::from_str(sub).map_err(|_| {
        ApiError::unauthorized("invalid_token", "the token's subject is not a user id")
    })?;
    let role = role
        .and_then(|r| Role::from_str(r).ok())
        .unwrap_or(Role::Client);
    Ok(Caller {
        user_id,
        role,
        email: email.map(str::to_owned),
    })
}

/// Verifies and issues the local server's HS256 tokens.
#[derive(Clone)]
pub struct LocalJwt {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl LocalJwt {
    pub fn new(secret: &[u8]) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
        }
    }

    pub fn issue(
        &self,
        user: OwnerId,
        role: Role,
        email: Option<&str>,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<String, ApiError> {
        let claims = Claims {
            sub: user.to_string(),
            role: Some(role.as_str().to_owned()),
            email: email.map(str::to_owned),
            iat: now.timestamp(),
            exp: (now + ttl).timestamp(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| ApiError::internal("signing a token failed", &e))
    }

    pub fn verify(&self, token: &str) -> Result<Caller, ApiError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        validation.validate_aud = false;
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation).map_err(
            |e| match e.kind() {
                ErrorKind::ExpiredSignature => {
                    ApiError::unauthorized("token_expired", "the token has expired")
                }
                ErrorKind::InvalidSignature => {
                    ApiError::unauthorized("invalid_token", "the token's signature is not valid")
                }
                _ => ApiError::unauthorized("invalid_token", "the token is malformed"),
            },
        )?;
        let claims = data.claims;
        caller_from(&claims.sub, claims.role.as_deref(), claims.email.as_deref())
    }
}

/// How this process learns who is calling.
#[derive(Clone)]
pub enum Authenticator {
    /// The local server: verify `Authorization: Bearer <HS256 JWT>` here.
    Local(LocalJwt),
    /// Behind API Gateway: the JWT authorizer verified the token; read its claims.
    ApiGateway,
    /// Behind API Gateway, where some routes (public reads) have no authorizer: the
    /// authorizer's claims when present, else a bearer token verified with the issuer's
    /// published keys, else anonymous.
    ApiGatewayOrIssuer(Arc<crate::jwks::IssuerKeys>),
}

impl Authenticator {
    pub fn authenticate(&self, parts: &Parts) -> Result<Caller, ApiError> {
        match self {
            Authenticator::Local(jwt) => jwt.verify(bearer(parts)?),
            Authenticator::ApiGatewayOrIssuer(keys) => match api_gateway_claims(parts) {
                Some(_) => Authenticator::ApiGateway.authenticate(parts),
                None => keys.verify(bearer(parts)?),
            },
            Authenticator::ApiGateway => {
                let claims = api_gateway_claims(parts).ok_or_else(|| {
                    ApiError::unauthorized(
                        "missing_token",
                        "the request carries no verified identity",
                    )
                })?;
                let sub = claims.get("sub").ok_or_else(|| {
                    ApiError::unauthorized("invalid_token", "the token has no subject")
                })?;
                caller_from(
                    sub,
                    claims.get("role").map(String::as_str),
                    claims.get("email").map(String::as_str),
                )
            }
        }
    }
}

/// The bearer token of the request (`missing_token` without an Authorization header).
fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let header = parts.headers.get(AUTHORIZATION).ok_or_else(|| {
        ApiError::unauthorized(
            "missing_token",
            "an Authorization: Bearer token is required",
        )
    })?;
    let text = header.to_str().map_err(|_| {
        ApiError::unauthorized("invalid_token", "the Authorization header is not text")
    })?;
    text.strip_prefix("Bearer ")
        .or_else(|| text.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::unauthorized(
                "invalid_token",
                "the Authorization header is not a Bearer token",
            )
        })
}

/// The JWT authorizer's claims from an API Gateway v2 request context, if present.
fn api_gateway_claims(parts: &Parts) -> Option<HashMap<String, String>> {
    match parts
        .extensions
        .get::<lambda_http::request::RequestContext>()?
    {
        lambda_http::request::RequestContext::ApiGatewayV2(context) => context
            .authorizer
            .as_ref()?
            .jwt
            .as_ref()
            .map(|jwt| jwt.claims.clone()),
        // Only the HTTP API (v2) payload is enabled; anything else carries no JWT claims.
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

/// Extractor for handlers that need a signed-in caller; answers 401 otherwise. The router
/// must carry an `Extension(Arc<Authenticator>)` layer.
#[derive(Debug, Clone)]
pub struct Authenticated(pub Caller);

impl<S: Send + Sync> FromRequestParts<S> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let authenticator = parts
            .extensions
            .get::<Arc<Authenticator>>()
            .cloned()
            .ok_or_else(|| {
                ApiError::internal("routing", &"no authenticator is configured on this router")
            })?;
        authenticator.authenticate(parts).map(Authenticated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(authorization: Option<&str>) -> Parts {
        let mut request = axum::http::Request::builder().uri("/v1/leads");
        if let Some(value) = authorization {
            request = request.header(AUTHORIZATION, value);
        }
        request.body(()).unwrap().into_parts().0
    }

    const USER: &str = "7f0c6c52-5b7e-4c1e-9d55-3f6a1c2b9e10";

    #[test]
    fn a_token_issued_locally_verifies_to_the_same_caller() {
        let jwt = LocalJwt::new(b"local-secret");
        let user = OwnerId::from_str(USER).unwrap();
        let token = jwt
            .issue(
                user,
                Role::Admin,
                Some("a@b.c"),
                Utc::now(),
                Duration::hours(1),
            )
            .unwrap();
        let caller = Authenticator::Local(jwt)
            .authenticate(&parts(Some(&format!("Bearer {token}"))))
            .unwrap();
        assert_eq!(
            caller,
            Caller {
                user_id: user,
                role: Role::Admin,
                email: Some("a@b.c".into())
            }
        );
    }

    #[test]
    fn missing_expired_badly_signed_and_malformed_tokens_are_401s_with_codes() {
        let jwt = LocalJwt::new(b"local-secret");
        let user = OwnerId::from_str(USER).unwrap();
        let expired = jwt
            .issue(
                user,
                Role::Client,
                None,
                Utc::now() - Duration::hours(3),
                Duration::hours(1),
            )
            .unwrap();
        let foreign = LocalJwt::new(b"another-secret")
            .issue(user, Role::Client, None, Utc::now(), Duration::hours(1))
            .unwrap();
        let auth = Authenticator::Local(jwt);
        let cases = [
            (None, "missing_token"),
            (Some(format!("Bearer {expired}")), "token_expired"),
            (Some(format!("Bearer {foreign}")), "invalid_token"),
            (Some("Bearer not.a.jwt".to_owned()), "invalid_token"),
            (Some("Basic dXNlcjpwYXNz".to_owned()), "invalid_token"),
            (Some("Bearer ".to_owned()), "invalid_token"),
        ];
        for (header, code) in cases {
            let error = auth.authenticate(&parts(header.as_deref())).unwrap_err();
            assert_eq!(
                error.status,
                axum::http::StatusCode::UNAUTHORIZED,
                "{header:?}"
            );
            assert_eq!(error.code, code, "{header:?}");
        }
    }

    #[test]
    fn a_subject_that_is_not_a_uuid_is_refused() {
        let error = caller_from("user-1", None, None).unwrap_err();
        assert_eq!(error.code, "invalid_token");
    }

    #[test]
    fn foreign_role_claims_count_as_client() {
        let caller = caller_from(USER, Some("authenticated"), None).unwrap();
        assert_eq!(caller.role, Role::Client);
    }
}

#[cfg(test)]
mod token_properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever a client puts in the header, verification answers 401 or a caller, never
        /// a panic: three dot-separated parts of base64 or garbage, huge or empty.
        #[test]
        fn any_bearer_token_is_refused_or_accepted_without_panicking(
            parts in proptest::collection::vec("[A-Za-z0-9_=+/.-]{0,80}|.{0,40}", 0..5),
        ) {
            let jwt = LocalJwt::new(b"secret");
            let token = parts.join(".");
            let verdict = jwt.verify(&token);
            prop_assert!(verdict.is_err());
            let header = format!("Bearer {token}");
            let request = axum::http::Request::builder()
                .uri("/v1/leads")
                .header(AUTHORIZATION, header.as_str())
                .body(())
                .map(|r| r.into_parts().0);
            if let Ok(parts) = request {
                prop_assert!(Authenticator::Local(jwt).authenticate(&parts).is_err());
            }
        }
    }
}

#[cfg(test)]
mod api_gateway_tests {
    use super::*;

    #[test]
    fn claims_of_an_api_gateway_v2_jwt_authorizer_become_the_caller() {
        let event = include_str!("../../../events/apigw-http-list-leads.json");
        let request = lambda_http::request::from_str(event).expect("a valid API Gateway v2 event");
        let (parts, _) = request.into_parts();
        let caller = Authenticator::ApiGateway.authenticate(&parts).unwrap();
        assert_eq!(
            caller.user_id.to_string(),
            "7f0c6c52-5b7e-4c1e-9d55-3f6a1c2b9e10"
        );
        assert_eq!(caller.role, Role::Client);
        assert_eq!(caller.email.as_deref(), Some("ada@example.com"));
    }

    #[test]
    fn a_request_without_authorizer_claims_is_401() {
        let event = include_str!("../../../events/apigw-http-list-leads.json")
            .replace("\"authorizer\"", "\"unused\"");
        let request = lambda_http::request::from_str(&event).expect("a valid API Gateway v2 event");
        let (parts, _) = request.into_parts();
        let error = Authenticator::ApiGateway.authenticate(&parts).unwrap_err();
        assert_eq!(error.code, "missing_token");
    }
}
