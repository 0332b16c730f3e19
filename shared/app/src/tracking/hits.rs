//! Applying hits: an open or a click classified with its message's recent history, stored
//! with its event row and counts in one commit, once however often its record is applied.

use super::event_row::EmailEventRow;
use super::*;

/// A hit's verdict from the request alone, or the verdict the history may still sharpen.
pub(super) enum FirstLook {
    Final(Verdict),
    NeedsHistory(Verdict),
}

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
        let verdict = match self.first_look(token, hit) {
            FirstLook::Final(verdict) => verdict,
            FirstLook::NeedsHistory(first) => {
                let history = self.history(token, now).await;
                self.with_history(token, hit, first, &history)
            }
        };
        if !verdict.is_bot && message.is_none() {
            message = self.message(token).await;
        }
        (verdict, message)
    }

    /// The request's own rules first: only a hit that still looks human (or probably a
    /// machine) costs the read of its message's recent hits.
    pub(super) fn first_look(&self, token: &Token, hit: &Hit<'_>) -> FirstLook {
        if token.honeypot {
            let context = Context {
                honeypot: true,
                ..Context::default()
            };
            return FirstLook::Final(self.rules.judge(hit, &context));
        }
        let first = self.rules.classify(hit);
        if first.class == Class::Machine {
            FirstLook::Final(first)
        } else {
            FirstLook::NeedsHistory(first)
        }
    }

    /// The history step on a [`FirstLook::NeedsHistory`] verdict.
    pub(super) fn with_history(
        &self,
        token: &Token,
        hit: &Hit<'_>,
        first: Verdict,
        history: &[PastHit],
    ) -> Verdict {
        let context = Context {
            link_id: token.link_id.as_deref(),
            honeypot: false,
            history,
        };
        self.rules.sharpen(first, hit, &context)
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
        self.count_stored(event_type, verdict);
        Ok(Stored::New)
    }

    /// `TrackingHits` by kind and class, for a hit newly stored.
    pub(super) fn count_stored(&self, event_type: &str, verdict: &Verdict) {
        self.metrics.count(
            "TrackingHits",
            &[("kind", event_type), ("class", verdict.class.as_str())],
            1,
        );
    }

    /// Tells the owner's webhooks and workflows about a newly stored hit (people's only).
    pub(super) async fn announce(
        &self,
        token: &Token,
        kind: HitKind,
        arrival: &Arrival,
        verdict: &Verdict,
    ) {
        let at = crate::rows::timestamp_text(arrival.at);
        match kind {
            HitKind::Open => {
                self.emit(token, "email.opened", Some(&arrival.event_id), Some(verdict), || {
                    json!({ "opened_at": at })
                })
                .await
            }
            HitKind::Click => {
                self.emit(token, "email.clicked", Some(&arrival.event_id), Some(verdict), || {
                    json!({ "link_id": token.link_id, "url": token.destination, "clicked_at": at })
                })
                .await
            }
        }
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
        let arrival = Arrival::of(record);
        let Some(kind) = tracked_kind(token, record) else {
            return Ok(HitOutcome::NotTracked);
        };
        let mut hit = record.hit();
        hit.kind = Some(kind);
        match kind {
            HitKind::Open => self.apply_open(token, hit, &arrival).await,
            HitKind::Click => self.apply_click(token, hit, &arrival).await,
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
        self.announce(token, HitKind::Open, arrival, &verdict).await;
        Ok(HitOutcome::Stored(verdict))
    }

    /// A click: the link's click count added to atomically with the classified event.
    async fn apply_click(
        &self,
        token: &Token,
        mut hit: Hit<'_>,
        arrival: &Arrival,
    ) -> Result<HitOutcome, RowError> {
        let (verdict, message) = self.classify(token, &mut hit, arrival.at).await;
        // The link's count goes in the hit's own commit.
        let count = token
            .link_id
            .as_deref()
            .map(|link_id| click_count_op(token.owner, link_id, 1));
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
        self.announce(token, HitKind::Click, arrival, &verdict)
            .await;
        Ok(HitOutcome::Stored(verdict))
    }
}

/// What kind of hit a record is for its token, if the token tracks that kind: an open's
/// token for the pixel; a link's (or the honeypot's) for a click — a honeypot has no link
/// row and counts in no link's clicks.
pub(super) fn tracked_kind(token: &Token, record: &HitRecord) -> Option<HitKind> {
    match record.kind {
        RecordKind::Open if token.kind == "open" => Some(HitKind::Open),
        RecordKind::Click
            if token.kind == "click" && (token.link_id.is_some() || token.honeypot) =>
        {
            Some(HitKind::Click)
        }
        _ => None,
    }
}

/// The stored name of a kind of hit, and its kind in the live analytics.
pub(super) fn event_type(kind: HitKind) -> (&'static str, EventKind) {
    match kind {
        HitKind::Open => ("open", EventKind::Open),
        HitKind::Click => ("click", EventKind::Click),
    }
}

/// Adds `clicks` to a link's count, if the link is still there.
pub(super) fn click_count_op(owner: OwnerId, link_id: &str, clicks: i64) -> WriteOp {
    WriteOp::Update {
        key: layout::row_key(&schema::EMAIL_LINKS, Some(&owner.to_string()), link_id),
        update: Update::new().add("click_count", clicks).add("_v", clicks),
        condition: Some(Condition::item_exists()),
    }
}
