//! The wiring the two AI functions share: `ai` (the HTTP routes) and `ai-worker` (the run
//! queue's consumer). The model is chosen by `AI_PROVIDER` (docs/ai.md); API keys are
//! SecureStrings in SSM Parameter Store, read once per cold start, so they never sit in a
//! function's configuration. Lead changes (research writes `knowledgeBase`) go to the
//! owners' webhooks and the workflow engine, as the `api` function's do.

use std::sync::Arc;

use scaliyo_ai::ModelConfig;
use scaliyo_app::access::Access;
use scaliyo_app::ai::Ai;
use scaliyo_app::webhooks::WebhookEmitter;
use scaliyo_app::workflows::WorkflowFeed;
use scaliyo_aws::DynamoTable;
use scaliyo_store::{LanguageModel, Queue, SystemClock};
use scaliyo_webhooks::HttpPageFetcher;

pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// The queues the AI functions write.
#[derive(Default)]
pub struct Queues {
    /// Runs' jobs (`AI_QUEUE_URL`): the `ai` function queues them, the worker queues a
    /// job's next attempt.
    pub runs: Option<Arc<dyn Queue>>,
    /// Lead events for the owners' webhooks (`WEBHOOK_QUEUE_URL`).
    pub webhooks: Option<Arc<dyn Queue>>,
    /// Lead events for the workflow engine (`WORKFLOW_QUEUE_URL`).
    pub workflows: Option<Arc<dyn Queue>>,
}

impl Queues {
    pub fn from_env(config: &aws_config::SdkConfig) -> Self {
        Self {
            runs: scaliyo_aws::queue_from_env("AI_QUEUE_URL", config),
            webhooks: scaliyo_aws::queue_from_env("WEBHOOK_QUEUE_URL", config),
            workflows: scaliyo_aws::queue_from_env("WORKFLOW_QUEUE_URL", config),
        }
    }
}

/// The AI use cases on `table`.
pub fn ai(
    table: DynamoTable,
    model: Option<Arc<dyn LanguageModel>>,
    queues: Queues,
) -> (Arc<Access>, Arc<Ai>) {
    let clock = Arc::new(SystemClock);
    let access = Access::over(Arc::new(table), clock.clone());
    let feed = WorkflowFeed::for_lambda(access.rows().clone(), queues.workflows, clock.clone());
    let emitter = WebhookEmitter::for_lambda(access.rows().clone(), queues.webhooks, clock.clone())
        .map(|e| e.with_workflow_feed(feed));
    let access = Arc::new(access.with_webhooks(emitter));
    let mut ai = Ai::new(access.clone(), model, clock).with_pages(Arc::new(HttpPageFetcher::new()));
    if let Some(runs) = queues.runs {
        ai = ai.with_queue(runs);
    }
    (access, Arc::new(ai))
}

/// A SecureString parameter's value, decrypted.
async fn parameter(config: &aws_config::SdkConfig, name: &str) -> Result<String, Error> {
    let answer = aws_sdk_ssm::Client::new(config)
        .get_parameter()
        .name(name)
        .with_decryption(true)
        .send()
        .await?;
    answer
        .parameter()
        .and_then(|p| p.value())
        .map(str::to_owned)
        .ok_or_else(|| format!("the SSM parameter {name} has no value").into())
}

/// The configured model: the environment, with the API keys named by `*_PARAMETER`
/// variables read from SSM.
pub async fn model(
    config: &aws_config::SdkConfig,
) -> Result<Option<Arc<dyn LanguageModel>>, Error> {
    let mut keys = std::collections::HashMap::new();
    for (variable, parameter_variable) in [
        ("GEMINI_API_KEY", "GEMINI_API_KEY_PARAMETER"),
        ("OPENAI_API_KEY", "OPENAI_API_KEY_PARAMETER"),
    ] {
        if let Ok(name) = std::env::var(parameter_variable)
            && !name.is_empty()
        {
            keys.insert(variable, parameter(config, &name).await?);
        }
    }
    let chosen = ModelConfig::from_vars(|name| {
        keys.get(name).cloned().or_else(|| std::env::var(name).ok())
    })?;
    Ok(match chosen {
        Some(chosen) => Some(chosen.build().await),
        None => None,
    })
}
