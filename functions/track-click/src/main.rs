//! Lambda `track-click`: wiring only — the tracking router on DynamoDB, built once per cold
//! start. No authorizer: recipients follow links (e-mail links and social short links) and
//! unsubscribe.

use std::sync::Arc;

use scaliyo_app::rows::Rows;
use scaliyo_app::tracking::Tracking;
use scaliyo_app::webhooks::WebhookEmitter;
use scaliyo_app::workflows::WorkflowFeed;
use scaliyo_aws::DynamoTable;
use scaliyo_store::{Queue, QueueJournal, SystemClock};

/// Links, short links, unsubscribes and the providers' event webhooks: the tracking host's
/// routes.
fn router(
    table: DynamoTable,
    ip_hash_key: &[u8],
    hits: Option<Arc<dyn Queue>>,
    webhooks: Option<Arc<dyn Queue>>,
    workflows: Option<Arc<dyn Queue>>,
) -> axum::Router {
    let clock = Arc::new(SystemClock);
    let rows = Rows::new(Arc::new(table), clock.clone());
    let feed = WorkflowFeed::for_lambda(rows.clone(), workflows, clock.clone());
    let webhooks = WebhookEmitter::for_lambda(rows.clone(), webhooks, clock.clone())
        .map(|w| w.with_workflow_feed(feed.clone()));
    let mut tracking = Tracking::new(rows.clone(), clock.clone())
        // A signed link redirects from itself (LINK_SIGNING_KEY, the senders' key).
        .with_link_key(scaliyo_lambda::env::link_key())
        .with_webhooks(webhooks.clone())
        .with_metrics(Arc::new(scaliyo_lambda::metrics::EmfMetrics::new(
            "track-click",
        )));
    // One SendMessage per click before the redirect (the destination signed into the link,
    // or read once per container); analytics-rollup classifies and stores.
    if let Some(hits) = hits {
        tracking = tracking.with_journal(Arc::new(QueueJournal::new(hits)));
    }
    let tracking = Arc::new(tracking);
    let access = Arc::new(scaliyo_app::access::Access::new(
        rows.clone(),
        clock.clone(),
    ));
    let short_links = Arc::new(scaliyo_app::social::ShortLinks::new(
        rows.clone(),
        ip_hash_key,
    ));
    // Replies posted by the providers' inbound parse (the URL is handed out by the api).
    let replies = Arc::new(
        scaliyo_app::replies::Replies::new(access.clone(), clock.clone(), webhooks.clone(), "")
            .with_metrics(Arc::new(scaliyo_lambda::metrics::EmfMetrics::new(
                "track-click",
            ))),
    );
    // The base URL only matters when a webhook is created (through the api function).
    let hooks = Arc::new(
        scaliyo_app::provider_events::ProviderHooks::new(rows, clock, "").with_webhooks(webhooks),
    );
    // Workflows' inbound hooks (the URL is handed out by the api function).
    let workflow_hooks = match feed {
        Some(feed) => scaliyo_http::workflow_api::router(access.clone(), feed, String::new()),
        None => axum::Router::new(),
    };
    scaliyo_http::tracking_api::router(tracking)
        .merge(scaliyo_http::tracking_api::short_link_router(short_links))
        .merge(scaliyo_http::provider_webhook_api::router(access, hooks))
        .merge(scaliyo_http::reply_api::inbound_router(replies))
        .merge(workflow_hooks)
        .layer(axum::Extension(
            scaliyo_http::tracking_api::TrustedProxies::from_env_or(
                scaliyo_http::tracking_api::TrustedProxies::none(),
            ),
        ))
        .layer(axum::Extension(Arc::new(
            scaliyo_http::Authenticator::ApiGateway,
        )))
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    scaliyo_lambda::telemetry::init_lambda("track-click");
    let table_name = scaliyo_lambda::env::required("TABLE_NAME")?;
    // The key of the visitors' address hashes (a generated secret; see infra/template.yaml).
    let ip_hash_key = scaliyo_lambda::env::required("IP_HASH_KEY")?;
    let config = scaliyo_aws::load_config().await;
    let table = DynamoTable::new(scaliyo_aws::dynamodb_client(&config), table_name);
    // The hit queue: each click is made durable there (analytics-rollup applies them).
    let hits = scaliyo_aws::queue_from_env("HIT_QUEUE_URL", &config);
    // Human clicks, unsubscribes and bounces for outgoing webhooks: enqueued, delivered elsewhere.
    let webhooks = scaliyo_aws::queue_from_env("WEBHOOK_QUEUE_URL", &config);
    // Human clicks, unsubscribes and bounces wake or end workflow runs (run-workflows' queue).
    let workflows = scaliyo_aws::queue_from_env("WORKFLOW_QUEUE_URL", &config);
    lambda_http::run(scaliyo_lambda::telemetry::Traced::new(
        "track-click",
        router(table, ip_hash_key.as_bytes(), hits, webhooks, workflows),
    ))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::ServiceExt;

    /// The real-shaped API Gateway event of a click on a link whose token is unknown: a small
    /// 404 page, never a redirect taken from the request.
    #[tokio::test]
    async fn an_api_gateway_click_on_an_unknown_token_gets_the_404_page() {
        let Some(config) = scaliyo_tests::emulators::dynamodb().await else {
            return;
        };
        let client = scaliyo_aws::dynamodb_client(&config);
        let name = scaliyo_tests::emulators::unique_name("click");
        scaliyo_aws::create_table(&client, &name)
            .await
            .expect("table");
        let request = lambda_http::request::from_str(include_str!(
            "../../../events/apigw-http-track-click.json"
        ))
        .expect("a valid event");
        let response = router(
            DynamoTable::new(client, name),
            b"test key",
            None,
            None,
            Some(Arc::new(scaliyo_embedded::LocalQueue::new("workflows"))),
        )
        .oneshot(request)
        .await
        .expect("a response");
        assert_eq!(response.status(), 404);
        assert!(response.headers().get("location").is_none());
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap_or_default()
                .starts_with("text/html")
        );
    }

    /// Every route `infra/template.yaml` gives this function (links, short links,
    /// unsubscribes, provider event webhooks) reaches one of this router's handlers.
    #[tokio::test]
    async fn every_route_of_the_template_reaches_a_handler() {
        let Some(config) = scaliyo_tests::emulators::dynamodb().await else {
            return;
        };
        let table = scaliyo_tests::emulators::new_table(&config, "click-routes").await;
        let app = router(
            table,
            b"test key",
            None,
            None,
            Some(Arc::new(scaliyo_embedded::LocalQueue::new("workflows"))),
        );
        scaliyo_tests::template::every_route_reaches_a_handler("track-click", app).await;
    }
}
