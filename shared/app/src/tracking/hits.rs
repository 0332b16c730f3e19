//! Applying hits: an open or a click classified with its message's recent history, stored
//! with its event row and counts in one commit, once however often its record is applied.

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
    /// live analytics, in one commit. A hit whose event row is already there (its record
    /// applied before) changes nothing.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn store_hit(
        &self,
        token: &Token,
        message: Option<&CountedMessage>,
        kind: EventKind,
        hit: &Hit<'_>,
        verdict: &Verdict,
        also: Option<WriteOp>,
        arrival: &Arrival,
    ) -> Result<Stored, RowError> {
        let event_type = if kind == EventKind::Open {
            "open"
        } else {
            "click"
        };
        let mut ops = self.event_ops(token, event_type, hit, Some(verdict), Some(arrival))?;
        ops.extend(also);
        let written = crate::analytics::on_event_with(
            &self.rows,
            token.owner,
            message,
            kind,
            verdict.is_bot,
            ops,
        )
        .await;
        match written {
            Ok(()) => {}
            Err(RowError::Store(StoreError::ConditionFailed { .. }))
                if self.event_exists(token, &arrival.event_id).await? =>
            {
                return Ok(Stored::Duplicate);
            }
            Err(e) => return Err(e),
        }
        self.metrics.count(
            "TrackingHits",
            &[("kind", event_type), ("class", verdict.class.as_str())],
            1,
        );
        Ok(Stored::New)
    }

    async fn event_exists(&self, token: &Token, event_id: &str) -> Result<bool, RowError> {
        Ok(self
            .rows
            .get_raw(
                &schema::EMAIL_EVENTS,
                Some(&token.owner.to_string()),
                event_id,
            )
            .await?
            .is_some())
    }

    /// The actions that store one hit as an `email_events` row: with the arrival's id and
    /// time, or a fresh id at the clock's time.
    pub(super) fn event_ops(
        &self,
        token: &Token,
        event_type: &str,
        hit: &Hit<'_>,
        verdict: Option<&Verdict>,
        arrival: Option<&Arrival>,
    ) -> Result<Vec<WriteOp>, RowError> {
        let events = &schema::EMAIL_EVENTS;
        // Ids ordered by the hit's time: the message's index then reads its recent hits alone.
        let id = match arrival {
            Some(arrival) => arrival.event_id.clone(),
            None => event_id_at(self.clock.now()),
        };
        let row = crate::rows::to_row(&EmailEventRow {
            id: Some(id),
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
            created_at: arrival.map(|arrival| crate::rows::timestamp_text(arrival.at)),
        })?;
        let prepared = self.rows.prepare(events, row)?;
        self.rows
            .insert_ops(events, Some(&token.owner.to_string()), &prepared, false)
    }

    /// Classifies and stores one journalled hit of a resolved token, as it happened.
    pub(super) async fn apply_hit(
        &self,
        token: &Token,
        record: &HitRecord,
    ) -> Result<HitOutcome, RowError> {
        let arrival = Arrival {
            at: record.at,
            // Records spooled by earlier versions carry no id: one is chosen now.
            event_id: record
                .event_id
                .clone()
                .unwrap_or_else(|| event_id_at(record.at)),
        };
        let mut hit = record.hit();
        match record.kind {
            RecordKind::Open if token.kind == "open" => {
                hit.kind = Some(HitKind::Open);
                self.apply_open(token, hit, &arrival).await
            }
            RecordKind::Click if token.kind == "click" => {
                hit.kind = Some(HitKind::Click);
                self.apply_click(token, hit, &arrival).await
            }
            _ => Ok(HitOutcome::NotTracked),
        }
    }

    async fn apply_open(
        &self,
        token: &Token,
        mut hit: Hit<'_>,
        arrival: &Arrival,
    ) -> Result<HitOutcome, RowError> {
        let now = arrival.at;
        let (verdict, message) = self.classify(token, &mut hit, now).await;
        tracing::debug!(
            reason = verdict.reason,
            class = verdict.class.as_str(),
            "open classified"
        );
        let stored = self
            .store_hit(
                token,
                message.as_ref(),
                EventKind::Open,
                &hit,
                &verdict,
                None,
                arrival,
            )
            .await?;
        if stored == Stored::Duplicate {
            return Ok(HitOutcome::Duplicate);
        }
        self.emit(
            token,
            "email.opened",
            Some(&arrival.event_id),
            Some(&verdict),
            || json!({ "opened_at": crate::rows::timestamp_text(now) }),
        )
        .await;
        Ok(HitOutcome::Stored(verdict))
    }

    /// A click: the link's click count added to atomically with the classified event.
    async fn apply_click(
        &self,
        token: &Token,
        mut hit: Hit<'_>,
        arrival: &Arrival,
    ) -> Result<HitOutcome, RowError> {
        // A honeypot has no link row (it counts in no link's clicks); every other click does.
        let link_id = token.link_id.clone();
        if link_id.is_none() && !token.honeypot {
            return Ok(HitOutcome::NotTracked);
        }
        let now = arrival.at;
        let (verdict, message) = self.classify(token, &mut hit, now).await;
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
                token,
                message.as_ref(),
                EventKind::Click,
                &hit,
                &verdict,
                count,
                arrival,
            )
            .await;
        let stored = match stored {
            Ok(stored) => stored,
            // The link is gone (its message was deleted): keep the event all the same.
            Err(RowError::Store(StoreError::ConditionFailed { .. })) => {
                self.store_hit(
                    token,
                    message.as_ref(),
                    EventKind::Click,
                    &hit,
                    &verdict,
                    None,
                    arrival,
                )
                .await?
            }
            Err(e) => return Err(e),
        };
        if stored == Stored::Duplicate {
            return Ok(HitOutcome::Duplicate);
        }
        let destination = token.destination.clone();
        self.emit(token, "email.clicked", Some(&arrival.event_id), Some(&verdict), || {
            json!({ "link_id": link_id, "url": destination, "clicked_at": crate::rows::timestamp_text(now) })
        })
        .await;
        Ok(HitOutcome::Stored(verdict))
    }
}
