//! Stripe behind the `Payments` port, over its HTTP API with `reqwest` (no SDK crate: the
//! generated SDKs compile megabytes of code for the four calls we make; ADR 0021).
//!
//! Every request carries `Authorization: Bearer <secret key>` and the pinned
//! `Stripe-Version`, so a change of the account's default version changes nothing here.
//! Bodies are `application/x-www-form-urlencoded` with bracket keys
//! (`line_items[0][price]`, `metadata[user_id]`).

mod connect;
mod wire;

use std::time::Duration;

use async_trait::async_trait;
use scaliyo_store::{CheckoutRequest, CheckoutSession, PaymentError, Payments, RemoteSubscription};

pub const DEFAULT_BASE_URL: &str = "https://api.stripe.com";
/// The API version requests are made with (and the webhook endpoint should be created with).
pub const DEFAULT_API_VERSION: &str = "2025-12-15.clover";

#[derive(Clone)]
pub struct StripeConfig {
    pub secret_key: String,
    pub base_url: String,
    pub api_version: String,
}

impl std::fmt::Debug for StripeConfig {
    // The key never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeConfig")
            .field("base_url", &self.base_url)
            .field("api_version", &self.api_version)
            .finish_non_exhaustive()
    }
}

impl StripeConfig {
    /// `STRIPE_SECRET_KEY` (billing is off without it), `STRIPE_API_BASE` (a local fake in
    /// tests), `STRIPE_API_VERSION` (pinned; see [`DEFAULT_API_VERSION`]).
    pub fn from_env() -> Option<Self> {
        let secret_key = std::env::var("STRIPE_SECRET_KEY")
            .ok()
            .filter(|k| !k.trim().is_empty())?;
        Some(Self {
            secret_key,
            base_url: std::env::var("STRIPE_API_BASE")
                .unwrap_or_else(|_| DEFAULT_BASE_URL.to_owned()),
            api_version: std::env::var("STRIPE_API_VERSION")
                .unwrap_or_else(|_| DEFAULT_API_VERSION.to_owned()),
        })
    }
}

pub struct Stripe {
    config: StripeConfig,
    http: reqwest::Client,
}

impl Stripe {
    pub fn new(config: StripeConfig) -> Result<Self, PaymentError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            // Stripe's own guidance: reads can take up to 80 s in the worst case; checkout and
            // portal creation are interactive, so we give up earlier and the user retries.
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| PaymentError::Unavailable(e.to_string()))?;
        Ok(Self { config, http })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.config.base_url.trim_end_matches('/'))
    }

    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, PaymentError> {
        let response = request
            .bearer_auth(&self.config.secret_key)
            .header("Stripe-Version", &self.config.api_version)
            .send()
            .await
            .map_err(|e| PaymentError::Unavailable(e.without_url().to_string()))?;
        let status = response.status();
        // Stripe says whether a failed request may be retried as is (a lock timeout, a
        // conflict); its answer overrides the status code's default.
        let should_retry = response
            .headers()
            .get("stripe-should-retry")
            .and_then(|v| v.to_str().ok())
            .map(|v| v == "true");
        let body = response
            .bytes()
            .await
            .map_err(|e| PaymentError::Unavailable(e.without_url().to_string()))?;
        if status.is_success() {
            return serde_json::from_slice(&body)
                .map_err(|e| PaymentError::Unavailable(format!("an unreadable answer: {e}")));
        }
        Err(wire::error_of(status.as_u16(), should_retry, &body))
    }

    fn post(&self, path: &str, form: &[(String, String)]) -> reqwest::RequestBuilder {
        let mut body = form_urlencoded::Serializer::new(String::new());
        for (key, value) in form {
            body.append_pair(key, value);
        }
        self.http
            .post(self.url(path))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body.finish())
    }

    /// A POST in a connected account (`Stripe-Account`), made once per idempotency key:
    /// Stripe answers a repeat with the first answer instead of acting again.
    fn post_in(
        &self,
        account: &str,
        key: Option<&str>,
        path: &str,
        form: &[(String, String)],
    ) -> reqwest::RequestBuilder {
        let request = self.post(path, form).header("Stripe-Account", account);
        match key {
            Some(key) => request.header("Idempotency-Key", key),
            None => request,
        }
    }

    fn get_in(&self, account: &str, path: &str) -> reqwest::RequestBuilder {
        self.http
            .get(self.url(path))
            .header("Stripe-Account", account)
    }

    /// The active price with this lookup key.
    async fn price_id(&self, lookup_key: &str) -> Result<String, PaymentError> {
        let list: wire::List<wire::Price> = self
            .call(self.http.get(self.url("/v1/prices")).query(&[
                ("lookup_keys[]", lookup_key),
                ("active", "true"),
                ("limit", "1"),
            ]))
            .await?;
        list.data
            .into_iter()
            .next()
            .map(|p| p.id)
            .ok_or_else(|| PaymentError::Refused {
                code: "price_not_found".into(),
                message: format!("no active price has the lookup key {lookup_key}"),
            })
    }
}

#[async_trait]
impl Payments for Stripe {
    async fn create_checkout(
        &self,
        request: &CheckoutRequest,
    ) -> Result<CheckoutSession, PaymentError> {
        let price = self.price_id(&request.lookup_key).await?;
        let mut form = vec![
            ("mode".into(), "subscription".into()),
            ("line_items[0][price]".into(), price),
            ("line_items[0][quantity]".into(), "1".into()),
            ("success_url".into(), request.success_url.clone()),
            ("cancel_url".into(), request.cancel_url.clone()),
            ("client_reference_id".into(), request.user_id.clone()),
            ("metadata[user_id]".into(), request.user_id.clone()),
            (
                "subscription_data[metadata][user_id]".into(),
                request.user_id.clone(),
            ),
        ];
        match (&request.customer, &request.email) {
            (Some(customer), _) => form.push(("customer".into(), customer.clone())),
            (None, Some(email)) => form.push(("customer_email".into(), email.clone())),
            (None, None) => {}
        }
        let session: wire::Session = self.call(self.post("/v1/checkout/sessions", &form)).await?;
        Ok(session.into())
    }

    async fn create_portal(
        &self,
        customer: &str,
        return_url: &str,
    ) -> Result<String, PaymentError> {
        let form = [
            ("customer".to_owned(), customer.to_owned()),
            ("return_url".to_owned(), return_url.to_owned()),
        ];
        let portal: wire::Portal = self
            .call(self.post("/v1/billing_portal/sessions", &form))
            .await?;
        Ok(portal.url)
    }

    async fn checkout_session(&self, id: &str) -> Result<CheckoutSession, PaymentError> {
        let session: wire::Session = self
            .call(self.http.get(self.url(&format!(
                "/v1/checkout/sessions/{}",
                wire::path_segment(id)?
            ))))
            .await?;
        Ok(session.into())
    }

    async fn subscription(&self, id: &str) -> Result<RemoteSubscription, PaymentError> {
        let subscription: wire::Subscription = self
            .call(
                self.http
                    .get(self.url(&format!("/v1/subscriptions/{}", wire::path_segment(id)?))),
            )
            .await?;
        Ok(subscription.into())
    }
}
