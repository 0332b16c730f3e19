//! Lambda `ai`: the AI routes (docs/ai.md) — generate, the prompt test, lead research and
//! starting and following runs (batch research, AI-written sequences), whose jobs it queues
//! for `ai-worker`. Wiring only.

use std::sync::Arc;

use axum::{Extension, Router};
use scaliyo_app::access::Access;
use scaliyo_app::ai::Ai;
use scaliyo_aws::DynamoTable;
use scaliyo_fn_ai::Queues;
use scaliyo_http::Authenticator;

fn router(access: Arc<Access>, ai: Arc<Ai>) -> Router {
    scaliyo_http::ai_api::router(access, ai)
        .merge(scaliyo_http::health_router())
        .layer(Extension(Arc::new(Authenticator::ApiGateway)))
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    scaliyo_lambda::telemetry::init_lambda("ai");
    let table_name = scaliyo_lambda::env::required("TABLE_NAME")?;
    // Runs cannot start without their queue.
    scaliyo_lambda::env::required("AI_QUEUE_URL")?;
    let config = scaliyo_aws::load_config().await;
    let table = DynamoTable::new(scaliyo_aws::dynamodb_client(&config), table_name);
    let model = scaliyo_fn_ai::model(&config).await?;
    let (access, ai) = scaliyo_fn_ai::ai(table, model, Queues::from_env(&config));
    lambda_http::run(scaliyo_lambda::telemetry::Traced::new(
        "ai",
        scaliyo_http::edge::catching_panics(router(access, ai)),
    ))
    .await
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
        let (access, ai) = scaliyo_fn_ai::ai(table, None, Queues::default());
        scaliyo_tests::template::every_route_reaches_a_handler("ai", router(access, ai)).await;
    }
}
