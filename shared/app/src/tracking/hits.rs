//! Recording hits: an open or a click classified with its message's recent history, stored
//! with its event row and counts in one commit, spooled while the store is down.

use super::event_row::EmailEventRow;
use super::*;

impl Tracking {
    /// Classifies a hit; the message is read only when needed — for the send time on tokens
    /// that lack it, and for the analytics of a human hit.
    pub(super) async fn classify(
        &self,
        token: &Token,
        hit: &mut Hit<'_>,
        now: DateTime<Utc>,
    ) -> (Verdict, Option<CountedMessage>) {
        let mut message = None;
        hit.seconds_since_sent = match token.sent_at {
            Some(sent_at) => Some(now.timestamp() - sent_at),
            None => {
                message = self.message(token).await;
                Self::seconds_since_sent(message.as_ref(), now)
            }
        };
        // The request's own rules first; only a hit that still looks human (or probably a
        // machine) costs the read of the message's recent hits.
        let verdict = if token.honeypot {
            self.rules.judge(
                hit,
                &Context {
                    honeypot: true,
                    ..Context::default()
                },
            )
        } else {
            let first = self.rules.classify(hit);
            let history = if first.class == Class::Machine {
                Vec::new()
            } else {
                self.history(token, now).await
            };
            let context = Context {
                link_id: token.link_id.as_deref(),
                honeypot: false,
                history: &history,
            };
            self.rules.sharpen(first, hit, &context)
        };
        if !verdict.is_bot && message.is_none() {
            message = self.message(token).await;
        }
        (verdict, message)
    }

    /// Stores a classified hit (with `also`, e.g. the link's click count) and counts it in the
    /// live analytics, in one commit.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn store_hit(
        &self,
        token: &Token,
        message: Option<&CountedMessage>,
        kind: EventKind,
        hit: &Hit<'_>,
        verdict: &Verdict,
        also: Option<WriteOp>,
        at: DateTime<Utc>,
    ) -> Result<(), RowError> {
        let event_type = if kind == EventKind::Open {
            "open"
        } else {
            "click"
        };
        let mut ops = self.event_ops(token, event_type, hit, Some(verdict), Some(at))?;
        ops.extend(also);
        crate::analytics::on_event_with(
            &self.rows,
            token.owner,
            message,
            kind,
            verdict.is_bot,
            ops,
        )
        .await?;
        self.metrics.count(
            "TrackingHits",
            &[("kind", event_type), ("class", verdict.class.as_str())],
            1,
        );
        Ok(())
    }

    /// The actions that store one hit as an `email_events` row.
    pub(super) fn event_ops(
        &self,
        token: &Token,
        event_type: &str,
        hit: &Hit<'_>,
        verdict: Option<&Verdict>,
        at: Option<DateTime<Utc>>,
    ) -> Result<Vec<WriteOp>, RowError> {
        let events = &schema::EMAIL_EVENTS;
        // Ids ordered by the hit's time: the message's index then reads its recent hits alone.
        let at_or_now = at.unwrap_or_else(|| self.clock.now());
        let row = crate::rows::to_row(&EmailEventRow {
            id: Some(event_id_at(at_or_now)),
            message_id: &token.message_id,
            link_id: token.link_id.as_deref(),
            event_type,
            ip_address: hit.ip.map(|ip| ip.to_string()),
            user_agent: hit.user_agent,
            is_bot: verdict.map(|v| v.is_bot),
            is_apple_privacy: verdict.map(|v| v.is_apple_privacy),
            // The raw request features stay with the verdict: a recount judges them again.
            metadata: verdict.map(|verdict| {
                json!({ "class": verdict.class.as_str(), "reason": verdict.reason, "evidence": verdict.evidence, "method": hit.method, "purpose": hit.purpose, "honeypot": token.honeypot })
            }),
            created_at: at.map(crate::rows::timestamp_text),
        })?;
        let prepared = self.rows.prepare(events, row)?;
        self.rows
            .insert_ops(events, Some(&token.owner.to_string()), &prepared, false)
    }

    /// An open: classified and stored. Unknown tokens record nothing.
    pub async fn record_open(
        &self,
        token: &str,
        hit: Hit<'_>,
    ) -> Result<Option<Verdict>, RowError> {
        self.record_open_at(token, hit, None).await
    }

    /// An open that the store must not lose: when the store is unavailable (and a spool is
    /// configured) the hit goes to the spool queue, to be written by [`Tracking::replay`].
    pub async fn record_open_or_spool(
        &self,
        token: &str,
        hit: Hit<'_>,
    ) -> Result<OpenOutcome, RowError> {
        let at = self.clock.now();
        // The hit holds only borrowed text: keeping a copy for the spool costs nothing unless
        // the store fails.
        match self.record_open_at(token, hit.clone(), Some(at)).await {
            Ok(Some(verdict)) => Ok(OpenOutcome::Recorded(verdict)),
            Ok(None) => Ok(OpenOutcome::Unknown),
            Err(RowError::Store(error)) if error.is_retryable() => {
                let Some(spool) = &self.spool else {
                    return Err(RowError::Store(error));
                };
                let spooled = SpooledOpen {
                    token: token.to_owned(),
                    method: hit.method.to_owned(),
                    user_agent: hit.user_agent.map(str::to_owned),
                    ip: hit.ip,
                    purpose: hit.purpose.map(str::to_owned),
                    at,
                };
                let body = serde_json::to_string(&spooled).unwrap_or_default();
                spool
                    .send_batch(vec![OutgoingMessage::new(body)])
                    .await
                    .map_err(|e| RowError::Store(StoreError::Unavailable(e.to_string())))?;
                tracing::warn!(%error, "store unavailable: the open is spooled");
                Ok(OpenOutcome::Spooled)
            }
            Err(e) => Err(e),
        }
    }

    /// Writes a spooled open with the time it happened. Unknown tokens are dropped.
    pub async fn replay(&self, body: &str) -> Result<Option<Verdict>, RowError> {
        let spooled: SpooledOpen = serde_json::from_str(body).map_err(|e| RowError::Invalid {
            column: "spooled open".into(),
            reason: e.to_string(),
        })?;
        let hit = Hit {
            kind: None,
            method: &spooled.method,
            user_agent: spooled.user_agent.as_deref(),
            ip: spooled.ip,
            purpose: spooled.purpose.as_deref(),
            seconds_since_sent: None,
        };
        self.record_open_at(&spooled.token, hit, Some(spooled.at))
            .await
    }

    pub(super) async fn record_open_at(
        &self,
        token: &str,
        mut hit: Hit<'_>,
        at: Option<DateTime<Utc>>,
    ) -> Result<Option<Verdict>, RowError> {
        let Some(token) = self.resolve(token).await? else {
            return Ok(None);
        };
        if token.kind != "open" {
            return Ok(None);
        }
        hit.kind = Some(HitKind::Open);
        let now = at.unwrap_or_else(|| self.clock.now());
        let (verdict, message) = self.classify(&token, &mut hit, now).await;
        tracing::debug!(
            reason = verdict.reason,
            class = verdict.class.as_str(),
            "open classified"
        );
        self.store_hit(
            &token,
            message.as_ref(),
            EventKind::Open,
            &hit,
            &verdict,
            None,
            now,
        )
        .await?;
        self.emit(
            &token,
            "email.opened",
            None,
            Some(&verdict),
            || json!({ "opened_at": crate::rows::timestamp_text(now) }),
        )
        .await;
        Ok(Some(verdict))
    }

    /// A click: the stored destination (never one from the request), the link's click count
    /// added to atomically, and the classified event.
    pub async fn record_click(
        &self,
        token: &str,
        mut hit: Hit<'_>,
    ) -> Result<Option<String>, RowError> {
        let Some(token) = self.resolve(token).await? else {
            return Ok(None);
        };
        let Some(destination) = token.destination.clone() else {
            return Ok(None);
        };
        // A honeypot has no link row (it counts in no link's clicks); every other click does.
        let link_id = token.link_id.clone();
        if token.kind != "click" || (link_id.is_none() && !token.honeypot) {
            return Ok(None);
        }
        hit.kind = Some(HitKind::Click);
        let now = self.clock.now();
        let (verdict, message) = self.classify(&token, &mut hit, now).await;
        // The link's count goes in the hit's own commit.
        let count = link_id.as_deref().map(|link_id| WriteOp::Update {
            key: layout::row_key(
                &schema::EMAIL_LINKS,
                Some(&token.owner.to_string()),
                link_id,
            ),
            update: Update::new().add("click_count", 1).add("_v", 1),
            condition: Some(Condition::item_exists()),
        });
        let stored = self
            .store_hit(
                &token,
                message.as_ref(),
                EventKind::Click,
                &hit,
                &verdict,
                count,
                now,
            )
            .await;
        match stored {
            Ok(()) => {}
            // The link is gone (its message was deleted): keep the event all the same.
            Err(RowError::Store(StoreError::ConditionFailed { .. })) => {
                self.store_hit(
                    &token,
                    message.as_ref(),
                    EventKind::Click,
                    &hit,
                    &verdict,
                    None,
                    now,
                )
                .await?;
            }
            Err(e) => return Err(e),
        }
        self.emit(&token, "email.clicked", None, Some(&verdict), || {
            json!({ "link_id": link_id, "url": destination, "clicked_at": crate::rows::timestamp_text(now) })
        })
        .await;
        Ok(Some(destination))
    }
}
