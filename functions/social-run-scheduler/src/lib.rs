//! The social publishing functions' shared wiring: `social-run-scheduler` (the tick) and
//! `social-post-now` (one post published within the request) build the same publisher —
//! the table, the key that opens the tokens, the media bucket, the networks' clients.

use std::collections::HashMap;
use std::sync::Arc;

use scaliyo_app::access::Access;
use scaliyo_app::social::{MEDIA_BUCKET, SocialPosts, SocialPublisher, SocialSettings};
use scaliyo_app::webhooks::WebhookEmitter;
use scaliyo_aws::{DynamoTable, KmsSealer, S3Blobs};
use scaliyo_store::{Blobs, Queue, Sealer, SocialNetworks, SystemClock};

/// The publisher over `access`, with its metrics named for `function`.
pub fn publisher(
    access: Arc<Access>,
    sealer: Arc<dyn Sealer>,
    media: Arc<dyn Blobs>,
    networks: SocialNetworks,
    short_link_base: String,
    webhooks: Option<Arc<dyn Queue>>,
    function: &'static str,
) -> SocialPublisher {
    let clock = Arc::new(SystemClock);
    let webhooks = WebhookEmitter::for_lambda(access.rows().clone(), webhooks, clock.clone());
    let posts = SocialPosts::new(access, media, clock, SocialSettings::new(short_link_base))
        .with_webhooks(webhooks);
    SocialPublisher::new(posts, networks, sealer)
        .with_metrics(Arc::new(scaliyo_lambda::metrics::EmfMetrics::new(function)))
}

/// The row layer and the publisher from the function's environment (`TABLE_NAME`,
/// `KMS_KEY_ID`, `BUCKET_SOCIAL_MEDIA`, `TRACKING_BASE_URL`, the networks' variables).
pub async fn from_env(
    function: &'static str,
) -> Result<(Arc<Access>, SocialPublisher), lambda_runtime::Error> {
    let table_name = scaliyo_lambda::env::required("TABLE_NAME")?;
    let key_id = scaliyo_lambda::env::required("KMS_KEY_ID")?;
    let media_bucket = scaliyo_lambda::env::required("BUCKET_SOCIAL_MEDIA")?;
    // Short links are served by the tracking host (track-click).
    let tracking = scaliyo_lambda::env::required("TRACKING_BASE_URL")?;
    let config = scaliyo_aws::load_config().await;
    let media = S3Blobs::new(
        scaliyo_aws::s3_client(&config),
        HashMap::from([(MEDIA_BUCKET.to_owned(), media_bucket)]),
    );
    let table = DynamoTable::new(scaliyo_aws::dynamodb_client(&config), table_name);
    let access = Arc::new(Access::over(Arc::new(table), Arc::new(SystemClock)));
    let publisher = publisher(
        access.clone(),
        Arc::new(KmsSealer::new(scaliyo_aws::kms_client(&config), key_id)),
        Arc::new(media),
        scaliyo_social::networks(&scaliyo_social::SocialConfig::from_env()),
        tracking,
        scaliyo_aws::queue_from_env("WEBHOOK_QUEUE_URL", &config),
        function,
    );
    Ok((access, publisher))
}
