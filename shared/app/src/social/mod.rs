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
//!
//! The rooms: `accounts` (connecting, sealing tokens: the `send-email` function), `posts`
//! (create, schedule, view, health: the `api` function), `publisher` (the tick: the
//! `social-run-scheduler` function) with `target_run` (one target's state machine),
//! `health` (token expiry) and `short_links` (the tracking host's `/l/{slug}`).

mod accounts;
mod granted;
mod health;
mod post_rows;
mod posts;
mod publish_now;
mod publisher;
mod short_links;
mod target_run;

pub use accounts::{ConnectLinkedIn, ConnectMeta, SocialAccounts};
pub use granted::Renewal;
pub use health::AccountHealth;
pub use posts::{CreatePost, PostSummary, PostView, SchedulePost, SocialPosts, TargetSpec};
pub use publish_now::PostNow;
pub use publisher::{Renewals, SocialPublisher, TickReport};
pub use short_links::ShortLinks;

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use scaliyo_domain::ids::OwnerId;
use scaliyo_domain::schedule;
use scaliyo_domain::schema;
use scaliyo_domain::social;
pub(crate) use scaliyo_domain::status::{PostStatus, TargetStatus};
use scaliyo_store::{Cursor, Index, Item, Key, Query};

use serde_json::Value;

use crate::access::AccessError;
use crate::layout;
use crate::rows::{Row, Rows};
use crate::work_queue::{self, WorkQueue};

pub const MEDIA_BUCKET: &str = "social_media";
pub const DEFAULT_TIMEZONE: &str = "Asia/Karachi";
/// Targets of one post (one per channel and identity).
pub const MAX_TARGETS: usize = 10;

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

    pub(crate) fn short_url(&self, slug: &str) -> String {
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
    #[error("the post is {status}; only a draft or a scheduled post can be published now")]
    NotPublishable { status: String },
    #[error("the token could not be sealed")]
    Seal(#[source] scaliyo_store::SealError),
    #[error("the media bucket")]
    Blob(#[source] scaliyo_store::BlobError),
}

crate::errors::through_access!(SocialError);
crate::errors::invalid_constructor!(SocialError);

// ---------------------------------------------------------------------------------------
// Keys and ids

/// Scheduled posts: due in GSI4 while `scheduled`, leased in GSI5 while `processing`.
pub(crate) const POST_QUEUE: WorkQueue =
    WorkQueue::new("social_posts", "idx_social_posts_scheduled");

/// Expiry reminders of account tokens share the lease index (GSI5), in their own partitions.
pub(crate) fn reminder_partition(shard: u32) -> String {
    work_queue::lease_partition("social_token_reminders", shard)
}

pub(crate) fn reminder_key(account_id: &str) -> Key {
    Key::new(format!("SOCIALTOKEN#{account_id}"), "R")
}

/// Tokens expiring within this are reported (the health endpoint, the webhook event).
pub const TOKEN_WARNING: Duration = Duration::days(7);

/// The short link of a target: derived, so a target finds its link without a column for it.
pub fn link_id_of(target_id: &str) -> String {
    uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_URL,
        format!("scaliyo:social-target-link:{target_id}").as_bytes(),
    )
    .to_string()
}

pub(crate) fn new_slug() -> String {
    let mut bytes = [0u8; social::SLUG_BYTES];
    rand::fill(&mut bytes);
    social::slug_from(&bytes)
}

pub(crate) fn parse_time(item: &Item, name: &str) -> Option<DateTime<Utc>> {
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

pub(crate) fn check_link(url: &str) -> Result<(), SocialError> {
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

/// Every item of one index partition that belongs to `table_name`.
pub(crate) async fn index_items(
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
pub(crate) async fn accounts_of(
    rows: &Rows,
    owner: OwnerId,
    provider: &str,
) -> Result<Vec<Item>, SocialError> {
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

pub(crate) fn redact(table: &str, mut row: Row) -> Row {
    row.retain(|column, _| !schema::is_secret(table, column));
    row
}

pub(crate) fn post_str<'a>(post: &'a Row, column: &str) -> &'a str {
    post.get(column).and_then(Value::as_str).unwrap_or_default()
}

/// The status a stored post is in (`None` for a value outside the CHECK set).
pub(crate) fn post_status(item: &Item) -> Option<PostStatus> {
    item.str("status").and_then(PostStatus::parse)
}

/// The status a stored target is in (`None` for a value outside the CHECK set).
pub(crate) fn target_status(item: &Item) -> Option<TargetStatus> {
    item.str("status").and_then(TargetStatus::parse)
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
}
