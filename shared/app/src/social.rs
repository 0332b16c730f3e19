//! Social publishing: connected accounts (tokens sealed), posts with one target per channel,
//! the `social-run-scheduler` tick that publishes them, and the short links that count
//! clicks per channel.
//!
//! - **Posts** are written with their targets, their short links and the `scheduled` event in
//!   one transaction. A scheduled post sits in the sparse due-index (GSI4, `status =
//!   'scheduled'`).
//! - **The tick** claims due posts with a version-guarded `scheduled → processing` put that
//!   carries a lease (the GSI5 lease index, shared with the e-mail scheduler's pattern), and
//!   publishes every open target with bounded concurrency. A target moves `scheduled →
//!   processing` (guarded, `started` event) before the network call, and to `published` or
//!   `failed` after it. Retryable failures put the target back to `scheduled` with a
//!   `retry` event and the post's lease moved to the retry time, so a later tick picks the
//!   post up again from the lease index. When every target is settled the post is
//!   `completed` (at least one target published) or `failed` (none).
//! - **No double posts**: a target with a `remote_post_id` is never published again; a
//!   target found in `processing` (a call that timed out, or a crash) is first looked for
//!   among the target's recent posts.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, FixedOffset, NaiveDateTime, Utc};
use futures::{StreamExt, stream};
use scaliyo_domain::schedule;
use scaliyo_domain::schema::{self, Table};
use scaliyo_domain::social::{self, Channel, ErrorCode, MediaKind, Usage};
use scaliyo_store::{
    Blobs, Clock, Condition, Cursor, Index, Item, Key, MediaFile, Publication, PublishError, Query,
    Sealer, SocialNetworks, SortCondition, StoreError, Update, Value as StoreValue, WriteOp,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::Semaphore;

use crate::access::{Access, AccessError, Actor};
use crate::layout;
use crate::rows::{Row, RowError, Rows, from_item, timestamp_text};
use crate::webhooks::WebhookEmitter;

pub const MEDIA_BUCKET: &str = "social_media";
pub const DEFAULT_TIMEZONE: &str = "Asia/Karachi";
/// Targets of one post (one per channel and identity).
pub const MAX_TARGETS: usize = 10;

/// Internal attributes (never shown by the API).
const CLAIM: &str = "_claim";
const ATTEMPTS: &str = "_attempts";
const RETRY_AT: &str = "_retry_at";
const STARTED_AT: &str = "_started_at";
const RECONNECT: &str = "_reconnect";
const THROTTLED_UNTIL: &str = "_throttled_until";

#[derive(Debug, Clone)]
pub struct SocialSettings {
    /// How long a claim holds. Longer than the function's timeout (5 minutes in
    /// infra/template.yaml), so a run is always dead before its post or target can be taken
    /// over.
    pub lease: Duration,
    /// Posts one tick claims; the rest wait for the next minute.
    pub max_posts_per_tick: usize,
    /// Network calls in flight at once in one tick. 32: enough to keep a tick of 1,000 posts
    /// well inside a minute against APIs answering in ~50–500 ms, few enough that one
    /// workspace's burst does not trip Meta's per-page or LinkedIn's per-member limits, and
    /// within one Lambda's sockets and memory.
    pub publish_concurrency: usize,
    /// Lifetime of the signed media URLs the networks fetch.
    pub media_url_lifetime: StdDuration,
    /// The public base of the short links (`<base>/l/<slug>`), the tracking domain.
    pub short_link_base: String,
    /// Tokens expiring within this are reported.
    pub token_warning: Duration,
}

impl SocialSettings {
    pub fn new(short_link_base: impl Into<String>) -> Self {
        Self {
            lease: Duration::minutes(10),
            max_posts_per_tick: 2_000,
            publish_concurrency: 32,
            media_url_lifetime: StdDuration::from_secs(3600),
            short_link_base: short_link_base.into().trim_end_matches('/').to_owned(),
            token_warning: TOKEN_WARNING,
        }
    }

    fn short_url(&self, slug: &str) -> String {
        format!("{}/l/{slug}", self.short_link_base)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SocialError {
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    #[error("the post is {status}; only a draft can be scheduled")]
    NotDraft { status: String },
    #[error("the token could not be sealed: {0}")]
    Seal(String),
    #[error("storage: {0}")]
    Blob(String),
    #[error("this process has no social network adapters (a wiring mistake)")]
    NoNetworks,
}

impl From<RowError> for SocialError {
    fn from(error: RowError) -> Self {
        SocialError::Access(AccessError::Row(error))
    }
}

impl From<StoreError> for SocialError {
    fn from(error: StoreError) -> Self {
        SocialError::Access(AccessError::Row(RowError::Store(error)))
    }
}

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> SocialError {
    SocialError::Invalid {
        field: field.into(),
        reason: reason.into(),
    }
}

fn table(name: &str) -> &'static Table {
    schema::table(name).unwrap_or(&schema::TABLES[0])
}

fn posts() -> &'static Table {
    table("social_posts")
}

fn targets_table() -> &'static Table {
    table("social_post_targets")
}

// ---------------------------------------------------------------------------------------
// Requests and views

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectMeta {
    pub page_id: String,
    pub page_name: Option<String>,
    pub page_access_token: String,
    pub instagram_user_id: Option<String>,
    pub instagram_username: Option<String>,
    pub token_expires_at: Option<DateTime<FixedOffset>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectLinkedIn {
    pub member_urn: Option<String>,
    pub org_urn: Option<String>,
    pub org_name: Option<String>,
    pub access_token: String,
    pub token_expires_at: Option<DateTime<FixedOffset>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetSpec {
    pub account_id: String,
    pub channel: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreatePost {
    pub content_text: String,
    pub link_url: Option<String>,
    #[serde(default)]
    pub media_paths: Vec<String>,
    /// RFC 3339 with an offset, or a local date-time (`2026-12-01T09:30`) in `timezone`.
    /// Absent: the post is a draft.
    pub scheduled_at: Option<String>,
    pub timezone: Option<String>,
    pub targets: Vec<TargetSpec>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchedulePost {
    pub scheduled_at: Option<String>,
}

/// A post as the API shows it: the row, its targets (with their short links), its events.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PostView {
    #[serde(flatten)]
    pub post: Row,
    pub targets: Vec<Row>,
    pub events: Vec<Row>,
    pub summary: PostSummary,
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct PostSummary {
    pub published: usize,
    pub failed: usize,
    pub open: usize,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AccountHealth {
    pub id: String,
    pub provider: String,
    pub label: Option<String>,
    pub token_expires_at: Option<String>,
    pub expired: bool,
    pub expiring_soon: bool,
    pub needs_reconnect: bool,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct TickReport {
    pub claimed: usize,
    pub resumed: usize,
    pub published: usize,
    pub failed: usize,
    pub retrying: usize,
    pub completed_posts: usize,
}

// ---------------------------------------------------------------------------------------
// Keys and ids

fn due_partition(shard: u32) -> String {
    format!("idx_social_posts_scheduled#{shard}")
}

fn lease_partition(shard: u32) -> String {
    format!("LEASE#social_posts#{shard}")
}

/// Expiry reminders of account tokens share the lease index (GSI5), in their own partitions.
fn reminder_partition(shard: u32) -> String {
    format!("LEASE#social_token_reminders#{shard}")
}

fn reminder_key(account_id: &str) -> Key {
    Key::new(format!("SOCIALTOKEN#{account_id}"), "R")
}

/// Tokens expiring within this are reported (the health endpoint, the webhook event).
pub const TOKEN_WARNING: Duration = Duration::days(7);

fn at_or_before(now: DateTime<Utc>) -> SortCondition {
    SortCondition::Lt(timestamp_text(now + Duration::microseconds(1)))
}

/// The short link of a target: derived, so a target finds its link without a column for it.
pub fn link_id_of(target_id: &str) -> String {
    uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_URL,
        format!("scaliyo:social-target-link:{target_id}").as_bytes(),
    )
    .to_string()
}

fn new_slug() -> String {
    let mut bytes = [0u8; social::SLUG_BYTES];
    rand::fill(&mut bytes);
    social::slug_from(&bytes)
}

fn parse_time(item: &Item, name: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(item.str(name)?)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// `scheduled_at` as given: an instant with an offset, or a wall-clock time in `zone`.
pub fn parse_scheduled_at(text: &str, zone: &str) -> Result<DateTime<Utc>, SocialError> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text.trim()) {
        return Ok(at.with_timezone(&Utc));
    }
    let tz = schedule::parse_zone(zone).map_err(|e| invalid("timezone", e.to_string()))?;
    let local = [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
    ]
    .iter()
    .find_map(|format| NaiveDateTime::parse_from_str(text.trim(), format).ok())
    .ok_or_else(|| {
        invalid(
            "scheduled_at",
            "use RFC 3339 (2026-12-01T09:30:00+05:00) or a local time (2026-12-01T09:30)",
        )
    })?;
    Ok(schedule::resolve(tz, local))
}

fn check_link(url: &str) -> Result<(), SocialError> {
    let ok = (url.starts_with("https://") || url.starts_with("http://"))
        && url.len() <= 2048
        && !url.chars().any(|c| c.is_whitespace() || c.is_control())
        && url.split("://").nth(1).is_some_and(|rest| {
            let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
            !host.is_empty() && !host.contains('@')
        });
    if ok {
        Ok(())
    } else {
        Err(invalid("link_url", "must be an absolute http(s) URL"))
    }
}

// ---------------------------------------------------------------------------------------
// Connecting accounts

/// Connecting accounts: the one part that seals tokens. It runs where the key service is —
/// the `send-email` function in AWS, beside the sender connection — so the `api` function
/// carries no KMS client (its package stays inside the size budget).
#[derive(Clone)]
pub struct SocialAccounts {
    access: Arc<Access>,
    sealer: Arc<dyn Sealer>,
}

impl SocialAccounts {
    pub fn new(access: Arc<Access>, sealer: Arc<dyn Sealer>) -> Self {
        Self { access, sealer }
    }

    async fn seal(&self, token: &str) -> Result<String, SocialError> {
        if token.trim().is_empty() {
            return Err(invalid("access_token", "is required"));
        }
        self.sealer
            .seal(token)
            .await
            .map_err(|e| SocialError::Seal(e.to_string()))
    }

    /// Creates or (same identity) reconnects an account; the response never has the token.
    async fn upsert_account(
        &self,
        owner: &str,
        provider: &str,
        identity: (&str, &str),
        fields: Row,
    ) -> Result<Row, SocialError> {
        let accounts = accounts_of(self.access.rows(), owner, provider).await?;
        let existing = accounts
            .iter()
            .find(|a| a.str(identity.0) == Some(identity.1))
            .and_then(|a| a.str("id"))
            .map(str::to_owned);
        let table = table("social_accounts");
        // A reconnect rewrites the row, which also clears the reconnect mark.
        let row = match existing {
            Some(id) => {
                self.access
                    .rows()
                    .update(table, Some(owner), &id, fields)
                    .await?
            }
            None => {
                let mut fields = fields;
                fields.insert("user_id".into(), json!(owner));
                fields.insert("provider".into(), json!(provider));
                self.access.rows().create(table, None, fields).await?
            }
        };
        self.remind_before_expiry(owner, &row).await?;
        Ok(redact("social_accounts", row))
    }

    /// Keeps the account's expiry reminder: due `TOKEN_WARNING` before the token expires, in
    /// the lease index the tick already reads, so an account nobody uses or looks at still
    /// gets its `social.token_expiring` event. A reconnect moves (or, without an expiry,
    /// removes) it.
    async fn remind_before_expiry(&self, owner: &str, account: &Row) -> Result<(), SocialError> {
        let Some(id) = account["id"].as_str() else {
            return Ok(());
        };
        let key = reminder_key(id);
        let expires = account["token_expires_at"]
            .as_str()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc));
        let op = match expires {
            Some(expires) => {
                let (pk, sk) = Index::Gsi5.key_attributes();
                let due = expires - TOKEN_WARNING;
                WriteOp::put(
                    Item::new(&key)
                        .with("owner", owner)
                        .with("account_id", id)
                        .with(pk, reminder_partition(layout::shard_of(id)))
                        .with(sk, format!("{}#{id}", timestamp_text(due))),
                )
            }
            None => WriteOp::delete(key),
        };
        self.access.rows().store().transact_write(vec![op]).await?;
        Ok(())
    }

    pub async fn connect_meta(
        &self,
        actor: &Actor,
        request: ConnectMeta,
    ) -> Result<Row, SocialError> {
        let owner = actor.user_id().ok_or(AccessError::Unauthenticated)?;
        let page_id = request.page_id.trim();
        if page_id.is_empty() || !page_id.chars().all(|c| c.is_ascii_digit()) {
            return Err(invalid(
                "page_id",
                "must be the numeric id of a Facebook Page",
            ));
        }
        if let Some(ig) = &request.instagram_user_id
            && (ig.is_empty() || !ig.chars().all(|c| c.is_ascii_digit()))
        {
            return Err(invalid(
                "instagram_user_id",
                "must be the numeric id of an Instagram business account",
            ));
        }
        let sealed = self.seal(&request.page_access_token).await?;
        let mut fields = Row::new();
        fields.insert("meta_page_id".into(), json!(page_id));
        fields.insert("meta_page_name".into(), json!(request.page_name));
        fields.insert("meta_page_access_token_encrypted".into(), json!(sealed));
        fields.insert("meta_ig_user_id".into(), json!(request.instagram_user_id));
        fields.insert("meta_ig_username".into(), json!(request.instagram_username));
        fields.insert(
            "token_expires_at".into(),
            json!(
                request
                    .token_expires_at
                    .map(|t| timestamp_text(t.with_timezone(&Utc)))
            ),
        );
        self.upsert_account(&owner, "meta", ("meta_page_id", page_id), fields)
            .await
    }

    pub async fn connect_linkedin(
        &self,
        actor: &Actor,
        request: ConnectLinkedIn,
    ) -> Result<Row, SocialError> {
        let owner = actor.user_id().ok_or(AccessError::Unauthenticated)?;
        let member = request.member_urn.as_deref().map(str::trim);
        let org = request.org_urn.as_deref().map(str::trim);
        if let Some(m) = member
            && !m.starts_with("urn:li:person:")
        {
            return Err(invalid("member_urn", "must look like urn:li:person:<id>"));
        }
        if let Some(o) = org
            && !o.starts_with("urn:li:organization:")
        {
            return Err(invalid(
                "org_urn",
                "must look like urn:li:organization:<id>",
            ));
        }
        let identity = match (member, org) {
            (_, Some(org)) => ("linkedin_org_urn", org),
            (Some(member), None) => ("linkedin_member_urn", member),
            (None, None) => {
                return Err(invalid(
                    "member_urn",
                    "a member URN, an organisation URN or both are required",
                ));
            }
        };
        let sealed = self.seal(&request.access_token).await?;
        let mut fields = Row::new();
        fields.insert("linkedin_member_urn".into(), json!(member));
        fields.insert("linkedin_org_urn".into(), json!(org));
        fields.insert("linkedin_org_name".into(), json!(request.org_name));
        fields.insert("linkedin_access_token_encrypted".into(), json!(sealed));
        fields.insert(
            "token_expires_at".into(),
            json!(
                request
                    .token_expires_at
                    .map(|t| timestamp_text(t.with_timezone(&Utc)))
            ),
        );
        self.upsert_account(&owner, "linkedin", identity, fields)
            .await
    }
}

/// Every item of one index partition that belongs to `table_name`.
async fn index_items(
    rows: &Rows,
    index: Index,
    partition: String,
    table_name: &str,
) -> Result<Vec<Item>, SocialError> {
    let mut items = Vec::new();
    let mut cursor: Option<Cursor> = None;
    loop {
        let page = rows
            .store()
            .query(Query::partition(index, partition.clone()).after(cursor.take()))
            .await?;
        items.extend(
            page.items
                .into_iter()
                .filter(|i| i.str(layout::TABLE_ATTR) == Some(table_name)),
        );
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(items),
        }
    }
}

/// The owner's raw account items of one provider.
async fn accounts_of(rows: &Rows, owner: &str, provider: &str) -> Result<Vec<Item>, SocialError> {
    index_items(
        rows,
        Index::Gsi1,
        format!("idx_social_accounts_provider#{owner}#{provider}"),
        "social_accounts",
    )
    .await
}

// ---------------------------------------------------------------------------------------
// The service

#[derive(Clone)]
pub struct Social {
    access: Arc<Access>,
    /// Opens the tokens the tick publishes with (the API side has none: it never reads one).
    sealer: Option<Arc<dyn Sealer>>,
    blobs: Arc<dyn Blobs>,
    /// Only the tick publishes: the API side is built without the network adapters (and
    /// without their HTTP client in its binary).
    networks: Option<SocialNetworks>,
    clock: Arc<dyn Clock>,
    settings: SocialSettings,
    /// `social.published` / `social.failed` per target.
    webhooks: Option<WebhookEmitter>,
}

impl Social {
    pub fn new(
        access: Arc<Access>,
        blobs: Arc<dyn Blobs>,
        clock: Arc<dyn Clock>,
        settings: SocialSettings,
    ) -> Self {
        Self {
            access,
            sealer: None,
            blobs,
            networks: None,
            clock,
            settings,
            webhooks: None,
        }
    }

    pub fn with_webhooks(mut self, webhooks: Option<WebhookEmitter>) -> Self {
        self.webhooks = webhooks;
        self
    }

    async fn emit(&self, owner: &str, post: &Row, target: &Item, event_type: &str, extra: Value) {
        let Some(webhooks) = &self.webhooks else {
            return;
        };
        let target_id = target.str("id").unwrap_or_default();
        let mut data = json!({
            "post_id": post_str(post, "id"),
            "target_id": target_id,
            "channel": target.str("channel"),
            "target": target.str("target_id"),
            "target_label": target.str("target_label"),
        });
        if let (Value::Object(data), Value::Object(extra)) = (&mut data, extra) {
            data.extend(extra);
        }
        webhooks.emit(owner, event_type, target_id, data).await;
    }

    /// The publishing side (`social-run-scheduler`): the same service with the networks and
    /// the key that opens the accounts' tokens.
    pub fn with_networks(mut self, networks: SocialNetworks, sealer: Arc<dyn Sealer>) -> Self {
        self.networks = Some(networks);
        self.sealer = Some(sealer);
        self
    }

    /// The same service with another bound on network calls in flight (benchmarks, tuning).
    pub fn with_publish_concurrency(mut self, calls: usize) -> Self {
        self.settings.publish_concurrency = calls.max(1);
        self
    }

    pub fn settings(&self) -> &SocialSettings {
        &self.settings
    }

    fn rows(&self) -> &Rows {
        self.access.rows()
    }

    // -----------------------------------------------------------------------------------
    // Accounts

    /// The owner's raw account items of one provider.
    async fn accounts_of(&self, owner: &str, provider: &str) -> Result<Vec<Item>, SocialError> {
        accounts_of(self.rows(), owner, provider).await
    }

    /// The caller's accounts with their token state: expired, expiring within the warning
    /// period, or marked for reconnection by a publish that was refused.
    pub async fn account_health(&self, actor: &Actor) -> Result<Vec<AccountHealth>, SocialError> {
        let owner = actor.user_id().ok_or(AccessError::Unauthenticated)?;
        let now = self.clock.now();
        let mut report = Vec::new();
        for provider in ["meta", "linkedin"] {
            for item in self.accounts_of(&owner, provider).await? {
                self.warn_if_expiring(&owner, &item, now).await;
                report.push(health_of(&item, now, self.settings.token_warning));
            }
        }
        report.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(report)
    }

    /// `social.token_expiring` for an account whose token expires within the warning period
    /// (or has expired). Once per account and expiry: the event id is derived from both, so
    /// the ticks and health reads that see it again deliver nothing new.
    async fn warn_if_expiring(&self, owner: &str, account: &Item, now: DateTime<Utc>) {
        let Some(webhooks) = &self.webhooks else {
            return;
        };
        let Some(expires) = parse_time(account, "token_expires_at") else {
            return;
        };
        if expires > now + self.settings.token_warning {
            return;
        }
        let id = account.str("id").unwrap_or_default();
        let health = health_of(account, now, self.settings.token_warning);
        let data = json!({
            "account_id": id,
            "provider": health.provider,
            "label": health.label,
            "token_expires_at": health.token_expires_at,
            "expired": health.expired,
        });
        let subject = format!("{id}:{}", timestamp_text(expires));
        webhooks
            .emit(owner, "social.token_expiring", &subject, data)
            .await;
    }

    // -----------------------------------------------------------------------------------
    // Posts

    pub async fn create_post(
        &self,
        actor: &Actor,
        request: CreatePost,
    ) -> Result<PostView, SocialError> {
        let owner = actor.user_id().ok_or(AccessError::Unauthenticated)?;
        let now = self.clock.now();
        let zone = request
            .timezone
            .clone()
            .unwrap_or_else(|| DEFAULT_TIMEZONE.to_owned());
        schedule::parse_zone(&zone).map_err(|e| invalid("timezone", e.to_string()))?;
        let scheduled_at = match &request.scheduled_at {
            Some(text) => {
                let at = parse_scheduled_at(text, &zone)?;
                if at < now - Duration::minutes(5) {
                    return Err(invalid("scheduled_at", "is in the past"));
                }
                Some(at)
            }
            None => None,
        };
        if let Some(link) = &request.link_url {
            check_link(link)?;
        }
        let media = self.check_media(&owner, &request.media_paths).await?;
        if request.targets.is_empty() {
            return Err(invalid("targets", "at least one target is required"));
        }
        if request.targets.len() > MAX_TARGETS {
            return Err(invalid(
                "targets",
                format!("at most {MAX_TARGETS} targets per post"),
            ));
        }
        let mut resolved: Vec<(Channel, String, Option<String>)> = Vec::new();
        for (i, spec) in request.targets.iter().enumerate() {
            let field = format!("targets[{i}]");
            let channel = Channel::parse(&spec.channel).ok_or_else(|| {
                invalid(
                    format!("{field}.channel"),
                    "must be facebook_page, instagram, linkedin_member or linkedin_org",
                )
            })?;
            // The policy decides: another user's account is simply not found.
            let account = match self
                .access
                .get(actor, "social_accounts", &spec.account_id)
                .await
            {
                Ok(account) => account,
                Err(AccessError::Row(RowError::NotFound | RowError::Invalid { .. })) => {
                    return Err(invalid(
                        format!("{field}.account_id"),
                        "no such social account",
                    ));
                }
                Err(other) => return Err(other.into()),
            };
            if account["provider"] != channel.provider() {
                return Err(invalid(
                    format!("{field}.channel"),
                    format!(
                        "a {} account cannot post to {}",
                        account["provider"].as_str().unwrap_or("?"),
                        channel.as_str()
                    ),
                ));
            }
            let Some(identity) = account[channel.identity_column()].as_str() else {
                return Err(invalid(
                    format!("{field}.channel"),
                    format!("the account has no {} identity", channel.as_str()),
                ));
            };
            if resolved
                .iter()
                .any(|(c, id, _)| *c == channel && id == identity)
            {
                return Err(invalid(field, "the same target twice"));
            }
            let label = channel
                .label_column()
                .and_then(|c| account[c].as_str())
                .map(str::to_owned);
            resolved.push((channel, identity.to_owned(), label));
        }
        let kinds: Vec<MediaKind> = media.iter().map(|(_, kind)| *kind).collect();
        let link_chars = request
            .link_url
            .as_ref()
            .map(|_| self.settings.short_url(&new_slug()).chars().count() + 2)
            .unwrap_or(0);
        let channels: Vec<Channel> = resolved.iter().map(|(c, _, _)| *c).collect();
        let problems = social::check_post(&request.content_text, &kinds, &channels, link_chars);
        if let Some(problem) = problems.first() {
            return Err(invalid(
                format!("targets ({})", problem.channel.as_str()),
                problem.reason.clone(),
            ));
        }

        let post_id = uuid::Uuid::new_v4().to_string();
        let status = if scheduled_at.is_some() {
            "scheduled"
        } else {
            "draft"
        };
        let mut post = Row::new();
        post.insert("id".into(), json!(post_id));
        post.insert("user_id".into(), json!(owner));
        post.insert("content_text".into(), json!(request.content_text));
        post.insert("link_url".into(), json!(request.link_url));
        post.insert(
            "media_paths".into(),
            if request.media_paths.is_empty() {
                Value::Null
            } else {
                json!(request.media_paths)
            },
        );
        post.insert(
            "scheduled_at".into(),
            json!(scheduled_at.map(timestamp_text)),
        );
        post.insert("timezone".into(), json!(zone));
        post.insert("status".into(), json!(status));
        let rows = self.rows();
        let post = rows.prepare(posts(), post)?;
        let mut ops = rows.insert_ops(posts(), None, &post, false)?;
        for (channel, identity, label) in &resolved {
            let target_id = uuid::Uuid::new_v4().to_string();
            let mut target = Row::new();
            target.insert("id".into(), json!(target_id));
            target.insert("post_id".into(), json!(post_id));
            target.insert("user_id".into(), json!(owner));
            target.insert("channel".into(), json!(channel.as_str()));
            target.insert("target_id".into(), json!(identity));
            target.insert("target_label".into(), json!(label));
            target.insert(
                "status".into(),
                json!(if scheduled_at.is_some() {
                    "scheduled"
                } else {
                    "pending"
                }),
            );
            let target = rows.prepare(targets_table(), target)?;
            ops.extend(rows.insert_ops(targets_table(), None, &target, false)?);
            if let Some(destination) = &request.link_url {
                let mut link = Row::new();
                link.insert("id".into(), json!(link_id_of(&target_id)));
                link.insert("user_id".into(), json!(owner));
                link.insert("post_id".into(), json!(post_id));
                link.insert("slug".into(), json!(new_slug()));
                link.insert("destination_url".into(), json!(destination));
                link.insert("channel".into(), json!(channel.as_str()));
                let link = rows.prepare(table("tracking_links"), link)?;
                ops.extend(rows.insert_ops(table("tracking_links"), None, &link, false)?);
            }
        }
        if let Some(at) = scheduled_at {
            ops.extend(self.event_ops(
                &owner,
                &post_id,
                None,
                "scheduled",
                json!({ "scheduled_at": timestamp_text(at), "targets": resolved.len() }),
            )?);
        }
        rows.store().transact_write(ops).await?;
        self.view(&owner, &post_id).await
    }

    /// Every media path must be an object the caller uploaded to the media bucket.
    async fn check_media(
        &self,
        owner: &str,
        paths: &[String],
    ) -> Result<Vec<(String, MediaKind)>, SocialError> {
        let mut media = Vec::new();
        for (i, path) in paths.iter().enumerate() {
            let field = format!("media_paths[{i}]");
            if !path.starts_with(&format!("{owner}/")) {
                return Err(invalid(
                    field,
                    format!("must be a file you uploaded to {MEDIA_BUCKET} (under {owner}/)"),
                ));
            }
            let meta = self
                .blobs
                .head(MEDIA_BUCKET, path)
                .await
                .map_err(|e| match e {
                    scaliyo_store::BlobError::Invalid(reason) => invalid(field.clone(), reason),
                    other => SocialError::Blob(other.to_string()),
                })?
                .ok_or_else(|| invalid(field.clone(), "no such file; upload it first"))?;
            let kind = meta
                .content_type
                .as_deref()
                .and_then(MediaKind::of)
                .ok_or_else(|| invalid(field.clone(), "must be an image or a video"))?;
            media.push((path.clone(), kind));
        }
        Ok(media)
    }

    fn event_ops(
        &self,
        owner: &str,
        post_id: &str,
        target_id: Option<&str>,
        event_type: &str,
        payload: Value,
    ) -> Result<Vec<WriteOp>, SocialError> {
        let mut event = Row::new();
        event.insert("user_id".into(), json!(owner));
        event.insert("post_id".into(), json!(post_id));
        event.insert("target_id".into(), json!(target_id));
        event.insert("event_type".into(), json!(event_type));
        event.insert("payload".into(), payload);
        let table = table("social_post_events");
        let event = self.rows().prepare(table, event)?;
        Ok(self.rows().insert_ops(table, None, &event, false)?)
    }

    /// A draft becomes scheduled (at the time given, or the one it has).
    pub async fn schedule_post(
        &self,
        actor: &Actor,
        id: &str,
        request: SchedulePost,
    ) -> Result<PostView, SocialError> {
        let owner = actor.user_id().ok_or(AccessError::Unauthenticated)?;
        let post = self.access.get(actor, "social_posts", id).await?;
        if post["status"] != "draft" {
            return Err(SocialError::NotDraft {
                status: post["status"].as_str().unwrap_or_default().to_owned(),
            });
        }
        let zone = post["timezone"]
            .as_str()
            .unwrap_or(DEFAULT_TIMEZONE)
            .to_owned();
        let at = match (&request.scheduled_at, post["scheduled_at"].as_str()) {
            (Some(text), _) => parse_scheduled_at(text, &zone)?,
            (None, Some(text)) => parse_scheduled_at(text, &zone)?,
            (None, None) => return Err(invalid("scheduled_at", "is required to schedule a draft")),
        };
        if at < self.clock.now() - Duration::minutes(5) {
            return Err(invalid("scheduled_at", "is in the past"));
        }
        let rows = self.rows();
        let item = rows
            .get_raw(posts(), Some(&owner), id)
            .await?
            .ok_or(RowError::NotFound)?;
        let mut patch = Row::new();
        patch.insert("status".into(), json!("scheduled"));
        patch.insert("scheduled_at".into(), json!(timestamp_text(at)));
        let (_, op) = rows.transition_op(posts(), &item, patch, &[])?;
        let mut ops = vec![op];
        let targets = self.target_items(&owner, id).await?;
        for target in &targets {
            let mut patch = Row::new();
            patch.insert("status".into(), json!("scheduled"));
            ops.push(rows.transition_op(targets_table(), target, patch, &[])?.1);
        }
        ops.extend(self.event_ops(
            &owner,
            id,
            None,
            "scheduled",
            json!({ "scheduled_at": timestamp_text(at), "targets": targets.len() }),
        )?);
        match rows.store().transact_write(ops).await {
            Ok(()) => {}
            Err(StoreError::ConditionFailed { .. }) => return Err(RowError::Concurrent.into()),
            Err(e) => return Err(e.into()),
        }
        self.view(&owner, id).await
    }

    /// A post with its targets and events, as its owner sees it.
    pub async fn post(&self, actor: &Actor, id: &str) -> Result<PostView, SocialError> {
        // The policy decides visibility; then the owner's partition has the rest.
        let post = self.access.get(actor, "social_posts", id).await?;
        let owner = post["user_id"].as_str().unwrap_or_default().to_owned();
        self.view(&owner, id).await
    }

    async fn view(&self, owner: &str, id: &str) -> Result<PostView, SocialError> {
        let post = self
            .rows()
            .get(posts(), Some(owner), id)
            .await?
            .ok_or(RowError::NotFound)?;
        let mut targets = Vec::new();
        let mut summary = PostSummary::default();
        for item in self.target_items(owner, id).await? {
            let mut target = from_item(targets_table(), &item);
            match target["status"].as_str() {
                Some("published") => summary.published += 1,
                Some("failed") => summary.failed += 1,
                _ => summary.open += 1,
            }
            if let Some(link) = self
                .rows()
                .get(
                    table("tracking_links"),
                    Some(owner),
                    &link_id_of(item.str("id").unwrap_or_default()),
                )
                .await?
            {
                target.insert(
                    "short_url".into(),
                    json!(
                        self.settings
                            .short_url(link["slug"].as_str().unwrap_or_default())
                    ),
                );
            }
            targets.push(target);
        }
        targets.sort_by(|a, b| a["created_at"].as_str().cmp(&b["created_at"].as_str()));
        let events_table = table("social_post_events");
        let mut events: Vec<Row> = self
            .index_items(
                Index::Gsi1,
                format!("idx_social_post_events_post#{id}"),
                "social_post_events",
            )
            .await?
            .iter()
            .map(|i| from_item(events_table, i))
            .collect();
        events.sort_by(|a, b| a["created_at"].as_str().cmp(&b["created_at"].as_str()));
        Ok(PostView {
            post,
            targets,
            events,
            summary,
        })
    }

    async fn index_items(
        &self,
        index: Index,
        partition: String,
        table_name: &str,
    ) -> Result<Vec<Item>, SocialError> {
        index_items(self.rows(), index, partition, table_name).await
    }

    /// The targets of a post, read strongly (the index only names them).
    async fn target_items(&self, owner: &str, post_id: &str) -> Result<Vec<Item>, SocialError> {
        let listed = self
            .index_items(
                Index::Gsi1,
                format!("idx_social_post_targets_post#{post_id}"),
                "social_post_targets",
            )
            .await?;
        let table = targets_table();
        let keys: Vec<_> = listed
            .iter()
            .filter_map(|item| item.str("id"))
            .map(|id| layout::row_key(table, Some(owner), id))
            .collect();
        let mut items = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(scaliyo_store::table::MAX_BATCH_GET) {
            let read = self.rows().store().batch_get(chunk).await?;
            items.extend(
                read.into_iter()
                    .flatten()
                    .filter(|item| item.str(layout::TABLE_ATTR) == Some(table.name)),
            );
        }
        Ok(items)
    }

    // -----------------------------------------------------------------------------------
    // The tick

    /// Resumes posts whose lease ran out (retries that are due, runs that crashed), claims
    /// due posts, and publishes their open targets.
    pub async fn tick(&self) -> Result<TickReport, SocialError> {
        if self.networks.is_none() {
            return Err(SocialError::NoNetworks);
        }
        let now = self.clock.now();
        let mut report = TickReport::default();
        self.expiry_reminders(now).await?;
        let mut work: Vec<Item> = Vec::new();
        for shard in 0..layout::DUE_SHARDS {
            for item in self
                .scan_partition(
                    Index::Gsi5,
                    lease_partition(shard),
                    now,
                    self.settings.max_posts_per_tick,
                    Some("social_posts"),
                )
                .await?
            {
                if item.str("status") == Some("processing")
                    && let Some(claimed) = self.claim(&item, now).await
                {
                    report.resumed += 1;
                    work.push(claimed);
                }
            }
        }
        for shard in 0..layout::DUE_SHARDS {
            if work.len() >= self.settings.max_posts_per_tick {
                break;
            }
            let budget = self.settings.max_posts_per_tick - work.len();
            for item in self
                .scan_partition(
                    Index::Gsi4,
                    due_partition(shard),
                    now,
                    budget,
                    Some("social_posts"),
                )
                .await?
            {
                if item.str("status") == Some("scheduled")
                    && let Some(claimed) = self.claim(&item, now).await
                {
                    report.claimed += 1;
                    work.push(claimed);
                }
            }
        }
        let permits = Arc::new(Semaphore::new(self.settings.publish_concurrency.max(1)));
        let outcomes: Vec<PostOutcome> = stream::iter(work)
            .map(|item| {
                let permits = permits.clone();
                async move { self.run_post(item, permits).await }
            })
            .buffer_unordered(self.settings.publish_concurrency.max(1))
            .collect()
            .await;
        for outcome in outcomes {
            report.published += outcome.published;
            report.failed += outcome.failed;
            report.retrying += outcome.retrying;
            report.completed_posts += usize::from(outcome.completed);
        }
        if report.claimed + report.resumed > 0 {
            tracing::info!(
                claimed = report.claimed,
                resumed = report.resumed,
                published = report.published,
                failed = report.failed,
                retrying = report.retrying,
                "social tick"
            );
        }
        Ok(report)
    }

    /// Accounts whose token expiry reminder is due: the `social.token_expiring` event (once
    /// per account and expiry), then the reminder goes — unless a reconnect moved it meanwhile.
    async fn expiry_reminders(&self, now: DateTime<Utc>) -> Result<(), SocialError> {
        let (_, sk) = Index::Gsi5.key_attributes();
        for shard in 0..layout::DUE_SHARDS {
            for reminder in self
                .scan_partition(Index::Gsi5, reminder_partition(shard), now, 1_000, None)
                .await?
            {
                let (Some(owner), Some(id), Ok(key)) = (
                    reminder.str("owner"),
                    reminder.str("account_id"),
                    reminder.key(),
                ) else {
                    continue;
                };
                let accounts = table("social_accounts");
                if let Some(account) = self.rows().get_raw(accounts, Some(owner), id).await? {
                    self.warn_if_expiring(owner, &account, now).await;
                }
                let unchanged = Condition::eq(
                    sk,
                    reminder.get(sk).cloned().unwrap_or(StoreValue::from("")),
                );
                match self
                    .rows()
                    .store()
                    .transact_write(vec![WriteOp::delete(key).when(unchanged)])
                    .await
                {
                    Ok(()) | Err(StoreError::ConditionFailed { .. }) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok(())
    }

    /// Entries of one index partition due at `now` (sort keys `<time>#<id>`), at most
    /// `budget`; with `only`, the rows of that table alone.
    async fn scan_partition(
        &self,
        index: Index,
        partition: String,
        now: DateTime<Utc>,
        budget: usize,
        only: Option<&str>,
    ) -> Result<Vec<Item>, SocialError> {
        let mut items = Vec::new();
        let mut cursor: Option<Cursor> = None;
        while items.len() < budget {
            let page = self
                .rows()
                .store()
                .query(
                    Query::partition(index, partition.clone())
                        .sort(at_or_before(now))
                        .limit(200)
                        .after(cursor.take()),
                )
                .await?;
            items.extend(
                page.items
                    .into_iter()
                    .filter(|i| only.is_none_or(|t| i.str(layout::TABLE_ATTR) == Some(t))),
            );
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        items.truncate(budget);
        Ok(items)
    }

    /// Takes a post for this tick: `processing` with a fresh claim and lease, if nobody
    /// changed it since it was read. The item as written comes back (the next guard).
    async fn claim(&self, item: &Item, now: DateTime<Utc>) -> Option<Item> {
        let id = item.str("id")?.to_owned();
        let mut patch = Row::new();
        patch.insert("status".into(), json!("processing"));
        let internal = lease_attributes(&id, now + self.settings.lease);
        let (_, op) = self
            .rows()
            .transition_op(posts(), item, patch, &internal)
            .inspect_err(
                |error| tracing::warn!(%error, post_id = %id, "a due post cannot be claimed"),
            )
            .ok()?;
        let written = match &op {
            WriteOp::Put { item, .. } => item.clone(),
            _ => return None,
        };
        match self.rows().store().transact_write(vec![op]).await {
            Ok(()) => Some(written),
            Err(StoreError::ConditionFailed { .. }) => None,
            Err(error) => {
                tracing::warn!(%error, "claiming a social post failed");
                None
            }
        }
    }

    async fn run_post(&self, claimed: Item, permits: Arc<Semaphore>) -> PostOutcome {
        let mut outcome = PostOutcome::default();
        let (Some(owner), Some(post_id)) = (
            claimed.str("user_id").map(str::to_owned),
            claimed.str("id").map(str::to_owned),
        ) else {
            return outcome;
        };
        let post = from_item(posts(), &claimed);
        let targets = match self.target_items(&owner, &post_id).await {
            Ok(targets) => targets,
            Err(error) => {
                // The lease runs out and a later tick resumes the post.
                tracing::warn!(%error, %post_id, "reading a post's targets failed");
                return outcome;
            }
        };
        let run = PostRun::default();
        let results: Vec<TargetState> = stream::iter(targets)
            .map(|target| {
                let permits = permits.clone();
                let post = &post;
                let run = &run;
                let owner = owner.as_str();
                async move {
                    let _permit = permits.acquire_owned().await.ok();
                    self.run_target(owner, post, target, run)
                        .await
                        .unwrap_or_else(|error| {
                            tracing::warn!(%error, "publishing a target failed; it is retried");
                            TargetState::RetryAt(self.clock.now() + Duration::minutes(1))
                        })
                }
            })
            .buffer_unordered(MAX_TARGETS)
            .collect()
            .await;
        let mut next_retry: Option<DateTime<Utc>> = None;
        let (mut published, mut failed) = (0, 0);
        for state in &results {
            match state {
                TargetState::Published { now } => {
                    published += 1;
                    outcome.published += usize::from(*now);
                }
                TargetState::Failed { now } => {
                    failed += 1;
                    outcome.failed += usize::from(*now);
                }
                TargetState::RetryAt(at) => {
                    outcome.retrying += 1;
                    next_retry = Some(next_retry.map_or(*at, |n| n.min(*at)));
                }
            }
        }
        let result = match next_retry {
            // Still open: the post keeps `processing`, its lease moved to the next retry.
            Some(at) => self.settle_post(&claimed, "processing", Some(at)).await,
            None => {
                outcome.completed = true;
                let status = if published > 0 || failed == 0 {
                    "completed"
                } else {
                    "failed"
                };
                self.settle_post(&claimed, status, None).await
            }
        };
        if let Err(error) = result {
            tracing::warn!(%error, %post_id, "settling a post failed; a later tick resumes it");
        }
        outcome
    }

    async fn settle_post(
        &self,
        claimed: &Item,
        status: &str,
        lease_until: Option<DateTime<Utc>>,
    ) -> Result<(), SocialError> {
        let mut patch = Row::new();
        patch.insert("status".into(), json!(status));
        let internal = match (lease_until, claimed.str("id")) {
            (Some(at), Some(id)) => lease_attributes(id, at),
            _ => Vec::new(),
        };
        let (_, op) = self
            .rows()
            .transition_op(posts(), claimed, patch, &internal)?;
        self.rows().store().transact_write(vec![op]).await?;
        Ok(())
    }

    /// Publishes one target if it is open and due; what became of it.
    async fn run_target(
        &self,
        owner: &str,
        post: &Row,
        target: Item,
        run: &PostRun,
    ) -> Result<TargetState, SocialError> {
        let now = self.clock.now();
        let status = target.str("status").unwrap_or_default().to_owned();
        if target.str("remote_post_id").is_some() && status != "published" {
            // Published, but the settle was lost: record it, never publish again.
            let remote = target.str("remote_post_id").unwrap_or_default().to_owned();
            self.settle_published(owner, post, &target, &remote, json!({ "recovered": true }))
                .await?;
            return Ok(TargetState::Published { now: true });
        }
        match status.as_str() {
            "published" => return Ok(TargetState::Published { now: false }),
            "failed" => return Ok(TargetState::Failed { now: false }),
            _ => {}
        }
        if let Some(at) = parse_time(&target, RETRY_AT).filter(|at| *at > now) {
            return Ok(TargetState::RetryAt(at));
        }
        // A target in `processing` is touched only once its attempt is older than the lease:
        // a younger one may still be in flight in another run (no double posts).
        if status == "processing"
            && let Some(started) = parse_time(&target, STARTED_AT)
            && started + self.settings.lease > now
        {
            return Ok(TargetState::RetryAt(started + self.settings.lease));
        }
        let Some(channel) = target.str("channel").and_then(Channel::parse) else {
            return self
                .settle_failed(
                    owner,
                    post,
                    &target,
                    ErrorCode::InvalidRequest,
                    "unknown channel",
                    0,
                )
                .await;
        };
        let identity = target.str("target_id").unwrap_or_default().to_owned();
        let Some(account) = run.accounts.find(self, owner, channel, &identity).await? else {
            return self
                .settle_failed(
                    owner,
                    post,
                    &target,
                    ErrorCode::AccountMissing,
                    "the social account of this target was removed",
                    0,
                )
                .await;
        };
        if let Some(until) = parse_time(&account, THROTTLED_UNTIL).filter(|t| *t > now) {
            // Meta's usage is near its limit: wait without spending an attempt.
            return Ok(TargetState::RetryAt(until));
        }
        let token_column = match channel.provider() {
            "meta" => "meta_page_access_token_encrypted",
            _ => "linkedin_access_token_encrypted",
        };
        let token = match account.str(token_column) {
            Some(sealed) => match &self.sealer {
                Some(sealer) => sealer.open(sealed).await.ok(),
                None => return Err(SocialError::NoNetworks),
            },
            None => None,
        };
        let Some(token) = token else {
            return self
                .settle_failed(
                    owner,
                    post,
                    &target,
                    ErrorCode::TokenExpired,
                    "the account has no usable token; connect it again",
                    0,
                )
                .await;
        };
        let publication = self
            .publication(owner, post, &target, channel, identity, token, run)
            .await?;
        let Some(networks) = &self.networks else {
            return Err(SocialError::NoNetworks);
        };
        let network = networks.for_channel(channel).clone();
        let attempts = target.i64(ATTEMPTS).unwrap_or(0);

        if status == "processing" {
            // An earlier call never answered (or the run stopped): look before publishing.
            let since = parse_time(&target, STARTED_AT).unwrap_or(now - Duration::hours(1))
                - Duration::minutes(1);
            match network.find_recent(&publication, since).await {
                Ok(Some(remote)) => {
                    self.settle_published(
                        owner,
                        post,
                        &target,
                        &remote,
                        json!({ "remote_post_id": remote, "confirmed_after": "unconfirmed" }),
                    )
                    .await?;
                    return Ok(TargetState::Published { now: true });
                }
                Ok(None) => {}
                Err(error) => {
                    return self
                        .settle_retry(owner, post, &target, &error, attempts, true)
                        .await;
                }
            }
        }

        // processing, with the `started` event, before the call.
        let attempt = attempts + 1;
        let mut patch = Row::new();
        patch.insert("status".into(), json!("processing"));
        let internal = vec![
            (ATTEMPTS, StoreValue::from(attempt)),
            (STARTED_AT, StoreValue::from(timestamp_text(now))),
        ];
        let (_, op) = self
            .rows()
            .transition_op(targets_table(), &target, patch, &internal)?;
        let started = match &op {
            WriteOp::Put { item, .. } => item.clone(),
            _ => target.clone(),
        };
        let mut ops = vec![op];
        ops.extend(self.event_ops(
            owner,
            post_str(post, "id"),
            target.str("id"),
            "started",
            json!({ "channel": channel.as_str(), "attempt": attempt }),
        )?);
        match self.rows().store().transact_write(ops).await {
            Ok(()) => {}
            // Someone else moved the target: leave it to them.
            Err(StoreError::ConditionFailed { .. }) => {
                return Ok(TargetState::RetryAt(now + self.settings.lease));
            }
            Err(e) => return Err(e.into()),
        }

        let result = network.publish(&publication).await;
        let usage = match &result {
            Ok(published) => published.usage,
            Err(error) => error.usage(),
        };
        if let Some(usage) = usage.filter(Usage::should_back_off) {
            self.throttle(&account, now, usage).await;
        }
        match result {
            Ok(published) => {
                self.settle_published(
                    owner,
                    post,
                    &started,
                    &published.remote_post_id,
                    json!({ "remote_post_id": published.remote_post_id, "attempt": attempt }),
                )
                .await?;
                Ok(TargetState::Published { now: true })
            }
            Err(error) => {
                let code = error.code();
                if code.needs_reconnect() {
                    self.mark_reconnect(&account, &error.to_string()).await;
                }
                if code.is_retryable() {
                    self.settle_retry(owner, post, &started, &error, attempt, false)
                        .await
                } else {
                    self.settle_failed(owner, post, &started, code, &message_of(&error), attempt)
                        .await
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn publication(
        &self,
        owner: &str,
        post: &Row,
        target: &Item,
        channel: Channel,
        identity: String,
        token: String,
        run: &PostRun,
    ) -> Result<Publication, SocialError> {
        let media = run
            .media
            .get_or_try_init(|| self.media_files(post))
            .await?
            .clone();
        let short_link = match post["link_url"].as_str() {
            Some(_) => self
                .rows()
                .get(
                    table("tracking_links"),
                    Some(owner),
                    &link_id_of(target.str("id").unwrap_or_default()),
                )
                .await?
                .and_then(|link| link["slug"].as_str().map(|s| self.settings.short_url(s)))
                // A link row removed by hand: the destination itself still works.
                .or_else(|| post["link_url"].as_str().map(str::to_owned)),
            None => None,
        };
        let composed = social::compose(
            channel,
            post["content_text"].as_str().unwrap_or_default(),
            short_link.as_deref(),
            !media.is_empty(),
        );
        Ok(Publication {
            channel,
            target: identity,
            access_token: token,
            text: composed.text,
            link: composed.link_field,
            media,
        })
    }

    /// The post's media with short-lived signed URLs, read once per run of the post (every
    /// target publishes the same files).
    async fn media_files(&self, post: &Row) -> Result<Vec<MediaFile>, SocialError> {
        let mut media = Vec::new();
        for path in post["media_paths"].as_array().into_iter().flatten() {
            let Some(path) = path.as_str() else { continue };
            let meta = self
                .blobs
                .head(MEDIA_BUCKET, path)
                .await
                .map_err(|e| SocialError::Blob(e.to_string()))?;
            let content_type = meta
                .and_then(|m| m.content_type)
                .unwrap_or_else(|| "application/octet-stream".into());
            let Some(kind) = MediaKind::of(&content_type) else {
                continue;
            };
            let url = self
                .blobs
                .presign_get(MEDIA_BUCKET, path, self.settings.media_url_lifetime)
                .await
                .map_err(|e| SocialError::Blob(e.to_string()))?;
            media.push(MediaFile {
                url: url.url,
                content_type,
                kind,
            });
        }
        Ok(media)
    }

    async fn settle_published(
        &self,
        owner: &str,
        post: &Row,
        target: &Item,
        remote: &str,
        payload: Value,
    ) -> Result<(), SocialError> {
        let mut patch = Row::new();
        patch.insert("status".into(), json!("published"));
        patch.insert("remote_post_id".into(), json!(remote));
        patch.insert(
            "published_at".into(),
            json!(timestamp_text(self.clock.now())),
        );
        patch.insert("error_code".into(), Value::Null);
        patch.insert("error_message".into(), Value::Null);
        self.settle_target(owner, post, target, patch, &[], "published", payload)
            .await?;
        self.emit(
            owner,
            post,
            target,
            "social.published",
            json!({ "remote_post_id": remote }),
        )
        .await;
        Ok(())
    }

    async fn settle_failed(
        &self,
        owner: &str,
        post: &Row,
        target: &Item,
        code: ErrorCode,
        message: &str,
        attempts: i64,
    ) -> Result<TargetState, SocialError> {
        let mut patch = Row::new();
        patch.insert("status".into(), json!("failed"));
        patch.insert("error_code".into(), json!(code.as_str()));
        patch.insert("error_message".into(), json!(message));
        let internal = [(ATTEMPTS, StoreValue::from(attempts))];
        self.settle_target(
            owner,
            post,
            target,
            patch,
            &internal,
            "failed",
            json!({ "error_code": code.as_str(), "message": message, "attempts": attempts }),
        )
        .await?;
        self.emit(
            owner,
            post,
            target,
            "social.failed",
            json!({ "error_code": code.as_str(), "message": message }),
        )
        .await;
        Ok(TargetState::Failed { now: true })
    }

    /// A retryable failure: back to `scheduled` with a retry time — or, for an unconfirmed
    /// call, still `processing` (it may have published) with the retry event marking it so.
    async fn settle_retry(
        &self,
        owner: &str,
        post: &Row,
        target: &Item,
        error: &PublishError,
        attempts: i64,
        while_checking: bool,
    ) -> Result<TargetState, SocialError> {
        let code = error.code();
        let message = message_of(error);
        if attempts >= i64::from(social::MAX_ATTEMPTS) && !while_checking {
            let message = format!("{message} (gave up after {attempts} attempts)");
            return self
                .settle_failed(owner, post, target, code, &message, attempts)
                .await;
        }
        let delay = social::retry_delay(attempts.max(1) as u32, error.retry_after());
        let mut retry_at =
            self.clock.now() + Duration::from_std(delay).unwrap_or(Duration::minutes(1));
        let unconfirmed = code == ErrorCode::Unconfirmed
            || (while_checking && target.str("status") == Some("processing"));
        if unconfirmed && let Some(started) = parse_time(target, STARTED_AT) {
            // Looked for no sooner than the lease after the call started.
            retry_at = retry_at.max(started + self.settings.lease);
        }
        let mut patch = Row::new();
        patch.insert(
            "status".into(),
            json!(if unconfirmed {
                "processing"
            } else {
                "scheduled"
            }),
        );
        patch.insert("error_code".into(), json!(code.as_str()));
        patch.insert("error_message".into(), json!(message));
        let mut internal = vec![
            (ATTEMPTS, StoreValue::from(attempts)),
            (RETRY_AT, StoreValue::from(timestamp_text(retry_at))),
        ];
        if unconfirmed && let Some(started) = target.str(STARTED_AT) {
            internal.push((STARTED_AT, StoreValue::from(started)));
        }
        self.settle_target(
            owner,
            post,
            target,
            patch,
            &internal,
            "retry",
            json!({
                "error_code": code.as_str(),
                "message": message,
                "attempt": attempts,
                "retry_at": timestamp_text(retry_at),
                "unconfirmed": unconfirmed,
            }),
        )
        .await?;
        Ok(TargetState::RetryAt(retry_at))
    }

    #[allow(clippy::too_many_arguments)]
    async fn settle_target(
        &self,
        owner: &str,
        post: &Row,
        target: &Item,
        patch: Row,
        internal: &[(&str, StoreValue)],
        event_type: &str,
        payload: Value,
    ) -> Result<(), SocialError> {
        let (_, op) = self
            .rows()
            .transition_op(targets_table(), target, patch, internal)?;
        let mut ops = vec![op];
        ops.extend(self.event_ops(
            owner,
            post_str(post, "id"),
            target.str("id"),
            event_type,
            payload,
        )?);
        self.rows().store().transact_write(ops).await?;
        Ok(())
    }

    async fn mark_reconnect(&self, account: &Item, reason: &str) {
        let Ok(key) = account.key() else { return };
        let update = Update::new().set(RECONNECT, reason.chars().take(500).collect::<String>());
        if let Err(error) = self
            .rows()
            .store()
            .update(&key, update, Some(Condition::item_exists()))
            .await
        {
            tracing::warn!(%error, "marking an account for reconnection failed");
        }
    }

    async fn throttle(&self, account: &Item, now: DateTime<Utc>, usage: Usage) {
        let Ok(key) = account.key() else { return };
        let until = now + Duration::from_std(usage.back_off()).unwrap_or(Duration::minutes(5));
        tracing::info!(percent = usage.percent, until = %until, "Meta usage is high; the account waits");
        let update = Update::new().set(THROTTLED_UNTIL, timestamp_text(until));
        if let Err(error) = self
            .rows()
            .store()
            .update(&key, update, Some(Condition::item_exists()))
            .await
        {
            tracing::warn!(%error, "recording an account's back-off failed");
        }
    }
}

fn message_of(error: &PublishError) -> String {
    match error {
        PublishError::Refused { refusal, .. } => refusal.message.clone(),
        PublishError::Unconfirmed(detail) | PublishError::Network(detail) => detail.clone(),
    }
}

fn post_str<'a>(post: &'a Row, column: &str) -> &'a str {
    post.get(column).and_then(Value::as_str).unwrap_or_default()
}

fn lease_attributes(id: &str, until: DateTime<Utc>) -> Vec<(&'static str, StoreValue)> {
    let (pk, sk) = Index::Gsi5.key_attributes();
    vec![
        (CLAIM, StoreValue::from(uuid::Uuid::new_v4().to_string())),
        (pk, StoreValue::from(lease_partition(layout::shard_of(id)))),
        (
            sk,
            StoreValue::from(format!("{}#{id}", timestamp_text(until))),
        ),
    ]
}

fn redact(table: &str, mut row: Row) -> Row {
    row.retain(|column, _| !schema::is_secret(table, column));
    row
}

fn health_of(item: &Item, now: DateTime<Utc>, warning: Duration) -> AccountHealth {
    let expires = parse_time(item, "token_expires_at");
    let expired = expires.is_some_and(|t| t <= now);
    let expiring_soon = !expired && expires.is_some_and(|t| t <= now + warning);
    let reconnect = item.str(RECONNECT).map(str::to_owned);
    let label = [
        "meta_page_name",
        "linkedin_org_name",
        "meta_ig_username",
        "linkedin_member_urn",
    ]
    .iter()
    .find_map(|c| item.str(c))
    .map(str::to_owned);
    let reason = if let Some(reason) = &reconnect {
        Some(format!("a publish was refused: {reason}"))
    } else if expired {
        Some("the token has expired".to_owned())
    } else if expiring_soon {
        Some("the token expires within a week".to_owned())
    } else {
        None
    };
    AccountHealth {
        id: item.str("id").unwrap_or_default().to_owned(),
        provider: item.str("provider").unwrap_or_default().to_owned(),
        label,
        token_expires_at: item.str("token_expires_at").map(str::to_owned),
        expired,
        expiring_soon,
        needs_reconnect: reconnect.is_some() || expired,
        reason,
    }
}

#[derive(Debug, Default)]
struct PostOutcome {
    published: usize,
    failed: usize,
    retrying: usize,
    completed: bool,
}

/// What became of a target in this run (`now`: this run settled it).
#[derive(Debug, Clone, PartialEq)]
enum TargetState {
    Published { now: bool },
    Failed { now: bool },
    RetryAt(DateTime<Utc>),
}

/// What one run of a post reads once for all its targets: the owner's accounts and the
/// post's media.
#[derive(Default)]
struct PostRun {
    accounts: AccountCache,
    media: tokio::sync::OnceCell<Vec<MediaFile>>,
}

/// The owner's accounts, read once per post run.
#[derive(Default)]
struct AccountCache {
    by_provider: tokio::sync::Mutex<HashMap<&'static str, Vec<Item>>>,
}

impl AccountCache {
    async fn find(
        &self,
        social: &Social,
        owner: &str,
        channel: Channel,
        identity: &str,
    ) -> Result<Option<Item>, SocialError> {
        let provider = channel.provider();
        let mut cache = self.by_provider.lock().await;
        if !cache.contains_key(provider) {
            let accounts = social.accounts_of(owner, provider).await?;
            let now = social.clock.now();
            for account in &accounts {
                social.warn_if_expiring(owner, account, now).await;
            }
            cache.insert(provider, accounts);
        }
        Ok(cache.get(provider).and_then(|accounts| {
            accounts
                .iter()
                .find(|a| a.str(channel.identity_column()) == Some(identity))
                .cloned()
        }))
    }
}

// ---------------------------------------------------------------------------------------
// Short links

/// `GET /l/{slug}`: the destination of a short link, with a `tracking_events` row (referrer,
/// user agent, keyed hash of the address — never the address).
#[derive(Clone)]
pub struct ShortLinks {
    rows: Rows,
    ip_key: Arc<[u8]>,
}

impl ShortLinks {
    pub fn new(rows: Rows, ip_key: &[u8]) -> Self {
        Self {
            rows,
            ip_key: Arc::from(ip_key),
        }
    }

    /// The destination, or None for an unknown slug. The event is best effort: a failed write
    /// is logged and the visitor still goes on (the link must work).
    pub async fn follow(
        &self,
        slug: &str,
        referrer: Option<&str>,
        user_agent: Option<&str>,
        ip: Option<IpAddr>,
        record: bool,
    ) -> Result<Option<String>, RowError> {
        if !social::plausible_slug(slug) {
            return Ok(None);
        }
        let links = table("tracking_links");
        let Some(unique) = links
            .uniques
            .iter()
            .find(|u| u.name == "tracking_links_slug_key")
        else {
            return Ok(None);
        };
        let mut probe = Row::new();
        probe.insert("slug".into(), json!(slug));
        let Some(link) = self.rows.find_unique(links, unique, &probe).await? else {
            return Ok(None);
        };
        let Some(destination) = link["destination_url"].as_str().map(str::to_owned) else {
            return Ok(None);
        };
        if !record {
            return Ok(Some(destination));
        }
        let mut event = Row::new();
        event.insert("link_id".into(), link["id"].clone());
        event.insert("user_id".into(), link["user_id"].clone());
        event.insert(
            "referrer".into(),
            json!(referrer.map(|r| r.chars().take(1000).collect::<String>())),
        );
        event.insert(
            "user_agent".into(),
            json!(user_agent.map(|u| u.chars().take(1000).collect::<String>())),
        );
        event.insert(
            "ip_hash".into(),
            json!(ip.map(|ip| social::ip_hash(&self.ip_key, ip))),
        );
        if let Err(error) = self
            .rows
            .create(table("tracking_events"), None, event)
            .await
        {
            tracing::warn!(%error, "recording a short-link visit failed");
        }
        Ok(Some(destination))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_times_are_read_in_the_posts_zone() {
        let at = parse_scheduled_at("2026-12-01T09:30", "Asia/Karachi").unwrap();
        assert_eq!(at.to_rfc3339(), "2026-12-01T04:30:00+00:00");
        let at = parse_scheduled_at("2026-12-01T09:30:00-05:00", "Asia/Karachi").unwrap();
        assert_eq!(at.to_rfc3339(), "2026-12-01T14:30:00+00:00");
        assert!(parse_scheduled_at("tomorrow", "Asia/Karachi").is_err());
        assert!(parse_scheduled_at("2026-12-01T09:30", "Mars/Olympus").is_err());
    }

    #[test]
    fn only_absolute_http_links_are_taken() {
        assert!(check_link("https://scaliyo.example/launch?utm=x").is_ok());
        assert!(check_link("javascript:alert(1)").is_err());
        assert!(check_link("https://user@evil.example").is_err());
        assert!(check_link("https:// spaced.example").is_err());
    }

    #[test]
    fn account_health_reads_expiry_and_reconnect_marks() {
        let now = DateTime::parse_from_rfc3339("2026-11-27T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let key = scaliyo_store::Key::new("U#u", "social_accounts#a");
        let soon = Item::new(&key)
            .with("id", "a")
            .with("provider", "meta")
            .with("token_expires_at", "2026-12-01T00:00:00.000000Z");
        let health = health_of(&soon, now, Duration::days(7));
        assert!(health.expiring_soon && !health.expired && !health.needs_reconnect);
        let refused = soon
            .clone()
            .with(RECONNECT, "token_expired: Session has expired");
        assert!(health_of(&refused, now, Duration::days(7)).needs_reconnect);
    }
}
