//! Lambda `social-run-scheduler`: wiring only. EventBridge `rate(1 minute)` → one tick:
//! resume posts whose retry time or lease has come, claim due posts, publish their targets
//! (Graph API, LinkedIn REST) with bounded concurrency. The function's timeout (5 minutes)
//! is shorter than the claim lease (10 minutes), so a run is always over before its work can
//! be taken over.

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use scaliyo_app::social::SocialPublisher;
use serde_json::Value;

async fn handle(social: &SocialPublisher, event: LambdaEvent<Value>) -> Result<Value, Error> {
    let tick: EventBridgeEvent<Value> = serde_json::from_value(event.payload)?;
    tracing::info!(time = ?tick.time, "tick");
    let report = social.tick().await?;
    Ok(serde_json::to_value(report)?)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    scaliyo_lambda::telemetry::init_lambda("social-run-scheduler");
    let (_, social) = scaliyo_fn_social_run_scheduler::from_env("social-run-scheduler").await?;
    lambda_runtime::run(scaliyo_lambda::telemetry::Traced::new(
        "social-run-scheduler",
        service_fn(|event| handle(&social, event)),
    ))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::sync::Arc;

    use scaliyo_app::access::Access;
    use scaliyo_app::social::MEDIA_BUCKET;
    use scaliyo_aws::S3Blobs;
    use scaliyo_embedded::LocalSealer;
    use scaliyo_store::{Blobs, Sealer, SystemClock};
    use serde_json::json;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    /// The real-shaped EventBridge event ticks on DynamoDB Local, with the post's image in
    /// moto's S3 and a Graph API fake: the due post is published to its page.
    #[tokio::test]
    async fn a_tick_publishes_a_due_post_on_the_emulators() {
        let (Some(dynamo), Some(moto)) = (
            scaliyo_tests::emulators::dynamodb().await,
            scaliyo_tests::emulators::moto().await,
        ) else {
            return;
        };
        let table = scaliyo_tests::emulators::new_table(&dynamo, "social").await;
        let s3 = scaliyo_aws::s3_client(&moto);
        let bucket = scaliyo_tests::emulators::unique_name("social-media");
        s3.create_bucket()
            .bucket(&bucket)
            .send()
            .await
            .expect("bucket");
        let media: Arc<dyn Blobs> = Arc::new(S3Blobs::new(
            s3,
            HashMap::from([(MEDIA_BUCKET.to_owned(), bucket)]),
        ));
        let graph = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v25.0/1050/photos"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({ "id": "5551", "post_id": "1050_777" })),
            )
            .expect(1)
            .mount(&graph)
            .await;
        let config = scaliyo_social::SocialConfig {
            meta_base_url: graph.uri(),
            meta_version: "v25.0".into(),
            ..Default::default()
        };
        let sealer: Arc<dyn Sealer> = Arc::new(LocalSealer::new(&[9u8; 32]).expect("a sealer"));
        let access = Arc::new(Access::over(Arc::new(table), Arc::new(SystemClock)));
        let social = scaliyo_fn_social_run_scheduler::publisher(
            access.clone(),
            sealer.clone(),
            media.clone(),
            scaliyo_social::networks(&config),
            "https://t.example".into(),
            None,
            "social-run-scheduler",
        );

        let actor = scaliyo_tests::emulators::new_user(&access).await;
        let owner = actor.owner().expect("a signed-up user");
        let image = format!("{owner}/launch.png");
        media
            .put(
                MEDIA_BUCKET,
                &image,
                bytes::Bytes::from_static(b"\x89PNG\r\n\x1a\n"),
                Some("image/png"),
            )
            .await
            .expect("the image");
        // Connected through the accounts service (send-email's, in AWS), with the same key.
        let account = scaliyo_app::social::SocialAccounts::new(access, sealer)
            .connect_meta(
                &actor,
                serde_json::from_value(
                    json!({ "page_id": "1050", "page_access_token": "EAAB-page-token" }),
                )
                .expect("a connect request"),
            )
            .await
            .expect("an account");
        let due = (chrono::Utc::now() - chrono::Duration::minutes(1)).to_rfc3339();
        let post = social
            .posts()
            .create_post(
                &actor,
                serde_json::from_value(json!({
                    "content_text": "Launch day",
                    "media_paths": [image],
                    "scheduled_at": due,
                    "targets": [ { "account_id": account["id"], "channel": "facebook_page" } ]
                }))
                .expect("a post request"),
            )
            .await
            .expect("a post");

        let tick: Value = serde_json::from_str(include_str!(
            "../../../events/eventbridge-social-run-scheduler.json"
        ))
        .expect("event");
        let report = handle(
            &social,
            LambdaEvent::new(tick, lambda_runtime::Context::default()),
        )
        .await
        .expect("the tick");
        assert_eq!(report["claimed"], 1, "{report}");
        assert_eq!(report["published"], 1, "{report}");
        let id = post.post["id"].as_str().unwrap_or_default().to_owned();
        let shown = social.posts().post(&actor, &id).await.expect("the post");
        assert_eq!(shown.post["status"], "completed");
        assert_eq!(shown.targets[0]["remote_post_id"], "1050_777");
    }
}
