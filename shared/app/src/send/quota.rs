//! Choosing the sender and reserving every cap (daily sender cap with warm-up, monthly plan
//! limit, daily counters) in one transaction, with what to give back.

use super::*;
use crate::rows::to_row;
use crate::usage::{OutboundIdentity, WorkspaceDayIdentity};

/// A sender with what it may still send today.
pub(super) struct Candidate {
    pub(super) row: Row,
    pub(super) cap: i64,
    pub(super) sent_today: i64,
}

/// What a reservation took, to give back if the send fails.
pub struct Reservation {
    pub(super) refund: Vec<WriteOp>,
}

/// The warm-up day of a sender: from `metadata.warmup_started_at`, else its creation.
fn warmup_day(sender: &Row, now: DateTime<Utc>) -> i64 {
    let started = sender["metadata"]["warmup_started_at"]
        .as_str()
        .or(sender["created_at"].as_str())
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(now);
    (now.date_naive() - started.date_naive()).num_days() + 1
}

impl SendPipeline {
    /// The caller's senders that may send now, best first: the default account, then the one
    /// with most capacity left today, then the healthiest.
    pub(super) async fn candidates(
        &self,
        actor: &Actor,
        owner: OwnerId,
        named: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Candidate>, SendError> {
        let rows = match named {
            Some(id) => vec![self.access.get(actor, "sender_accounts", id).await?],
            None => self.senders.senders_of(owner).await?,
        };
        let today = day_key(now);
        let mut candidates: Vec<Candidate> = rows
            .into_iter()
            .filter(|s| {
                SenderStatus::of(&s["status"]) == Some(SenderStatus::Connected)
                    && s["use_for_outreach"] == json!(true)
                    && s["metadata"]["mailchimp_api"] != super::MARKETING_ONLY
            })
            .map(|row| {
                let provider = row["provider"].as_str().unwrap_or_default();
                let daily = row["metadata"]["daily_limit"]
                    .as_i64()
                    .unwrap_or_else(|| email::default_daily_cap(provider));
                let cap = if row["warmup_enabled"] == json!(true) {
                    email::warmup_cap(warmup_day(&row, now), daily)
                } else {
                    daily
                };
                let sent_today = if row["daily_sent_date"] == today.as_str() {
                    row["daily_sent_today"].as_i64().unwrap_or(0)
                } else {
                    0
                };
                Candidate {
                    row,
                    cap,
                    sent_today,
                }
            })
            .collect();
        if candidates.is_empty() {
            return Err(SendError::NoSender(match named {
                Some(_) => {
                    "the named sender account is not connected or not used for outreach".into()
                }
                None => "connect a sender account used for outreach first".into(),
            }));
        }
        candidates.sort_by_key(|c| {
            (
                c.row["is_default"] != json!(true),
                -(c.cap - c.sent_today),
                -c.row["health_score"].as_i64().unwrap_or(100),
            )
        });
        Ok(candidates)
    }

    /// Reserves one send on the sender's daily (and warm-up) cap, the plan's monthly e-mail
    /// limit and the workspace counters — one transaction, each limit a condition in it, and
    /// `riders` (the message's tracking writes) in it too when they fit. A sender at its cap
    /// hands over to the next candidate.
    pub(super) async fn reserve(
        &self,
        owner: OwnerId,
        candidates: Vec<Candidate>,
        now: DateTime<Utc>,
        mut riders: Vec<WriteOp>,
    ) -> Result<(Row, Reservation), SendError> {
        let store = self.access.rows().store().clone();
        // The reservation's own writes are at most 8 (a sender, three counters with their
        // unique guards); riders that would overflow a transaction commit before it.
        const RESERVATION_ITEMS: usize = 8;
        if riders.len() + RESERVATION_ITEMS > scaliyo_store::table::MAX_TRANSACTION_ITEMS {
            for chunk in riders.chunks(scaliyo_store::table::MAX_TRANSACTION_ITEMS) {
                store.transact_write(chunk.to_vec()).await?;
            }
            riders.clear();
        }
        let rows = self.access.rows();
        let plan_limit = i64::from(self.access.plan_of(owner).await?.limits().emails_per_month);
        let today = day_key(now);
        let month = month_key(now);
        let outbound = &schema::OUTBOUND_USAGE;
        let outbound_unique = outbound
            .uniques
            .first()
            .ok_or_else(|| invalid("outbound_usage", "no unique constraint"))?;
        let counters = &schema::WORKSPACE_USAGE_COUNTERS;
        let counters_unique = counters
            .uniques
            .first()
            .ok_or_else(|| invalid("workspace_usage_counters", "no unique constraint"))?;
        let mut last_refusal = "sender_daily";
        for candidate in candidates {
            let sender_id = candidate.row["id"].as_str().unwrap_or_default().to_owned();
            let sender_key = layout::row_key(
                &schema::SENDER_ACCOUNTS,
                Some(&owner.to_string()),
                &sender_id,
            );
            let warmup = candidate.row["warmup_enabled"] == json!(true);
            let stamp = timestamp_text(now);
            let mut same_day = Update::new()
                .add("daily_sent_today", 1)
                .add("_v", 1)
                .set("updated_at", stamp.as_str());
            let mut new_day = Update::new()
                .set("daily_sent_today", 1)
                .set("daily_sent_date", today.as_str())
                .add("_v", 1)
                .set("updated_at", stamp.as_str());
            if warmup {
                same_day = same_day.add("warmup_daily_sent", 1);
                new_day = new_day.set("warmup_daily_sent", 1);
            }
            let same_day = WriteOp::Update {
                key: sender_key.clone(),
                update: same_day,
                condition: Some(
                    Condition::item_exists()
                        .and(Condition::eq("status", SenderStatus::Connected.as_str()))
                        .and(Condition::eq("daily_sent_date", today.as_str()))
                        .and(Condition::cmp("daily_sent_today", CmpOp::Lt, candidate.cap)),
                ),
            };
            // Same day; else the first send of a new day; else the same day again — a
            // concurrent send rolled the day over between the first two (it must not look
            // like a cap reached).
            let sender_ops = [
                same_day.clone(),
                WriteOp::Update {
                    key: sender_key.clone(),
                    update: new_day,
                    condition: Some(
                        Condition::item_exists()
                            .and(Condition::eq("status", SenderStatus::Connected.as_str()))
                            .and(Condition::cmp("daily_sent_date", CmpOp::Ne, today.as_str()))
                            .and(Condition::cmp("daily_sent_today", CmpOp::Ge, 0)),
                    ),
                },
                same_day,
            ];
            let identity = |period_type: &str, period_key: &str, inbox_id: Option<&str>| {
                to_row(&OutboundIdentity {
                    workspace_id: owner,
                    inbox_id,
                    channel: "email",
                    period_type,
                    period_key,
                })
            };
            let (monthly_key, monthly) = rows.counter_ops(
                outbound,
                outbound_unique,
                identity("monthly", &month, None)?,
                &[("count", 1)],
                Some(("count", plan_limit)),
            )?;
            let (daily_key, daily) = rows.counter_ops(
                outbound,
                outbound_unique,
                identity("daily", &today, Some(&sender_id))?,
                &[("count", 1)],
                None,
            )?;
            let workspace_identity = to_row(&WorkspaceDayIdentity {
                workspace_id: owner,
                date_key: &today,
                month_key: &month,
            })?;
            let warmup_add: &[(&str, i64)] = if warmup {
                &[("emails_sent", 1), ("warmup_emails_sent", 1)]
            } else {
                &[("emails_sent", 1)]
            };
            let (workspace_key, workspace) = rows.counter_ops(
                counters,
                counters_unique,
                workspace_identity,
                warmup_add,
                None,
            )?;
            let monthly_index = 1;
            for sender_op in sender_ops {
                let mut ops = vec![sender_op];
                ops.extend(monthly.clone());
                ops.extend(daily.clone());
                ops.extend(workspace.clone());
                ops.extend(riders.iter().cloned());
                match store.transact_write(ops).await {
                    Ok(()) => {
                        let mut refund = vec![
                            WriteOp::update(
                                sender_key.clone(),
                                Update::new().add("daily_sent_today", -1).add("_v", 1),
                            ),
                            WriteOp::update(monthly_key.clone(), Update::new().add("count", -1)),
                            WriteOp::update(daily_key.clone(), Update::new().add("count", -1)),
                        ];
                        let mut workspace_refund = Update::new().add("emails_sent", -1);
                        if warmup {
                            workspace_refund = workspace_refund.add("warmup_emails_sent", -1);
                            refund[0] = WriteOp::update(
                                sender_key.clone(),
                                Update::new()
                                    .add("daily_sent_today", -1)
                                    .add("warmup_daily_sent", -1)
                                    .add("_v", 1),
                            );
                        }
                        refund.push(WriteOp::update(workspace_key.clone(), workspace_refund));
                        return Ok((candidate.row, Reservation { refund }));
                    }
                    Err(StoreError::ConditionFailed { index: Some(0) }) => {
                        last_refusal = if warmup {
                            "sender_warmup"
                        } else {
                            "sender_daily"
                        };
                        continue;
                    }
                    Err(StoreError::ConditionFailed { index: Some(i) }) if i == monthly_index => {
                        tracing::info!(%owner, "send refused: monthly e-mail limit");
                        return Err(SendError::QuotaExceeded {
                            limit: "monthly_emails",
                        });
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        }
        tracing::info!(
            %owner,
            limit = last_refusal,
            "send refused: every sender is at its cap"
        );
        Err(SendError::QuotaExceeded {
            limit: last_refusal,
        })
    }
}
