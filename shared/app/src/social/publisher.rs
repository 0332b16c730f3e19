//! The `social-run-scheduler` tick: token expiry reminders, then posts whose lease ran out
//! (retries due, runs that crashed) and posts that are due, claimed on the work queue of
//! ADR 0008 and published target by target with bounded concurrency.

use scaliyo_domain::ids::OwnerId;
use scaliyo_domain::schema;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use futures::{StreamExt, stream};
use scaliyo_store::{
    Clock, Condition, Index, Item, Sealer, SocialNetworks, StoreError, Value as StoreValue, WriteOp,
};
use serde::Serialize;
use serde_json::json;
use tokio::sync::Semaphore;

use super::posts::SocialPosts;
use super::target_run::{PostRun, TargetRun, TargetState};
use super::{
    MAX_TARGETS, POST_QUEUE, PostStatus, SocialError, SocialSettings, post_status,
    reminder_partition,
};
use crate::layout;
use crate::rows::{Row, Rows, from_item};
use crate::work_queue::{self, LEASE_INDEX, Lane};

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct TickReport {
    pub claimed: usize,
    pub resumed: usize,
    pub published: usize,
    pub failed: usize,
    pub retrying: usize,
    pub completed_posts: usize,
}

/// The publishing side: the posts' service with the networks and the key that opens the
/// accounts' tokens — both required, so a process that publishes cannot be built without
/// them.
#[derive(Clone)]
pub struct SocialPublisher {
    pub(crate) posts: SocialPosts,
    pub(crate) sealer: Arc<dyn Sealer>,
    pub(crate) networks: SocialNetworks,
    /// `SocialPublishes` by outcome (published, failed, retrying).
    metrics: Arc<dyn scaliyo_store::Metrics>,
    /// Renewing the tokens of accounts connected through OAuth, when their reminder is due.
    renewals: Option<Renewals>,
}

/// What renewing tokens needs: the accounts (which seal) and the providers' clients.
#[derive(Clone)]
pub struct Renewals {
    pub accounts: super::SocialAccounts,
    pub providers: scaliyo_store::OAuthProviders,
}

impl SocialPublisher {
    pub fn new(posts: SocialPosts, networks: SocialNetworks, sealer: Arc<dyn Sealer>) -> Self {
        Self {
            posts,
            sealer,
            networks,
            metrics: scaliyo_store::no_metrics(),
            renewals: None,
        }
    }

    /// Tokens of accounts the server connected (docs/oauth.md) are renewed a week before
    /// they expire, instead of only being announced as expiring.
    pub fn with_renewals(mut self, renewals: Renewals) -> Self {
        self.renewals = Some(renewals);
        self
    }

    pub fn with_metrics(mut self, metrics: Arc<dyn scaliyo_store::Metrics>) -> Self {
        self.metrics = metrics;
        self
    }

    /// The same publisher with another bound on network calls in flight (benchmarks, tuning).
    pub fn with_publish_concurrency(mut self, calls: usize) -> Self {
        self.posts.settings_mut().publish_concurrency = calls.max(1);
        self
    }

    pub fn posts(&self) -> &SocialPosts {
        &self.posts
    }

    pub(crate) fn settings(&self) -> &SocialSettings {
        self.posts.settings()
    }

    pub(crate) fn rows(&self) -> &Rows {
        self.posts.rows()
    }

    pub(crate) fn clock(&self) -> &Arc<dyn Clock> {
        &self.posts.clock
    }

    // The tick

    /// Resumes posts whose lease ran out (retries that are due, runs that crashed), claims
    /// due posts, and publishes their open targets.
    pub async fn tick(&self) -> Result<TickReport, SocialError> {
        let now = self.clock().now();
        let mut report = TickReport::default();
        self.expiry_reminders(now).await?;
        let mut work: Vec<Item> = Vec::new();
        for shard in 0..layout::DUE_SHARDS {
            for item in POST_QUEUE
                .scan(
                    self.rows(),
                    Lane::Leased,
                    shard,
                    now,
                    self.settings().max_posts_per_tick,
                )
                .await?
            {
                if post_status(&item) == Some(PostStatus::Processing)
                    && let Some(claimed) = self.claim(&item, now).await
                {
                    report.resumed += 1;
                    work.push(claimed);
                }
            }
        }
        for shard in 0..layout::DUE_SHARDS {
            if work.len() >= self.settings().max_posts_per_tick {
                break;
            }
            let budget = self.settings().max_posts_per_tick - work.len();
            for item in POST_QUEUE
                .scan(self.rows(), Lane::Due, shard, now, budget)
                .await?
            {
                if post_status(&item) == Some(PostStatus::Scheduled)
                    && let Some(claimed) = self.claim(&item, now).await
                {
                    report.claimed += 1;
                    work.push(claimed);
                }
            }
        }
        let permits = Arc::new(Semaphore::new(self.settings().publish_concurrency.max(1)));
        let outcomes: Vec<PostOutcome> = stream::iter(work)
            .map(|item| {
                let permits = permits.clone();
                async move { self.run_post(item, permits).await }
            })
            .buffer_unordered(self.settings().publish_concurrency.max(1))
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
            let partition = reminder_partition(shard);
            let reminders =
                work_queue::scan(self.rows(), LEASE_INDEX, partition, now, 1_000, None).await?;
            for reminder in reminders {
                let (Some(owner), Some(id), Ok(key)) = (
                    reminder
                        .str("owner")
                        .and_then(|owner| owner.parse::<OwnerId>().ok()),
                    reminder.str("account_id"),
                    reminder.key(),
                ) else {
                    continue;
                };
                let accounts = &schema::SOCIAL_ACCOUNTS;
                if let Some(account) = self
                    .rows()
                    .get_raw(accounts, Some(&owner.to_string()), id)
                    .await?
                    && !self.renewed(owner, &account, now).await
                {
                    self.posts.warn_if_expiring(owner, &account, now).await;
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

    /// Whether the account's token was renewed or will be tried again (its reminder moved):
    /// then nothing is announced yet.
    async fn renewed(&self, owner: OwnerId, account: &Item, now: DateTime<Utc>) -> bool {
        let Some(renewals) = &self.renewals else {
            return false;
        };
        let provider = account
            .str("provider")
            .and_then(scaliyo_domain::oauth::Provider::parse)
            .and_then(|p| renewals.providers.get(p))
            .map(|p| p.as_ref());
        match renewals.accounts.renew(owner, account, provider, now).await {
            Ok(super::Renewal::Renewed | super::Renewal::Postponed) => true,
            Ok(super::Renewal::Refused(reason)) => {
                tracing::warn!(%reason, "a social token could not be renewed; the account needs a reconnect");
                false
            }
            Ok(super::Renewal::NotRenewable) => false,
            Err(error) => {
                tracing::warn!(%error, "renewing a social token failed");
                false
            }
        }
    }

    /// Takes a post for this tick: `processing` with a fresh claim and lease, if nobody
    /// changed it since it was read. The item as written comes back (the next guard).
    pub(super) async fn claim(&self, item: &Item, now: DateTime<Utc>) -> Option<Item> {
        let id = item.str("id")?;
        let mut patch = Row::new();
        patch.insert("status".into(), json!(PostStatus::Processing));
        let internal = POST_QUEUE.lease_attributes(id, now + self.settings().lease);
        match POST_QUEUE
            .claim(self.rows(), &schema::SOCIAL_POSTS, item, patch, &internal)
            .await
        {
            Ok(claimed) => claimed,
            Err(error) => {
                tracing::warn!(%error, post_id = %id, "claiming a social post failed");
                None
            }
        }
    }

    pub(super) async fn run_post(&self, claimed: Item, permits: Arc<Semaphore>) -> PostOutcome {
        let mut outcome = PostOutcome::default();
        let (Some(owner), Some(post_id)) = (
            claimed
                .str("user_id")
                .and_then(|owner| owner.parse::<OwnerId>().ok()),
            claimed.str("id").map(str::to_owned),
        ) else {
            return outcome;
        };
        let post = from_item(&schema::SOCIAL_POSTS, &claimed);
        let targets = match self.posts.target_items(owner, &post_id).await {
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
                async move {
                    let _permit = permits.acquire_owned().await.ok();
                    let target_run = TargetRun {
                        owner,
                        post,
                        target,
                    };
                    self.run_target(target_run, run)
                        .await
                        .unwrap_or_else(|error| {
                            tracing::warn!(%error, "publishing a target failed; it is retried");
                            TargetState::RetryAt(self.clock().now() + Duration::minutes(1))
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
        for (outcome_name, targets) in [
            ("published", outcome.published),
            ("failed", outcome.failed),
            ("retrying", outcome.retrying),
        ] {
            if targets > 0 {
                self.metrics.count(
                    "SocialPublishes",
                    &[("outcome", outcome_name)],
                    targets as u64,
                );
            }
        }
        let result = match next_retry {
            // Still open: the post keeps `processing`, its lease moved to the next retry.
            Some(at) => {
                self.settle_post(&claimed, PostStatus::Processing, Some(at))
                    .await
            }
            None => {
                outcome.completed = true;
                let status = if published > 0 || failed == 0 {
                    PostStatus::Completed
                } else {
                    PostStatus::Failed
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
        status: PostStatus,
        lease_until: Option<DateTime<Utc>>,
    ) -> Result<(), SocialError> {
        let mut patch = Row::new();
        patch.insert("status".into(), json!(status));
        let internal = match (lease_until, claimed.str("id")) {
            (Some(at), Some(id)) => POST_QUEUE.lease_attributes(id, at),
            _ => Vec::new(),
        };
        let (_, ops) =
            self.rows()
                .transition_ops(&schema::SOCIAL_POSTS, claimed, patch, &internal)?;
        self.rows().store().transact_write(ops).await?;
        Ok(())
    }
}

#[derive(Debug, Default)]
pub(super) struct PostOutcome {
    published: usize,
    failed: usize,
    retrying: usize,
    completed: bool,
}
