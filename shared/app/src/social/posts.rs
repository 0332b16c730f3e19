//! Posts as the `api` function serves them: create (with targets, short links and the
//! `scheduled` event in one transaction), schedule a draft, view, and the accounts' health.

use scaliyo_domain::ids::OwnerId;
use scaliyo_domain::schema;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use scaliyo_domain::schedule;
use scaliyo_domain::social::{self, Channel, MediaKind};
use scaliyo_store::{Blobs, Clock, Index, Item, StoreError, WriteOp};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::health::{self, AccountHealth, health_of};
use super::post_rows::{EventRow, LinkRow, PostRow, TargetRow};
use super::{
    DEFAULT_TIMEZONE, MAX_TARGETS, MEDIA_BUCKET, PostStatus, SocialError, SocialSettings,
    TargetStatus, accounts_of, check_link, index_items, invalid, link_id_of, new_slug,
    parse_scheduled_at,
};
use crate::access::{Access, AccessError, Actor};
use crate::layout;
use crate::rows::{Row, RowError, Rows, from_item, timestamp_text, to_row};
use crate::webhooks::WebhookEmitter;

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

/// Posts and account health (what the `api` function needs: no network adapters, no key).
#[derive(Clone)]
pub struct SocialPosts {
    access: Arc<Access>,
    pub(crate) blobs: Arc<dyn Blobs>,
    pub(crate) clock: Arc<dyn Clock>,
    settings: SocialSettings,
    /// `social.token_expiring` when a health read sees an expiring token.
    webhooks: Option<WebhookEmitter>,
}

impl SocialPosts {
    pub fn new(
        access: Arc<Access>,
        blobs: Arc<dyn Blobs>,
        clock: Arc<dyn Clock>,
        settings: SocialSettings,
    ) -> Self {
        Self {
            access,
            blobs,
            clock,
            settings,
            webhooks: None,
        }
    }

    pub fn with_webhooks(mut self, webhooks: Option<WebhookEmitter>) -> Self {
        self.webhooks = webhooks;
        self
    }

    pub fn settings(&self) -> &SocialSettings {
        &self.settings
    }

    pub(crate) fn settings_mut(&mut self) -> &mut SocialSettings {
        &mut self.settings
    }

    pub(crate) fn webhooks(&self) -> Option<&WebhookEmitter> {
        self.webhooks.as_ref()
    }

    pub(crate) fn rows(&self) -> &Rows {
        self.access.rows()
    }

    pub(crate) fn access(&self) -> &Access {
        &self.access
    }

    /// The owner's raw account items of one provider.
    pub(crate) async fn accounts_of(
        &self,
        owner: OwnerId,
        provider: &str,
    ) -> Result<Vec<Item>, SocialError> {
        accounts_of(self.rows(), owner, provider).await
    }

    /// The caller's accounts with their token state: expired, expiring within the warning
    /// period, or marked for reconnection by a publish that was refused.
    pub async fn account_health(&self, actor: &Actor) -> Result<Vec<AccountHealth>, SocialError> {
        let owner = actor.owner()?;
        let now = self.clock.now();
        let mut report = Vec::new();
        for provider in ["meta", "linkedin"] {
            for item in self.accounts_of(owner, provider).await? {
                self.warn_if_expiring(owner, &item, now).await;
                report.push(health_of(&item, now, self.settings.token_warning));
            }
        }
        report.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(report)
    }

    pub(crate) async fn warn_if_expiring(
        &self,
        owner: OwnerId,
        account: &Item,
        now: DateTime<Utc>,
    ) {
        health::warn_if_expiring(
            self.webhooks.as_ref(),
            self.settings.token_warning,
            owner,
            account,
            now,
        )
        .await;
    }

    // Posts

    pub async fn create_post(
        &self,
        actor: &Actor,
        request: CreatePost,
    ) -> Result<PostView, SocialError> {
        let owner = actor.owner()?;
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
        let media = self.check_media(owner, &request.media_paths).await?;
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
            PostStatus::Scheduled
        } else {
            PostStatus::Draft
        };
        let rows = self.rows();
        let post = to_row(&PostRow {
            id: &post_id,
            user_id: owner,
            content_text: &request.content_text,
            link_url: request.link_url.as_deref(),
            media_paths: (!request.media_paths.is_empty()).then_some(&request.media_paths[..]),
            scheduled_at: scheduled_at.map(timestamp_text),
            timezone: &zone,
            status,
        })?;
        let post = rows.prepare(&schema::SOCIAL_POSTS, post)?;
        let mut ops = rows.insert_ops(&schema::SOCIAL_POSTS, None, &post, false)?;
        let target_status = if scheduled_at.is_some() {
            TargetStatus::Scheduled
        } else {
            TargetStatus::Pending
        };
        for (channel, identity, label) in &resolved {
            let target_id = uuid::Uuid::new_v4().to_string();
            let target = to_row(&TargetRow {
                id: &target_id,
                post_id: &post_id,
                user_id: owner,
                channel: channel.as_str(),
                target_id: identity,
                target_label: label.as_deref(),
                status: target_status,
            })?;
            let target = rows.prepare(&schema::SOCIAL_POST_TARGETS, target)?;
            ops.extend(rows.insert_ops(&schema::SOCIAL_POST_TARGETS, None, &target, false)?);
            if let Some(destination) = &request.link_url {
                let link = to_row(&LinkRow {
                    id: link_id_of(&target_id),
                    user_id: owner,
                    post_id: &post_id,
                    slug: new_slug(),
                    destination_url: destination,
                    channel: channel.as_str(),
                })?;
                let link = rows.prepare(&schema::TRACKING_LINKS, link)?;
                ops.extend(rows.insert_ops(&schema::TRACKING_LINKS, None, &link, false)?);
            }
        }
        if let Some(at) = scheduled_at {
            ops.extend(self.event_ops(
                owner,
                &post_id,
                None,
                "scheduled",
                json!({ "scheduled_at": timestamp_text(at), "targets": resolved.len() }),
            )?);
        }
        rows.store().transact_write(ops).await?;
        self.view(owner, &post_id).await
    }

    /// Every media path must be an object the caller uploaded to the media bucket.
    async fn check_media(
        &self,
        owner: OwnerId,
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
                    other => SocialError::Blob(other),
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

    pub(crate) fn event_ops(
        &self,
        owner: OwnerId,
        post_id: &str,
        target_id: Option<&str>,
        event_type: &str,
        payload: Value,
    ) -> Result<Vec<WriteOp>, SocialError> {
        let event = to_row(&EventRow {
            user_id: owner,
            post_id,
            target_id,
            event_type,
            payload,
        })?;
        let table = &schema::SOCIAL_POST_EVENTS;
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
        let owner = actor.owner()?;
        let post = self.access.get(actor, "social_posts", id).await?;
        if PostStatus::of(&post["status"]) != Some(PostStatus::Draft) {
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
            .get_raw(&schema::SOCIAL_POSTS, Some(&owner.to_string()), id)
            .await?
            .ok_or(RowError::NotFound)?;
        let mut patch = Row::new();
        patch.insert("status".into(), json!(PostStatus::Scheduled));
        patch.insert("scheduled_at".into(), json!(timestamp_text(at)));
        let (_, mut ops) = rows.transition_ops(&schema::SOCIAL_POSTS, &item, patch, &[])?;
        let targets = self.target_items(owner, id).await?;
        for target in &targets {
            let mut patch = Row::new();
            patch.insert("status".into(), json!(TargetStatus::Scheduled));
            ops.push(
                rows.transition_op(&schema::SOCIAL_POST_TARGETS, target, patch, &[])?
                    .1,
            );
        }
        ops.extend(self.event_ops(
            owner,
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
        self.view(owner, id).await
    }

    /// A post with its targets and events, as its owner sees it.
    pub async fn post(&self, actor: &Actor, id: &str) -> Result<PostView, SocialError> {
        // The policy decides visibility; then the owner's partition has the rest.
        let post = self.access.get(actor, "social_posts", id).await?;
        let owner = crate::rows::owner_in(&post, "user_id")?;
        self.view(owner, id).await
    }

    pub(crate) async fn view(&self, owner: OwnerId, id: &str) -> Result<PostView, SocialError> {
        let post = self
            .rows()
            .get(&schema::SOCIAL_POSTS, Some(&owner.to_string()), id)
            .await?
            .ok_or(RowError::NotFound)?;
        let mut targets = Vec::new();
        let mut summary = PostSummary::default();
        for item in self.target_items(owner, id).await? {
            let mut target = from_item(&schema::SOCIAL_POST_TARGETS, &item);
            match TargetStatus::of(&target["status"]) {
                Some(TargetStatus::Published) => summary.published += 1,
                Some(TargetStatus::Failed) => summary.failed += 1,
                _ => summary.open += 1,
            }
            if let Some(link) = self
                .rows()
                .get(
                    &schema::TRACKING_LINKS,
                    Some(&owner.to_string()),
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
        let events_table = &schema::SOCIAL_POST_EVENTS;
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
    pub(crate) async fn target_items(
        &self,
        owner: OwnerId,
        post_id: &str,
    ) -> Result<Vec<Item>, SocialError> {
        let listed = self
            .index_items(
                Index::Gsi1,
                format!("idx_social_post_targets_post#{post_id}"),
                "social_post_targets",
            )
            .await?;
        let table = &schema::SOCIAL_POST_TARGETS;
        let keys: Vec<_> = listed
            .iter()
            .filter_map(|item| item.str("id"))
            .map(|id| layout::row_key(table, Some(&owner.to_string()), id))
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
}
