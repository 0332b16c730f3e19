//! The usage counters of the seed's section 6 and their RPCs, with the same semantics:
//! atomic counters, day and month keys in UTC, limits enforced in the same conditional
//! write (never read-then-write).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use scaliyo_domain::ids::OwnerId;
use scaliyo_domain::schema::{self, Table, Unique};
use scaliyo_store::{Clock, CmpOp, Condition, StoreError, Update};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::access::{Access, AccessError, Actor};
use crate::layout;
use crate::rows::{ListRequest, Row, RowError, Rows, timestamp_text, to_row};

/// The AI month row's key: one `workspace_ai_usage` row per workspace and month.
pub(crate) const AI_MONTH_KEY: &str = "workspace_ai_usage_workspace_id_month_year_key";
/// The day row's key: one `workspace_usage_counters` row per workspace and date.
pub(crate) const WORKSPACE_DAY_KEY: &str = "workspace_usage_counters_workspace_id_date_key_key";

pub(crate) fn ai_month_unique() -> Result<&'static Unique, AccessError> {
    unique(&schema::WORKSPACE_AI_USAGE, AI_MONTH_KEY)
}

pub(crate) fn workspace_day_unique() -> Result<&'static Unique, AccessError> {
    unique(&schema::WORKSPACE_USAGE_COUNTERS, WORKSPACE_DAY_KEY)
}

pub(crate) fn unique(table: &'static Table, name: &str) -> Result<&'static Unique, AccessError> {
    table
        .uniques
        .iter()
        .find(|u| u.name == name)
        .ok_or_else(|| {
            AccessError::Row(RowError::Invariant(format!(
                "{} declares no unique constraint {name}",
                table.name
            )))
        })
}

pub fn day_key(now: DateTime<Utc>) -> String {
    now.format("%Y-%m-%d").to_string()
}

pub fn month_key(now: DateTime<Utc>) -> String {
    now.format("%Y-%m").to_string()
}

/// The identity of an `outbound_usage` counter row: one per workspace, inbox, channel and
/// period.
#[derive(Serialize)]
pub(crate) struct OutboundIdentity<'a> {
    pub workspace_id: OwnerId,
    pub inbox_id: Option<&'a str>,
    pub channel: &'a str,
    pub period_type: &'a str,
    pub period_key: &'a str,
}

/// The identity of a `workspace_usage_counters` row: one per workspace and day.
#[derive(Serialize)]
pub(crate) struct WorkspaceDayIdentity<'a> {
    pub workspace_id: OwnerId,
    pub date_key: &'a str,
    pub month_key: &'a str,
}

/// The identity of a `workspace_ai_usage` row: one per workspace and month, with the
/// plan's credits at its creation.
#[derive(Serialize)]
struct AiUsageIdentity<'a> {
    workspace_id: OwnerId,
    month_year: &'a str,
    credits_limit: i64,
}

/// The `workspace_ai_usage` row of a workspace's month, as its counter's identity.
pub(crate) fn ai_month_identity(owner: OwnerId, month: &str, limit: i64) -> Result<Row, RowError> {
    to_row(&AiUsageIdentity {
        workspace_id: owner,
        month_year: month,
        credits_limit: limit,
    })
}

/// The `workspace_usage_counters` row of a workspace's day (UTC), as its counter's identity.
pub(crate) fn workspace_day_identity(owner: OwnerId, now: DateTime<Utc>) -> Result<Row, RowError> {
    to_row(&WorkspaceDayIdentity {
        workspace_id: owner,
        date_key: &day_key(now),
        month_key: &month_key(now),
    })
}

/// The monthly AI credits of a workspace's plan.
pub(crate) async fn ai_credits_per_month(
    access: &Access,
    owner: OwnerId,
) -> Result<i64, AccessError> {
    let plan = access.plan_of(owner).await?;
    Ok(i64::from(
        access.limits_of(plan).await?.ai_credits_per_month,
    ))
}

/// The AI credits a workspace used in a month (`YYYY-MM`; 0 before its row exists).
pub(crate) async fn ai_credits_used(
    rows: &Rows,
    owner: OwnerId,
    month: &str,
) -> Result<i64, AccessError> {
    let usage = &schema::WORKSPACE_AI_USAGE;
    let mut probe = Row::new();
    probe.insert("workspace_id".into(), json!(owner.to_string()));
    probe.insert("month_year".into(), json!(month));
    Ok(rows
        .find_unique(usage, ai_month_unique()?, &probe)
        .await?
        .and_then(|row| crate::rows::field(&row, "credits_used").as_i64())
        .unwrap_or(0))
}

fn invalid(column: &str, reason: &str) -> AccessError {
    AccessError::Row(RowError::Invalid {
        column: column.into(),
        reason: reason.into(),
    })
}

/// The workspace counters `increment_workspace_usage` may add to.
pub const WORKSPACE_FIELDS: [&str; 4] = [
    "emails_sent",
    "linkedin_actions",
    "ai_credits_used",
    "warmup_emails_sent",
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AiUsageArgs {
    #[serde(default = "one")]
    pub credits: i64,
    #[serde(default)]
    pub tokens: i64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SenderDailyArgs {
    pub sender_account_id: String,
    #[serde(default = "one")]
    pub count: i64,
    /// Refuse when today's count would pass this cap.
    pub daily_limit: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SenderIdArgs {
    pub sender_account_id: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkspaceUsageArgs {
    pub field: String,
    #[serde(default = "one")]
    pub amount: i64,
    /// Refuse when today's value would pass this cap.
    pub daily_limit: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonthArgs {
    /// `YYYY-MM`; the current month when absent.
    pub month: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboundArgs {
    pub channel: String,
    pub inbox_id: Option<String>,
    #[serde(default = "one")]
    pub amount: i64,
    pub daily_limit: Option<i64>,
    /// Refuse when this month's count would pass this cap; for the `email` channel the plan's
    /// monthly e-mail limit applies when none is given.
    pub monthly_limit: Option<i64>,
}

fn one() -> i64 {
    1
}

#[derive(Clone)]
pub struct Usage {
    access: Arc<Access>,
    clock: Arc<dyn Clock>,
}

impl Usage {
    pub fn new(access: Arc<Access>, clock: Arc<dyn Clock>) -> Self {
        Self { access, clock }
    }

    /// `increment_ai_usage`: this month's AI credits and tokens, within the plan's credits.
    pub async fn increment_ai_usage(
        &self,
        actor: &Actor,
        args: AiUsageArgs,
    ) -> Result<Row, AccessError> {
        let user = actor.owner()?;
        // The RPCs only add: a negative amount would hand quota back.
        if args.credits < 1 {
            return Err(invalid("credits", "must be at least 1"));
        }
        if args.tokens < 0 {
            return Err(invalid("tokens", "must not be negative"));
        }
        let limit = ai_credits_per_month(&self.access, user).await?;
        let usage = &schema::WORKSPACE_AI_USAGE;
        let identity = ai_month_identity(user, &month_key(self.clock.now()), limit)?;
        Ok(self
            .access
            .rows()
            .upsert_counter(
                usage,
                ai_month_unique()?,
                identity,
                &[("credits_used", args.credits), ("tokens_used", args.tokens)],
                Some((
                    "credits_used",
                    limit,
                    RowError::QuotaExceeded {
                        limit: "ai_credits_per_month",
                    },
                )),
            )
            .await?)
    }

    async fn own_sender(&self, actor: &Actor, id: &str) -> Result<Row, AccessError> {
        self.access.get(actor, "sender_accounts", id).await
    }

    /// `increment_sender_daily_sent`: today's sends of a sender account, rolling over at the
    /// UTC day boundary, optionally within a daily cap.
    pub async fn increment_sender_daily_sent(
        &self,
        actor: &Actor,
        args: SenderDailyArgs,
    ) -> Result<Row, AccessError> {
        let user = actor.owner()?;
        if args.count < 1 {
            return Err(invalid("count", "must be at least 1"));
        }
        self.own_sender(actor, &args.sender_account_id).await?;
        let senders = &schema::SENDER_ACCOUNTS;
        let key = layout::row_key(senders, Some(&user.to_string()), &args.sender_account_id);
        let today = day_key(self.clock.now());
        if args.daily_limit.is_some_and(|cap| args.count > cap) {
            return Err(AccessError::Row(RowError::QuotaExceeded {
                limit: "sender_daily",
            }));
        }
        let now = timestamp_text(self.clock.now());
        let store = self.access.rows().store();
        // Two conditional writes, each atomic: add to today's count, or start a new day.
        for _ in 0..4 {
            let mut same_day =
                Condition::item_exists().and(Condition::eq("daily_sent_date", today.as_str()));
            if let Some(cap) = args.daily_limit {
                same_day = same_day.and(Condition::cmp(
                    "daily_sent_today",
                    CmpOp::Le,
                    cap - args.count,
                ));
            }
            let add = Update::new()
                .add("daily_sent_today", args.count)
                .add("_v", 1)
                .set("updated_at", now.as_str());
            match store.update(&key, add, Some(same_day)).await {
                Ok(item) => return Ok(crate::rows::from_item(senders, &item)),
                Err(StoreError::ConditionFailed { .. }) => {}
                Err(e) => return Err(RowError::from(e).into()),
            }
            let new_day = Condition::item_exists().and(Condition::cmp(
                "daily_sent_date",
                CmpOp::Ne,
                today.as_str(),
            ));
            let reset = Update::new()
                .set("daily_sent_today", args.count)
                .set("daily_sent_date", today.as_str())
                .add("_v", 1)
                .set("updated_at", now.as_str());
            match store.update(&key, reset, Some(new_day)).await {
                Ok(item) => return Ok(crate::rows::from_item(senders, &item)),
                Err(StoreError::ConditionFailed { .. }) => {
                    // Either today's row is at its cap, or another request started the day.
                    let current = self.own_sender(actor, &args.sender_account_id).await?;
                    if current["daily_sent_date"] == today.as_str() && args.daily_limit.is_some() {
                        return Err(AccessError::Row(RowError::QuotaExceeded {
                            limit: "sender_daily",
                        }));
                    }
                }
                Err(e) => return Err(RowError::from(e).into()),
            }
        }
        Err(AccessError::Row(RowError::Concurrent))
    }

    /// `get_sender_daily_sent`: today's count (0 when the stored day is not today).
    pub async fn get_sender_daily_sent(
        &self,
        actor: &Actor,
        args: SenderIdArgs,
    ) -> Result<Value, AccessError> {
        let sender = self.own_sender(actor, &args.sender_account_id).await?;
        let today = day_key(self.clock.now());
        let sent = if sender["daily_sent_date"] == today.as_str() {
            sender["daily_sent_today"].as_i64().unwrap_or(0)
        } else {
            0
        };
        Ok(
            json!({ "sender_account_id": args.sender_account_id, "date": today, "daily_sent": sent }),
        )
    }

    /// `increment_workspace_usage`: today's row of the workspace counters.
    pub async fn increment_workspace_usage(
        &self,
        actor: &Actor,
        args: WorkspaceUsageArgs,
    ) -> Result<Row, AccessError> {
        let user = actor.owner()?;
        let field = WORKSPACE_FIELDS
            .iter()
            .copied()
            .find(|f| *f == args.field)
            .ok_or_else(|| invalid("field", "must be one of emails_sent, linkedin_actions, ai_credits_used, warmup_emails_sent"))?;
        if args.amount < 1 {
            return Err(invalid("amount", "must be at least 1"));
        }
        let counters = &schema::WORKSPACE_USAGE_COUNTERS;
        let identity = workspace_day_identity(user, self.clock.now())?;
        let limit = args.daily_limit.map(|cap| {
            (
                field,
                cap,
                RowError::QuotaExceeded {
                    limit: "workspace_daily",
                },
            )
        });
        Ok(self
            .access
            .rows()
            .upsert_counter(
                counters,
                workspace_day_unique()?,
                identity,
                &[(field, args.amount)],
                limit,
            )
            .await?)
    }

    /// `get_workspace_monthly_usage`: the month's totals over the daily rows.
    pub async fn get_workspace_monthly_usage(
        &self,
        actor: &Actor,
        args: MonthArgs,
    ) -> Result<Value, AccessError> {
        let user = actor.owner()?;
        let month = args.month.unwrap_or_else(|| month_key(self.clock.now()));
        if chrono::NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").is_err() {
            return Err(invalid("month", "must be YYYY-MM"));
        }
        let counters = &schema::WORKSPACE_USAGE_COUNTERS;
        let mut totals = serde_json::Map::new();
        for field in WORKSPACE_FIELDS {
            totals.insert(field.into(), json!(0));
        }
        let mut cursor = None;
        loop {
            let page = self
                .access
                .rows()
                .list(
                    counters,
                    Some(&user.to_string()),
                    ListRequest {
                        index: Some("idx_workspace_usage_workspace_month".into()),
                        equals: vec![month.clone()],
                        limit: 100,
                        cursor,
                        ..Default::default()
                    },
                )
                .await?;
            for row in &page.rows {
                for field in WORKSPACE_FIELDS {
                    let sum =
                        totals[field].as_i64().unwrap_or(0) + row[field].as_i64().unwrap_or(0);
                    totals.insert(field.into(), json!(sum));
                }
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        let mut out = json!({ "workspace_id": user, "month_key": month });
        if let Value::Object(map) = &mut out {
            map.extend(totals);
        }
        Ok(out)
    }

    /// `increment_outbound_usage`: the daily and the monthly row of a channel (and inbox).
    pub async fn increment_outbound_usage(
        &self,
        actor: &Actor,
        args: OutboundArgs,
    ) -> Result<Value, AccessError> {
        let user = actor.owner()?;
        if !["email", "linkedin"].contains(&args.channel.as_str()) {
            return Err(invalid("channel", "must be one of email, linkedin"));
        }
        if args.amount < 1 {
            return Err(invalid("amount", "must be at least 1"));
        }
        let outbound = &schema::OUTBOUND_USAGE;
        let unique = unique(
            outbound,
            "outbound_usage_workspace_id_inbox_id_channel_period_type_period_key_key",
        )?;
        let now = self.clock.now();
        let monthly_limit = match (args.monthly_limit, args.channel.as_str()) {
            (Some(limit), _) => Some(limit),
            (None, "email") => Some(i64::from(
                self.access.plan_of(user).await?.limits().emails_per_month,
            )),
            _ => None,
        };
        let identity_of = |period: &str, key: String| {
            to_row(&OutboundIdentity {
                workspace_id: user,
                inbox_id: args.inbox_id.as_deref(),
                channel: &args.channel,
                period_type: period,
                period_key: &key,
            })
        };
        let mut results = serde_json::Map::new();
        // The month first: a refused month leaves the day untouched.
        for (period, key, limit, name) in [
            ("monthly", month_key(now), monthly_limit, "monthly"),
            ("daily", day_key(now), args.daily_limit, "daily"),
        ] {
            let identity = identity_of(period, key)?;
            let quota = limit.map(|l| {
                (
                    "count",
                    l,
                    RowError::QuotaExceeded {
                        limit: if name == "monthly" {
                            "outbound_monthly"
                        } else {
                            "outbound_daily"
                        },
                    },
                )
            });
            let row = self
                .access
                .rows()
                .upsert_counter(outbound, unique, identity, &[("count", args.amount)], quota)
                .await;
            match row {
                Ok(row) => {
                    results.insert(period.into(), Value::Object(row));
                }
                Err(error) => {
                    if period == "daily" {
                        // Give the month back: the send did not happen.
                        let identity = identity_of("monthly", month_key(now))?;
                        let _ = self
                            .access
                            .rows()
                            .upsert_counter(
                                outbound,
                                unique,
                                identity,
                                &[("count", -args.amount)],
                                None,
                            )
                            .await;
                    }
                    return Err(error.into());
                }
            }
        }
        Ok(Value::Object(results))
    }
}
