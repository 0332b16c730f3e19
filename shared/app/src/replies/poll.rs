//! The poll tick (EventBridge every 2 minutes, the local timer): mailboxes whose time has come
//! — or whose claim ran out (a crashed poll) — are claimed with a version-guarded write that
//! moves their due entry a lease ahead under a fresh claim id, so two ticks never read one
//! mailbox; each claimed mailbox is read, its messages recorded, and its cursor written back
//! under the same claim with the next due time.

use futures::{StreamExt, stream};
use scaliyo_domain::ids::OwnerId;
use scaliyo_domain::replies;
use scaliyo_domain::schema;
use scaliyo_domain::status::SenderStatus;
use scaliyo_store::{Condition, FetchedMessage, Item, StoreError, WriteOp};
use serde::Serialize;
use serde_json::json;

use super::mailboxes::{
    CURSOR, LAST_ERROR, POLLED_AT, VERSION, cursor_of, set_due, shard_partition,
};
use super::record::Source;
use super::*;
use crate::layout;
use crate::rows::{Row, timestamp_text};
use crate::work_queue::{CLAIM, DUE_INDEX};

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct PollReport {
    pub claimed: usize,
    pub polled: usize,
    pub failed: usize,
    pub messages: usize,
    pub replies: usize,
    pub auto_replies: usize,
    pub bounces: usize,
    pub unmatched: usize,
}

impl PollReport {
    fn add(&mut self, other: &PollReport) {
        self.claimed += other.claimed;
        self.polled += other.polled;
        self.failed += other.failed;
        self.messages += other.messages;
        self.replies += other.replies;
        self.auto_replies += other.auto_replies;
        self.bounces += other.bounces;
        self.unmatched += other.unmatched;
    }
}

impl Replies {
    pub async fn tick(&self) -> Result<PollReport, ReplyError> {
        self.mailbox_access()?;
        let now = self.clock.now();
        let per_shard = self
            .config
            .max_per_tick
            .div_ceil(layout::DUE_SHARDS as usize);
        let mut due: Vec<Item> = Vec::new();
        for shard in 0..layout::DUE_SHARDS {
            due.extend(
                crate::work_queue::scan(
                    self.access.rows(),
                    DUE_INDEX,
                    shard_partition(shard),
                    now,
                    per_shard,
                    None,
                )
                .await?,
            );
        }
        let reports: Vec<PollReport> = stream::iter(due)
            .map(|item| async move {
                match self.claim(item).await {
                    Ok(Some((item, claim))) => {
                        let mut report = self.poll_claimed(item, &claim).await;
                        report.claimed = 1;
                        report
                    }
                    Ok(None) => PollReport::default(),
                    Err(error) => {
                        tracing::warn!(%error, "claiming a mailbox failed");
                        PollReport::default()
                    }
                }
            })
            .buffer_unordered(self.config.concurrency.max(1))
            .collect()
            .await;
        let mut total = PollReport::default();
        for report in &reports {
            total.add(report);
        }
        self.metrics.count("ReplyPollTicks", &[], 1);
        self.metrics.count(
            "MailboxesPolled",
            &[("outcome", "read")],
            total.polled as u64,
        );
        self.metrics.count(
            "MailboxesPolled",
            &[("outcome", "failed")],
            total.failed as u64,
        );
        if total.claimed > 0 {
            tracing::info!(
                claimed = total.claimed,
                messages = total.messages,
                replies = total.replies,
                failed = total.failed,
                "reply poll tick"
            );
        }
        Ok(total)
    }

    /// The claim: the same item a lease ahead, guarded by the version read.
    async fn claim(&self, mut item: Item) -> Result<Option<(Item, String)>, ReplyError> {
        let Some(sender_id) = item.str("sender_account_id").map(str::to_owned) else {
            return Ok(None);
        };
        let version = item.i64(VERSION).unwrap_or(0);
        let claim = uuid::Uuid::new_v4().to_string();
        item.set(VERSION, version + 1);
        item.set(CLAIM, claim.clone());
        set_due(&mut item, &sender_id, self.clock.now() + self.config.lease);
        let op = WriteOp::Put {
            item: item.clone(),
            condition: Some(Condition::item_exists().and(Condition::eq(VERSION, version))),
        };
        match self.access.rows().store().transact_write(vec![op]).await {
            Ok(()) => Ok(Some((item, claim))),
            Err(StoreError::ConditionFailed { .. }) => Ok(None),
            Err(error) => Err(error.into()),
        }
    }

    /// Reads one claimed mailbox, records what it found and writes the cursor back.
    async fn poll_claimed(&self, mut item: Item, claim: &str) -> PollReport {
        let mut report = PollReport::default();
        let now = self.clock.now();
        let owner: Option<OwnerId> = item.str("owner").and_then(|o| o.parse().ok());
        let sender_id = item.str("sender_account_id").unwrap_or_default().to_owned();
        let Some(owner) = owner else {
            return report;
        };
        let outcome = self
            .read_mailbox(owner, &sender_id, &item, &mut report)
            .await;
        let mut next = now + self.config.poll_every;
        match outcome {
            Ok(Some((cursor, more))) => {
                report.polled = 1;
                item.set(CURSOR, serde_json::to_string(&cursor).unwrap_or_default());
                item.set(POLLED_AT, timestamp_text(now));
                item.remove(LAST_ERROR);
                if more {
                    next = now + chrono::Duration::seconds(10);
                }
            }
            // The sender account is gone: so is its mailbox.
            Ok(None) => {
                let _ = self
                    .access
                    .rows()
                    .store()
                    .transact_write(vec![WriteOp::Delete {
                        key: super::mailboxes::mailbox_key(owner, &sender_id),
                        condition: Some(Condition::eq(CLAIM, claim)),
                    }])
                    .await;
                return report;
            }
            Err(error) => {
                report.failed = 1;
                tracing::warn!(%owner, %error, "reading a mailbox failed");
                item.set(LAST_ERROR, short(&error.to_string()));
            }
        }
        let version = item.i64(VERSION).unwrap_or(0);
        item.set(VERSION, version + 1);
        item.remove(CLAIM);
        set_due(&mut item, &sender_id, next);
        let op = WriteOp::Put {
            item: item.clone(),
            condition: Some(Condition::eq(CLAIM, claim)),
        };
        if let Err(error) = self.access.rows().store().transact_write(vec![op]).await {
            // Another tick took the mailbox over (this poll outlived its lease): it reads
            // again from the old cursor; recording is once per Message-ID, so nothing doubles.
            tracing::warn!(%owner, %error, "writing a mailbox cursor failed");
        }
        report
    }

    /// None when the sender account no longer exists.
    async fn read_mailbox(
        &self,
        owner: OwnerId,
        sender_id: &str,
        item: &Item,
        report: &mut PollReport,
    ) -> Result<Option<(scaliyo_store::MailboxCursor, bool)>, ReplyError> {
        let Some(sender) = self
            .access
            .rows()
            .get(
                &schema::SENDER_ACCOUNTS,
                Some(&owner.to_string()),
                sender_id,
            )
            .await?
        else {
            return Ok(None);
        };
        let status = sender["status"].as_str().and_then(SenderStatus::parse);
        if status != Some(SenderStatus::Connected) {
            // Disabled or waiting for re-authorisation: read again when it is back.
            return Ok(Some((cursor_of(item), false)));
        }
        let provider = sender["provider"].as_str().unwrap_or_default().to_owned();
        let mailboxes = self.mailbox_access()?;
        let inbox = mailboxes
            .inboxes
            .for_provider(&provider)
            .ok_or_else(|| invalid("provider", "no inbox reads this provider"))?;
        let credentials = self.inbox_credentials(&sender, item).await?;
        let fetched = match inbox
            .poll(&credentials, &cursor_of(item), self.clock.now())
            .await
        {
            Ok(fetched) => fetched,
            Err(MailError::Auth(reason)) => {
                self.needs_reauth(owner, &sender).await;
                return Err(ReplyError::Mailbox(MailError::Auth(reason)));
            }
            Err(error) => return Err(ReplyError::Mailbox(error)),
        };
        if let Some((token, expires)) = &fetched.refreshed {
            mailboxes
                .senders
                .store_refreshed_token(&sender, token, *expires)
                .await;
        }
        let via = if provider == "gmail" { "gmail" } else { "imap" };
        for message in fetched.messages {
            report.messages += 1;
            let inbound = match message {
                FetchedMessage::Raw(raw) => match replies::from_raw(&raw) {
                    Ok(inbound) => inbound,
                    Err(_) => {
                        report.unmatched += 1;
                        continue;
                    }
                },
                FetchedMessage::Headers { headers, snippet } => {
                    replies::from_headers(&headers, &snippet)
                }
            };
            let source = Source {
                sender_account_id: sender_id,
                via,
            };
            match self.record(owner, source, inbound).await? {
                Recorded::Reply => report.replies += 1,
                Recorded::AutoReply => report.auto_replies += 1,
                Recorded::Bounce => report.bounces += 1,
                Recorded::Unmatched => report.unmatched += 1,
                Recorded::Duplicate => {}
            }
        }
        Ok(Some((fetched.cursor, fetched.more)))
    }

    /// The mailbox refused the account's login: the account needs re-authorisation (as a
    /// refused send marks it).
    async fn needs_reauth(&self, owner: OwnerId, sender: &Row) {
        let mut patch = Row::new();
        patch.insert("status".into(), json!(SenderStatus::NeedsReauth));
        if let Some(id) = sender["id"].as_str()
            && let Err(error) = self
                .access
                .rows()
                .update(
                    &schema::SENDER_ACCOUNTS,
                    Some(&owner.to_string()),
                    id,
                    patch,
                )
                .await
        {
            tracing::warn!(%error, "marking a sender account needs_reauth failed");
        }
    }
}

/// An error as stored on the mailbox for the user to see: one line, bounded.
pub(super) fn short(text: &str) -> String {
    text.lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(300)
        .collect()
}
