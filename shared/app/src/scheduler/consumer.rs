//! The queue consumer: one claimed row sent through the send pipeline and settled (sent,
//! retried, moved to the next allowed time, or failed).

use super::*;

impl Scheduler {
    /// Sends one claimed row. `Err` means "try this message again later" (the queue
    /// redelivers it, and after too many receives it goes to the dead-letter queue).
    pub async fn process(&self, body: &str) -> Result<Processed, ScheduleError> {
        let message: ClaimMessage = serde_json::from_str(body)
            .map_err(|e| invalid("message", format!("not a claim message: {e}")))?;
        let rows = self.access.rows();
        let Some(item) = rows
            .get_raw(
                &schema::SCHEDULED_EMAILS,
                Some(&message.owner.to_string()),
                &message.id,
            )
            .await?
        else {
            return Ok(Processed::Stale);
        };
        if status_of(&item) != Some(ScheduledEmailStatus::Processing)
            || item.str(CLAIM) != Some(message.claim.as_str())
        {
            return Ok(Processed::Stale);
        }
        let owner = message.owner;
        let attempts = item.i64(ATTEMPTS).unwrap_or(0);
        let Some(lead_id) = item.str("lead_id").map(str::to_owned) else {
            return self.stop_sequence(&item, "the lead was deleted").await;
        };
        let prepared = PreparedSend {
            lead_id,
            to_email: item.str("to_email").unwrap_or_default().to_owned(),
            subject: item.str("subject").unwrap_or_default().to_owned(),
            html_body: item.str("html_body").unwrap_or_default().to_owned(),
        };
        let key = format!("scheduled:{}", message.id);
        let outcome = self
            .send
            .send_prepared(owner, prepared, &key, self.config.lease)
            .await;
        // Settle against the row as it is now; a duplicate delivery racing this one may
        // settle it first (then there is nothing left to do here).
        for _ in 0..3 {
            let Some(current) = rows
                .get_raw(
                    &schema::SCHEDULED_EMAILS,
                    Some(&owner.to_string()),
                    &message.id,
                )
                .await?
            else {
                return Ok(Processed::Stale);
            };
            if status_of(&current) != Some(ScheduledEmailStatus::Processing)
                || current.str(CLAIM) != Some(message.claim.as_str())
            {
                return Ok(Processed::Stale);
            }
            match self.settle_after_send(&current, &outcome, attempts).await {
                Err(ScheduleError::Access(AccessError::Row(RowError::Concurrent))) => continue,
                settled => {
                    if let Ok(processed) = &settled {
                        tracing::info!(%owner, scheduled_id = %message.id, ?processed, "scheduled e-mail settled");
                    }
                    return settled;
                }
            }
        }
        Err(RowError::Concurrent.into())
    }

    async fn settle_after_send(
        &self,
        current: &Item,
        outcome: &Result<crate::send::SendOutcome, SendError>,
        attempts: i64,
    ) -> Result<Processed, ScheduleError> {
        let now = self.clock.now();
        match outcome {
            Ok(sent) => {
                self.scheduling
                    .settle(current, ScheduledEmailStatus::Sent, None, None, attempts)
                    .await?;
                Ok(Processed::Sent {
                    message_id: sent.message_id.clone(),
                })
            }
            Err(SendError::Suppressed) => {
                self.stop_sequence(
                    current,
                    "the recipient unsubscribed, bounced or reported spam",
                )
                .await
            }
            Err(SendError::Access(AccessError::Row(RowError::NotFound))) => {
                self.stop_sequence(current, "the lead was deleted").await
            }
            Err(SendError::QuotaExceeded { limit }) => {
                let at = next_allowed(now, limit, window_of(current).as_ref());
                let reason = format!(
                    "the {limit} limit is reached; moved to {}",
                    timestamp_text(at)
                );
                self.scheduling
                    .settle(
                        current,
                        ScheduledEmailStatus::Pending,
                        Some(at),
                        Some(&reason),
                        attempts,
                    )
                    .await?;
                Ok(Processed::Rescheduled { at, reason })
            }
            Err(SendError::InProgress) => Ok(Processed::Stale),
            Err(SendError::Provider { error, .. })
                if error.is_retryable() && attempts + 1 < self.config.max_attempts =>
            {
                let at = now + Duration::minutes(2i64.pow(attempts.clamp(0, 10) as u32));
                let reason = format!("provider: {error}; retrying at {}", timestamp_text(at));
                self.scheduling
                    .settle(
                        current,
                        ScheduledEmailStatus::Pending,
                        Some(at),
                        Some(&reason),
                        attempts + 1,
                    )
                    .await?;
                Ok(Processed::Rescheduled { at, reason })
            }
            Err(
                error @ (SendError::Provider { .. }
                | SendError::NoSender(_)
                | SendError::Crashed
                | SendError::Invalid { .. }
                | SendError::Access(AccessError::Forbidden(_))),
            ) => {
                let reason = error.to_string();
                self.scheduling
                    .settle(
                        current,
                        ScheduledEmailStatus::Failed,
                        None,
                        Some(&reason),
                        attempts,
                    )
                    .await?;
                tracing::warn!(%reason, "scheduled e-mail failed");
                Ok(Processed::Failed { reason })
            }
            // Store trouble and the like: let the queue try again.
            Err(error) => Err(ScheduleError::Invalid {
                field: "send".into(),
                reason: error.to_string(),
            }),
        }
    }

    /// Cancels this row and the rest of its sequence (suppressed recipient, deleted lead).
    async fn stop_sequence(&self, item: &Item, reason: &str) -> Result<Processed, ScheduleError> {
        let attempts = item.i64(ATTEMPTS).unwrap_or(0);
        self.scheduling
            .settle(
                item,
                ScheduledEmailStatus::Cancelled,
                None,
                Some(reason),
                attempts,
            )
            .await?;
        if let (Some(owner), Some(sequence_id), Some(index)) = (
            item.str("owner_id").and_then(|owner| owner.parse().ok()),
            item.str("sequence_id"),
            item.i64("block_index"),
        ) {
            self.scheduling
                .cancel_blocks(owner, sequence_id, index + 1, reason)
                .await?;
        }
        Ok(Processed::Cancelled {
            reason: reason.to_owned(),
        })
    }
}
