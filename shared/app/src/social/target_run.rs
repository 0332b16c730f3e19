//! One target's run: the gate (settled, retry not due, call in flight, throttled), the
//! `processing` mark and `started` event before the network call, and the settle after it
//! (`published`, `failed`, or a retry) with its event and webhook.

use scaliyo_domain::ids::OwnerId;
use scaliyo_domain::schema;
use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use scaliyo_domain::social::gate::{self, Gate, TargetFacts};
use scaliyo_domain::social::{self, Channel, ErrorCode, MediaKind, Usage};
use scaliyo_store::{
    Condition, Item, MediaFile, Publication, PublishError, StoreError, Update, Value as StoreValue,
    WriteOp,
};
use serde::Serialize;
use serde_json::{Value, json};

use super::health::reconnect_mark;
use super::publisher::SocialPublisher;
use super::{
    MEDIA_BUCKET, SocialError, TargetStatus, link_id_of, parse_time, post_str, target_status,
};
use crate::rows::{Row, timestamp_text, to_row};
use crate::work_queue::ATTEMPTS;

/// When a retryable failure may be tried again (internal attribute of a target).
const RETRY_AT: &str = "_retry_at";
/// When the last attempt's network call started (internal attribute of a target).
const STARTED_AT: &str = "_started_at";
/// An account near Meta's usage limit waits until then (internal attribute of an account).
const THROTTLED_UNTIL: &str = "_throttled_until";

/// How a network call left a target: its status, and the error columns (cleared by a
/// success). A field left `None` among the first two is not changed.
#[derive(Serialize)]
struct SettledTarget<'a> {
    status: TargetStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    remote_post_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    published_at: Option<String>,
    error_code: Option<&'static str>,
    error_message: Option<&'a str>,
}

impl<'a> SettledTarget<'a> {
    fn with_error(status: TargetStatus, code: ErrorCode, message: &'a str) -> Self {
        Self {
            status,
            remote_post_id: None,
            published_at: None,
            error_code: Some(code.as_str()),
            error_message: Some(message),
        }
    }
}

/// One target of one post, in one run.
#[derive(Clone)]
pub(crate) struct TargetRun<'a> {
    pub owner: OwnerId,
    pub post: &'a Row,
    /// The target as last read or written (the next write's guard).
    pub target: Item,
}

impl SocialPublisher {
    async fn emit(&self, run: &TargetRun<'_>, event_type: &str, extra: Value) {
        let Some(webhooks) = self.posts.webhooks() else {
            return;
        };
        let target = &run.target;
        let target_id = target.str("id").unwrap_or_default();
        let mut data = json!({
            "post_id": post_str(run.post, "id"),
            "target_id": target_id,
            "channel": target.str("channel"),
            "target": target.str("target_id"),
            "target_label": target.str("target_label"),
        });
        if let (Value::Object(data), Value::Object(extra)) = (&mut data, extra) {
            data.extend(extra);
        }
        webhooks.emit(run.owner, event_type, target_id, data).await;
    }

    /// Publishes one target if it is open and due; what became of it.
    pub(crate) async fn run_target(
        &self,
        run: TargetRun<'_>,
        post_run: &PostRun,
    ) -> Result<TargetState, SocialError> {
        let now = self.clock().now();
        let target = &run.target;
        let status = target_status(target);
        let facts = TargetFacts {
            status,
            has_remote_post: target.str("remote_post_id").is_some(),
            retry_at: parse_time(target, RETRY_AT),
            started_at: parse_time(target, STARTED_AT),
        };
        match gate::before_call(facts, now, self.settings().lease) {
            Gate::RecordRecovered => {
                let remote = target.str("remote_post_id").unwrap_or_default().to_owned();
                self.settle_published(&run, &remote, json!({ "recovered": true }))
                    .await?;
                return Ok(TargetState::Published { now: true });
            }
            Gate::AlreadyPublished => return Ok(TargetState::Published { now: false }),
            Gate::AlreadyFailed => return Ok(TargetState::Failed { now: false }),
            Gate::WaitUntil(at) => return Ok(TargetState::RetryAt(at)),
            Gate::Go => {}
        }
        let Some(channel) = target.str("channel").and_then(Channel::parse) else {
            return self
                .settle_failed(&run, ErrorCode::InvalidRequest, "unknown channel", 0)
                .await;
        };
        let identity = target.str("target_id").unwrap_or_default().to_owned();
        let Some(account) = post_run
            .accounts
            .find(self, run.owner, channel, &identity)
            .await?
        else {
            return self
                .settle_failed(
                    &run,
                    ErrorCode::AccountMissing,
                    "the social account of this target was removed",
                    0,
                )
                .await;
        };
        if let Some(until) = gate::throttled(parse_time(&account, THROTTLED_UNTIL), now) {
            return Ok(TargetState::RetryAt(until));
        }
        let token_column = match channel.provider() {
            "meta" => "meta_page_access_token_encrypted",
            _ => "linkedin_access_token_encrypted",
        };
        let token = match account.str(token_column) {
            Some(sealed) => self.sealer.open(sealed).await.ok(),
            None => None,
        };
        let Some(token) = token else {
            return self
                .settle_failed(
                    &run,
                    ErrorCode::TokenExpired,
                    "the account has no usable token; connect it again",
                    0,
                )
                .await;
        };
        let publication = self
            .publication(&run, channel, identity, token, post_run)
            .await?;
        let network = self.networks.for_channel(channel).clone();
        let attempts = target.i64(ATTEMPTS).unwrap_or(0);

        if status == Some(TargetStatus::Processing) {
            // An earlier call never answered (or the run stopped): look before publishing.
            let since = parse_time(target, STARTED_AT).unwrap_or(now - Duration::hours(1))
                - Duration::minutes(1);
            match network.find_recent(&publication, since).await {
                Ok(Some(remote)) => {
                    self.settle_published(
                        &run,
                        &remote,
                        json!({ "remote_post_id": remote, "confirmed_after": "unconfirmed" }),
                    )
                    .await?;
                    return Ok(TargetState::Published { now: true });
                }
                Ok(None) => {}
                Err(error) => {
                    return self.settle_retry(&run, &error, attempts, true).await;
                }
            }
        }

        // processing, with the `started` event, before the call.
        let attempt = attempts + 1;
        let mut patch = Row::new();
        patch.insert("status".into(), json!(TargetStatus::Processing));
        let internal = vec![
            (ATTEMPTS, StoreValue::from(attempt)),
            (STARTED_AT, StoreValue::from(timestamp_text(now))),
        ];
        let (_, op) =
            self.rows()
                .transition_op(&schema::SOCIAL_POST_TARGETS, target, patch, &internal)?;
        let started = TargetRun {
            target: match &op {
                WriteOp::Put { item, .. } => item.clone(),
                _ => target.clone(),
            },
            ..run
        };
        let mut ops = vec![op];
        ops.extend(self.posts.event_ops(
            run.owner,
            post_str(run.post, "id"),
            target.str("id"),
            "started",
            json!({ "channel": channel.as_str(), "attempt": attempt }),
        )?);
        match self.rows().store().transact_write(ops).await {
            Ok(()) => {}
            // Someone else moved the target: leave it to them.
            Err(StoreError::ConditionFailed { .. }) => {
                return Ok(TargetState::RetryAt(now + self.settings().lease));
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
                    self.settle_retry(&started, &error, attempt, false).await
                } else {
                    self.settle_failed(&started, code, &message_of(&error), attempt)
                        .await
                }
            }
        }
    }

    async fn publication(
        &self,
        run: &TargetRun<'_>,
        channel: Channel,
        identity: String,
        token: String,
        post_run: &PostRun,
    ) -> Result<Publication, SocialError> {
        let (owner, post, target) = (run.owner, run.post, &run.target);
        let media = post_run
            .media
            .get_or_try_init(|| self.media_files(post))
            .await?
            .clone();
        let short_link = match post["link_url"].as_str() {
            Some(_) => self
                .rows()
                .get(
                    &schema::TRACKING_LINKS,
                    Some(&owner.to_string()),
                    &link_id_of(target.str("id").unwrap_or_default()),
                )
                .await?
                .and_then(|link| link["slug"].as_str().map(|s| self.settings().short_url(s)))
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
                .posts
                .blobs
                .head(MEDIA_BUCKET, path)
                .await
                .map_err(SocialError::Blob)?;
            let content_type = meta
                .and_then(|m| m.content_type)
                .unwrap_or_else(|| "application/octet-stream".into());
            let Some(kind) = MediaKind::of(&content_type) else {
                continue;
            };
            let url = self
                .posts
                .blobs
                .presign_get(MEDIA_BUCKET, path, self.settings().media_url_lifetime)
                .await
                .map_err(SocialError::Blob)?;
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
        run: &TargetRun<'_>,
        remote: &str,
        payload: Value,
    ) -> Result<(), SocialError> {
        let patch = SettledTarget {
            status: TargetStatus::Published,
            remote_post_id: Some(remote),
            published_at: Some(timestamp_text(self.clock().now())),
            error_code: None,
            error_message: None,
        };
        self.settle_target(run, &patch, &[], "published", payload)
            .await?;
        self.emit(run, "social.published", json!({ "remote_post_id": remote }))
            .await;
        Ok(())
    }

    async fn settle_failed(
        &self,
        run: &TargetRun<'_>,
        code: ErrorCode,
        message: &str,
        attempts: i64,
    ) -> Result<TargetState, SocialError> {
        let patch = SettledTarget::with_error(TargetStatus::Failed, code, message);
        let internal = [(ATTEMPTS, StoreValue::from(attempts))];
        self.settle_target(
            run,
            &patch,
            &internal,
            "failed",
            json!({ "error_code": code.as_str(), "message": message, "attempts": attempts }),
        )
        .await?;
        self.emit(
            run,
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
        run: &TargetRun<'_>,
        error: &PublishError,
        attempts: i64,
        while_checking: bool,
    ) -> Result<TargetState, SocialError> {
        let code = error.code();
        let message = message_of(error);
        if attempts >= i64::from(social::MAX_ATTEMPTS) && !while_checking {
            let message = format!("{message} (gave up after {attempts} attempts)");
            return self.settle_failed(run, code, &message, attempts).await;
        }
        let delay = social::retry_delay(attempts.max(1) as u32, error.retry_after());
        let mut retry_at =
            self.clock().now() + Duration::from_std(delay).unwrap_or(Duration::minutes(1));
        let unconfirmed = code == ErrorCode::Unconfirmed
            || (while_checking && target_status(&run.target) == Some(TargetStatus::Processing));
        if unconfirmed && let Some(started) = parse_time(&run.target, STARTED_AT) {
            // Looked for no sooner than the lease after the call started.
            retry_at = retry_at.max(started + self.settings().lease);
        }
        let status = if unconfirmed {
            TargetStatus::Processing
        } else {
            TargetStatus::Scheduled
        };
        let patch = SettledTarget::with_error(status, code, &message);
        let mut internal = vec![
            (ATTEMPTS, StoreValue::from(attempts)),
            (RETRY_AT, StoreValue::from(timestamp_text(retry_at))),
        ];
        if unconfirmed && let Some(started) = run.target.str(STARTED_AT) {
            internal.push((STARTED_AT, StoreValue::from(started)));
        }
        self.settle_target(
            run,
            &patch,
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

    async fn settle_target(
        &self,
        run: &TargetRun<'_>,
        patch: &SettledTarget<'_>,
        internal: &[(&str, StoreValue)],
        event_type: &str,
        payload: Value,
    ) -> Result<(), SocialError> {
        let (_, op) = self.rows().transition_op(
            &schema::SOCIAL_POST_TARGETS,
            &run.target,
            to_row(patch)?,
            internal,
        )?;
        let mut ops = vec![op];
        ops.extend(self.posts.event_ops(
            run.owner,
            post_str(run.post, "id"),
            run.target.str("id"),
            event_type,
            payload,
        )?);
        self.rows().store().transact_write(ops).await?;
        Ok(())
    }

    async fn mark_reconnect(&self, account: &Item, reason: &str) {
        let Ok(key) = account.key() else { return };
        if let Err(error) = self
            .rows()
            .store()
            .update(&key, reconnect_mark(reason), Some(Condition::item_exists()))
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

/// What became of a target in this run (`now`: this run settled it).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TargetState {
    Published { now: bool },
    Failed { now: bool },
    RetryAt(DateTime<Utc>),
}

/// What one run of a post reads once for all its targets: the owner's accounts and the
/// post's media.
#[derive(Default)]
pub(crate) struct PostRun {
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
        publisher: &SocialPublisher,
        owner: OwnerId,
        channel: Channel,
        identity: &str,
    ) -> Result<Option<Item>, SocialError> {
        let provider = channel.provider();
        let mut cache = self.by_provider.lock().await;
        if !cache.contains_key(provider) {
            let accounts = publisher.posts.accounts_of(owner, provider).await?;
            let now = publisher.clock().now();
            for account in &accounts {
                publisher.posts.warn_if_expiring(owner, account, now).await;
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
