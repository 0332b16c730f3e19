//! A small client for driving the local server as the frontend does.

use scaliyo_domain::ids::{OwnerId, Role};
use serde_json::Value;

use crate::local_server::RunningLocal;

/// One signed-in user (or anonymous) talking to the local server.
#[derive(Clone)]
pub struct Client {
    pub base: String,
    pub token: Option<String>,
    pub user_id: Option<String>,
    /// The verified address in the token, if any (the profile must carry that one).
    pub email: Option<String>,
    pub support_session: Option<String>,
    http: reqwest::Client,
}

pub struct Reply {
    pub status: u16,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Reply {
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or_default()
    }
}

impl Client {
    pub fn anonymous(local: &RunningLocal) -> Self {
        Self {
            base: local.base_url.clone(),
            token: None,
            user_id: None,
            email: None,
            support_session: None,
            http: reqwest::Client::new(),
        }
    }

    pub fn user(local: &RunningLocal, role: Role, email: Option<&str>) -> Self {
        let user = OwnerId::new_random();
        let token = local
            .system
            .jwt
            .issue(
                user,
                role,
                email,
                chrono::Utc::now(),
                chrono::Duration::hours(1),
            )
            .expect("a local token");
        Self {
            token: Some(token),
            user_id: Some(user.to_string()),
            email: email.map(str::to_owned),
            ..Self::anonymous(local)
        }
    }

    pub fn id(&self) -> &str {
        self.user_id.as_deref().unwrap_or_default()
    }

    /// The signed-in user's id as the use cases take it.
    pub fn owner(&self) -> scaliyo_domain::ids::OwnerId {
        self.id().parse().expect("a signed-in client")
    }

    pub async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Reply {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(session) = &self.support_session {
            request = request.header("x-support-session", session);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("the local server answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap_or_default();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Reply {
            status,
            body,
            headers,
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.call(reqwest::Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Reply {
        self.call(reqwest::Method::PATCH, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.call(reqwest::Method::DELETE, path, None).await
    }

    /// Creates the caller's profile (as sign-up does).
    pub async fn sign_up(&self) -> Reply {
        let email = self
            .email
            .clone()
            .unwrap_or_else(|| format!("{}@example.com", self.id()));
        self.post(
            "/v1/profiles",
            serde_json::json!({ "id": self.id(), "email": email, "name": "Test User" }),
        )
        .await
    }
}

/// A plain HTTP client that shows redirects instead of following them — as a test sees the
/// first hop a mail client or a browser makes on a tracked or short link.
pub fn without_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client without redirects")
}

/// The `type` of each webhook event a receiver got, sorted.
pub fn event_types(requests: &[wiremock::Request]) -> Vec<String> {
    let mut types: Vec<String> = requests
        .iter()
        .filter_map(|request| {
            serde_json::from_slice::<Value>(&request.body)
                .ok()?
                .get("type")?
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    types.sort();
    types
}
