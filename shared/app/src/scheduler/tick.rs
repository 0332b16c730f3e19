//! The tick: expired claims recovered, due rows claimed shard by shard on the work queue
//! and enqueued (the `process-scheduled-emails` function, EventBridge every minute).

use super::*;

/// The worker side: the tick and the queue consumer (the `process-scheduled-emails` function).
#[derive(Clone)]
pub struct Scheduler {
    pub(super) scheduling: Scheduling,
    pub(super) access: Arc<Access>,
    pub(super) send: Arc<SendPipeline>,
    pub(super) queue: Arc<dyn Queue>,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) config: SchedulerConfig,
    /// `SchedulerTicks`, `SchedulerClaims`, `SchedulerLag` (the oldest claim's delay).
    pub(super) metrics: Arc<dyn scaliyo_store::Metrics>,
}

impl Scheduler {
    pub fn new(
        access: Arc<Access>,
        send: Arc<SendPipeline>,
        queue: Arc<dyn Queue>,
        clock: Arc<dyn Clock>,
        config: SchedulerConfig,
    ) -> Self {
        Self {
            scheduling: Scheduling::new(access.clone(), clock.clone()),
            access,
            send,
            queue,
            clock,
            config,
            metrics: scaliyo_store::no_metrics(),
        }
    }

    pub fn with_metrics(mut self, metrics: Arc<dyn scaliyo_store::Metrics>) -> Self {
        self.metrics = metrics;
        self
    }

    pub fn config(&self) -> &SchedulerConfig {
        &self.config
    }

    /// Scheduling and cancelling, on the same rows.
    pub fn scheduling(&self) -> &Scheduling {
        &self.scheduling
    }

    /// Recovers expired leases, then claims due rows shard by shard and enqueues the claims.
    pub async fn tick(&self) -> Result<TickReport, ScheduleError> {
        let now = self.clock.now();
        let mut report = TickReport::default();
        let (recovered, gave_up) = self.recover(now).await?;
        report.recovered = recovered;
        report.gave_up = gave_up;
        let per_shard = self
            .config
            .max_claims_per_tick
            .div_ceil(layout::DUE_SHARDS as usize);
        let shards: Vec<u32> = (0..layout::DUE_SHARDS).collect();
        let results: Vec<(usize, usize, i64)> = stream::iter(shards)
            .map(|shard| self.claim_shard(shard, now, per_shard))
            .buffer_unordered(layout::DUE_SHARDS as usize)
            .try_collect()
            .await?;
        let mut lag_ms = 0;
        for (claimed, enqueued, shard_lag_ms) in results {
            report.claimed += claimed;
            report.enqueued += enqueued;
            lag_ms = lag_ms.max(shard_lag_ms);
        }
        self.metrics.count("SchedulerTicks", &[], 1);
        self.metrics
            .count("SchedulerClaims", &[], report.claimed as u64);
        if report.claimed > 0 {
            self.metrics
                .milliseconds("SchedulerLag", &[], lag_ms as f64);
        }
        // An idle tick is not worth a log line every minute.
        if report.claimed + report.recovered + report.gave_up > 0 {
            tracing::info!(
                claimed = report.claimed,
                enqueued = report.enqueued,
                recovered = report.recovered,
                gave_up = report.gave_up,
                "scheduled e-mails tick"
            );
        } else {
            tracing::debug!("scheduled e-mails tick: nothing due");
        }
        Ok(report)
    }

    pub(super) async fn claim_shard(
        &self,
        shard: u32,
        now: DateTime<Utc>,
        budget: usize,
    ) -> Result<(usize, usize, i64), ScheduleError> {
        let mut cursor: Option<Cursor> = None;
        let (mut claimed, mut enqueued) = (0, 0);
        // How late the most overdue claimed row is (its scheduled time to now).
        let mut lag_ms: i64 = 0;
        while claimed < budget {
            let limit = 200.min((budget - claimed) as u32);
            let (items, next) = QUEUE
                .page(
                    self.access.rows(),
                    Lane::Due,
                    shard,
                    now,
                    limit,
                    cursor.take(),
                )
                .await?;
            let claims: Vec<(ClaimMessage, i64)> = stream::iter(items)
                .map(|item| {
                    let late_ms = item
                        .str("scheduled_at")
                        .and_then(|at| chrono::DateTime::parse_from_rfc3339(at).ok())
                        .map(|at| (now - at.with_timezone(&Utc)).num_milliseconds())
                        .unwrap_or(0);
                    async move { self.claim(item, now).await.map(|m| (m, late_ms)) }
                })
                .buffer_unordered(self.config.claim_concurrency)
                .filter_map(|claimed| async move { claimed })
                .collect()
                .await;
            lag_ms = claims.iter().map(|(_, late)| *late).fold(lag_ms, i64::max);
            let messages: Vec<OutgoingMessage> = claims
                .into_iter()
                .map(|(message, _)| {
                    OutgoingMessage::new(serde_json::to_string(&message).unwrap_or_default())
                })
                .collect();
            claimed += messages.len();
            if !messages.is_empty() {
                let count = messages.len();
                // A failed enqueue leaves the rows claimed: their lease runs out and a later
                // tick recovers them. Nothing is lost.
                match self.queue.send_batch(messages).await {
                    Ok(()) => enqueued += count,
                    Err(error) => {
                        tracing::warn!(%error, count, "enqueueing claimed e-mails failed; the lease will recover them");
                        return Ok((claimed, enqueued, lag_ms));
                    }
                }
            }
            match next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        Ok((claimed, enqueued, lag_ms))
    }

    /// `pending → processing` if nobody changed the row since the index read it.
    pub(super) async fn claim(&self, item: Item, now: DateTime<Utc>) -> Option<ClaimMessage> {
        if status_of(&item) != Some(ScheduledEmailStatus::Pending) {
            return None;
        }
        let id = item.str("id")?.to_owned();
        let owner = item.str("owner_id")?.parse().ok()?;
        let claim = uuid::Uuid::new_v4().to_string();
        let lease_until = now + self.config.lease;
        let mut patch = Row::new();
        patch.insert("status".into(), json!(ScheduledEmailStatus::Processing));
        let attempts = item.i64(ATTEMPTS).unwrap_or(0);
        let mut internal = carried(&item, attempts);
        internal.extend(QUEUE.lease_attributes_with(&id, lease_until, claim.clone()));
        match QUEUE
            .claim(
                self.access.rows(),
                &schema::SCHEDULED_EMAILS,
                &item,
                patch,
                &internal,
            )
            .await
        {
            Ok(Some(_)) => Some(ClaimMessage { owner, id, claim }),
            // Another tick (or a cancel) got there first.
            Ok(None) => None,
            Err(error) => {
                tracing::warn!(%error, scheduled_id = %id, "claiming a scheduled e-mail failed");
                None
            }
        }
    }

    /// Rows whose claim expired go back to `pending` (now), or fail after too many attempts.
    pub(super) async fn recover(
        &self,
        now: DateTime<Utc>,
    ) -> Result<(usize, usize), ScheduleError> {
        let (mut recovered, mut gave_up) = (0, 0);
        for shard in 0..layout::DUE_SHARDS {
            let mut cursor = None;
            loop {
                let (items, next) = QUEUE
                    .page(
                        self.access.rows(),
                        Lane::Leased,
                        shard,
                        now,
                        200,
                        cursor.take(),
                    )
                    .await?;
                for item in items {
                    if status_of(&item) != Some(ScheduledEmailStatus::Processing) {
                        continue;
                    }
                    let attempts = item.i64(ATTEMPTS).unwrap_or(0) + 1;
                    let result = if attempts >= self.config.max_attempts {
                        gave_up += 1;
                        self.scheduling
                            .settle(
                                &item,
                                ScheduledEmailStatus::Failed,
                                None,
                                Some("gave up: the send did not complete after several attempts"),
                                attempts,
                            )
                            .await
                    } else {
                        recovered += 1;
                        self.scheduling
                            .settle(
                                &item,
                                ScheduledEmailStatus::Pending,
                                Some(now),
                                None,
                                attempts,
                            )
                            .await
                    };
                    if let Err(error) = result {
                        tracing::warn!(%error, "recovering an expired claim failed");
                    }
                }
                match next {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
        }
        if recovered + gave_up > 0 {
            tracing::warn!(
                recovered,
                gave_up,
                "recovered scheduled e-mails whose consumer stopped"
            );
        }
        Ok((recovered, gave_up))
    }
}
