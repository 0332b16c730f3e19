//! The language-model port: one prompt in, one text out, with the tokens the provider
//! counted. Gemini, Bedrock (Converse) and any OpenAI-compatible server implement it
//! (`scaliyo-ai`); the metering and the prompts around a call are the application's.

use std::time::Duration;

use async_trait::async_trait;

/// One call: the prompt's system instruction, the rendered prompt, and its sampling.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelRequest {
    /// Empty: no system instruction is sent.
    pub system: String,
    pub prompt: String,
    pub temperature: f64,
    pub top_p: f64,
    pub max_output_tokens: u32,
}

/// What the model wrote and the tokens the provider counted for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelReply {
    pub text: String,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// The provider's model id that answered (`gemini-2.0-flash`, an inference profile…).
    pub model: String,
}

impl ModelReply {
    pub fn total_tokens(&self) -> u64 {
        self.input_tokens.saturating_add(self.output_tokens)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    /// The provider throttled the call (429, `ThrottlingException`); try again after the
    /// delay when it named one.
    #[error("the model provider is rate limiting (retry after {retry_after:?})")]
    RateLimited { retry_after: Option<Duration> },
    /// The provider refused this prompt or its answer (a safety block, content filter).
    #[error("the model refused the prompt: {reason}")]
    Blocked { reason: String },
    /// The provider rejected the request itself (400: a bad model id, a bad parameter).
    #[error("the model provider rejected the request: {message}")]
    Rejected { message: String },
    /// The provider could not be reached, timed out or failed (5xx).
    #[error("the model provider is unavailable: {0}")]
    Unavailable(String),
}

impl ModelError {
    /// Worth another try later: throttling and outages, not refusals.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::RateLimited { .. } | Self::Unavailable(_))
    }
}

#[async_trait]
pub trait LanguageModel: Send + Sync {
    /// The provider's name for logs and `ai_usage` (`gemini`, `bedrock`, `openai`).
    fn provider(&self) -> &'static str;
    async fn generate(&self, request: &ModelRequest) -> Result<ModelReply, ModelError>;
}
