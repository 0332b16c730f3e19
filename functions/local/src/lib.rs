//! The whole system in one process on the embedded default: every function router at its API
//! Gateway path, the EventBridge schedules as timers, the redb store, blobs and secrets under
//! one data directory. `scaliyo serve` runs it; tests start it in-process the same way.

pub mod allocator;
pub mod background_threads;
pub mod blob_route;
pub mod hit_applier;
pub mod import_cli;
pub mod schedules;
pub mod secrets;
pub mod workers;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::{Extension, Router};
use hit_applier::HitApplier;
use scaliyo_app::access::Access;
use scaliyo_app::ai::Ai;
use scaliyo_app::email_queue::EmailQueueConsumer;
use scaliyo_app::import::{ImportConfig, Importer};
use scaliyo_app::invites::{Invitations, InviteLetters, InvitesConfig};
use scaliyo_app::oauth::OAuthConnections;
use scaliyo_app::replies::{MailboxAccess, Replies};
use scaliyo_app::rows::Rows;
use scaliyo_app::scheduler::{Scheduler, SchedulerConfig};
use scaliyo_app::send::{Mailers, SendConfig, SendPipeline, SystemSender};
use scaliyo_app::social::{
    Renewals, ShortLinks, SocialAccounts, SocialPosts, SocialPublisher, SocialSettings,
};
use scaliyo_app::storage::Storage;
use scaliyo_app::storage::objects::StorageObjects;
use scaliyo_app::tracking::Tracking;
use scaliyo_app::usage::Usage;
use scaliyo_app::webhooks::{WebhookDispatcher, WebhookEmitter, WebhookLog};
use scaliyo_app::workflows::{WorkflowFeed, Workflows, WorkflowsConfig};
use scaliyo_domain::signed_link::LinkKey;
use scaliyo_embedded::queue::Redrive;
use scaliyo_embedded::{
    FileJournal, LocalBlobs, LocalEventBus, LocalQueue, LocalSealer, RedbTable,
};
use scaliyo_http::{Authenticator, LocalJwt};
use scaliyo_mail::OutboxMailer;
use scaliyo_store::Clock;
use scaliyo_webhooks::{HttpPageFetcher, HttpWebhookTransport};

/// The schema's storage buckets (seed section 5).
pub const BUCKETS: [&str; 4] = ["blog-assets", "image-gen-assets", "social_media", "avatars"];
/// The private bucket of lead imports (uploads and their reports); not a schema bucket.
pub const IMPORTS_BUCKET: &str = "imports";

pub const DEFAULT_ADDR: &str = "127.0.0.1:3000";
pub const DEFAULT_DATA_DIR: &str = ".scaliyo";

#[derive(Debug, Clone)]
pub struct LocalConfig {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    /// The base URL clients reach this server at (presigned URLs, tracking links).
    pub public_base: String,
    /// The social networks' base URLs and versions. None: the networks named in the
    /// environment (`META_GRAPH_BASE_URL`, `LINKEDIN_BASE_URL`, …), else the local outbox
    /// (`<data dir>/social-outbox`, nothing leaves the machine).
    pub social: Option<scaliyo_social::SocialConfig>,
    /// Webhooks may deliver to http:// and private addresses — a receiver on this machine
    /// (`WEBHOOKS_ALLOW_PRIVATE=1`). Off by default, as in production.
    pub webhooks_allow_private: bool,
    /// Every webhook retry waits this instead of 30 s … 15 min (tests).
    pub webhook_retry_delay: Option<std::time::Duration>,
    /// Whose `X-Forwarded-For` the tracking endpoints believe (`TRUSTED_PROXIES`; loopback by
    /// default: a dev proxy or a load generator on this machine).
    pub trusted_proxies: scaliyo_http::tracking_api::TrustedProxies,
    /// The most tracking hits the journal holds unapplied (`SCALIYO_HIT_JOURNAL_MAX_MB`);
    /// past it, hits are applied as they arrive, which slows a flood instead of filling the
    /// disk.
    pub hit_journal_max_bytes: u64,
    /// Browser origins allowed to call this server (`SCALIYO_CORS_ORIGINS`, comma-separated;
    /// the template's `FrontendOrigin` on AWS). Vite's default origins unless set.
    pub cors_origins: Vec<String>,
    /// Stripe for the SaaS's subscriptions (`STRIPE_SECRET_KEY`, …); billing routes answer
    /// `501 billing_not_configured` without it.
    pub stripe: Option<scaliyo_stripe::StripeConfig>,
    /// The Stripe webhook endpoint's signing secret (`STRIPE_WEBHOOK_SECRET`).
    pub stripe_webhook_secret: Option<String>,
    /// The Connect webhook endpoint's signing secret (`STRIPE_CONNECT_WEBHOOK_SECRET`).
    pub stripe_connect_webhook_secret: Option<String>,
    /// The frontend's base URL, where checkout and the portal send the browser back
    /// (`APP_URL`; Vite's default locally).
    pub app_url: String,
    /// Where reply detection reads Gmail mailboxes: the Gmail API and Google's token endpoint
    /// (`GMAIL_API_BASE_URL`, `GOOGLE_TOKEN_URL`; Google's own unless set — tests point them
    /// at fakes). IMAP mailboxes are read at the host each sender gives, loopback included.
    pub gmail_api_base: String,
    pub google_token_url: String,
    /// Where a Mailchimp Marketing key is checked when a sender connects with one
    /// (`MAILCHIMP_MARKETING_URL`, `{dc}` standing for the key's data centre; Mailchimp's own
    /// unless set).
    pub mailchimp_marketing_url: String,
    /// The OAuth clients for connecting Gmail, Meta and LinkedIn (docs/oauth.md). None: the
    /// ones configured in the environment (`GOOGLE_CLIENT_ID`/`_SECRET`, `META_…`,
    /// `LINKEDIN_…`), with their callbacks under `public_base`.
    pub oauth: Option<scaliyo_store::OAuthProviders>,
    /// The language model of the AI routes (`AI_PROVIDER`…; docs/ai.md). None: they answer
    /// `501 ai_not_configured`.
    pub ai_model: Option<scaliyo_app::ai::SharedModel>,
    /// Lead research may read sites on http:// private addresses — a site on this machine
    /// (`RESEARCH_ALLOW_PRIVATE=1`). Off by default, as in production.
    pub research_allow_private: bool,
    /// The `ai-worker`'s concurrency and pace (`AI_WORKER_CONCURRENCY`,
    /// `AI_REQUESTS_PER_MINUTE`).
    pub ai_worker: scaliyo_app::ai::AiWorkerConfig,
    /// Parts a soak or fault test puts in place of the real ones; `scaliyo serve` sets none.
    pub injected: Injected,
}

/// Wraps the store the row layer reads and writes through.
pub type StoreWrapper =
    Arc<dyn Fn(Arc<dyn scaliyo_store::Table>) -> Arc<dyn scaliyo_store::Table> + Send + Sync>;

/// Faults injected for soak tests (`tests/benches/soak.rs`): a store that fails some writes,
/// a provider that answers 500 or times out.
#[derive(Clone, Default)]
pub struct Injected {
    /// Around the store every use case goes through (the row layer).
    pub store: Option<StoreWrapper>,
    /// The provider every user's sender delivers through, instead of the outbox.
    pub mailer: Option<Arc<dyn scaliyo_store::Mailer>>,
}

impl std::fmt::Debug for Injected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Injected")
            .field("store", &self.store.is_some())
            .field("mailer", &self.mailer.is_some())
            .finish()
    }
}

impl LocalConfig {
    pub fn new(addr: SocketAddr, data_dir: PathBuf) -> Self {
        Self {
            public_base: format!("http://{addr}"),
            addr,
            data_dir,
            social: None,
            webhooks_allow_private: false,
            webhook_retry_delay: None,
            trusted_proxies: scaliyo_http::tracking_api::TrustedProxies::loopback(),
            hit_journal_max_bytes: scaliyo_embedded::journal::DEFAULT_MAX_PENDING_BYTES,
            cors_origins: scaliyo_http::edge::DEFAULT_LOCAL_ORIGINS
                .map(str::to_owned)
                .to_vec(),
            stripe: None,
            stripe_webhook_secret: None,
            stripe_connect_webhook_secret: None,
            app_url: "http://localhost:5173".into(),
            gmail_api_base: std::env::var("GMAIL_API_BASE_URL")
                .unwrap_or_else(|_| scaliyo_mail::gmail::DEFAULT_API_BASE.into()),
            google_token_url: std::env::var("GOOGLE_TOKEN_URL")
                .unwrap_or_else(|_| scaliyo_mail::gmail::DEFAULT_TOKEN_URL.into()),
            mailchimp_marketing_url: std::env::var("MAILCHIMP_MARKETING_URL")
                .unwrap_or_else(|_| scaliyo_mail::mailchimp_marketing::DEFAULT_URL.into()),
            oauth: None,
            ai_model: None,
            research_allow_private: false,
            ai_worker: scaliyo_app::ai::AiWorkerConfig::default(),
            injected: Injected::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error("cannot open the store in {path}: {source}")]
    Store {
        path: PathBuf,
        source: scaliyo_store::StoreError,
    },
    #[error("cannot prepare the blob directory: {0}")]
    Blobs(#[from] scaliyo_store::BlobError),
    #[error("cannot read or create a local secret: {0}")]
    Secret(#[from] std::io::Error),
    #[error("cannot set up the payment provider: {0}")]
    Payments(String),
    #[error("cannot open the hit journal: {0}")]
    Journal(scaliyo_store::JournalError),
    #[error("cannot seed the system rows: {0}")]
    Seed(String),
}

/// The runtime of the local system. Store calls run on blocking threads; a bound keeps their
/// number (and the memory each thread's allocator keeps) small — the embedded store has one writer and
/// short reads, so more threads would only add memory.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(8)
        .build()
}

/// The local token signer: `SCALIYO_JWT_SECRET`, or a key kept in the data directory.
pub fn local_jwt(data_dir: &std::path::Path) -> Result<LocalJwt, LocalError> {
    let secret = match std::env::var("SCALIYO_JWT_SECRET") {
        Ok(secret) if !secret.is_empty() => secret.into_bytes(),
        _ => secrets::load_or_create(&data_dir.join("secrets/jwt.key"))?,
    };
    Ok(LocalJwt::new(&secret))
}

/// Every adapter of the embedded default, built once.
#[derive(Clone)]
pub struct LocalSystem {
    pub config: LocalConfig,
    pub clock: Arc<dyn Clock>,
    pub table: Arc<RedbTable>,
    pub blobs: Arc<LocalBlobs>,
    pub bus: Arc<LocalEventBus>,
    pub jwt: LocalJwt,
    pub access: Arc<Access>,
    /// Every provider's mail goes here locally, as `.eml` files.
    pub outbox: Arc<OutboxMailer>,
    pub send: Arc<SendPipeline>,
    /// The SQS queue between the e-mail tick and its consumer, with its dead-letter queue.
    pub scheduled_email_queue: Arc<LocalQueue>,
    pub scheduled_email_dlq: Arc<LocalQueue>,
    pub scheduler: Arc<Scheduler>,
    /// The imports bucket's new objects (`ObjectCreated` as JSON), as the blob store's hook
    /// reports them: S3 → SQS in AWS.
    pub import_queue: Arc<LocalQueue>,
    pub import_dlq: Arc<LocalQueue>,
    pub importer: Arc<Importer>,
    /// Tracking hits, durable before the pixel or the redirect answers (`data/journal`),
    /// applied by [`LocalSystem::hit_applier`]: the local form of the AWS hit queue.
    pub hit_journal: Arc<FileJournal>,
    /// The key tracked links are signed with (`data/secrets/link.key`; ADR 28).
    pub link_key: LinkKey,
    tracking: Arc<Tracking>,
    /// Social posts and their publishing (`social-run-scheduler`).
    pub social: Arc<SocialPublisher>,
    /// Connecting social accounts (sealing their tokens).
    pub social_accounts: Arc<SocialAccounts>,
    /// Connections made through OAuth (the `oauth` function).
    pub oauth: Arc<OAuthConnections>,
    pub short_links: Arc<ShortLinks>,
    /// Outgoing webhooks: events and deliveries wait here for the dispatcher.
    pub webhook_queue: Arc<LocalQueue>,
    pub webhook_dlq: Arc<LocalQueue>,
    pub webhooks: WebhookEmitter,
    pub webhook_dispatcher: Arc<WebhookDispatcher>,
    /// Subscriptions on Stripe (off unless configured).
    pub billing: Arc<scaliyo_app::billing::Billing>,
    /// What the functions would report to CloudWatch, at `GET /_local/metrics`.
    pub metrics: Arc<scaliyo_embedded::PrometheusMetrics>,
    /// Invoices to leads through the users' own Stripe accounts (off unless configured).
    pub invoices: Arc<scaliyo_app::invoices::Invoices>,
    /// The workflow engine (`run-workflows`): lead events, workflow changes and claimed runs
    /// wait on this queue.
    pub workflow_queue: Arc<LocalQueue>,
    pub workflow_dlq: Arc<LocalQueue>,
    pub workflows: Arc<Workflows>,
    /// Reply detection (`poll-replies`, the inbound parse hooks, the replies API).
    pub replies: Arc<Replies>,
    /// Invitations: answering them, and their e-mails (from the e-mail queue).
    pub invitations: Arc<Invitations>,
    /// AI calls, metered (`ai`); off unless the configuration names a model.
    pub ai: Arc<Ai>,
    /// Batch research and AI-written sequences wait here for the `ai-worker`.
    pub ai_queue: Arc<LocalQueue>,
    pub ai_dlq: Arc<LocalQueue>,
}

/// The local deployment's own sender address (its notices land in the outbox).
pub const LOCAL_SYSTEM_FROM: &str = "no-reply@scaliyo.local";

/// Receives before a scheduled-email message goes to the dead-letter queue (the SQS
/// redrive policy's maxReceiveCount in infra/template.yaml).
pub const SCHEDULED_EMAIL_MAX_RECEIVES: u32 = 5;
/// The same for import notifications.
pub const IMPORT_MAX_RECEIVES: u32 = 5;
/// The same for webhook messages (a delivery's own retries do not count: each is a new
/// message).
pub const WEBHOOK_MAX_RECEIVES: u32 = 5;
/// The same for workflow messages.
pub const WORKFLOW_MAX_RECEIVES: u32 = 5;
/// The same for AI jobs (a job's own attempts are counted on it: each retry is a new
/// message; these receives are crashes).
pub const AI_JOB_MAX_RECEIVES: u32 = 5;

impl LocalSystem {
    pub fn open(config: LocalConfig, clock: Arc<dyn Clock>) -> Result<Self, LocalError> {
        std::fs::create_dir_all(&config.data_dir)?;
        let store_path = config.data_dir.join("store.redb");
        let table =
            RedbTable::open(&store_path, clock.clone()).map_err(|source| LocalError::Store {
                path: store_path.clone(),
                source,
            })?;
        let blob_key = secrets::load_or_create(&config.data_dir.join("secrets/blob-signing.key"))?;
        let mut buckets = BUCKETS.to_vec();
        buckets.push(IMPORTS_BUCKET);
        let blobs = LocalBlobs::new(
            &config.data_dir.join("blobs"),
            &buckets,
            config.public_base.clone(),
            blob_key,
            clock.clone(),
        )?;
        let table = Arc::new(table);
        let store: Arc<dyn scaliyo_store::Table> = match &config.injected.store {
            Some(wrap) => wrap(table.clone()),
            None => table.clone(),
        };
        let rows = Rows::new(store, clock.clone());
        let cursor_key = secrets::load_or_create(&config.data_dir.join("secrets/cursor.key"))?;
        let mut access = Access::new(rows.clone(), clock.clone()).with_cursor_key(&cursor_key);
        if config.webhooks_allow_private {
            access = access.allowing_private_webhooks();
        }
        let webhook_dlq = Arc::new(LocalQueue::new("webhooks-dlq"));
        let webhook_queue = Arc::new(LocalQueue::with_redrive(
            "webhooks",
            Redrive {
                max_receives: WEBHOOK_MAX_RECEIVES,
                dead_letters: webhook_dlq.clone(),
            },
        ));
        let workflow_dlq = Arc::new(LocalQueue::new("workflows-dlq"));
        let workflow_queue = Arc::new(LocalQueue::with_redrive(
            "workflows",
            Redrive {
                max_receives: WORKFLOW_MAX_RECEIVES,
                dead_letters: workflow_dlq.clone(),
            },
        ));
        // A workflow change is heard at once (this process); a new owner's within 2 s.
        let workflow_feed = WorkflowFeed::new(rows.clone(), workflow_queue.clone(), clock.clone())
            .caching_for(std::time::Duration::from_secs(2));
        // A new webhook gets events within two seconds.
        let webhooks = WebhookEmitter::new(rows.clone(), webhook_queue.clone(), clock.clone())
            .caching_for(std::time::Duration::from_secs(2))
            .with_workflow_feed(Some(workflow_feed));
        let master_key = secrets::load_or_create(&config.data_dir.join("secrets/master.key"))?;
        let sealer = LocalSealer::from_key_text(&String::from_utf8_lossy(&master_key))
            .map_err(|e| LocalError::Secret(std::io::Error::other(e.to_string())))?;
        let sealer: Arc<dyn scaliyo_store::Sealer> = Arc::new(sealer);
        let scheduled_email_dlq = Arc::new(LocalQueue::new("scheduled-emails-dlq"));
        let scheduled_email_queue = Arc::new(LocalQueue::with_redrive(
            "scheduled-emails",
            Redrive {
                max_receives: SCHEDULED_EMAIL_MAX_RECEIVES,
                dead_letters: scheduled_email_dlq.clone(),
            },
        ));
        // Every invitation written is e-mailed through the e-mail queue's consumer.
        let invite_letters =
            InviteLetters::new(table.clone(), scheduled_email_queue.clone(), clock.clone());
        let access = Arc::new(
            access
                .with_webhooks(Some(webhooks.clone()))
                .with_sealer(Some(sealer.clone()))
                .with_invite_letters(Some(invite_letters.clone())),
        );
        let transport = if config.webhooks_allow_private {
            HttpWebhookTransport::new().allowing_private()
        } else {
            HttpWebhookTransport::new()
        };
        // The counters the Lambdas report as EMF lines, kept here for `GET /_local/metrics`.
        let metrics = Arc::new(scaliyo_embedded::PrometheusMetrics::new());
        let reported: Arc<dyn scaliyo_store::Metrics> = metrics.clone();
        let mut dispatcher = WebhookDispatcher::new(
            rows,
            webhook_queue.clone(),
            Arc::new(transport),
            clock.clone(),
        )
        .with_metrics(reported.clone());
        if let Some(delay) = config.webhook_retry_delay {
            dispatcher = dispatcher.retrying_after(delay);
        }
        let webhook_dispatcher = Arc::new(dispatcher);
        let jwt = local_jwt(&config.data_dir)?;
        let outbox = Arc::new(OutboxMailer::new(config.data_dir.join("outbox")));
        // Tracked links carry their destination, signed: the redirect reads nothing.
        let link_key = LinkKey::new(&secrets::load_or_create(
            &config.data_dir.join("secrets/link.key"),
        )?);
        let send = Arc::new(
            SendPipeline::new(
                access.clone(),
                sealer.clone(),
                Mailers::all(match &config.injected.mailer {
                    Some(mailer) => mailer.clone(),
                    None => outbox.clone(),
                }),
                clock.clone(),
                SendConfig::new(config.public_base.clone()).with_link_key(Some(link_key.clone())),
            )
            .with_webhooks(Some(webhooks.clone()))
            .with_metrics(reported.clone())
            .with_mailchimp_marketing(Some(Arc::new(scaliyo_mail::MailchimpMarketingApi::new(
                config.mailchimp_marketing_url.clone(),
                scaliyo_mail::http_client(),
            ))))
            .with_system_sender(Some(SystemSender {
                mailer: outbox.clone(),
                credentials: scaliyo_store::Credentials::None,
                from_email: LOCAL_SYSTEM_FROM.to_owned(),
                from_name: "Scaliyo".to_owned(),
            })),
        );
        let invitations = Arc::new(
            Invitations::new(
                access.clone(),
                clock.clone(),
                invite_letters,
                InvitesConfig {
                    accept_url: format!("{}/invites", config.app_url.trim_end_matches('/')),
                },
            )
            .with_send(send.clone()),
        );
        let workflows = Arc::new(
            Workflows::new(
                access.clone(),
                send.clone(),
                workflow_queue.clone(),
                clock.clone(),
                WorkflowsConfig::default(),
            )
            .with_webhooks(Some(webhooks.clone()))
            .with_metrics(reported.clone()),
        );
        let replies = Arc::new(
            Replies::new(
                access.clone(),
                clock.clone(),
                Some(webhooks.clone()),
                config.public_base.clone(),
            )
            .with_mailboxes(MailboxAccess {
                senders: send.senders().clone(),
                sealer: sealer.clone(),
                // IMAP anywhere locally (a Dovecot on this machine included).
                inboxes: scaliyo_mail::inboxes(
                    config.gmail_api_base.clone(),
                    config.google_token_url.clone(),
                    true,
                ),
            })
            .with_metrics(reported.clone()),
        );
        let scheduler = Arc::new(
            Scheduler::new(
                access.clone(),
                send.clone(),
                scheduled_email_queue.clone(),
                clock.clone(),
                SchedulerConfig::default(),
            )
            .with_metrics(reported.clone()),
        );
        let blobs = Arc::new(blobs);
        let import_dlq = Arc::new(LocalQueue::new("imports-dlq"));
        let import_queue = Arc::new(LocalQueue::with_redrive(
            "imports",
            Redrive {
                max_receives: IMPORT_MAX_RECEIVES,
                dead_letters: import_dlq.clone(),
            },
        ));
        let notifications = import_queue.clone();
        blobs.notify_on_created(Arc::new(move |bucket: &str, key: &str, size: u64| {
            if bucket == IMPORTS_BUCKET {
                let object = scaliyo_store::ObjectCreated {
                    bucket: bucket.to_owned(),
                    key: key.to_owned(),
                };
                match serde_json::to_string(&object) {
                    Ok(body) => notifications.push(body, std::time::Duration::ZERO),
                    Err(error) => tracing::error!(%error, size, "an upload could not be queued"),
                }
            }
        }));
        // Uploads to the schema's buckets are checked against their declared type as they
        // land (S3 → SQS → verify-uploads in AWS).
        let upload_checker = scaliyo_app::upload_check::UploadChecker::new(blobs.clone());
        blobs.notify_on_created(Arc::new(move |bucket: &str, key: &str, _size: u64| {
            if scaliyo_app::storage::rules(bucket).is_none() {
                return;
            }
            let Ok(runtime) = tokio::runtime::Handle::try_current() else {
                return;
            };
            let created = scaliyo_store::ObjectCreated {
                bucket: bucket.to_owned(),
                key: key.to_owned(),
            };
            let checker = upload_checker.clone();
            runtime.spawn(async move {
                if let Err(error) = checker.check(&created).await {
                    tracing::warn!(%error, "checking an upload failed");
                }
            });
        }));
        let importer = Arc::new(
            Importer::new(
                access.clone(),
                blobs.clone(),
                clock.clone(),
                ImportConfig::new(IMPORTS_BUCKET),
            )
            .with_webhooks(Some(webhooks.clone()))
            .with_metrics(reported.clone()),
        );
        let networks = match &config.social {
            Some(social) => scaliyo_social::networks(social),
            None if scaliyo_social::SocialConfig::any_configured_in_env() => {
                scaliyo_social::networks(&scaliyo_social::SocialConfig::from_env())
            }
            None => scaliyo_social::outbox_networks(config.data_dir.join("social-outbox")),
        };
        let social_accounts = Arc::new(SocialAccounts::new(access.clone(), sealer.clone()));
        let social_posts = SocialPosts::new(
            access.clone(),
            blobs.clone(),
            clock.clone(),
            SocialSettings::new(config.public_base.clone()),
        )
        .with_webhooks(Some(webhooks.clone()));
        let oauth_providers = config.oauth.clone().unwrap_or_else(|| {
            let social = config
                .social
                .clone()
                .unwrap_or_else(scaliyo_social::SocialConfig::from_env);
            let mut providers = scaliyo_social::oauth_from_env(&social, &config.public_base);
            providers.google = scaliyo_mail::google_connect_from_env(&config.public_base);
            providers
        });
        let oauth = Arc::new(OAuthConnections::new(
            access.clone(),
            sealer.clone(),
            oauth_providers.clone(),
            send.senders().clone(),
            clock.clone(),
        ));
        let social = Arc::new(
            SocialPublisher::new(social_posts, networks, sealer)
                .with_renewals(Renewals {
                    accounts: (*social_accounts).clone(),
                    providers: oauth_providers,
                })
                .with_metrics(reported.clone()),
        );
        let ip_key = secrets::load_or_create(&config.data_dir.join("secrets/ip-hash.key"))?;
        let short_links = Arc::new(ShortLinks::new(access.rows().clone(), &ip_key));
        let stripe = match &config.stripe {
            Some(stripe) => Some(Arc::new(
                scaliyo_stripe::Stripe::new(stripe.clone())
                    .map_err(|e| LocalError::Payments(e.to_string()))?,
            )),
            None => None,
        };
        let payments = stripe
            .clone()
            .map(|s| s as Arc<dyn scaliyo_store::Payments>);
        let invoices = Arc::new(
            scaliyo_app::invoices::Invoices::new(
                access.clone(),
                stripe.map(|s| s as Arc<dyn scaliyo_store::Invoicing>),
                clock.clone(),
                scaliyo_app::invoices::InvoicesConfig {
                    app_url: config.app_url.clone(),
                    connect_webhook_secret: config.stripe_connect_webhook_secret.clone(),
                },
            )
            .with_mailer(Some(send.clone()))
            .with_webhooks(Some(webhooks.clone())),
        );
        let billing = Arc::new(scaliyo_app::billing::Billing::new(
            access.clone(),
            payments,
            clock.clone(),
            scaliyo_app::billing::BillingConfig {
                app_url: config.app_url.clone(),
                webhook_secret: config.stripe_webhook_secret.clone(),
            },
        ));
        let hit_journal = Arc::new(
            FileJournal::open(&config.data_dir.join("journal"))
                .map_err(LocalError::Journal)?
                .with_max_pending_bytes(config.hit_journal_max_bytes),
        );
        // One instance: the redirect and the applier share its cache of resolved tokens.
        let tracking = Arc::new(
            Tracking::new(access.rows().clone(), clock.clone())
                .with_journal(hit_journal.clone())
                .with_link_key(Some(link_key.clone()))
                .with_webhooks(Some(webhooks.clone()))
                .with_metrics(metrics.clone()),
        );
        let ai_dlq = Arc::new(LocalQueue::new("ai-jobs-dlq"));
        let ai_queue = Arc::new(LocalQueue::with_redrive(
            "ai-jobs",
            Redrive {
                max_receives: AI_JOB_MAX_RECEIVES,
                dead_letters: ai_dlq.clone(),
            },
        ));
        let pages = if config.research_allow_private {
            HttpPageFetcher::new().allowing_private()
        } else {
            HttpPageFetcher::new()
        };
        let ai = Arc::new(
            Ai::new(
                access.clone(),
                config.ai_model.clone().map(|m| m.0),
                clock.clone(),
            )
            .with_pages(Arc::new(pages))
            .with_queue(ai_queue.clone()),
        );
        Ok(Self {
            ai,
            ai_queue,
            ai_dlq,
            tracking,
            oauth,
            invitations,
            replies,
            workflow_queue,
            workflow_dlq,
            workflows,
            metrics,
            billing,
            invoices,
            social_accounts,
            webhook_queue,
            webhook_dlq,
            webhooks,
            webhook_dispatcher,
            social,
            short_links,
            hit_journal,
            link_key,
            import_queue,
            import_dlq,
            importer,
            scheduled_email_queue,
            scheduled_email_dlq,
            scheduler,
            config,
            clock,
            access,
            table,
            blobs,
            bus: Arc::new(LocalEventBus::new()),
            jwt,
            outbox,
            send,
        })
    }

    /// Writes what every deployment holds and this store lacks: the system Team Hub
    /// templates (idempotent; call once after [`LocalSystem::open`]).
    pub async fn seed(&self) -> Result<(), LocalError> {
        scaliyo_app::board_templates::BoardTemplates::ensure_system_templates(self.access.rows())
            .await
            .map_err(|e| LocalError::Seed(e.to_string()))?;
        Ok(())
    }

    /// Every router, mounted at the paths API Gateway gives them.
    pub fn router(&self) -> Router {
        let storage = Arc::new(self.storage());
        let routes = Router::new()
            .merge(scaliyo_http::health_router())
            .merge(blob_route::router(self.blobs.clone()))
            .merge(scaliyo_http::data_api::router(
                self.access.clone(),
                Arc::new(Usage::new(self.access.clone(), self.clock.clone())),
                storage.clone(),
            ))
            .merge(blob_route::public_router(self.blobs.clone()))
            .merge(scaliyo_http::send_api::router(
                self.access.clone(),
                self.send.clone(),
            ))
            .merge(scaliyo_http::schedule_api::router(
                self.access.clone(),
                Arc::new(self.scheduler.scheduling().clone()),
            ))
            .merge(scaliyo_http::import_api::router(
                self.access.clone(),
                self.importer.clone(),
            ))
            .merge(scaliyo_http::billing_api::router(
                self.access.clone(),
                self.billing.clone(),
            ))
            .merge(scaliyo_http::prompt_api::router(self.access.clone()))
            .merge(scaliyo_http::ai_api::router(
                self.access.clone(),
                self.ai.clone(),
            ))
            .merge(self.workflow_hooks())
            .merge(scaliyo_http::invite_api::router(
                self.access.clone(),
                self.invitations.clone(),
            ))
            .merge(scaliyo_http::reply_api::router(
                self.access.clone(),
                self.replies.clone(),
            ))
            .merge(scaliyo_http::reply_api::mailbox_router(
                self.access.clone(),
                self.replies.clone(),
            ))
            .merge(scaliyo_http::reply_api::inbound_router(
                self.replies.clone(),
            ))
            .merge(scaliyo_http::blog_api::router(self.access.clone()))
            .merge(scaliyo_http::teamhub_api::router(self.access.clone()))
            .merge(scaliyo_http::rest_api::router(
                self.access.clone(),
                Arc::new(Usage::new(self.access.clone(), self.clock.clone())),
            ))
            .merge(scaliyo_http::storage_api::router(
                self.access.clone(),
                Arc::new(StorageObjects::new(
                    storage,
                    self.access.rows().store().clone(),
                    self.clock.clone(),
                )),
            ))
            .merge(scaliyo_http::invoice_api::router(
                self.access.clone(),
                self.invoices.clone(),
            ))
            .merge(scaliyo_http::provider_webhook_api::router(
                self.access.clone(),
                Arc::new(
                    scaliyo_app::provider_events::ProviderHooks::new(
                        self.access.rows().clone(),
                        self.clock.clone(),
                        self.config.public_base.clone(),
                    )
                    .with_webhooks(Some(self.webhooks.clone())),
                ),
            ))
            .merge(scaliyo_http::webhook_api::router(
                self.access.clone(),
                Arc::new(WebhookLog::new(
                    self.access.clone(),
                    self.webhook_queue.clone(),
                    self.clock.clone(),
                )),
            ))
            .merge(scaliyo_http::social_api::router(
                self.access.clone(),
                Arc::new(self.social.posts().clone()),
            ))
            .merge(scaliyo_http::oauth_api::router(
                self.access.clone(),
                self.oauth.clone(),
                self.config.app_url.clone(),
            ))
            .merge(scaliyo_http::social_api::accounts_router(
                self.access.clone(),
                self.social_accounts.clone(),
            ))
            .merge(scaliyo_http::tracking_api::short_link_router(
                self.short_links.clone(),
            ))
            .merge(scaliyo_http::recount_api::router(
                self.access.clone(),
                self.tracking(),
            ))
            .merge(self.edge_functions())
            .merge(local_admin_router(self.clone()))
            .merge(scaliyo_http::tracking_api::router(self.tracking()))
            .layer(Extension(Arc::new(Authenticator::Local(self.jwt.clone()))))
            .layer(Extension(self.config.trusted_proxies.clone()));
        let routes = scaliyo_http::edge::catching_panics(routes);
        scaliyo_http::edge::with_cors(routes, &self.config.cors_origins)
            .layer(axum::middleware::from_fn(log_request))
    }

    /// `/functions/v1/*`: the frontend's Edge Functions (in AWS spread over the functions
    /// that have their parts; here all in one process).
    fn edge_functions(&self) -> Router {
        use scaliyo_http::functions_api as functions;
        Router::new()
            .merge(functions::mail_router(
                self.access.clone(),
                self.send.clone(),
            ))
            .merge(functions::create_invoice_router(
                self.access.clone(),
                self.invoices.clone(),
            ))
            .merge(functions::actions_router(
                self.access.clone(),
                self.billing.clone(),
                self.invoices.clone(),
            ))
            .merge(functions::schedule_router(
                self.access.clone(),
                Arc::new(self.social.posts().clone()),
            ))
            .merge(functions::post_now_router(
                self.access.clone(),
                self.social.clone(),
            ))
            .merge(functions::import_router(
                self.access.clone(),
                self.importer.clone(),
            ))
    }

    /// Workflows' inbound hooks (`webhook.received`), on the engine's feed.
    fn workflow_hooks(&self) -> Router {
        match self.webhooks.workflow_feed() {
            Some(feed) => scaliyo_http::workflow_api::router(
                self.access.clone(),
                feed.clone(),
                self.config.public_base.clone(),
            ),
            None => Router::new(),
        }
    }

    /// The buckets, with public URLs served by this server under `/storage/{bucket}/`.
    pub fn storage(&self) -> Storage {
        let public_bases = scaliyo_app::storage::BUCKETS
            .iter()
            .filter(|b| b.public_read)
            .map(|b| {
                (
                    b.name.to_owned(),
                    format!("{}/storage/{}", self.config.public_base, b.name),
                )
            })
            .collect();
        Storage::new(self.blobs.clone(), public_bases)
    }

    /// The schedules EventBridge runs in AWS, as timers here.
    pub fn schedules(&self) -> schedules::Schedules {
        let mut schedules = schedules::Schedules::default();
        // EventBridge rate(10 minutes) in AWS: the analytics rebuild that corrects drift.
        let rows = self.access.rows().clone();
        let clock = self.clock.clone();
        schedules.add(
            "email-analytics-rebuild",
            std::time::Duration::from_secs(600),
            move || {
                let rows = rows.clone();
                let today = clock.now().date_naive();
                async move {
                    scaliyo_app::analytics::rebuild_recent(&rows, today)
                        .await
                        .map(|_| ())
                        .map_err(|e| e.to_string())
                }
            },
        );
        // EventBridge rate(1 minute) in AWS: claim due scheduled e-mails and enqueue them.
        let scheduler = self.scheduler.clone();
        schedules.add(
            "process-scheduled-emails",
            std::time::Duration::from_secs(60),
            move || {
                let scheduler = scheduler.clone();
                async move {
                    scheduler
                        .tick()
                        .await
                        .map(|_| ())
                        .map_err(|e| e.to_string())
                }
            },
        );
        // EventBridge rate(1 minute) in AWS: wake due workflow runs, refresh their figures.
        let workflows = self.workflows.clone();
        schedules.add(
            "run-workflows",
            std::time::Duration::from_secs(60),
            move || {
                let workflows = workflows.clone();
                async move {
                    workflows
                        .tick()
                        .await
                        .map(|_| ())
                        .map_err(|e| e.to_string())
                }
            },
        );
        // EventBridge rate(2 minutes) in AWS: read the mailboxes whose time has come.
        let replies = self.replies.clone();
        schedules.add(
            "poll-replies",
            std::time::Duration::from_secs(120),
            move || {
                let replies = replies.clone();
                async move { replies.tick().await.map(|_| ()).map_err(|e| e.to_string()) }
            },
        );
        // EventBridge rate(1 minute) in AWS: publish due social posts.
        let social = self.social.clone();
        schedules.add(
            "social-run-scheduler",
            std::time::Duration::from_secs(60),
            move || {
                let social = social.clone();
                async move { social.tick().await.map(|_| ()).map_err(|e| e.to_string()) }
            },
        );
        schedules
    }

    /// Tracking on this system's store, journalling hits before they are answered.
    pub fn tracking(&self) -> Arc<Tracking> {
        self.tracking.clone()
    }

    /// The SQS consumers Lambda runs in AWS, as workers here.
    pub fn workers(&self) -> Vec<workers::Worker> {
        vec![
            self.scheduled_email_worker(),
            self.import_worker(),
            self.webhook_worker(),
            self.workflow_worker(),
            self.ai_worker(),
        ]
    }

    /// `ai-worker` on its queue: one lead of a batch research or an AI-written sequence per
    /// message.
    pub fn ai_worker(&self) -> workers::Worker {
        let worker = scaliyo_app::ai::AiWorker::new(
            self.ai.clone(),
            self.ai_queue.clone(),
            self.config.ai_worker,
        );
        workers::Worker::new(
            "ai-worker",
            self.ai_queue.clone(),
            std::time::Duration::from_secs(300),
            move |body| {
                let worker = worker.clone();
                async move { worker.process(&body).await.map_err(|e| e.to_string()) }
            },
        )
    }

    /// `run-workflows` on its queue: lead events, workflow changes and claimed runs.
    pub fn workflow_worker(&self) -> workers::Worker {
        let workflows = self.workflows.clone();
        workers::Worker::new(
            "run-workflows",
            self.workflow_queue.clone(),
            std::time::Duration::from_secs(300),
            move |body| {
                let workflows = workflows.clone();
                async move {
                    workflows
                        .process(&body)
                        .await
                        .map(|_| ())
                        .map_err(|e| e.to_string())
                }
            },
        )
    }

    /// Outgoing webhooks (the `deliver-webhooks` function in AWS): fan events out to the
    /// subscribed webhooks and deliver them, retrying through the queue's delay.
    pub fn webhook_worker(&self) -> workers::Worker {
        let dispatcher = self.webhook_dispatcher.clone();
        workers::Worker::new(
            "deliver-webhooks",
            self.webhook_queue.clone(),
            std::time::Duration::from_secs(60),
            move |body| {
                let dispatcher = dispatcher.clone();
                async move {
                    dispatcher
                        .process(&body)
                        .await
                        .map(|_| ())
                        .map_err(|e| e.to_string())
                }
            },
        )
    }

    /// Applies the hit journal: classification, event rows, counts, webhooks.
    pub fn hit_applier(&self) -> HitApplier {
        HitApplier::new(self.hit_journal.clone(), self.tracking.clone())
    }

    /// `import-leads` on its queue: one S3 notification per message.
    pub fn import_worker(&self) -> workers::Worker {
        let importer = self.importer.clone();
        workers::Worker::new(
            "import-leads",
            self.import_queue.clone(),
            std::time::Duration::from_secs(900),
            move |body| {
                let importer = importer.clone();
                async move {
                    let object: scaliyo_store::ObjectCreated =
                        serde_json::from_str(&body).map_err(|e| e.to_string())?;
                    importer
                        .process_object(&object, None)
                        .await
                        .map_err(|e| e.to_string())?;
                    Ok(())
                }
            },
        )
    }

    /// `process-scheduled-emails` on its queue: one claimed row per message.
    pub fn scheduled_email_worker(&self) -> workers::Worker {
        let consumer = EmailQueueConsumer::new(self.scheduler.clone(), self.invitations.clone());
        workers::Worker::new(
            "process-scheduled-emails",
            self.scheduled_email_queue.clone(),
            std::time::Duration::from_secs(120),
            move |body| {
                let consumer = consumer.clone();
                async move { consumer.process(&body).await.map_err(|e| e.to_string()) }
            },
        )
    }
}

/// Local-only operations: run a schedule now (what waiting for EventBridge would do).
fn local_admin_router(system: LocalSystem) -> Router {
    use axum::extract::{Path, State};
    use axum::http::StatusCode;
    use axum::routing::post;
    async fn run(
        State(system): State<LocalSystem>,
        Path(name): Path<String>,
    ) -> (StatusCode, axum::Json<serde_json::Value>) {
        match system.schedules().run(&name).await {
            Some(Ok(())) => (
                StatusCode::OK,
                axum::Json(serde_json::json!({ "schedule": name, "ran": true })),
            ),
            Some(Err(error)) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                axum::Json(serde_json::json!({ "code": "schedule_failed", "message": error })),
            ),
            None => (
                StatusCode::NOT_FOUND,
                axum::Json(
                    serde_json::json!({ "code": "not_found", "message": format!("no schedule named {name}") }),
                ),
            ),
        }
    }
    async fn metrics(State(system): State<LocalSystem>) -> impl axum::response::IntoResponse {
        (
            [(
                axum::http::header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            format!(
                "{}# HELP scaliyo_hit_journal_pending_bytes Tracking hits journalled, not yet applied.\n# TYPE scaliyo_hit_journal_pending_bytes gauge\nscaliyo_hit_journal_pending_bytes {}\n",
                system.metrics.render(),
                system.hit_journal.pending_bytes()
            ),
        )
    }
    Router::new()
        .route("/_local/schedules/{name}/run", post(run))
        .route("/_local/metrics", axum::routing::get(metrics))
        .with_state(system)
}

/// One log line per request for the local server's logs (no client addresses).
async fn log_request(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    tracing::info!(%method, %path, status = response.status().as_u16(), elapsed_us = started.elapsed().as_micros() as u64, "request");
    response
}
