//! `HttpWebhookTransport`: one POST per attempt, through the guard (https only unless in
//! local development). A 3xx is the receiver's answer, recorded as a failure, never followed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use scaliyo_store::{TransportError, WebhookRequest, WebhookResponse, WebhookTransport};

use crate::guard::{Guard, GuardError, Resolver};

#[derive(Debug, Clone)]
pub struct HttpWebhookTransport {
    timeout: Duration,
    guard: Guard,
}

impl HttpWebhookTransport {
    /// Production rules: https only, public destinations only, 10-second attempts.
    pub fn new() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            guard: Guard::production(),
        }
    }

    /// Resolves names with `resolver` instead of the system's.
    pub fn with_resolver(mut self, resolver: Arc<dyn Resolver>) -> Self {
        self.guard.resolver = resolver;
        self
    }

    /// Local development: plain http and private addresses (a receiver on this machine).
    pub fn allowing_private(mut self) -> Self {
        self.guard.allow_private = true;
        self
    }

    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// `WEBHOOKS_ALLOW_PRIVATE=1` turns the local-development rules on.
    pub fn from_env() -> Self {
        let transport = Self::new();
        if crate::env_flag("WEBHOOKS_ALLOW_PRIVATE") {
            transport.allowing_private()
        } else {
            transport
        }
    }
}

impl Default for HttpWebhookTransport {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl WebhookTransport for HttpWebhookTransport {
    async fn post(&self, request: &WebhookRequest) -> Result<WebhookResponse, TransportError> {
        let client = self
            .guard
            .client_for(&request.url, false, self.timeout)
            .await
            .map_err(|e| match e {
                GuardError::Refused(reason) => TransportError::Refused(reason),
                GuardError::Failed(reason) => TransportError::Failed(reason),
            })?;
        let mut builder = client.post(&request.url).body(request.body.clone());
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        let started = Instant::now();
        let response = builder
            .send()
            .await
            .map_err(|e| TransportError::Failed(e.without_url().to_string()))?;
        Ok(WebhookResponse {
            status: response.status().as_u16(),
            elapsed: started.elapsed(),
        })
    }
}
