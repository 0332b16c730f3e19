//! A local Stripe for the billing tests: the four endpoints the adapter calls, checking what
//! Stripe itself requires (a test-mode secret key as a bearer token, the pinned
//! `Stripe-Version`, form bodies with bracket keys) and answering in Stripe's shapes, errors
//! included. The test drives the customer's side (completing a checkout, changing a
//! subscription) and gets the signed webhook events Stripe would send.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

mod connect;
pub use connect::ConnectFailure;

pub const SECRET_KEY: &str = "sk_test_scaliyo_fake";
pub const WEBHOOK_SECRET: &str = "whsec_scaliyo_fake";

/// One subscription as the fake keeps it.
#[derive(Debug, Clone)]
pub struct FakeSubscription {
    pub id: String,
    pub customer: String,
    pub status: String,
    pub lookup_key: String,
    pub user_id: String,
    pub current_period_end: i64,
    pub cancel_at: Option<i64>,
}

#[derive(Default)]
pub(crate) struct Books {
    sessions: BTreeMap<String, Value>,
    subscriptions: BTreeMap<String, FakeSubscription>,
    pub(crate) connect: connect::ConnectBooks,
    /// Every request the adapter made: (method and path, form or query parameters).
    pub(crate) requests: Vec<(String, Vec<(String, String)>)>,
    pub(crate) counter: u64,
}

pub struct StripeFake {
    pub base_url: String,
    pub api_version: String,
    books: Arc<Mutex<Books>>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for StripeFake {
    fn drop(&mut self) {
        self.server.abort();
    }
}

#[derive(Clone)]
pub(crate) struct FakeState {
    pub(crate) books: Arc<Mutex<Books>>,
    api_version: String,
}

pub(crate) fn stripe_error(
    status: StatusCode,
    kind: &str,
    code: &str,
    message: &str,
    param: Option<&str>,
) -> Response {
    let mut error = json!({ "type": kind, "code": code, "message": message });
    if let Some(param) = param {
        error["param"] = json!(param);
    }
    (status, axum::Json(json!({ "error": error }))).into_response()
}

/// What every Stripe request must carry; `Err` is the answer Stripe would give.
pub(crate) fn check_headers(
    state: &FakeState,
    headers: &HeaderMap,
    form: bool,
) -> Result<(), Box<Response>> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    };
    let refusal = match header("authorization").strip_prefix("Bearer ") {
        None => Some((
            StatusCode::UNAUTHORIZED,
            "api_key_missing",
            "You did not provide an API key.",
        )),
        Some(key) if key.starts_with("sk_live_") => Some((
            StatusCode::UNAUTHORIZED,
            "api_key_invalid",
            "Live keys are not accepted by the fake.",
        )),
        Some(key) if key != SECRET_KEY => Some((
            StatusCode::UNAUTHORIZED,
            "api_key_invalid",
            "Invalid API Key provided.",
        )),
        Some(_) if header("stripe-version") != state.api_version => Some((
            StatusCode::BAD_REQUEST,
            "invalid_stripe_version",
            "The Stripe-Version header is not the pinned version.",
        )),
        Some(_) if form && header("content-type") != "application/x-www-form-urlencoded" => Some((
            StatusCode::BAD_REQUEST,
            "parameter_invalid",
            "Bodies must be form-encoded.",
        )),
        Some(_) => None,
    };
    match refusal {
        Some((status, code, message)) => Err(Box::new(stripe_error(
            status,
            "invalid_request_error",
            code,
            message,
            None,
        ))),
        None => Ok(()),
    }
}

pub(crate) fn pairs(text: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(text).into_owned().collect()
}

pub(crate) fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

const PRICES: [(&str, &str); 2] = [
    ("scaliyo_growth", "price_growth"),
    ("scaliyo_scale", "price_scale"),
];

async fn prices(
    State(state): State<FakeState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    if let Err(refused) = check_headers(&state, &headers, false) {
        return *refused;
    }
    let query = pairs(query.unwrap_or_default().as_bytes());
    state
        .books
        .lock()
        .unwrap()
        .requests
        .push(("GET /v1/prices".into(), query.clone()));
    let data: Vec<Value> = PRICES
        .iter()
        .filter(|(key, _)| param(&query, "lookup_keys[]") == Some(key))
        .map(|(key, id)| json!({ "id": id, "object": "price", "lookup_key": key, "active": true }))
        .collect();
    axum::Json(json!({ "object": "list", "data": data, "has_more": false })).into_response()
}

async fn create_session(
    State(state): State<FakeState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(refused) = check_headers(&state, &headers, true) {
        return *refused;
    }
    let form = pairs(&body);
    let mut books = state.books.lock().unwrap();
    books
        .requests
        .push(("POST /v1/checkout/sessions".into(), form.clone()));
    for required in ["mode", "line_items[0][price]", "success_url", "cancel_url"] {
        if param(&form, required).is_none() {
            return stripe_error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                "parameter_missing",
                &format!("Missing required param: {required}."),
                Some(required),
            );
        }
    }
    let Some((lookup_key, _)) = PRICES
        .iter()
        .find(|(_, id)| param(&form, "line_items[0][price]") == Some(id))
    else {
        return stripe_error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "resource_missing",
            "No such price",
            Some("line_items[0][price]"),
        );
    };
    books.counter += 1;
    let id = format!("cs_test_{}", books.counter);
    let session = json!({
        "id": id,
        "object": "checkout.session",
        "mode": param(&form, "mode"),
        "url": format!("https://checkout.stripe.test/c/pay/{id}"),
        "status": "open",
        "client_reference_id": param(&form, "client_reference_id"),
        "customer": param(&form, "customer"),
        "customer_email": param(&form, "customer_email"),
        "subscription": null,
        "metadata": { "user_id": param(&form, "metadata[user_id]") },
        "subscription_user_id": param(&form, "subscription_data[metadata][user_id]"),
        "lookup_key": lookup_key,
    });
    books.sessions.insert(id, session.clone());
    axum::Json(session).into_response()
}

async fn get_session(
    State(state): State<FakeState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(refused) = check_headers(&state, &headers, false) {
        return *refused;
    }
    match state.books.lock().unwrap().sessions.get(&id) {
        Some(session) => axum::Json(session.clone()).into_response(),
        None => stripe_error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            "resource_missing",
            &format!("No such checkout.session: '{id}'"),
            Some("session"),
        ),
    }
}

async fn portal(State(state): State<FakeState>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(refused) = check_headers(&state, &headers, true) {
        return *refused;
    }
    let form = pairs(&body);
    let mut books = state.books.lock().unwrap();
    books
        .requests
        .push(("POST /v1/billing_portal/sessions".into(), form.clone()));
    let customer = param(&form, "customer").unwrap_or_default().to_owned();
    if !books.subscriptions.values().any(|s| s.customer == customer) {
        return stripe_error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            "resource_missing",
            &format!("No such customer: '{customer}'"),
            Some("customer"),
        );
    }
    axum::Json(json!({ "id": "bps_test_1", "object": "billing_portal.session", "customer": customer, "url": format!("https://billing.stripe.test/p/session/{customer}"), "return_url": param(&form, "return_url") })).into_response()
}

fn subscription_json(s: &FakeSubscription) -> Value {
    json!({
        "id": s.id,
        "object": "subscription",
        "customer": s.customer,
        "status": s.status,
        "cancel_at": s.cancel_at,
        "metadata": { "user_id": s.user_id },
        "items": { "object": "list", "data": [{
            "id": format!("si_{}", s.id),
            "price": { "id": "price", "lookup_key": s.lookup_key },
            "current_period_end": s.current_period_end,
        }]},
    })
}

async fn get_subscription(
    State(state): State<FakeState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(refused) = check_headers(&state, &headers, false) {
        return *refused;
    }
    match state.books.lock().unwrap().subscriptions.get(&id) {
        Some(s) => axum::Json(subscription_json(s)).into_response(),
        None => stripe_error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            "resource_missing",
            &format!("No such subscription: '{id}'"),
            Some("id"),
        ),
    }
}

impl StripeFake {
    pub async fn start(api_version: &str) -> StripeFake {
        let books = Arc::new(Mutex::new(Books::default()));
        let state = FakeState {
            books: books.clone(),
            api_version: api_version.to_owned(),
        };
        let app = Router::new()
            .route("/v1/prices", get(prices))
            .route("/v1/checkout/sessions", post(create_session))
            .route("/v1/checkout/sessions/{id}", get(get_session))
            .route("/v1/billing_portal/sessions", post(portal))
            .route("/v1/subscriptions/{id}", get(get_subscription))
            .merge(connect::routes())
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let addr = listener.local_addr().expect("the bound address");
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        StripeFake {
            base_url: format!("http://{addr}"),
            api_version: api_version.to_owned(),
            books,
            server,
        }
    }

    /// Every request the adapter made, in order.
    pub fn requests(&self) -> Vec<(String, Vec<(String, String)>)> {
        self.books.lock().unwrap().requests.clone()
    }

    /// The customer pays: the session completes with a new customer (unless it named one)
    /// and an active subscription on the session's price. Returns the subscription.
    pub fn complete_checkout(&self, session_id: &str, period_end: i64) -> FakeSubscription {
        let mut books = self.books.lock().unwrap();
        books.counter += 1;
        let n = books.counter;
        let session = books
            .sessions
            .get_mut(session_id)
            .expect("a session of the fake");
        let customer = session["customer"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| format!("cus_test_{n}"));
        let subscription = FakeSubscription {
            id: format!("sub_test_{n}"),
            customer: customer.clone(),
            status: "active".into(),
            lookup_key: session["lookup_key"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            user_id: session["subscription_user_id"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            current_period_end: period_end,
            cancel_at: None,
        };
        session["status"] = json!("complete");
        session["customer"] = json!(customer);
        session["subscription"] = json!(subscription.id);
        books
            .subscriptions
            .insert(subscription.id.clone(), subscription.clone());
        subscription
    }

    /// Changes a subscription as the portal or a failed payment would.
    pub fn update_subscription(
        &self,
        id: &str,
        change: impl FnOnce(&mut FakeSubscription),
    ) -> FakeSubscription {
        let mut books = self.books.lock().unwrap();
        let subscription = books
            .subscriptions
            .get_mut(id)
            .expect("a subscription of the fake");
        change(subscription);
        subscription.clone()
    }

    pub fn session(&self, id: &str) -> Value {
        self.books
            .lock()
            .unwrap()
            .sessions
            .get(id)
            .cloned()
            .unwrap_or(Value::Null)
    }

    pub fn subscription_object(&self, id: &str) -> Value {
        let books = self.books.lock().unwrap();
        books
            .subscriptions
            .get(id)
            .map(subscription_json)
            .unwrap_or(Value::Null)
    }
}

/// A webhook event as Stripe sends it: the body and its `Stripe-Signature` at `timestamp`.
pub fn signed_event(id: &str, event_type: &str, object: Value, timestamp: i64) -> (String, String) {
    let body = json!({
        "id": id,
        "object": "event",
        "type": event_type,
        "created": timestamp,
        "livemode": false,
        "data": { "object": object },
    })
    .to_string();
    let signature = scaliyo_domain::billing::sign(body.as_bytes(), WEBHOOK_SECRET, timestamp);
    (body, signature)
}
