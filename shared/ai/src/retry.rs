//! One retry policy for every provider: throttling waits the delay the provider names (when it
//! is short enough to wait inside a request), outages back off; refusals are final.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use scaliyo_store::{LanguageModel, ModelError, ModelReply, ModelRequest};

/// Tries a call up to this many times.
const ATTEMPTS: u32 = 3;
/// A provider asking for a longer pause than this is answered with its error at once: the
/// caller's request would time out waiting.
const LONGEST_WAIT: Duration = Duration::from_secs(10);

pub struct Retrying {
    inner: Arc<dyn LanguageModel>,
    backoff: Duration,
}

impl Retrying {
    pub fn new(inner: Arc<dyn LanguageModel>) -> Self {
        Self {
            inner,
            backoff: Duration::from_millis(500),
        }
    }

    /// The first pause after an outage or an undated 429 (doubled after each); tests shorten it.
    pub fn with_backoff(mut self, backoff: Duration) -> Self {
        self.backoff = backoff;
        self
    }

    fn pause_before_retry(&self, error: &ModelError, attempt: u32) -> Option<Duration> {
        let backoff = self.backoff.saturating_mul(2u32.saturating_pow(attempt));
        match error {
            ModelError::RateLimited {
                retry_after: Some(delay),
            } => (*delay <= LONGEST_WAIT).then_some(*delay),
            ModelError::RateLimited { retry_after: None } | ModelError::Unavailable(_) => {
                Some(backoff)
            }
            ModelError::Blocked { .. } | ModelError::Rejected { .. } => None,
        }
    }
}

#[async_trait]
impl LanguageModel for Retrying {
    fn provider(&self) -> &'static str {
        self.inner.provider()
    }

    async fn generate(&self, request: &ModelRequest) -> Result<ModelReply, ModelError> {
        let mut attempt = 0;
        loop {
            match self.inner.generate(request).await {
                Ok(reply) => return Ok(reply),
                Err(error) => {
                    attempt += 1;
                    let pause = self.pause_before_retry(&error, attempt - 1);
                    match pause {
                        Some(pause) if attempt < ATTEMPTS => {
                            tracing::warn!(provider = self.provider(), %error, ?pause, "retrying a model call");
                            tokio::time::sleep(pause).await;
                        }
                        _ => return Err(error),
                    }
                }
            }
        }
    }
}
