//! Lambda `track-click`: wiring only — the tracking router on DynamoDB, built once per cold
//! start. No authorizer: recipients follow links and unsubscribe.

use std::sync::Arc;

use scaliyo_app::rows::Rows;
use scaliyo_app::tracking::Tracking;
use scaliyo_aws::DynamoTable;
use scaliyo_store::SystemClock;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    scaliyo_http::telemetry::init_lambda("track-click");
    let table_name = std::env::var("TABLE_NAME").map_err(|_| "TABLE_NAME is not set")?;
    let config = scaliyo_aws::load_config().await;
    let table = DynamoTable::new(scaliyo_aws::dynamodb_client(&config), table_name);
    let clock = Arc::new(SystemClock);
    let tracking = Arc::new(Tracking::new(
        Rows::new(Arc::new(table), clock.clone()),
        clock,
    ));
    lambda_http::run(scaliyo_http::tracking_api::router(tracking)).await
}
