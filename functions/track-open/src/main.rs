//! Lambda `track-open`: wiring only — the tracking router on DynamoDB, built once per cold
//! start. No authorizer: mail clients fetch the pixel.

use std::sync::Arc;

use scaliyo_app::rows::Rows;
use scaliyo_app::tracking::Tracking;
use scaliyo_app::webhooks::WebhookEmitter;
use scaliyo_app::workflows::WorkflowFeed;
use scaliyo_aws::DynamoTable;
use scaliyo_store::{Queue, QueueJournal, SystemClock};

fn router(
    table: DynamoTable,
    hits: Option<Arc<dyn Queue>>,
    webhooks: Option<Arc<dyn Queue>>,
    workflows: Option<Arc<dyn Queue>>,
) -> axum::Router {
    let clock = Arc::new(SystemClock);
    let rows = Rows::new(Arc::new(table), clock.clone());
    let feed = WorkflowFeed::for_lambda(rows.clone(), workflows, clock.clone());
    let webhooks = WebhookEmitter::for_lambda(rows.clone(), webhooks, clock.clone())
        .map(|w| w.with_workflow_feed(feed));
    let mut tracking = Tracking::new(rows, clock)
        .with_webhooks(webhooks)
        .with_metrics(Arc::new(scaliyo_lambda::metrics::EmfMetrics::new(
            "track-open",
        )));
    // One SendMessage per open before the answer; analytics-rollup classifies and stores.
    if let Some(hits) = hits {
        tracking = tracking.with_journal(Arc::new(QueueJournal::new(hits)));
    }
    // API Gateway's sourceIp is the client: no proxy is believed unless TRUSTED_PROXIES names it.
    scaliyo_http::tracking_api::router(Arc::new(tracking)).layer(axum::Extension(
        scaliyo_http::tracking_api::TrustedProxies::from_env_or(
            scaliyo_http::tracking_api::TrustedProxies::none(),
        ),
    ))
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    scaliyo_lambda::telemetry::init_lambda("track-open");
    let table_name = scaliyo_lambda::env::required("TABLE_NAME")?;
    let config = scaliyo_aws::load_config().await;
    let table = DynamoTable::new(scaliyo_aws::dynamodb_client(&config), table_name);
    // The hit queue: each open is made durable there (analytics-rollup applies them).
    let hits = scaliyo_aws::queue_from_env("HIT_QUEUE_URL", &config);
    // Human opens for outgoing webhooks: an enqueue (subscriptions cached), no delivery here.
    let webhooks = scaliyo_aws::queue_from_env("WEBHOOK_QUEUE_URL", &config);
    // Human opens wake workflow runs waiting for them (run-workflows' queue).
    let workflows = scaliyo_aws::queue_from_env("WORKFLOW_QUEUE_URL", &config);
    lambda_http::run(scaliyo_lambda::telemetry::Traced::new(
        "track-open",
        router(table, hits, webhooks, workflows),
    ))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::ServiceExt;

    /// The real-shaped API Gateway event of a mail client fetching a pixel whose token is
    /// unknown: still a 200 transparent GIF that is never cached.
    #[tokio::test]
    async fn an_api_gateway_pixel_request_always_gets_the_gif() {
        let Some(config) = scaliyo_tests::emulators::dynamodb().await else {
            return;
        };
        let client = scaliyo_aws::dynamodb_client(&config);
        let name = scaliyo_tests::emulators::unique_name("open");
        scaliyo_aws::create_table(&client, &name)
            .await
            .expect("table");
        let request = lambda_http::request::from_str(include_str!(
            "../../../events/apigw-http-track-open.json"
        ))
        .expect("a valid event");
        let response = router(DynamoTable::new(client, name), None, None, None)
            .oneshot(request)
            .await
            .expect("a response");
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "image/gif");
        assert!(
            response.headers()["cache-control"]
                .to_str()
                .unwrap_or_default()
                .contains("no-store")
        );
        let body = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .expect("body");
        assert_eq!(body.len(), 43);
    }

    /// Every route `infra/template.yaml` gives this function reaches this router's handler.
    #[tokio::test]
    async fn every_route_of_the_template_reaches_a_handler() {
        let Some(config) = scaliyo_tests::emulators::dynamodb().await else {
            return;
        };
        let table = scaliyo_tests::emulators::new_table(&config, "open-routes").await;
        let app = router(table, None, None, None);
        scaliyo_tests::template::every_route_reaches_a_handler("track-open", app).await;
    }
}
