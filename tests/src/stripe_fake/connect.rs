//! The Connect half of the fake: Express accounts and their onboarding, and customers and
//! invoices kept per connected account (`Stripe-Account`), with Stripe's idempotency: a
//! repeated `Idempotency-Key` with the same parameters gets the first answer and changes
//! nothing; with other parameters it is refused (`idempotency_error`).

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::{FakeState, StripeFake, check_headers, pairs, param, stripe_error};

/// A failure the test asks the fake to answer with, once, on a path ending with a suffix.
#[derive(Debug, Clone)]
pub struct ConnectFailure {
    pub path_suffix: String,
    pub status: u16,
}

/// A request's parameters, and the status and body first answered to it.
type Reply = (Vec<(String, String)>, u16, Value);

#[derive(Default)]
pub(crate) struct ConnectBooks {
    /// Connected accounts: id → (charges_enabled, details_submitted).
    accounts: BTreeMap<String, (bool, bool)>,
    /// Per account: customers and invoices.
    customers: BTreeMap<(String, String), Value>,
    invoices: BTreeMap<(String, String), Value>,
    /// Idempotency-Key → the request's parameters and the first answer.
    replies: BTreeMap<String, Reply>,
    failures: Vec<ConnectFailure>,
}

fn account_header(headers: &HeaderMap) -> Option<String> {
    headers
        .get("stripe-account")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Runs `create` once per idempotency key, as Stripe does. An injected failure is a lost
/// answer: the request is carried out (and its answer kept for the key), but the caller
/// gets a 500 — the case idempotency keys exist for.
fn once(
    state: &FakeState,
    headers: &HeaderMap,
    what: &str,
    form: &[(String, String)],
    create: impl FnOnce(&mut super::Books) -> (u16, Value),
) -> Response {
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut books = state.books.lock().unwrap();
    books.requests.push((what.to_owned(), form.to_vec()));
    let replayed = key
        .as_ref()
        .and_then(|key| books.connect.replies.get(key).cloned());
    let (status, body) = match replayed {
        Some((params, _, _)) if params != form => {
            return stripe_error(
                StatusCode::BAD_REQUEST,
                "idempotency_error",
                "idempotency_key_in_use",
                "Keys for idempotent requests can only be used with the same parameters they were first used with.",
                None,
            );
        }
        Some((_, status, body)) => (status, body),
        None => {
            let (status, body) = create(&mut books);
            if let Some(key) = key {
                books
                    .connect
                    .replies
                    .insert(key, (form.to_vec(), status, body.clone()));
            }
            (status, body)
        }
    };
    if let Some(position) = books
        .connect
        .failures
        .iter()
        .position(|f| what.ends_with(&f.path_suffix))
    {
        let failure = books.connect.failures.remove(position);
        let status =
            StatusCode::from_u16(failure.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return stripe_error(
            status,
            "api_error",
            "api_error",
            "Something went wrong on Stripe's end.",
            None,
        );
    }
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
        axum::Json(body),
    )
        .into_response()
}

fn not_found(kind: &str, id: &str) -> (u16, Value) {
    (
        404,
        json!({ "error": { "type": "invalid_request_error", "code": "resource_missing", "message": format!("No such {kind}: '{id}'"), "param": "id" } }),
    )
}

async fn create_account(
    State(state): State<FakeState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(refused) = check_headers(&state, &headers, true) {
        return *refused;
    }
    let form = pairs(&body);
    once(&state, &headers, "POST /v1/accounts", &form, |books| {
        books.counter += 1;
        let id = format!("acct_test_{}", books.counter);
        books.connect.accounts.insert(id.clone(), (false, false));
        (
            200,
            json!({ "id": id, "object": "account", "type": param(&form, "type"), "email": param(&form, "email"), "charges_enabled": false, "details_submitted": false }),
        )
    })
}

async fn account_link(State(state): State<FakeState>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(refused) = check_headers(&state, &headers, true) {
        return *refused;
    }
    let form = pairs(&body);
    let mut books = state.books.lock().unwrap();
    books
        .requests
        .push(("POST /v1/account_links".into(), form.clone()));
    let account = param(&form, "account").unwrap_or_default().to_owned();
    if !books.connect.accounts.contains_key(&account)
        || param(&form, "type") != Some("account_onboarding")
    {
        return stripe_error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "parameter_invalid",
            "account and type=account_onboarding are required",
            Some("account"),
        );
    }
    axum::Json(json!({ "object": "account_link", "url": format!("https://connect.stripe.test/setup/e/{account}") })).into_response()
}

async fn get_account(
    State(state): State<FakeState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(refused) = check_headers(&state, &headers, false) {
        return *refused;
    }
    let books = state.books.lock().unwrap();
    match books.connect.accounts.get(&id) {
        Some((charges, details)) => axum::Json(json!({ "id": id, "object": "account", "charges_enabled": charges, "details_submitted": details })).into_response(),
        None => stripe_error(StatusCode::NOT_FOUND, "invalid_request_error", "resource_missing", "No such account", Some("account")),
    }
}

async fn create_customer(
    State(state): State<FakeState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(refused) = check_headers(&state, &headers, true) {
        return *refused;
    }
    let Some(account) = account_header(&headers) else {
        return stripe_error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "parameter_missing",
            "the fake expects customers in a connected account",
            None,
        );
    };
    let form = pairs(&body);
    once(&state, &headers, "POST /v1/customers", &form, |books| {
        books.counter += 1;
        let id = format!("cus_test_{}", books.counter);
        let customer = json!({ "id": id, "object": "customer", "email": param(&form, "email"), "name": param(&form, "name"), "metadata": { "lead_id": param(&form, "metadata[lead_id]") } });
        books
            .connect
            .customers
            .insert((account.clone(), id), customer.clone());
        (200, customer)
    })
}

async fn create_invoice(
    State(state): State<FakeState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(refused) = check_headers(&state, &headers, true) {
        return *refused;
    }
    let account = account_header(&headers).unwrap_or_default();
    let form = pairs(&body);
    once(&state, &headers, "POST /v1/invoices", &form, |books| {
        let customer = param(&form, "customer").unwrap_or_default().to_owned();
        if !books
            .connect
            .customers
            .contains_key(&(account.clone(), customer.clone()))
        {
            return not_found("customer", &customer);
        }
        if param(&form, "collection_method") != Some("send_invoice")
            || param(&form, "days_until_due").is_none()
        {
            return (
                400,
                json!({ "error": { "type": "invalid_request_error", "code": "parameter_missing", "message": "send_invoice needs days_until_due", "param": "days_until_due" } }),
            );
        }
        books.counter += 1;
        let id = format!("in_test_{}", books.counter);
        let invoice = json!({
            "id": id, "object": "invoice", "customer": customer, "status": "draft",
            "currency": param(&form, "currency"), "number": null, "hosted_invoice_url": null, "invoice_pdf": null,
            "metadata": { "invoice_id": param(&form, "metadata[invoice_id]") },
            "lines": { "object": "list", "data": [] }, "total": 0,
            "status_transitions": { "paid_at": null },
        });
        books
            .connect
            .invoices
            .insert((account.clone(), id), invoice.clone());
        (200, invoice)
    })
}

/// Applies `change` to an invoice of the account, Stripe's answer or its error.
fn with_invoice(
    books: &mut super::Books,
    account: &str,
    id: &str,
    change: impl FnOnce(&mut Value) -> Result<(), (u16, Value)>,
) -> (u16, Value) {
    let Some(invoice) = books
        .connect
        .invoices
        .get_mut(&(account.to_owned(), id.to_owned()))
    else {
        return not_found("invoice", id);
    };
    match change(invoice) {
        Ok(()) => (200, invoice.clone()),
        Err(error) => error,
    }
}

fn state_error(message: &str) -> (u16, Value) {
    (
        400,
        json!({ "error": { "type": "invalid_request_error", "code": "invoice_not_editable", "message": message } }),
    )
}

async fn invoice_action(
    State(state): State<FakeState>,
    headers: HeaderMap,
    Path((id, action)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    if let Err(refused) = check_headers(&state, &headers, true) {
        return *refused;
    }
    let account = account_header(&headers).unwrap_or_default();
    let form = pairs(&body);
    let what = format!("POST /v1/invoices/{{id}}/{action}");
    once(&state, &headers, &what, &form, |books| {
        books.counter += 1;
        let n = books.counter;
        with_invoice(books, &account, &id, |invoice| {
            let status = invoice["status"].as_str().unwrap_or_default().to_owned();
            match action.as_str() {
                "add_lines" => {
                    if status != "draft" {
                        return Err(state_error("lines can only be added to a draft"));
                    }
                    let mut i = 0;
                    while let Some(description) = param(&form, &format!("lines[{i}][description]"))
                    {
                        let quantity: i64 = param(&form, &format!("lines[{i}][quantity]"))
                            .and_then(|q| q.parse().ok())
                            .unwrap_or(1);
                        let unit: i64 =
                            param(&form, &format!("lines[{i}][price_data][unit_amount]"))
                                .and_then(|u| u.parse().ok())
                                .unwrap_or(0);
                        if param(
                            &form,
                            &format!("lines[{i}][price_data][product_data][name]"),
                        )
                        .is_none()
                            || param(&form, &format!("lines[{i}][price_data][currency]"))
                                != invoice["currency"].as_str()
                        {
                            return Err((
                                400,
                                json!({ "error": { "type": "invalid_request_error", "code": "parameter_missing", "message": "price_data needs currency and product_data[name]", "param": format!("lines[{i}][price_data]") } }),
                            ));
                        }
                        let line = json!({ "description": description, "quantity": quantity, "amount": quantity * unit });
                        if let Some(data) = invoice["lines"]["data"].as_array_mut() {
                            data.push(line);
                        }
                        invoice["total"] =
                            json!(invoice["total"].as_i64().unwrap_or(0) + quantity * unit);
                        i += 1;
                    }
                }
                "finalize" => {
                    if status != "draft" {
                        return Err(state_error("only a draft can be finalized"));
                    }
                    invoice["status"] = json!("open");
                    invoice["number"] = json!(format!("FAKE-{n:04}"));
                    invoice["hosted_invoice_url"] =
                        json!(format!("https://invoice.stripe.test/i/{id}"));
                    invoice["invoice_pdf"] =
                        json!(format!("https://pay.stripe.test/invoice/{id}/pdf"));
                }
                "send" => {
                    if status != "open" {
                        return Err(state_error("only an open invoice can be sent"));
                    }
                    invoice["sent"] = json!(invoice["sent"].as_i64().unwrap_or(0) + 1);
                }
                "void" | "mark_uncollectible" => {
                    if status != "open" {
                        return Err(state_error("only an open invoice can change so"));
                    }
                    invoice["status"] = json!(if action == "void" {
                        "void"
                    } else {
                        "uncollectible"
                    });
                }
                "pay" => {
                    if param(&form, "paid_out_of_band") != Some("true") {
                        return Err(state_error("the fake only takes payments out of band"));
                    }
                    invoice["status"] = json!("paid");
                    invoice["status_transitions"]["paid_at"] = json!(1_780_000_000);
                }
                _ => return Err(not_found("action", &action)),
            }
            Ok(())
        })
    })
}

async fn get_invoice(
    State(state): State<FakeState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(refused) = check_headers(&state, &headers, false) {
        return *refused;
    }
    let account = account_header(&headers).unwrap_or_default();
    let books = state.books.lock().unwrap();
    match books.connect.invoices.get(&(account, id.clone())) {
        Some(invoice) => axum::Json(invoice.clone()).into_response(),
        None => stripe_error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            "resource_missing",
            &format!("No such invoice: '{id}'"),
            Some("id"),
        ),
    }
}

pub(crate) fn routes() -> Router<FakeState> {
    Router::new()
        .route("/v1/accounts", post(create_account))
        .route("/v1/accounts/{id}", get(get_account))
        .route("/v1/account_links", post(account_link))
        .route("/v1/customers", post(create_customer))
        .route("/v1/invoices", post(create_invoice))
        .route("/v1/invoices/{id}", get(get_invoice))
        .route("/v1/invoices/{id}/{action}", post(invoice_action))
}

impl StripeFake {
    /// The user finishes onboarding on Stripe's pages: the account may take payments.
    pub fn complete_onboarding(&self, account: &str) {
        self.books
            .lock()
            .unwrap()
            .connect
            .accounts
            .insert(account.to_owned(), (true, true));
    }

    /// The connected accounts the fake made.
    pub fn accounts(&self) -> Vec<String> {
        self.books
            .lock()
            .unwrap()
            .connect
            .accounts
            .keys()
            .cloned()
            .collect()
    }

    /// The invoices of an account, and the number of customers in it.
    pub fn invoices_of(&self, account: &str) -> Vec<Value> {
        let books = self.books.lock().unwrap();
        books
            .connect
            .invoices
            .iter()
            .filter(|((a, _), _)| a == account)
            .map(|(_, v)| v.clone())
            .collect()
    }

    pub fn customers_of(&self, account: &str) -> usize {
        self.books
            .lock()
            .unwrap()
            .connect
            .customers
            .keys()
            .filter(|(a, _)| a == account)
            .count()
    }

    /// Answers the next request whose path ends with `suffix` with `status`.
    pub fn fail_next(&self, suffix: &str, status: u16) {
        self.books
            .lock()
            .unwrap()
            .connect
            .failures
            .push(ConnectFailure {
                path_suffix: suffix.into(),
                status,
            });
    }

    /// A customer pays an invoice on Stripe's hosted page.
    pub fn pay(&self, account: &str, invoice: &str, paid_at: i64) -> Value {
        let mut books = self.books.lock().unwrap();
        let entry = books
            .connect
            .invoices
            .get_mut(&(account.to_owned(), invoice.to_owned()))
            .expect("an invoice of the fake");
        entry["status"] = json!("paid");
        entry["status_transitions"]["paid_at"] = json!(paid_at);
        entry.clone()
    }
}
