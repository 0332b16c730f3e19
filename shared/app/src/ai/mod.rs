//! AI on the server (docs/ai.md): prompts resolved and rendered here, the model called through
//! the `LanguageModel` port, every call metered in credits — reserved before the call, settled
//! to the tokens used after it, handed back when the model fails.

mod call;
mod generate;
pub mod meter;
mod prompts;
mod research;
pub mod runs;
mod writing;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use scaliyo_domain::ai::answer::AnswerError;
use scaliyo_domain::email::RenderError;
use scaliyo_store::{Clock, LanguageModel, ModelError, PageError, PageFetcher, Queue, QueueError};

use crate::access::{Access, AccessError};
use crate::scheduler::Scheduling;

pub use generate::{GenerateRequest, Generated, TestRequest, Tokens};
pub use meter::{CreditMeter, Reservation};
pub use prompts::{PromptSource, ResolvedPrompt};
pub use research::{ResearchRequest, Researched};
pub use runs::{AiWorker, AiWorkerConfig, RunKind, RunProgress, RunStarted};

/// The variables a deployment sets to turn AI on (named in `501 ai_not_configured`).
pub const CONFIG_VARIABLES: &str = "AI_PROVIDER=gemini with GEMINI_API_KEY (GEMINI_MODEL), \
     AI_PROVIDER=bedrock with BEDROCK_MODEL_ID, or AI_PROVIDER=openai with OPENAI_BASE_URL and \
     OPENAI_MODEL (OPENAI_API_KEY)";

#[derive(Debug, thiserror::Error)]
pub enum AiError {
    #[error("AI is not configured on this deployment; set {CONFIG_VARIABLES}")]
    NotConfigured,
    #[error("{remaining} AI credits remain this month and this call needs {needed}")]
    CreditsExhausted {
        remaining: i64,
        needed: i64,
        resets_at: DateTime<Utc>,
    },
    #[error("no active prompt {0}")]
    PromptNotFound(String),
    #[error("{field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Answer(#[from] AnswerError),
    #[error(
        "the lead names no website (custom_fields.website) and its address is not a company's; give one as `website`"
    )]
    NoWebsite,
    #[error("the website could not be read: {0}")]
    Website(#[from] PageError),
    #[error("no AI run {0}")]
    RunNotFound(String),
    #[error("the AI work queue is not available: {0}")]
    Queue(#[from] QueueError),
    #[error(transparent)]
    Access(#[from] AccessError),
}

impl From<crate::rows::RowError> for AiError {
    fn from(error: crate::rows::RowError) -> Self {
        Self::Access(error.into())
    }
}

/// A configured model, shareable in a configuration (its `Debug` names the provider only).
#[derive(Clone)]
pub struct SharedModel(pub Arc<dyn LanguageModel>);

impl std::fmt::Debug for SharedModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("SharedModel")
            .field(&self.0.provider())
            .finish()
    }
}

/// The AI use cases of one deployment.
#[derive(Clone)]
pub struct Ai {
    access: Arc<Access>,
    meter: CreditMeter,
    model: Option<Arc<dyn LanguageModel>>,
    clock: Arc<dyn Clock>,
    /// Lead research reads company websites through it.
    pages: Option<Arc<dyn PageFetcher>>,
    /// Batch research and AI-written sequences wait here for the `ai-worker`.
    queue: Option<Arc<dyn Queue>>,
    /// AI-written sequences are scheduled as any sequence is.
    scheduling: Scheduling,
}

impl Ai {
    /// `model`: None when no provider is configured (every call answers `NotConfigured`).
    pub fn new(
        access: Arc<Access>,
        model: Option<Arc<dyn LanguageModel>>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            meter: CreditMeter::new(access.clone(), clock.clone()),
            scheduling: Scheduling::new(access.clone(), clock.clone()),
            access,
            model,
            clock,
            pages: None,
            queue: None,
        }
    }

    /// Lead research reads websites with `pages`.
    pub fn with_pages(mut self, pages: Arc<dyn PageFetcher>) -> Self {
        self.pages = Some(pages);
        self
    }

    /// Runs (batch research, AI-written sequences) are queued on `queue`.
    pub fn with_queue(mut self, queue: Arc<dyn Queue>) -> Self {
        self.queue = Some(queue);
        self
    }

    pub fn meter(&self) -> &CreditMeter {
        &self.meter
    }

    fn model(&self) -> Result<&Arc<dyn LanguageModel>, AiError> {
        self.model.as_ref().ok_or(AiError::NotConfigured)
    }
}
