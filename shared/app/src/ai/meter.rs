//! Credits, exact under concurrency: a call reserves its worst case with one conditional add
//! on the month's `workspace_ai_usage` row (refused at the plan's limit, never read-then-
//! write), and settles to what it used in one transaction with the day's
//! `workspace_usage_counters.ai_credits_used` and its `ai_usage_logs` row.

use std::sync::Arc;

use chrono::{DateTime, Datelike, TimeZone, Utc};
use scaliyo_domain::ids::OwnerId;
use scaliyo_domain::schema;
use scaliyo_store::{Clock, StoreError, WriteOp};
use serde_json::json;

use super::AiError;
use crate::access::Access;
use crate::rows::{Row, RowError};
use crate::usage::{
    AI_MONTH_KEY, ai_credits_per_month, ai_credits_used, ai_month_identity, ai_month_unique,
    month_key, workspace_day_identity, workspace_day_unique,
};

/// Credits held for one call until it settles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    pub owner: OwnerId,
    /// The month the credits were taken from (a call crossing midnight settles there).
    pub month: String,
    pub credits: i64,
    pub limit: i64,
}

/// What a settled call cost and what is left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settled {
    pub credits: i64,
    pub remaining: i64,
}

#[derive(Clone)]
pub struct CreditMeter {
    access: Arc<Access>,
    clock: Arc<dyn Clock>,
}

/// The first instant of the month after `now`'s (UTC), when the monthly credits renew.
pub fn month_reset(now: DateTime<Utc>) -> DateTime<Utc> {
    let (year, month) = if now.month() == 12 {
        (now.year() + 1, 1)
    } else {
        (now.year(), now.month() + 1)
    };
    Utc.with_ymd_and_hms(year, month, 1, 0, 0, 0)
        .single()
        .unwrap_or(now)
}

impl CreditMeter {
    pub fn new(access: Arc<Access>, clock: Arc<dyn Clock>) -> Self {
        Self { access, clock }
    }

    fn month_ops(
        &self,
        reservation: &Reservation,
        add: &[(&str, i64)],
        limited: bool,
    ) -> Result<Vec<WriteOp>, AiError> {
        let usage = &schema::WORKSPACE_AI_USAGE;
        let identity = ai_month_identity(reservation.owner, &reservation.month, reservation.limit)?;
        let (_, ops) = self.access.rows().counter_ops(
            usage,
            ai_month_unique()?,
            identity,
            add,
            limited.then_some(("credits_used", reservation.limit)),
        )?;
        Ok(ops)
    }

    /// What a reservation's month has left.
    async fn remaining_for(&self, reservation: &Reservation) -> Result<i64, AiError> {
        let used =
            ai_credits_used(self.access.rows(), reservation.owner, &reservation.month).await?;
        Ok((reservation.limit - used).max(0))
    }

    /// Takes `credits` from this month's balance, or refuses (`CreditsExhausted`) without
    /// taking any when they would pass the plan's limit.
    pub async fn reserve(&self, owner: OwnerId, credits: u64) -> Result<Reservation, AiError> {
        let limit = ai_credits_per_month(&self.access, owner).await?;
        let now = self.clock.now();
        let reservation = Reservation {
            owner,
            month: month_key(now),
            credits: i64::try_from(credits).unwrap_or(i64::MAX),
            limit,
        };
        let ops = self.month_ops(&reservation, &[("credits_used", reservation.credits)], true)?;
        match self.access.rows().store().transact_write(ops).await {
            Ok(()) => Ok(reservation),
            Err(StoreError::ConditionFailed { index: Some(0) }) => Err(AiError::CreditsExhausted {
                remaining: self.remaining_for(&reservation).await?,
                needed: reservation.credits,
                resets_at: month_reset(now),
            }),
            Err(StoreError::ConditionFailed { index: Some(1) }) => Err(RowError::Conflict {
                constraint: AI_MONTH_KEY.into(),
            }
            .into()),
            Err(e) => Err(RowError::from(e).into()),
        }
    }

    /// Hands a reservation back whole (the model failed: nothing is charged).
    pub async fn refund(&self, reservation: &Reservation) -> Result<(), AiError> {
        self.refund_with(reservation, Vec::new()).await.map(|_| ())
    }

    /// [`CreditMeter::refund`] together with `extra` writes, in one transaction; `false`
    /// (nothing written) when an extra write's condition fails — the work it records was
    /// settled already, by another delivery of the same message.
    pub async fn refund_with(
        &self,
        reservation: &Reservation,
        extra: Vec<WriteOp>,
    ) -> Result<bool, AiError> {
        let mut ops = self.month_ops(
            reservation,
            &[("credits_used", -reservation.credits)],
            false,
        )?;
        let first_extra = ops.len();
        ops.extend(extra);
        match self.access.rows().store().transact_write(ops).await {
            Ok(()) => Ok(true),
            Err(StoreError::ConditionFailed { index: Some(i) }) if i >= first_extra => Ok(false),
            Err(e) => Err(RowError::from(e).into()),
        }
    }

    /// Charges what the call cost instead of what it reserved, adds its tokens, the day's
    /// counter and its `ai_usage_logs` row — one transaction. A call that cost more than it
    /// reserved (a provider counting past the bound) is charged the excess only within the
    /// limit.
    pub async fn settle(
        &self,
        reservation: &Reservation,
        credits: u64,
        tokens: u64,
    ) -> Result<Settled, AiError> {
        // No extra writes: no condition of theirs to fail.
        let charged = self
            .settle_with(reservation, credits, tokens, Vec::new())
            .await?
            .ok_or_else(|| {
                AiError::from(RowError::Conflict {
                    constraint: "workspace_ai_usage".into(),
                })
            })?;
        // The reservation's month and limit: no plan to read again on the way out.
        Ok(Settled {
            credits: charged,
            remaining: self.remaining_for(reservation).await?,
        })
    }

    /// [`CreditMeter::settle`] together with `extra` writes, in the same transaction: the
    /// credits charged, or None (nothing written) when an extra write's condition fails — the
    /// work it records was settled already, by another delivery of the same message. The
    /// balance left is not read (a run's job does not report it).
    pub async fn settle_with(
        &self,
        reservation: &Reservation,
        credits: u64,
        tokens: u64,
        extra: Vec<WriteOp>,
    ) -> Result<Option<i64>, AiError> {
        let credits = i64::try_from(credits).unwrap_or(i64::MAX);
        let tokens = i64::try_from(tokens).unwrap_or(i64::MAX);
        let mut charged = credits;
        loop {
            let delta = charged - reservation.credits;
            let mut ops = self.month_ops(
                reservation,
                &[("credits_used", delta), ("tokens_used", tokens)],
                delta > 0,
            )?;
            ops.extend(self.day_ops(reservation.owner, charged)?);
            ops.extend(self.log_ops(reservation.owner, tokens)?);
            let first_extra = ops.len();
            ops.extend(extra.iter().cloned());
            match self.access.rows().store().transact_write(ops).await {
                Ok(()) => break,
                Err(StoreError::ConditionFailed { index: Some(0) }) if delta > 0 => {
                    tracing::warn!(
                        reserved = reservation.credits,
                        cost = credits,
                        "an AI call cost more than its reservation and the limit is reached"
                    );
                    charged = reservation.credits;
                }
                Err(StoreError::ConditionFailed { index: Some(i) }) if i >= first_extra => {
                    return Ok(None);
                }
                Err(e) => return Err(RowError::from(e).into()),
            }
        }
        Ok(Some(charged))
    }

    fn day_ops(&self, owner: OwnerId, credits: i64) -> Result<Vec<WriteOp>, AiError> {
        let counters = &schema::WORKSPACE_USAGE_COUNTERS;
        let identity = workspace_day_identity(owner, self.clock.now())?;
        let (_, ops) = self.access.rows().counter_ops(
            counters,
            workspace_day_unique()?,
            identity,
            &[("ai_credits_used", credits)],
            None,
        )?;
        Ok(ops)
    }

    fn log_ops(&self, owner: OwnerId, tokens: i64) -> Result<Vec<WriteOp>, AiError> {
        let logs = &schema::AI_USAGE_LOGS;
        let mut input = Row::new();
        input.insert("user_id".into(), json!(owner.to_string()));
        input.insert(
            "tokens_used".into(),
            json!(i32::try_from(tokens).unwrap_or(i32::MAX)),
        );
        let rows = self.access.rows();
        let row = rows.prepare(logs, input)?;
        Ok(rows.insert_ops(logs, None, &row, false)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_credits_renew_at_the_first_instant_of_the_next_month() {
        let at = |y, m, d| Utc.with_ymd_and_hms(y, m, d, 13, 5, 0).unwrap();
        assert_eq!(
            month_reset(at(2026, 12, 3)),
            Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap()
        );
        assert_eq!(
            month_reset(at(2026, 2, 28)),
            Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap()
        );
    }
}
