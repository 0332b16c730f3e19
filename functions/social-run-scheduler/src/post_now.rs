//! Lambda `social-post-now`: wiring only. `POST /functions/v1/social-post-now` (the
//! frontend's "Post now") publishes one post within the request with the tick's publisher —
//! this function, like the tick, holds the networks' clients and the key that opens tokens.

use std::sync::Arc;

use axum::{Extension, Router};
use scaliyo_app::access::Access;
use scaliyo_app::social::SocialPublisher;
use scaliyo_http::Authenticator;

fn router(access: Arc<Access>, publisher: SocialPublisher) -> Router {
    scaliyo_http::functions_api::post_now_router(access, Arc::new(publisher))
        .merge(scaliyo_http::health_router())
        .layer(Extension(Arc::new(Authenticator::ApiGateway)))
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    scaliyo_lambda::telemetry::init_lambda("social-post-now");
    let (access, publisher) = scaliyo_fn_social_run_scheduler::from_env("social-post-now").await?;
    lambda_http::run(scaliyo_lambda::telemetry::Traced::new(
        "social-post-now",
        scaliyo_http::edge::catching_panics(router(access, publisher)),
    ))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    use scaliyo_app::social::MEDIA_BUCKET;
    use scaliyo_aws::S3Blobs;
    use scaliyo_embedded::LocalSealer;
    use scaliyo_store::{Sealer, SystemClock};
    use serde_json::{Value, json};
    use tower::ServiceExt;
    use wiremock::matchers::{body_string_contains, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    /// An API Gateway request of the signed-in `user` invoking the function with `body`.
    fn invocation(user: &str, body: Value) -> lambda_http::Request {
        let mut event: Value =
            serde_json::from_str(include_str!("../../../events/apigw-http-send-email.json"))
                .expect("the event");
        event["routeKey"] = json!("POST /functions/v1/social-post-now");
        event["rawPath"] = json!("/functions/v1/social-post-now");
        event["requestContext"]["http"]["path"] = json!("/functions/v1/social-post-now");
        event["requestContext"]["authorizer"]["jwt"]["claims"]["sub"] = json!(user);
        event["body"] = json!(body.to_string());
        lambda_http::request::from_str(&event.to_string()).expect("a valid event")
    }

    /// A draft published within the request on DynamoDB Local and moto's S3: the Graph API
    /// fake receives the page post once, and the answer shows the post completed.
    #[tokio::test]
    async fn a_draft_is_published_within_the_request() {
        let (Some(dynamo), Some(moto)) = (
            scaliyo_tests::emulators::dynamodb().await,
            scaliyo_tests::emulators::moto().await,
        ) else {
            return;
        };
        let table = scaliyo_tests::emulators::new_table(&dynamo, "post-now").await;
        let s3 = scaliyo_aws::s3_client(&moto);
        let bucket = scaliyo_tests::emulators::unique_name("social-media");
        s3.create_bucket()
            .bucket(&bucket)
            .send()
            .await
            .expect("bucket");
        let graph = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v25.0/1050/feed"))
            .and(body_string_contains("access_token=EAAB-page-token"))
            .and(body_string_contains("message=Launch+day"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "id": "1050_778" })))
            .expect(1)
            .mount(&graph)
            .await;
        let sealer: Arc<dyn Sealer> = Arc::new(LocalSealer::new(&[9u8; 32]).expect("a sealer"));
        let access = Arc::new(Access::over(Arc::new(table), Arc::new(SystemClock)));
        let publisher = scaliyo_fn_social_run_scheduler::publisher(
            access.clone(),
            sealer.clone(),
            Arc::new(S3Blobs::new(
                s3,
                HashMap::from([(MEDIA_BUCKET.to_owned(), bucket)]),
            )),
            scaliyo_social::networks(&scaliyo_social::SocialConfig {
                meta_base_url: graph.uri(),
                meta_version: "v25.0".into(),
                ..Default::default()
            }),
            "https://t.example".into(),
            None,
            "social-post-now",
        );
        let actor = scaliyo_tests::emulators::new_user(&access).await;
        let owner = actor.owner().expect("a signed-up user").to_string();
        let account = scaliyo_app::social::SocialAccounts::new(access.clone(), sealer)
            .connect_meta(
                &actor,
                serde_json::from_value(
                    json!({ "page_id": "1050", "page_access_token": "EAAB-page-token" }),
                )
                .expect("a connect request"),
            )
            .await
            .expect("an account");
        let app = router(access, publisher);

        let response = app
            .oneshot(invocation(
                &owner,
                json!({
                    "content_text": "Launch day",
                    "targets": [ { "account_id": account["id"], "channel": "facebook_page" } ]
                }),
            ))
            .await
            .expect("a response");
        assert_eq!(response.status(), 200);
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("body");
        let answer: Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(answer["success"], true, "{answer}");
        assert_eq!(answer["post"]["status"], "completed", "{answer}");
        assert_eq!(answer["post"]["summary"]["published"], 1, "{answer}");
        assert_eq!(answer["post"]["targets"][0]["remote_post_id"], "1050_778");
    }

    /// Every route `infra/template.yaml` gives this function reaches its router's handler.
    #[tokio::test]
    async fn every_route_of_the_template_reaches_a_handler() {
        let (Some(dynamo), Some(moto)) = (
            scaliyo_tests::emulators::dynamodb().await,
            scaliyo_tests::emulators::moto().await,
        ) else {
            return;
        };
        let table = scaliyo_tests::emulators::new_table(&dynamo, "post-now-routes").await;
        let access = Arc::new(Access::over(Arc::new(table), Arc::new(SystemClock)));
        let publisher = scaliyo_fn_social_run_scheduler::publisher(
            access.clone(),
            Arc::new(LocalSealer::new(&[9u8; 32]).expect("a sealer")),
            Arc::new(S3Blobs::new(scaliyo_aws::s3_client(&moto), HashMap::new())),
            scaliyo_social::networks(&scaliyo_social::SocialConfig::default()),
            "https://t.example".into(),
            None,
            "social-post-now",
        );
        scaliyo_tests::template::every_route_reaches_a_handler(
            "social-post-now",
            router(access, publisher),
        )
        .await;
    }
}
