//! Lambda `ai`: wiring only. The model is chosen by `AI_PROVIDER` (docs/ai.md); the Gemini
//! key is a SecureString in SSM Parameter Store (`GEMINI_API_KEY_PARAMETER`), read once per
//! cold start, so it never sits in the function's configuration.

use std::sync::Arc;

use axum::{Extension, Router};
use scaliyo_ai::ModelConfig;
use scaliyo_app::access::Access;
use scaliyo_app::ai::Ai;
use scaliyo_aws::DynamoTable;
use scaliyo_http::Authenticator;
use scaliyo_store::{LanguageModel, SystemClock};

fn router(table: DynamoTable, model: Option<Arc<dyn LanguageModel>>) -> Router {
    let clock = Arc::new(SystemClock);
    let access = Arc::new(Access::over(Arc::new(table), clock.clone()));
    let ai = Arc::new(Ai::new(access.clone(), model, clock));
    scaliyo_http::ai_api::router(access, ai)
        .merge(scaliyo_http::health_router())
        .layer(Extension(Arc::new(Authenticator::ApiGateway)))
}

/// A SecureString parameter's value, decrypted.
async fn parameter(
    config: &aws_config::SdkConfig,
    name: &str,
) -> Result<String, lambda_http::Error> {
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

/// The configured model: the environment, with the API keys named by `*_PARAMETER` variables
/// read from SSM.
async fn model(
    config: &aws_config::SdkConfig,
) -> Result<Option<Arc<dyn LanguageModel>>, lambda_http::Error> {
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

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    scaliyo_lambda::telemetry::init_lambda("ai");
    let table_name = scaliyo_lambda::env::required("TABLE_NAME")?;
    let config = scaliyo_aws::load_config().await;
    let table = DynamoTable::new(scaliyo_aws::dynamodb_client(&config), table_name);
    let model = model(&config).await?;
    lambda_http::run(scaliyo_http::edge::catching_panics(router(table, model))).await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every route `infra/template.yaml` gives this function, as API Gateway delivers it,
    /// reaches one of this router's handlers.
    #[tokio::test]
    async fn every_route_of_the_template_reaches_a_handler() {
        let Some(config) = scaliyo_tests::emulators::dynamodb().await else {
            return;
        };
        let table = scaliyo_tests::emulators::new_table(&config, "ai-routes").await;
        scaliyo_tests::template::every_route_reaches_a_handler("ai", router(table, None)).await;
    }
}
