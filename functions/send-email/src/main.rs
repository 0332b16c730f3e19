//! Lambda `send-email`: wiring only. The DynamoDB table, the KMS key that seals credentials
//! and the four providers' clients are built once per cold start.

use std::sync::Arc;

use axum::{Extension, Router};
use scaliyo_app::access::Access;
use scaliyo_app::invoices::{Invoices, InvoicesConfig};
use scaliyo_app::replies::{MailboxAccess, Replies};
use scaliyo_app::send::{Mailers, SendConfig, SendPipeline};
use scaliyo_app::social::SocialAccounts;
use scaliyo_app::webhooks::WebhookEmitter;
use scaliyo_aws::{DynamoTable, KmsSealer};
use scaliyo_http::Authenticator;
use scaliyo_store::{Invoicing, Queue, Sealer, SystemClock};

fn router(
    table: DynamoTable,
    sealer: Arc<dyn Sealer>,
    mailers: Mailers,
    tracking_base_url: String,
    webhooks: Option<Arc<dyn Queue>>,
    invoicing: (Option<Arc<dyn Invoicing>>, InvoicesConfig),
) -> Router {
    let clock = Arc::new(SystemClock);
    let access = Arc::new(Access::over(Arc::new(table), clock.clone()));
    let webhooks = WebhookEmitter::for_lambda(access.rows().clone(), webhooks, clock.clone());
    let pipeline = Arc::new(
        SendPipeline::new(
            access.clone(),
            sealer.clone(),
            mailers,
            clock.clone(),
            // Links signed as track-click opens them (LINK_SIGNING_KEY).
            SendConfig::new(tracking_base_url.clone())
                .with_link_key(scaliyo_lambda::env::link_key()),
        )
        .with_webhooks(webhooks.clone())
        .with_metrics(Arc::new(scaliyo_lambda::metrics::EmfMetrics::new(
            "send-email",
        )))
        // MAILCHIMP_MARKETING_URL, else Mailchimp's API (connect-mailchimp-oauth).
        .with_mailchimp_marketing(Some(Arc::new(
            scaliyo_mail::MailchimpMarketingApi::from_env(scaliyo_mail::http_client()),
        ))),
    );
    // Reply detection per sender: its mailbox login is sealed here and checked by a first
    // read; the poll-replies function reads the mailboxes after that.
    let replies = Arc::new(
        Replies::new(
            access.clone(),
            clock.clone(),
            webhooks.clone(),
            tracking_base_url.clone(),
        )
        .with_mailboxes(MailboxAccess {
            senders: pipeline.senders().clone(),
            sealer: sealer.clone(),
            inboxes: scaliyo_mail::inboxes_from_env(),
        }),
    );
    // Connecting social accounts seals their tokens: it lives here, with the key service.
    let social_accounts = Arc::new(SocialAccounts::new(access.clone(), sealer));
    // Sending an invoice: through the user's Stripe account, else e-mailed with this pipeline.
    let (stripe, invoices_config) = invoicing;
    let invoices = Arc::new(
        Invoices::new(
            access.clone(),
            stripe,
            Arc::new(SystemClock),
            invoices_config,
        )
        .with_mailer(Some(pipeline.clone()))
        .with_webhooks(webhooks.clone()),
    );
    scaliyo_http::send_api::router(access.clone(), pipeline.clone())
        // The frontend's Edge Functions for mail, senders and invoices.
        .merge(scaliyo_http::functions_api::mail_router(
            access.clone(),
            pipeline,
        ))
        .merge(scaliyo_http::functions_api::create_invoice_router(
            access.clone(),
            invoices.clone(),
        ))
        .merge(scaliyo_http::invoice_api::router(access.clone(), invoices))
        .merge(scaliyo_http::social_api::accounts_router(
            access.clone(),
            social_accounts,
        ))
        .merge(scaliyo_http::reply_api::mailbox_router(
            access.clone(),
            replies,
        ))
        .merge(scaliyo_http::health_router())
        .layer(Extension(Arc::new(Authenticator::ApiGateway)))
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    scaliyo_lambda::telemetry::init_lambda("send-email");
    let table_name = scaliyo_lambda::env::required("TABLE_NAME")?;
    let key_id = scaliyo_lambda::env::required("KMS_KEY_ID")?;
    let tracking = scaliyo_lambda::env::required("TRACKING_BASE_URL")?;
    let config = scaliyo_aws::load_config().await;
    let table = DynamoTable::new(scaliyo_aws::dynamodb_client(&config), table_name);
    let sealer = Arc::new(KmsSealer::new(scaliyo_aws::kms_client(&config), key_id));
    // Outgoing webhooks (email.sent / email.failed) are enqueued here, delivered elsewhere.
    let webhooks = scaliyo_aws::queue_from_env("WEBHOOK_QUEUE_URL", &config);
    let stripe = match scaliyo_stripe::StripeConfig::from_env() {
        Some(stripe) => Some(Arc::new(scaliyo_stripe::Stripe::new(stripe)?) as Arc<dyn Invoicing>),
        None => None,
    };
    let invoices = InvoicesConfig {
        app_url: std::env::var("APP_URL").unwrap_or_default(),
        connect_webhook_secret: None,
    };
    lambda_http::run(scaliyo_lambda::telemetry::Traced::new(
        "send-email",
        scaliyo_http::edge::catching_panics(router(
            table,
            sealer,
            scaliyo_mail::mailers_from_env(),
            tracking,
            webhooks,
            (stripe, invoices),
        )),
    ))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::ServiceExt;

    fn test_invoices() -> InvoicesConfig {
        InvoicesConfig {
            app_url: "https://app.example".into(),
            connect_webhook_secret: None,
        }
    }

    /// A real-shaped API Gateway v2 POST reaches the pipeline on DynamoDB Local; a lead the
    /// caller does not have is a 404, as it would be in Lambda.
    #[tokio::test]
    async fn an_api_gateway_send_request_is_served() {
        let (Some(config), Some(moto)) = (
            scaliyo_tests::emulators::dynamodb().await,
            scaliyo_tests::emulators::moto().await,
        ) else {
            return;
        };
        let client = scaliyo_aws::dynamodb_client(&config);
        let name = format!("send-{}", std::process::id());
        scaliyo_aws::create_table(&client, &name)
            .await
            .expect("create table");
        let kms = scaliyo_aws::kms_client(&moto);
        let key = kms.create_key().send().await.expect("a KMS key");
        let sealer = Arc::new(KmsSealer::new(
            kms,
            key.key_metadata()
                .map(|m| m.key_id().to_owned())
                .unwrap_or_default(),
        ));
        let event = include_str!("../../../events/apigw-http-send-email.json");
        let request = lambda_http::request::from_str(event).expect("a valid event");
        let app = router(
            DynamoTable::new(client, name),
            sealer,
            scaliyo_mail::mailers_from_env(),
            "https://t.example".into(),
            None,
            (None, test_invoices()),
        );
        let response = app.oneshot(request).await.expect("a response");
        assert_eq!(response.status(), 404);
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("body");
        let json: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(json["code"], "not_found");
    }

    /// Every route `infra/template.yaml` gives this function, as API Gateway delivers it,
    /// reaches one of this router's handlers.
    #[tokio::test]
    async fn every_route_of_the_template_reaches_a_handler() {
        let (Some(config), Some(moto)) = (
            scaliyo_tests::emulators::dynamodb().await,
            scaliyo_tests::emulators::moto().await,
        ) else {
            return;
        };
        let table = scaliyo_tests::emulators::new_table(&config, "send-routes").await;
        let kms = scaliyo_aws::kms_client(&moto);
        let app = router(
            table,
            Arc::new(KmsSealer::new(kms, "alias/never-used")),
            scaliyo_mail::mailers_from_env(),
            "https://t.example".into(),
            None,
            (None, test_invoices()),
        );
        scaliyo_tests::template::every_route_reaches_a_handler("send-email", app).await;
    }
}
