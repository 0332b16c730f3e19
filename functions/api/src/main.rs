//! Lambda `api`: wiring only. Clients are built once per cold start; every request goes to the
//! same axum router the local server mounts.

use std::sync::Arc;

use axum::{Extension, Router};
use scaliyo_app::access::Access;
use scaliyo_app::billing::{Billing, BillingConfig};
use scaliyo_app::import::{ImportConfig, Importer};
use scaliyo_app::invoices::{Invoices, InvoicesConfig};
use scaliyo_app::provider_events::ProviderHooks;
use scaliyo_app::scheduler::Scheduling;
use scaliyo_app::social::{SocialPosts, SocialSettings};
use scaliyo_app::storage::Storage;
use scaliyo_app::storage::objects::StorageObjects;
use scaliyo_app::usage::Usage;
use scaliyo_app::webhooks::{WebhookEmitter, WebhookLog};
use scaliyo_app::workflows::WorkflowFeed;
use scaliyo_aws::{DynamoTable, KmsSealer, S3Blobs};
use scaliyo_http::Authenticator;
use scaliyo_store::{Blobs, Invoicing, Payments, Queue, Sealer, SystemClock};
use std::collections::HashMap;

/// What the router is built from: the clients and the configuration read at cold start.
struct Wiring {
    table: DynamoTable,
    cursor_key: Vec<u8>,
    authenticator: Authenticator,
    storage: Storage,
    imports: Arc<dyn Blobs>,
    imports_bucket: String,
    tracking_base_url: String,
    webhooks: Option<Arc<dyn Queue>>,
    /// run-workflows' queue: lead changes and workflow activations feed the engine.
    workflows: Option<Arc<dyn Queue>>,
    /// The e-mail queue (process-scheduled-emails): invitation e-mails go out through it.
    emails: Option<Arc<dyn Queue>>,
    /// The frontend's base URL (invitation links go to `<app_url>/invites`).
    app_url: String,
    /// Stripe, when `STRIPE_SECRET_KEY` is set; the billing routes answer 501 without it.
    stripe: Option<Arc<scaliyo_stripe::Stripe>>,
    billing: BillingConfig,
    invoices: InvoicesConfig,
    /// Seals the credentials clients write (integrations, e-mail provider keys).
    sealer: Option<Arc<dyn Sealer>>,
}

fn router(wiring: Wiring) -> Router {
    let Wiring {
        table,
        cursor_key,
        authenticator,
        storage,
        imports,
        imports_bucket,
        tracking_base_url,
        webhooks,
        workflows,
        emails,
        app_url,
        stripe,
        billing,
        invoices,
        sealer,
    } = wiring;
    let cursor_key = cursor_key.as_slice();
    let clock = Arc::new(SystemClock);
    let access = Access::over(Arc::new(table), clock.clone()).with_cursor_key(cursor_key);
    // Lead and team-member changes go to the owners' webhooks (CRM sync).
    // They and workflow changes feed the workflow engine.
    let feed = WorkflowFeed::for_lambda(access.rows().clone(), workflows, clock.clone());
    let emitter =
        WebhookEmitter::for_lambda(access.rows().clone(), webhooks.clone(), clock.clone())
            .map(|e| e.with_workflow_feed(feed.clone()));
    // Every invitation written is e-mailed by the e-mail queue's consumer.
    let letters = emails.map(|queue| {
        scaliyo_app::invites::InviteLetters::new(
            access.rows().store().clone(),
            queue,
            clock.clone(),
        )
    });
    let access = Arc::new(
        access
            .with_webhooks(emitter)
            .with_sealer(sealer)
            .with_invite_letters(letters.clone()),
    );
    // Posts and account health: publishing is social-run-scheduler's, connecting accounts
    // (which seals tokens) send-email's — no network adapters and no KMS client here.
    let social = Arc::new(SocialPosts::new(
        access.clone(),
        storage.blobs(),
        clock.clone(),
        SocialSettings::new(tracking_base_url.clone()),
    ));
    let usage = Arc::new(Usage::new(access.clone(), clock.clone()));
    let scheduling = Arc::new(Scheduling::new(access.clone(), clock.clone()));
    let payments = stripe.clone().map(|s| s as Arc<dyn Payments>);
    let billing = Arc::new(Billing::new(
        access.clone(),
        payments,
        clock.clone(),
        billing,
    ));
    let invoices = Arc::new(Invoices::new(
        access.clone(),
        stripe.map(|s| s as Arc<dyn Invoicing>),
        clock.clone(),
        invoices,
    ));
    let importer = Arc::new(Importer::new(
        access.clone(),
        imports,
        clock.clone(),
        ImportConfig::new(imports_bucket),
    ));
    let invites = match letters {
        Some(letters) => scaliyo_http::invite_api::router(
            access.clone(),
            Arc::new(scaliyo_app::invites::Invitations::new(
                access.clone(),
                clock.clone(),
                letters,
                scaliyo_app::invites::InvitesConfig {
                    accept_url: format!("{}/invites", app_url.trim_end_matches('/')),
                },
            )),
        ),
        None => Router::new(),
    };
    let storage = Arc::new(storage);
    scaliyo_http::data_api::router(access.clone(), usage.clone(), storage.clone())
        .merge(invites)
        .merge(scaliyo_http::schedule_api::router(
            access.clone(),
            scheduling,
        ))
        .merge(scaliyo_http::import_api::router(
            access.clone(),
            importer.clone(),
        ))
        .merge(scaliyo_http::billing_api::router(
            access.clone(),
            billing.clone(),
        ))
        // The frontend's Edge Functions this function has the parts for.
        .merge(scaliyo_http::functions_api::actions_router(
            access.clone(),
            billing,
            invoices.clone(),
        ))
        .merge(scaliyo_http::functions_api::schedule_router(
            access.clone(),
            social.clone(),
        ))
        .merge(scaliyo_http::functions_api::import_router(
            access.clone(),
            importer,
        ))
        .merge(scaliyo_http::prompt_api::router(access.clone()))
        .merge(scaliyo_http::blog_api::router(access.clone()))
        .merge(scaliyo_http::teamhub_api::router(access.clone()))
        .merge(scaliyo_http::rest_api::router(
            access.clone(),
            usage.clone(),
        ))
        .merge(scaliyo_http::storage_api::router(
            access.clone(),
            Arc::new(StorageObjects::new(
                storage.clone(),
                access.rows().store().clone(),
                clock.clone(),
            )),
        ))
        .merge(scaliyo_http::invoice_api::router(access.clone(), invoices))
        .merge(scaliyo_http::provider_webhook_api::router(
            access.clone(),
            Arc::new(ProviderHooks::new(
                access.rows().clone(),
                Arc::new(SystemClock),
                tracking_base_url.clone(),
            )),
        ))
        // A lead's replies, the reply rules and inbound URLs (the mailboxes are read by
        // poll-replies, the inbound posts received by track-click).
        .merge(scaliyo_http::reply_api::router(
            access.clone(),
            Arc::new(scaliyo_app::replies::Replies::new(
                access.clone(),
                Arc::new(SystemClock),
                None,
                tracking_base_url.clone(),
            )),
        ))
        .merge(scaliyo_http::social_api::router(access.clone(), social))
        .merge(scaliyo_http::recount_api::router(
            access.clone(),
            Arc::new(scaliyo_app::tracking::Tracking::new(
                access.rows().clone(),
                Arc::new(SystemClock),
            )),
        ))
        // A workflow's inbound hook URL (the hook itself is served by track-click).
        .merge(match feed {
            Some(feed) => {
                scaliyo_http::workflow_api::router(access.clone(), feed, tracking_base_url)
            }
            None => Router::new(),
        })
        .merge(match webhooks {
            // The delivery log and redelivery (which enqueues).
            Some(queue) => scaliyo_http::webhook_api::router(
                access.clone(),
                Arc::new(WebhookLog::new(
                    access.clone(),
                    queue,
                    Arc::new(SystemClock),
                )),
            ),
            None => Router::new(),
        })
        .merge(scaliyo_http::health_router())
        .layer(Extension(Arc::new(authenticator)))
}

/// Who is calling: the authorizer's claims, and on the public-read routes (no authorizer) a
/// bearer token verified with the issuer's keys. Without the keys (the issuer unreachable at
/// cold start) a signed-in caller on those routes is served the public rows only.
async fn authenticator() -> Authenticator {
    let (Ok(issuer), Ok(audience)) = (std::env::var("JWT_ISSUER"), std::env::var("JWT_AUDIENCE"))
    else {
        return Authenticator::ApiGateway;
    };
    let url = std::env::var("JWKS_URL")
        .unwrap_or_else(|_| format!("{}/.well-known/jwks.json", issuer.trim_end_matches('/')));
    match scaliyo_http::jwks::IssuerKeys::load(issuer, audience, url).await {
        Ok(keys) => Authenticator::ApiGatewayOrIssuer(keys),
        Err(error) => {
            tracing::error!(%error, "the issuer's keys could not be loaded; public reads are anonymous");
            Authenticator::ApiGateway
        }
    }
}

/// The buckets: physical names from `BUCKET_<NAME>` (e.g. `BUCKET_SOCIAL_MEDIA`), public URLs
/// from `PUBLIC_ASSETS_BASE_URL` (a CDN) or the buckets' S3 URLs.
fn storage(config: &scaliyo_aws::SdkConfig) -> Storage {
    let region = config
        .region()
        .map(|r| r.to_string())
        .unwrap_or_else(|| "us-east-1".into());
    let mut physical = HashMap::new();
    let mut public_bases = HashMap::new();
    for rules in scaliyo_app::storage::BUCKETS {
        let variable = format!("BUCKET_{}", rules.name.replace('-', "_").to_uppercase());
        let name = std::env::var(&variable).unwrap_or_else(|_| rules.name.replace('_', "-"));
        if rules.public_read {
            let base = match std::env::var("PUBLIC_ASSETS_BASE_URL") {
                Ok(cdn) => format!("{}/{}", cdn.trim_end_matches('/'), rules.name),
                Err(_) => format!("https://{name}.s3.{region}.amazonaws.com"),
            };
            public_bases.insert(rules.name.to_owned(), base);
        }
        physical.insert(rules.name.to_owned(), name);
    }
    let blobs = S3Blobs::new(scaliyo_aws::s3_client(config), physical);
    Storage::new(Arc::new(blobs), public_bases)
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    scaliyo_lambda::telemetry::init_lambda("api");
    let table_name = scaliyo_lambda::env::required("TABLE_NAME")?;
    let config = scaliyo_aws::load_config().await;
    let table = DynamoTable::new(scaliyo_aws::dynamodb_client(&config), table_name);
    // Uploads for imports go to their own private bucket (physical name = logical name).
    let imports_bucket = scaliyo_lambda::env::required("IMPORTS_BUCKET")?;
    let imports = Arc::new(S3Blobs::new(
        scaliyo_aws::s3_client(&config),
        HashMap::from([(imports_bucket.clone(), imports_bucket.clone())]),
    ));
    // Event webhook URLs (created here) are served by the tracking host.
    let tracking = scaliyo_lambda::env::required("TRACKING_BASE_URL")?;
    // List cursors must open on every instance: one key for the deployment (ADR 17).
    let cursor_key = scaliyo_lambda::env::required("CURSOR_KEY")?;
    let authenticator = authenticator().await;
    let stripe = match scaliyo_stripe::StripeConfig::from_env() {
        Some(stripe) => Some(Arc::new(scaliyo_stripe::Stripe::new(stripe)?)),
        None => None,
    };
    let app_url = std::env::var("APP_URL").unwrap_or_default();
    let key_id = scaliyo_lambda::env::required("KMS_KEY_ID")?;
    let sealer: Arc<dyn Sealer> =
        Arc::new(KmsSealer::new(scaliyo_aws::kms_client(&config), key_id));
    // Every deployment holds the system Team Hub templates: the first cold start that finds
    // one missing writes it (three reads otherwise).
    let seeding = scaliyo_app::rows::Rows::new(Arc::new(table.clone()), Arc::new(SystemClock));
    if let Err(error) =
        scaliyo_app::board_templates::BoardTemplates::ensure_system_templates(&seeding).await
    {
        tracing::error!(%error, "the system Team Hub templates could not be seeded");
    }
    lambda_http::run(scaliyo_lambda::telemetry::Traced::new(
        "api",
        scaliyo_http::edge::catching_panics(router(Wiring {
            table,
            cursor_key: cursor_key.into_bytes(),
            authenticator,
            storage: storage(&config),
            imports,
            imports_bucket,
            tracking_base_url: tracking,
            webhooks: scaliyo_aws::queue_from_env("WEBHOOK_QUEUE_URL", &config),
            workflows: scaliyo_aws::queue_from_env("WORKFLOW_QUEUE_URL", &config),
            emails: scaliyo_aws::queue_from_env("SCHEDULED_EMAIL_QUEUE_URL", &config),
            app_url: app_url.clone(),
            stripe,
            billing: BillingConfig {
                app_url: app_url.clone(),
                webhook_secret: std::env::var("STRIPE_WEBHOOK_SECRET").ok(),
            },
            invoices: InvoicesConfig {
                app_url,
                connect_webhook_secret: std::env::var("STRIPE_CONNECT_WEBHOOK_SECRET").ok(),
            },
            sealer: Some(sealer),
        })),
    ))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::ServiceExt;

    /// The wiring of a test: these clients, no Stripe, no sealer, no webhook secret.
    fn wiring(
        table: DynamoTable,
        storage: Storage,
        imports: Arc<dyn Blobs>,
        webhooks: Option<Arc<dyn Queue>>,
    ) -> Wiring {
        Wiring {
            table,
            cursor_key: b"test cursor key".to_vec(),
            authenticator: Authenticator::ApiGateway,
            storage,
            imports,
            imports_bucket: "imports".into(),
            tracking_base_url: "https://t.example".into(),
            webhooks,
            workflows: None,
            emails: None,
            app_url: "https://app.example".into(),
            stripe: None,
            billing: BillingConfig {
                app_url: "https://app.example".into(),
                webhook_secret: None,
            },
            invoices: InvoicesConfig {
                app_url: "https://app.example".into(),
                connect_webhook_secret: None,
            },
            sealer: None,
        }
    }

    /// The real-shaped API Gateway v2 event goes through lambda_http's own request
    /// conversion, as in Lambda, to the router and DynamoDB Local; the JWT claims become the
    /// caller, whose (empty) leads come back.
    #[tokio::test]
    async fn an_api_gateway_event_lists_the_callers_leads() {
        // Skips loudly without DynamoDB Local, fails when scripts/test requires it.
        let Some(config) = scaliyo_tests::emulators::dynamodb().await else {
            return;
        };
        let client = scaliyo_aws::dynamodb_client(&config);
        let name = format!("api-{}", std::process::id());
        scaliyo_aws::create_table(&client, &name)
            .await
            .expect("create table");
        let event = include_str!("../../../events/apigw-http-list-leads.json");
        let request = lambda_http::request::from_str(event).expect("a valid event");
        let blobs = S3Blobs::new(scaliyo_aws::s3_client(&config), HashMap::new());
        let storage = Storage::new(Arc::new(blobs), HashMap::new());
        let imports = Arc::new(S3Blobs::new(
            scaliyo_aws::s3_client(&config),
            HashMap::new(),
        ));
        let response = router(wiring(
            DynamoTable::new(client, name),
            storage,
            imports,
            None,
        ))
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

    /// Every route `infra/template.yaml` gives this function, as API Gateway delivers it,
    /// reaches one of this router's handlers (with the delivery log mounted, as deployed).
    #[tokio::test]
    async fn every_route_of_the_template_reaches_a_handler() {
        let (Some(config), Some(moto)) = (
            scaliyo_tests::emulators::dynamodb().await,
            scaliyo_tests::emulators::moto().await,
        ) else {
            return;
        };
        let table = scaliyo_tests::emulators::new_table(&config, "api-routes").await;
        let blobs = S3Blobs::new(scaliyo_aws::s3_client(&moto), HashMap::new());
        let imports = Arc::new(S3Blobs::new(scaliyo_aws::s3_client(&moto), HashMap::new()));
        let webhooks: Arc<dyn Queue> = Arc::new(scaliyo_aws::SqsQueue::new(
            scaliyo_aws::sqs_client(&moto),
            "http://127.0.0.1:1/never-used",
        ));
        let app = router(wiring(
            table,
            Storage::new(Arc::new(blobs), HashMap::new()),
            imports,
            Some(webhooks),
        ));
        scaliyo_tests::template::every_route_reaches_a_handler("api", app).await;
    }

    /// Stripe's webhook as API Gateway hands it over: the body base64-encoded
    /// (`isBase64Encoded`), verified on the raw bytes lambda_http decodes; a tampered body
    /// is refused.
    #[tokio::test]
    async fn a_base64_encoded_stripe_event_is_verified_on_its_raw_bytes() {
        use base64::Engine;
        let Some(config) = scaliyo_tests::emulators::dynamodb().await else {
            return;
        };
        let table = scaliyo_tests::emulators::new_table(&config, "api-stripe").await;
        let blobs = S3Blobs::new(scaliyo_aws::s3_client(&config), HashMap::new());
        let imports = Arc::new(S3Blobs::new(
            scaliyo_aws::s3_client(&config),
            HashMap::new(),
        ));
        let app = router(Wiring {
            billing: BillingConfig {
                app_url: "https://app.example".into(),
                webhook_secret: Some("whsec_lambda_test".into()),
            },
            ..wiring(
                table,
                Storage::new(Arc::new(blobs), HashMap::new()),
                imports,
                None,
            )
        });
        let now = chrono::Utc::now().timestamp();
        let body = serde_json::json!({ "id": format!("evt_b64_{}", std::process::id()), "object": "event", "type": "customer.created", "data": { "object": { "id": "cus_1" } } }).to_string();
        let signature = scaliyo_domain::billing::sign(body.as_bytes(), "whsec_lambda_test", now);
        let event = |body: &str| {
            serde_json::json!({
                "version": "2.0",
                "routeKey": "POST /webhooks/stripe",
                "rawPath": "/webhooks/stripe",
                "rawQueryString": "",
                "headers": { "content-type": "application/json; charset=utf-8", "stripe-signature": signature, "host": "api.scaliyo.example", "user-agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)" },
                "requestContext": {
                    "accountId": "123456789012", "apiId": "a1b2c3d4e5", "domainName": "api.scaliyo.example", "domainPrefix": "api",
                    "http": { "method": "POST", "path": "/webhooks/stripe", "protocol": "HTTP/1.1", "sourceIp": "54.187.174.169", "userAgent": "Stripe/1.0" },
                    "requestId": "stripe-event", "routeKey": "POST /webhooks/stripe", "stage": "$default", "time": "02/Dec/2026:10:00:00 +0000", "timeEpoch": 1_796_205_600_000_i64
                },
                "body": base64::engine::general_purpose::STANDARD.encode(body),
                "isBase64Encoded": true
            })
            .to_string()
        };
        let answer = |event: String| {
            let app = app.clone();
            async move {
                let request = lambda_http::request::from_str(&event).expect("a valid event");
                let response = app.oneshot(request).await.expect("a response");
                let status = response.status().as_u16();
                let body = axum::body::to_bytes(response.into_body(), 1 << 20)
                    .await
                    .expect("body");
                (
                    status,
                    serde_json::from_slice::<serde_json::Value>(&body).unwrap_or_default(),
                )
            }
        };
        let (status, reply) = answer(event(&body)).await;
        assert_eq!(
            (status, reply["result"].as_str()),
            (200, Some("ignored")),
            "{reply}"
        );
        let (status, reply) = answer(event(&body.replace("cus_1", "cus_2"))).await;
        assert_eq!(
            (status, reply["code"].as_str()),
            (400, Some("bad_signature")),
            "{reply}"
        );
    }
}
