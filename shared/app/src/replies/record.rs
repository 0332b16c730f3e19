//! A reply's record, written once: keyed by its Message-ID (a marker item, `put_new`), with
//! the answered message's first-reply flag and the day's reply counts in the same
//! transaction. The marker says whether the reply's effects ran; a poll that died between
//! the record and the effects runs them again on the next read of the same message.

use scaliyo_domain::ids::OwnerId;
use scaliyo_domain::provider_events::{DeliveryEvent, DeliveryKind};
use scaliyo_domain::replies::{InboundMessage, ReplyKind};
use scaliyo_store::{Item, Key, Query, SortCondition, StoreError, Update, WriteOp};
use serde::{Deserialize, Serialize};

use super::matching::{Answered, MatchedBy};
use super::*;
use crate::access::Actor;
use crate::analytics::{CountedMessage, EventKind};
use crate::layout;
use crate::rows::{RowError, timestamp_text};

/// Where an inbound message came from.
#[derive(Debug, Clone, Copy)]
pub(super) struct Source<'a> {
    pub sender_account_id: &'a str,
    /// `imap`, `gmail`, `sendgrid_inbound`, `mailchimp_inbound`.
    pub via: &'a str,
}

/// What became of one inbound message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Recorded {
    Reply,
    AutoReply,
    Bounce,
    /// Recorded before (the same Message-ID).
    Duplicate,
    /// Not an answer to any message of this workspace.
    Unmatched,
}

impl Recorded {
    pub fn as_str(self) -> &'static str {
        match self {
            Recorded::Reply => "reply",
            Recorded::AutoReply => "auto_reply",
            Recorded::Bounce => "bounce",
            Recorded::Duplicate => "duplicate",
            Recorded::Unmatched => "unmatched",
        }
    }
}

/// A reply as stored and as `GET /v1/leads/{id}/replies` shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ReplyRecord {
    pub id: String,
    pub lead_id: String,
    /// Our message it answers.
    pub message_id: String,
    pub sender_account_id: String,
    pub kind: ReplyKind,
    pub matched_by: String,
    pub from_email: Option<String>,
    pub from_name: Option<String>,
    pub subject: String,
    /// Text only, capped; inbound HTML is never stored or rendered.
    pub snippet: String,
    pub received_at: String,
    /// The message's own `Date` header (the sender's clock).
    pub sent_at: Option<String>,
    pub rfc_message_id: Option<String>,
    pub bounce_status: Option<String>,
    pub via: String,
}

fn marker_key(owner: OwnerId, reply_id: &str) -> Key {
    Key::new(
        layout::owner_partition(owner),
        format!("replyid#{reply_id}"),
    )
}

/// Replies sort by lead, then time.
fn record_key(owner: OwnerId, lead_id: &str, received_at: &str, reply_id: &str) -> Key {
    Key::new(
        layout::owner_partition(owner),
        format!("reply#{lead_id}#{received_at}#{reply_id}"),
    )
}

const RECORD: &str = "record";
const DONE: &str = "done";

impl Replies {
    /// Records one inbound message of `owner` and acts on it.
    pub(super) async fn record(
        &self,
        owner: OwnerId,
        source: Source<'_>,
        inbound: InboundMessage,
    ) -> Result<Recorded, ReplyError> {
        let recorded = self.record_once(owner, source, inbound).await?;
        self.metrics.count(
            "InboundMessages",
            &[("kind", recorded.as_str()), ("via", source.via)],
            1,
        );
        Ok(recorded)
    }

    async fn record_once(
        &self,
        owner: OwnerId,
        source: Source<'_>,
        inbound: InboundMessage,
    ) -> Result<Recorded, ReplyError> {
        let reply_id = uuid::Uuid::new_v5(
            &uuid::Uuid::NAMESPACE_URL,
            format!("scaliyo:reply:{owner}:{}", inbound.dedupe_key()).as_bytes(),
        )
        .to_string();
        let store = self.access.rows().store().clone();
        if let Some(marker) = store.get(&marker_key(owner, &reply_id)).await? {
            if marker.get(DONE).is_none()
                && let Some(record) = marker
                    .str(RECORD)
                    .and_then(|r| serde_json::from_str::<ReplyRecord>(r).ok())
            {
                // The last attempt died before its effects: run them now.
                self.after_reply(owner, &record).await?;
                self.mark_done(owner, &reply_id).await?;
            }
            return Ok(Recorded::Duplicate);
        }
        let Some(answered) = self.answered(owner, &inbound).await? else {
            tracing::info!(%owner, via = source.via, kind = inbound.kind.as_str(), "inbound message matches no message of ours");
            return Ok(Recorded::Unmatched);
        };
        let record = self.record_of(&reply_id, source, &inbound, &answered);
        let record_json =
            serde_json::to_string(&record).map_err(|e| RowError::Invariant(e.to_string()))?;
        let marker = Item::new(&marker_key(owner, &reply_id))
            .with(RECORD, record_json.clone())
            .with("at", record.received_at.clone());
        let stored = Item::new(&record_key(
            owner,
            &record.lead_id,
            &record.received_at,
            &reply_id,
        ))
        .with(RECORD, record_json);
        match inbound.kind {
            ReplyKind::Bounce => {
                let bounce = inbound.bounce.clone();
                // Only a report that says "for good" suppresses; and what is suppressed is the
                // address we sent to, never one the report names (a recipient of our message
                // could forge a report naming somebody else).
                let event = DeliveryEvent {
                    event_id: reply_id.clone(),
                    message_id: record.message_id.clone(),
                    kind: match &bounce {
                        Some(report) if report.permanent => DeliveryKind::HardBounce,
                        _ => DeliveryKind::SoftBounce,
                    },
                    email: answered.message["to_email"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    reason: bounce
                        .as_ref()
                        .and_then(|b| b.diagnostic.clone().or_else(|| b.status.clone())),
                    provider_event: "dsn".into(),
                };
                self.bounces
                    .record_delivery(owner, source.via, &event)
                    .await?;
                self.commit_once(marker, stored, Recorded::Bounce).await
            }
            ReplyKind::AutoReply => self.commit_once(marker, stored, Recorded::AutoReply).await,
            ReplyKind::Reply => {
                let counted = CountedMessage::from_row(&answered.message);
                let written = crate::analytics::on_event_with(
                    self.access.rows(),
                    owner,
                    counted.as_ref(),
                    EventKind::Reply,
                    false,
                    vec![WriteOp::put_new(marker), WriteOp::put(stored)],
                )
                .await;
                match written {
                    Ok(()) => {}
                    // Another reader recorded it first.
                    Err(RowError::Store(StoreError::ConditionFailed { .. })) => {
                        return Ok(Recorded::Duplicate);
                    }
                    Err(error) => return Err(error.into()),
                }
                self.after_reply(owner, &record).await?;
                self.mark_done(owner, &reply_id).await?;
                Ok(Recorded::Reply)
            }
        }
    }

    fn record_of(
        &self,
        reply_id: &str,
        source: Source<'_>,
        inbound: &InboundMessage,
        answered: &Answered,
    ) -> ReplyRecord {
        ReplyRecord {
            id: reply_id.to_owned(),
            lead_id: answered.lead_id.clone(),
            message_id: answered.message["id"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            sender_account_id: source.sender_account_id.to_owned(),
            kind: inbound.kind,
            matched_by: match answered.by {
                MatchedBy::MessageId => "message_id".into(),
                MatchedBy::Subject => "subject".into(),
            },
            from_email: inbound.from_email.clone(),
            from_name: inbound.from_name.clone(),
            subject: inbound.subject.clone(),
            snippet: inbound.snippet.clone(),
            received_at: timestamp_text(self.clock.now()),
            sent_at: inbound.date.map(timestamp_text),
            rfc_message_id: inbound.message_id.clone(),
            bounce_status: inbound.bounce.as_ref().and_then(|b| b.status.clone()),
            via: source.via.to_owned(),
        }
    }

    /// Writes a record that needs nothing after it (no counts, no effects) with its marker,
    /// done; `Duplicate` when the marker was there first.
    async fn commit_once(
        &self,
        marker: Item,
        stored: Item,
        recorded: Recorded,
    ) -> Result<Recorded, ReplyError> {
        let ops = vec![
            WriteOp::put_new(marker.with(DONE, true)),
            WriteOp::put(stored),
        ];
        match self.access.rows().store().transact_write(ops).await {
            Ok(()) => Ok(recorded),
            Err(StoreError::ConditionFailed { index: Some(0) }) => Ok(Recorded::Duplicate),
            Err(error) => Err(error.into()),
        }
    }

    async fn mark_done(&self, owner: OwnerId, reply_id: &str) -> Result<(), ReplyError> {
        self.access
            .rows()
            .store()
            .transact_write(vec![WriteOp::update(
                marker_key(owner, reply_id),
                Update::new().set(DONE, true),
            )])
            .await?;
        Ok(())
    }

    /// A lead's replies, auto-replies and bounces, newest first (the lead must be visible to
    /// the caller).
    pub async fn of_lead(
        &self,
        actor: &Actor,
        lead_id: &str,
    ) -> Result<Vec<ReplyRecord>, ReplyError> {
        let lead = self.access.get(actor, "leads", lead_id).await?;
        let owner = crate::rows::owner_in(&lead, "client_id")?;
        let page = self
            .access
            .rows()
            .store()
            .query(
                Query::partition(scaliyo_store::Index::Table, layout::owner_partition(owner))
                    .sort(SortCondition::BeginsWith(format!("reply#{lead_id}#")))
                    .backward()
                    .limit(200),
            )
            .await?;
        Ok(page
            .items
            .iter()
            .filter_map(|item| item.str(RECORD))
            .filter_map(|text| serde_json::from_str(text).ok())
            .collect())
    }
}
