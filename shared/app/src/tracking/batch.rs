//! One message's hits applied together. Hit at a time, each hit costs a read of the
//! message's recent hits, a read of the message and a commit; here the recent hits and the
//! message are read once, every hit is judged in arrival order against what a read just
//! before it would have answered (the read plus the batch's hits judged so far), and the
//! hits are stored in as few commits as a transaction holds: their event rows, each link's
//! clicks summed, the day's counters summed, the first-event flags once.
//!
//! A commit whose condition does not hold leaves nothing behind — hits of the batch stored
//! before (a replay), the message deleted, a link gone, a first flag set meanwhile — and the
//! rest of the message's hits are then applied one at a time, which handles each of those.

use std::collections::BTreeMap;

use scaliyo_store::table::MAX_TRANSACTION_ITEMS;

use super::hits::{FirstLook, click_count_op, event_type, tracked_kind};
use super::*;
use crate::analytics::MessageTally;

/// A hit judged, waiting for its commit.
struct Judged {
    /// Its place in the message's group.
    index: usize,
    token: Arc<Token>,
    kind: HitKind,
    arrival: Arrival,
    verdict: Verdict,
}

/// The actions of one commit being assembled (the day's counters and first flags are added
/// from the tally when it is committed).
#[derive(Default)]
struct Commit {
    events: Vec<WriteOp>,
    /// Clicks per link id.
    clicks: BTreeMap<String, i64>,
    judged: Vec<Judged>,
}

/// At most this many actions of a commit are the tally's (counters, flags, active owners).
const TALLY_ACTIONS: usize = 3;

impl Commit {
    /// Whether a hit with `events` event actions and a click on `link` still fits.
    fn fits(&self, events: usize, link: Option<&str>) -> bool {
        let new_link = link.is_some_and(|link| !self.clicks.contains_key(link));
        self.events.len() + events + self.clicks.len() + usize::from(new_link) + TALLY_ACTIONS
            <= MAX_TRANSACTION_ITEMS
    }

    /// The commit's actions (its event rows move into them: a commit is written once).
    fn take_ops(&mut self, owner: OwnerId, tally: Option<&MessageTally>) -> Vec<WriteOp> {
        let mut ops = std::mem::take(&mut self.events);
        ops.extend(
            self.clicks
                .iter()
                .map(|(link_id, clicks)| click_count_op(owner, link_id, *clicks)),
        );
        ops.extend(tally.map(MessageTally::ops).unwrap_or_default());
        ops
    }
}

impl Tracking {
    /// Applies one message's hits (arrival order), as [`Tracking::apply_hit`] would one after
    /// the other.
    pub(super) async fn apply_message(
        &self,
        group: &[(Arc<Token>, HitRecord)],
    ) -> Result<Vec<HitOutcome>, RowError> {
        let (Some((token, _)), Some(first_at)) = (
            group.first(),
            group.iter().map(|(_, record)| record.at).min(),
        ) else {
            return Ok(Vec::new());
        };
        let mut recent = self.recent_hits(token, first_at).await;
        if recent.holds_any(group.iter().filter_map(|(_, r)| r.event_id.as_deref())) {
            // Applied before, at least in part: each hit finds out for itself.
            return self.apply_one_by_one(group).await;
        }
        let mut message: Option<Option<CountedMessage>> = None;
        let mut tally: Option<MessageTally> = None;
        let mut outcomes: Vec<HitOutcome> = Vec::with_capacity(group.len());
        let mut commit = Commit::default();
        // Where the group goes on one hit at a time, when a commit's condition failed.
        let mut fall_back_from = None;
        for (index, (token, record)) in group.iter().enumerate() {
            let Some(kind) = tracked_kind(token, record) else {
                outcomes.push(HitOutcome::NotTracked);
                continue;
            };
            let arrival = Arrival::of(record);
            let mut hit = record.hit();
            hit.kind = Some(kind);
            hit.seconds_since_sent = match token.sent_at {
                Some(sent_at) => Some(arrival.at.timestamp() - sent_at),
                None => Self::seconds_since_sent(
                    self.message_once(token, &mut message).await,
                    arrival.at,
                ),
            };
            let verdict = match self.first_look(token, &hit) {
                FirstLook::Final(verdict) => verdict,
                FirstLook::NeedsHistory(first) => {
                    self.with_history(token, &hit, first, &recent.before(arrival.at))
                }
            };
            let (stored_type, counted_kind) = event_type(kind);
            let events =
                self.event_ops(token, stored_type, &hit, Some(&verdict), Some(&arrival))?;
            let link = token.link_id.as_deref().filter(|_| kind == HitKind::Click);
            if !commit.fits(events.len(), link) {
                fall_back_from = self
                    .commit(&mut commit, tally.as_mut(), &mut outcomes)
                    .await?;
                if fall_back_from.is_some() {
                    break;
                }
            }
            if !verdict.is_bot
                && let Some(counted) = self.message_once(token, &mut message).await
            {
                tally
                    .get_or_insert_with(|| MessageTally::new(token.owner, counted.clone()))
                    .count(counted_kind);
            }
            recent.add(&arrival.event_id, arrival.at, kind, link, hit.ip);
            commit.events.extend(events);
            if let Some(link) = link {
                *commit.clicks.entry(link.to_owned()).or_default() += 1;
            }
            // Its outcome is settled by the commit (a placeholder until then).
            outcomes.push(HitOutcome::NotTracked);
            commit.judged.push(Judged {
                index,
                token: token.clone(),
                kind,
                arrival,
                verdict,
            });
        }
        if fall_back_from.is_none() {
            fall_back_from = self
                .commit(&mut commit, tally.as_mut(), &mut outcomes)
                .await?;
        }
        if let Some(start) = fall_back_from {
            outcomes.truncate(start);
            outcomes.extend(self.apply_one_by_one(&group[start..]).await?);
        }
        Ok(outcomes)
    }

    /// Writes one commit's hits, then counts and announces them and settles their outcomes;
    /// the commit starts empty again. A condition unmet (nothing written) answers the group
    /// index its hits start at, from where the group is applied one hit at a time.
    async fn commit(
        &self,
        commit: &mut Commit,
        tally: Option<&mut MessageTally>,
        outcomes: &mut [HitOutcome],
    ) -> Result<Option<usize>, RowError> {
        let Some((first, owner)) = commit.judged.first().map(|j| (j.index, j.token.owner)) else {
            return Ok(None);
        };
        let ops = commit.take_ops(owner, tally.as_deref());
        // Unsynced: the hits stay in their journal until `apply` has synced the store.
        match self.rows.store().transact_write_unsynced(ops).await {
            Ok(()) => {}
            Err(StoreError::ConditionFailed { .. }) => return Ok(Some(first)),
            Err(error) => return Err(error.into()),
        }
        if let Some(tally) = tally {
            tally.committed();
        }
        for judged in std::mem::take(commit).judged {
            let (stored_type, _) = event_type(judged.kind);
            self.count_stored(stored_type, &judged.verdict);
            self.announce(&judged.token, judged.kind, &judged.arrival, &judged.verdict)
                .await;
            if let Some(outcome) = outcomes.get_mut(judged.index) {
                *outcome = HitOutcome::Stored(judged.verdict);
            }
        }
        Ok(None)
    }

    /// The message, read the first time it is needed.
    async fn message_once<'m>(
        &self,
        token: &Token,
        message: &'m mut Option<Option<CountedMessage>>,
    ) -> Option<&'m CountedMessage> {
        if message.is_none() {
            *message = Some(self.message(token).await);
        }
        message.as_ref().and_then(Option::as_ref)
    }

    /// Hits applied one after the other, each reading what it needs.
    pub(super) async fn apply_one_by_one(
        &self,
        group: &[(Arc<Token>, HitRecord)],
    ) -> Result<Vec<HitOutcome>, RowError> {
        let mut outcomes = Vec::with_capacity(group.len());
        for (token, record) in group {
            outcomes.push(self.apply_hit(token, record).await?);
        }
        Ok(outcomes)
    }
}
