//! Connections through OAuth over the local system, as the frontend and the browser drive
//! them: the start hands out the provider's authorize URL, the "provider" (a local fake of
//! each token endpoint and API, asserting the exact request the real one requires) sends
//! the browser back to the callback, and the connection lands as a sender account (Google)
//! or as choices to connect (Meta Pages and Instagram accounts, the LinkedIn member and
//! organisations). Forged, reused and expired states are refused; renewals run in the
//! social tick.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use scaliyo_domain::ids::Role;
use scaliyo_domain::oauth::{Provider, pkce_challenge};
use scaliyo_mail::google_connect::{GoogleConnect, GoogleEndpoints};
use scaliyo_social::{LinkedInOAuth, MetaOAuth, SocialConfig};
use scaliyo_store::oauth::callback_url;
use scaliyo_store::{Clock, ManualClock, OAuthClient, OAuthProvider, OAuthProviders};
use scaliyo_tests::http_client::Client;
use scaliyo_tests::local_server::RunningLocal;
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const APP_URL: &str = "http://localhost:5173";

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn pairs_of(text: &str) -> BTreeMap<String, String> {
    form_urlencoded::parse(text.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn form(request: &Request) -> BTreeMap<String, String> {
    pairs_of(&String::from_utf8_lossy(&request.body))
}

fn query(request: &Request) -> BTreeMap<String, String> {
    pairs_of(request.url.query().unwrap_or_default())
}

fn expected(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

struct World {
    local: RunningLocal,
    clock: Arc<ManualClock>,
    /// One fake for every provider host (paths differ).
    fake: MockServer,
    ada: Client,
    /// The browser: follows no redirect, so the callback's answer can be read.
    browser: reqwest::Client,
}

fn client(provider: Provider, base: &str) -> OAuthClient {
    OAuthClient {
        client_id: format!("{provider}-client-id"),
        client_secret: format!("{provider}-client-secret"),
        redirect_uri: callback_url(base, provider),
    }
}

async fn world() -> World {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let fake = MockServer::start().await;
    let social = SocialConfig {
        meta_base_url: fake.uri(),
        linkedin_base_url: fake.uri(),
        meta_version: "v25.0".into(),
        linkedin_version: "202605".into(),
        container_wait: StdDuration::from_secs(5),
        container_poll: StdDuration::from_millis(20),
        timeout: StdDuration::from_secs(5),
    };
    let fake_uri = fake.uri();
    let local = RunningLocal::start_configured(clock.clone(), |config| {
        let base = config.public_base.clone();
        let http = reqwest::Client::new();
        let endpoints = GoogleEndpoints {
            authorize_url: format!("{fake_uri}/o/oauth2/v2/auth"),
            token_url: format!("{fake_uri}/google/token"),
            userinfo_url: format!("{fake_uri}/v1/userinfo"),
        };
        config.oauth = Some(OAuthProviders {
            google: Some(Arc::new(GoogleConnect::new(
                client(Provider::Google, &base),
                endpoints,
                http.clone(),
            )) as Arc<dyn OAuthProvider>),
            meta: Some(Arc::new(
                MetaOAuth::new(client(Provider::Meta, &base), &social, http.clone())
                    .with_dialog_base(&fake_uri, "v25.0"),
            )),
            linkedin: Some(Arc::new(
                LinkedInOAuth::new(client(Provider::Linkedin, &base), &social, http)
                    .with_oauth_base(&format!("{fake_uri}/oauth/v2")),
            )),
        });
        config.social = Some(social);
        config.app_url = APP_URL.into();
    })
    .await;
    let ada = Client::user(&local, Role::Client, Some("ada@scaliyo.example"));
    assert_eq!(ada.sign_up().await.status, 201);
    World {
        local,
        clock,
        fake,
        ada,
        browser: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
    }
}

/// What the callback told the browser: the frontend URL's query.
struct Landing {
    query: BTreeMap<String, String>,
}

impl Landing {
    fn get(&self, key: &str) -> &str {
        self.query.get(key).map(String::as_str).unwrap_or_default()
    }
}

impl World {
    /// `GET /v1/oauth/{provider}/start`: the authorize URL's query.
    async fn start(&self, provider: &str) -> BTreeMap<String, String> {
        let started = self.ada.get(&format!("/v1/oauth/{provider}/start")).await;
        assert_eq!(started.status, 200, "{}", started.body);
        let url = started.body["authorize_url"].as_str().unwrap();
        let url = reqwest::Url::parse(url).unwrap();
        pairs_of(url.query().unwrap_or_default())
    }

    /// The provider sending the browser back.
    async fn callback(&self, provider: &str, query: &[(&str, &str)]) -> Landing {
        let url = reqwest::Url::parse_with_params(
            &self.local.url(&format!("/oauth/{provider}/callback")),
            query,
        )
        .unwrap();
        let answer = self.browser.get(url).send().await.unwrap();
        assert_eq!(answer.status(), 303);
        let location = answer.headers()["location"].to_str().unwrap().to_owned();
        let prefix = format!("{APP_URL}/settings/connections?");
        assert!(location.starts_with(&prefix), "{location}");
        Landing {
            query: pairs_of(&location[prefix.len()..]),
        }
    }
}

fn callback_of(base: &str, provider: &str) -> String {
    format!("{base}/oauth/{provider}/callback")
}

#[tokio::test]
async fn a_gmail_mailbox_is_connected_with_pkce_and_a_state_works_once() {
    let w = world().await;
    let authorize = w.start("google").await;
    let redirect_uri = callback_of(&w.local.base_url, "google");
    assert_eq!(authorize["client_id"], "google-client-id");
    assert_eq!(authorize["redirect_uri"], redirect_uri);
    assert_eq!(authorize["response_type"], "code");
    assert_eq!(authorize["access_type"], "offline");
    assert_eq!(authorize["prompt"], "consent");
    assert_eq!(authorize["code_challenge_method"], "S256");
    assert!(authorize["scope"].contains("https://www.googleapis.com/auth/gmail.send"));
    assert!(authorize["scope"].contains("https://www.googleapis.com/auth/gmail.readonly"));
    let state = authorize["state"].clone();
    let challenge = authorize["code_challenge"].clone();

    // Google's token endpoint: the exact form of an authorization-code exchange, with the
    // verifier whose S256 hash is the challenge of the authorize URL.
    let token_form = Arc::new(std::sync::Mutex::new(BTreeMap::new()));
    let seen = token_form.clone();
    Mock::given(method("POST"))
        .and(path("/google/token"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .respond_with(move |request: &Request| {
            *seen.lock().unwrap() = form(request);
            ResponseTemplate::new(200).set_body_json(json!({
                "access_token": "ya29.google-access",
                "expires_in": 3599,
                "refresh_token": "1//google-refresh",
                "scope": "openid https://www.googleapis.com/auth/gmail.send",
                "token_type": "Bearer",
            }))
        })
        // The connection, then the reconnect below.
        .expect(2)
        .mount(&w.fake)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/userinfo"))
        .and(header("authorization", "Bearer ya29.google-access"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "sub": "1234", "email": "Ada@Gmail.example", "email_verified": true, "name": "Ada L",
        })))
        .mount(&w.fake)
        .await;

    let landing = w
        .callback("google", &[("code", "4/google-code"), ("state", &state)])
        .await;
    assert_eq!(landing.get("status"), "connected", "{:?}", landing.query);
    let sent = token_form.lock().unwrap().clone();
    let verifier = sent["code_verifier"].clone();
    assert_eq!(pkce_challenge(&verifier), challenge);
    assert_eq!(
        sent,
        expected(&[
            ("code", "4/google-code"),
            ("client_id", "google-client-id"),
            ("client_secret", "google-client-secret"),
            ("redirect_uri", &redirect_uri),
            ("grant_type", "authorization_code"),
            ("code_verifier", &verifier),
        ])
    );
    let senders = w.ada.get("/v1/sender_accounts").await;
    let sender = &senders.body["data"][0];
    assert_eq!(sender["id"], landing.get("account_id"));
    assert_eq!(sender["provider"], "gmail");
    assert_eq!(sender["from_email"], "Ada@Gmail.example");
    assert_eq!(sender["status"], "connected");
    let secrets = w
        .ada
        .get("/v1/sender_account_secrets")
        .await
        .body
        .to_string();
    assert!(
        !secrets.contains("ya29") && !secrets.contains("1//google"),
        "{secrets}"
    );

    // The same state again (a replayed or double-submitted callback): refused.
    let again = w
        .callback("google", &[("code", "4/google-code"), ("state", &state)])
        .await;
    assert_eq!(again.get("status"), "error");
    assert_eq!(again.get("error"), "state_used");

    // A reconnect (e.g. after needs_reauth) updates the same sender.
    let second = w.start("google").await;
    let reconnect = w
        .callback(
            "google",
            &[("code", "4/other"), ("state", &second["state"])],
        )
        .await;
    assert_eq!(reconnect.get("account_id"), landing.get("account_id"));
    assert_eq!(
        w.ada.get("/v1/sender_accounts").await.body["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn forged_misdirected_expired_and_declined_callbacks_connect_nothing() {
    let w = world().await;
    // No token endpoint may be called by any of these.
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&w.fake)
        .await;
    let forged = w
        .callback(
            "google",
            &[("code", "c"), ("state", "v1.local.AAAA.BBBB.CCCC")],
        )
        .await;
    assert_eq!(forged.get("error"), "state_invalid");
    let missing = w.callback("meta", &[("code", "c")]).await;
    assert_eq!(missing.get("error"), "state_invalid");

    // A state of Meta's brought to LinkedIn's callback.
    let meta = w.start("meta").await;
    let crossed = w
        .callback("linkedin", &[("code", "c"), ("state", &meta["state"])])
        .await;
    assert_eq!(crossed.get("error"), "state_invalid");

    // Ten minutes later the state is no good.
    let late = w.start("linkedin").await;
    w.clock.set(w.clock.now() + Duration::minutes(10));
    let expired = w
        .callback("linkedin", &[("code", "c"), ("state", &late["state"])])
        .await;
    assert_eq!(expired.get("error"), "state_expired");

    // The user said no at the provider.
    let declined_state = w.start("linkedin").await;
    let declined = w
        .callback(
            "linkedin",
            &[
                ("error", "user_cancelled_authorize"),
                ("error_description", "The user cancelled the authorization"),
                ("state", &declined_state["state"]),
            ],
        )
        .await;
    assert_eq!(declined.get("error"), "provider_refused");

    // Without sign-in, no start; an unknown provider is a 404.
    let anonymous = Client::anonymous(&w.local);
    assert_eq!(anonymous.get("/v1/oauth/google/start").await.status, 401);
    let unknown = w.ada.get("/v1/oauth/myspace/start").await;
    assert_eq!((unknown.status, unknown.code()), (404, "unknown_provider"));
    assert_eq!(
        w.ada.get("/v1/social_accounts").await.body["data"],
        json!([])
    );
}

/// Meta's exchange: the code for a short-lived token, at once for a long-lived one.
async fn mount_meta(fake: &MockServer, redirect_uri: &str) {
    let redirect_uri = redirect_uri.to_owned();
    Mock::given(method("GET"))
        .and(path("/v25.0/oauth/access_token"))
        .respond_with(move |request: &Request| {
            let q = query(request);
            if q == expected(&[
                ("client_id", "meta-client-id"),
                ("redirect_uri", &redirect_uri),
                ("client_secret", "meta-client-secret"),
                ("code", "meta-code"),
            ]) {
                ResponseTemplate::new(200).set_body_json(
                    json!({ "access_token": "EAA-short", "token_type": "bearer", "expires_in": 5183 }),
                )
            } else if q
                == expected(&[
                    ("grant_type", "fb_exchange_token"),
                    ("client_id", "meta-client-id"),
                    ("client_secret", "meta-client-secret"),
                    ("fb_exchange_token", "EAA-short"),
                ])
            {
                ResponseTemplate::new(200).set_body_json(
                    json!({ "access_token": "EAA-long", "token_type": "bearer", "expires_in": 5_184_000 }),
                )
            } else if q
                == expected(&[
                    ("grant_type", "fb_exchange_token"),
                    ("client_id", "meta-client-id"),
                    ("client_secret", "meta-client-secret"),
                    ("fb_exchange_token", "EAA-long"),
                ])
            {
                // The renewal: the long-lived token exchanged again.
                ResponseTemplate::new(200).set_body_json(
                    json!({ "access_token": "EAA-renewed", "token_type": "bearer", "expires_in": 5_184_000 }),
                )
            } else {
                ResponseTemplate::new(400).set_body_json(json!({
                    "error": { "message": format!("unexpected parameters {q:?}"), "type": "OAuthException", "code": 100 }
                }))
            }
        })
        .mount(fake)
        .await;
    for (user_token, page_token) in [
        ("EAA-long", "EAAPage-1050"),
        ("EAA-renewed", "EAAPage-1050-b"),
    ] {
        Mock::given(method("GET"))
        .and(path("/v25.0/me/accounts"))
        .and(header("authorization", format!("Bearer {user_token}").as_str()))
        .and(query_param(
            "fields",
            "id,name,access_token,instagram_business_account{id,username}",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [
                { "id": "1050", "name": "Scaliyo", "access_token": page_token,
                  "instagram_business_account": { "id": "17841400000000001", "username": "scaliyo" } },
                { "id": "2060", "name": "Side project", "access_token": "EAAPage-2060" },
            ],
            "paging": { "cursors": { "before": "a", "after": "b" } }
        })))
        .mount(fake)
        .await;
    }
}

#[tokio::test]
async fn meta_pages_and_their_instagram_accounts_are_offered_then_connected() {
    let w = world().await;
    let redirect_uri = callback_of(&w.local.base_url, "meta");
    mount_meta(&w.fake, &redirect_uri).await;
    let authorize = w.start("meta").await;
    assert_eq!(authorize["client_id"], "meta-client-id");
    assert_eq!(authorize["redirect_uri"], redirect_uri);
    assert!(authorize["scope"].contains("pages_manage_posts"));
    assert!(authorize["scope"].contains("instagram_content_publish"));
    assert!(!authorize.contains_key("code_challenge"));

    let landing = w
        .callback(
            "meta",
            &[("code", "meta-code"), ("state", &authorize["state"])],
        )
        .await;
    assert_eq!(landing.get("status"), "choose", "{:?}", landing.query);
    let pending_id = landing.get("pending_id").to_owned();
    let pending = w.ada.get(&format!("/v1/oauth/pending/{pending_id}")).await;
    assert_eq!(pending.status, 200, "{}", pending.body);
    assert!(
        !pending.body.to_string().contains("EAA"),
        "{}",
        pending.body
    );
    assert_eq!(pending.body["provider"], "meta");
    assert_eq!(pending.body["choices"][0]["id"], "1050");
    assert_eq!(pending.body["choices"][0]["kind"], "facebook_page");
    assert_eq!(
        pending.body["choices"][0]["instagram"]["username"],
        "scaliyo"
    );
    assert_eq!(pending.body["choices"][1]["instagram"], Value::Null);

    // Another user knows the id: not theirs.
    let eve = Client::user(&w.local, Role::Client, Some("eve@evil.example"));
    assert_eq!(eve.sign_up().await.status, 201);
    assert_eq!(
        eve.get(&format!("/v1/oauth/pending/{pending_id}"))
            .await
            .status,
        404
    );
    let stolen = eve
        .post(
            &format!("/v1/oauth/pending/{pending_id}/connect"),
            json!({ "choices": ["1050"] }),
        )
        .await;
    assert_eq!(stolen.status, 404);

    // A choice the grant did not offer, or none: refused, nothing connected.
    let wrong = w
        .ada
        .post(
            &format!("/v1/oauth/pending/{pending_id}/connect"),
            json!({ "choices": ["9999"] }),
        )
        .await;
    assert_eq!((wrong.status, wrong.code()), (400, "invalid"));
    let connected = w
        .ada
        .post(
            &format!("/v1/oauth/pending/{pending_id}/connect"),
            json!({ "choices": ["1050"] }),
        )
        .await;
    assert_eq!(connected.status, 201, "{}", connected.body);
    assert!(!connected.body.to_string().contains("EAA"));
    let account = &connected.body["data"][0];
    assert_eq!(account["meta_page_id"], "1050");
    assert_eq!(account["meta_ig_user_id"], "17841400000000001");
    // The Page token lives on the long-lived user token: about 60 days.
    let expires = at(account["token_expires_at"].as_str().unwrap());
    assert!(expires > w.clock.now() + Duration::days(59));
    // A pending connection is used once.
    let again = w
        .ada
        .post(
            &format!("/v1/oauth/pending/{pending_id}/connect"),
            json!({ "choices": ["2060"] }),
        )
        .await;
    assert_eq!(again.status, 404);
    assert_eq!(
        w.ada.get("/v1/social_accounts").await.body["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert!(eve.get("/v1/social_accounts").await.body["data"] == json!([]));

    // A week before the 60 days the tick renews: the user token exchanged again, the Page's
    // token read anew with it.
    w.clock.set(w.clock.now() + Duration::days(54));
    w.local.system.social.tick().await.unwrap();
    let health = w.ada.get("/v1/social/accounts/health").await;
    let account = &health.body["data"][0];
    assert_eq!(account["needs_reconnect"], false, "{account}");
    assert!(at(account["token_expires_at"].as_str().unwrap()) > expires + Duration::days(50));
}

/// LinkedIn's token endpoint: an authorization-code exchange, then refreshes (first
/// accepted, later refused as a revoked grant would be).
async fn mount_linkedin(
    fake: &MockServer,
    redirect_uri: &str,
    refreshes: Arc<std::sync::Mutex<Vec<BTreeMap<String, String>>>>,
) {
    let redirect_uri = redirect_uri.to_owned();
    Mock::given(method("POST"))
        .and(path("/oauth/v2/accessToken"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .respond_with(move |request: &Request| {
            let sent = form(request);
            if sent
                == expected(&[
                    ("grant_type", "authorization_code"),
                    ("code", "li-code"),
                    ("redirect_uri", &redirect_uri),
                    ("client_id", "linkedin-client-id"),
                    ("client_secret", "linkedin-client-secret"),
                ])
            {
                return ResponseTemplate::new(200).set_body_json(json!({
                    "access_token": "AQV-first", "expires_in": 5_184_000,
                    "refresh_token": "AQX-refresh", "refresh_token_expires_in": 31_536_000,
                    "scope": "openid,profile,w_member_social,r_organization_admin,w_organization_social",
                }));
            }
            if sent.get("grant_type").map(String::as_str) == Some("refresh_token") {
                let mut all = refreshes.lock().unwrap();
                all.push(sent);
                // The first tick renews both accounts; a later one is refused.
                return if all.len() <= 2 {
                    ResponseTemplate::new(200).set_body_json(json!({
                        "access_token": "AQV-renewed", "expires_in": 5_184_000,
                        "refresh_token": "AQX-refresh", "refresh_token_expires_in": 30_000_000,
                    }))
                } else {
                    ResponseTemplate::new(400).set_body_json(json!({
                        "error": "invalid_grant",
                        "error_description": "The provided authorization grant or refresh token is invalid, expired or revoked",
                    }))
                };
            }
            ResponseTemplate::new(400).set_body_json(json!({
                "error": "invalid_request", "error_description": format!("unexpected form {sent:?}"),
            }))
        })
        .mount(fake)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/userinfo"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({ "sub": "ada-8675309", "name": "Ada Lovelace", "email_verified": true }),
        ))
        .mount(fake)
        .await;
    Mock::given(method("GET"))
        .and(path("/rest/organizationAcls"))
        .and(query_param("q", "roleAssignee"))
        .and(query_param("role", "ADMINISTRATOR"))
        .and(query_param("state", "APPROVED"))
        .and(header("linkedin-version", "202605"))
        .and(header("x-restli-protocol-version", "2.0.0"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "elements": [
                { "organization": "urn:li:organization:77", "role": "ADMINISTRATOR", "state": "APPROVED",
                  "roleAssignee": "urn:li:person:ada-8675309" }
            ],
            "paging": { "count": 50, "start": 0 }
        })))
        .mount(fake)
        .await;
    Mock::given(method("GET"))
        .and(path("/rest/organizations/77"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "id": 77, "localizedName": "Scaliyo Inc" })),
        )
        .mount(fake)
        .await;
}

#[tokio::test]
async fn linkedin_member_and_organisations_connect_and_are_renewed_before_expiry() {
    let w = world().await;
    let redirect_uri = callback_of(&w.local.base_url, "linkedin");
    let refreshes = Arc::new(std::sync::Mutex::new(Vec::new()));
    mount_linkedin(&w.fake, &redirect_uri, refreshes.clone()).await;
    let authorize = w.start("linkedin").await;
    assert_eq!(
        authorize["scope"],
        "openid profile w_member_social r_organization_admin w_organization_social"
    );
    let landing = w
        .callback(
            "linkedin",
            &[("code", "li-code"), ("state", &authorize["state"])],
        )
        .await;
    assert_eq!(landing.get("status"), "choose", "{:?}", landing.query);
    let pending_id = landing.get("pending_id").to_owned();
    let pending = w.ada.get(&format!("/v1/oauth/pending/{pending_id}")).await;
    let kinds: Vec<(&str, &str)> = pending.body["choices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["kind"].as_str().unwrap(), c["id"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("linkedin_member", "urn:li:person:ada-8675309"),
            ("linkedin_organization", "urn:li:organization:77"),
        ]
    );
    assert_eq!(pending.body["choices"][1]["name"], "Scaliyo Inc");
    let connected = w
        .ada
        .post(
            &format!("/v1/oauth/pending/{pending_id}/connect"),
            json!({ "choices": ["urn:li:organization:77", "urn:li:person:ada-8675309"] }),
        )
        .await;
    assert_eq!(connected.status, 201, "{}", connected.body);
    assert_eq!(connected.body["data"].as_array().unwrap().len(), 2);
    let first_expiry = at(connected.body["data"][0]["token_expires_at"]
        .as_str()
        .unwrap());

    // 54 days on, a week before the 60 days: the tick renews both with the refresh token.
    w.clock.set(w.clock.now() + Duration::days(54));
    w.local.system.social.tick().await.unwrap();
    let sent = refreshes.lock().unwrap().clone();
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(
        sent[0],
        expected(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", "AQX-refresh"),
            ("client_id", "linkedin-client-id"),
            ("client_secret", "linkedin-client-secret"),
        ])
    );
    let health = w.ada.get("/v1/social/accounts/health").await;
    for account in health.body["data"].as_array().unwrap() {
        let expires = at(account["token_expires_at"].as_str().unwrap());
        assert!(expires > first_expiry + Duration::days(50), "{account}");
        assert_eq!(account["needs_reconnect"], false, "{account}");
    }

    // The next renewal is refused (the member revoked the app): marked for reconnection.
    w.clock.set(w.clock.now() + Duration::days(54));
    w.local.system.social.tick().await.unwrap();
    let health = w.ada.get("/v1/social/accounts/health").await;
    let marked = health.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["needs_reconnect"] == true)
        .count();
    assert!(marked >= 1, "{}", health.body);
}
