//! Lambda `api`: wiring only. Clients are built once per cold start; every request goes to the
//! same axum router the local server mounts.

use std::sync::Arc;

use axum::{Extension, Router};
use scaliyo_app::access::Access;
use scaliyo_app::rows::Rows;
use scaliyo_app::usage::Usage;
use scaliyo_aws::DynamoTable;
use scaliyo_http::Authenticator;
use scaliyo_store::SystemClock;

fn router(table: DynamoTable) -> Router {
    let clock = Arc::new(SystemClock);
    let access = Arc::new(Access::new(
        Rows::new(Arc::new(table), clock.clone()),
        clock.clone(),
    ));
    let usage = Arc::new(Usage::new(access.clone(), clock));
    scaliyo_http::data_api::router(access, usage)
        .merge(scaliyo_http::health_router())
        .layer(Extension(Arc::new(Authenticator::ApiGateway)))
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    scaliyo_http::telemetry::init_lambda("api");
    let table_name = std::env::var("TABLE_NAME").map_err(|_| "TABLE_NAME is not set")?;
    let config = scaliyo_aws::load_config().await;
    let table = DynamoTable::new(scaliyo_aws::dynamodb_client(&config), table_name);
    lambda_http::run(router(table)).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::ServiceExt;

    /// The real-shaped API Gateway v2 event goes through lambda_http's own request
    /// conversion, as in Lambda, to the router and DynamoDB Local; the JWT claims become the
    /// caller, whose (empty) leads come back.
    #[tokio::test]
    async fn an_api_gateway_event_lists_the_callers_leads() {
        let Ok(endpoint) = std::env::var("SCALIYO_TEST_DYNAMODB_ENDPOINT") else {
            assert_ne!(
                std::env::var("SCALIYO_REQUIRE_EMULATORS").as_deref(),
                Ok("1"),
                "DynamoDB Local is required"
            );
            eprintln!("SKIPPED: DynamoDB Local is not running; scripts/test starts it");
            return;
        };
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
            .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                "test", "test", None, None, "test",
            ))
            .endpoint_url(endpoint)
            .build();
        let client = aws_sdk_dynamodb::Client::from_conf(config);
        let name = format!("api-{}", std::process::id());
        scaliyo_aws::create_table(&client, &name)
            .await
            .expect("create table");
        let event = include_str!("../../../events/apigw-http-list-leads.json");
        let request = lambda_http::request::from_str(event).expect("a valid event");
        let response = router(DynamoTable::new(client, name))
            .oneshot(request)
            .await
            .expect("a response");
        assert_eq!(response.status(), 200);
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("body");
        let json: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(json["data"], serde_json::json!([]));
    }
}
