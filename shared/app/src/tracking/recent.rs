//! A message's recent hits as the history rules read them: the store's answer to "the
//! message's newest hits since a minute before", and — for a batch — that answer kept up to
//! date in memory as the batch's own hits are judged, so every hit of the batch sees exactly
//! what a read of the store just before it would have returned.

use chrono::{DateTime, SubsecRound, Utc};
use scaliyo_domain::tracking::{HitKind, PastHit};
use scaliyo_store::Item;

use super::{HISTORY_LIMIT, HISTORY_SECONDS, id_bound};

/// One stored (or about to be stored) hit of the message.
#[derive(Debug, Clone)]
struct KnownHit {
    /// The `email_events` id: a UUID v7 of the hit's time, the index's sort order.
    id: String,
    at: DateTime<Utc>,
    kind: HitKind,
    link_id: Option<String>,
    ip: Option<std::net::IpAddr>,
}

impl KnownHit {
    fn from_item(item: &Item) -> Option<Self> {
        let kind = match item.str("event_type")? {
            "open" => HitKind::Open,
            "click" => HitKind::Click,
            _ => return None,
        };
        let at = DateTime::parse_from_rfc3339(item.str("created_at")?).ok()?;
        Some(Self {
            id: item.str("id")?.to_owned(),
            at: at.with_timezone(&Utc),
            kind,
            link_id: item.str("link_id").map(str::to_owned),
            ip: item.str("ip_address").and_then(|ip| ip.parse().ok()),
        })
    }

    /// This hit as a past hit of one at `now`, when it is of the last minute.
    fn past(&self, now: DateTime<Utc>) -> Option<PastHit> {
        let seconds_before = (now - self.at).num_seconds();
        (0..=HISTORY_SECONDS)
            .contains(&seconds_before)
            .then(|| PastHit {
                seconds_before,
                kind: self.kind,
                link_id: self.link_id.clone(),
                ip: self.ip,
            })
    }
}

/// An `email_events` item as a past hit of one at `now`, when it is of the last minute.
pub(super) fn past_hit(item: &Item, now: DateTime<Utc>) -> Option<PastHit> {
    KnownHit::from_item(item)?.past(now)
}

/// Hits of one message, ordered by id (oldest first).
#[derive(Debug, Clone, Default)]
pub(crate) struct RecentHits {
    hits: Vec<KnownHit>,
}

impl RecentHits {
    /// From `email_events` items of one message (unsubscribes and unreadable items are not
    /// hits the rules look at).
    pub(super) fn from_items(items: &[Item]) -> Self {
        let mut recent = Self::default();
        for known in items.iter().filter_map(KnownHit::from_item) {
            recent.insert(known);
        }
        recent
    }

    /// A hit of the batch, as it will be stored (its time at the stored precision, so the
    /// rules see the same seconds as when it is read back).
    pub(super) fn add(
        &mut self,
        id: &str,
        at: DateTime<Utc>,
        kind: HitKind,
        link_id: Option<&str>,
        ip: Option<std::net::IpAddr>,
    ) {
        self.insert(KnownHit {
            id: id.to_owned(),
            // `created_at` keeps microseconds (`timestamp_text`).
            at: at.trunc_subsecs(6),
            kind,
            link_id: link_id.map(str::to_owned),
            ip,
        });
    }

    fn insert(&mut self, hit: KnownHit) {
        let at = self.hits.partition_point(|known| known.id < hit.id);
        self.hits.insert(at, hit);
    }

    /// Whether any of these ids is already known (a batch applied before, in part).
    pub(super) fn holds_any<'i>(&self, mut ids: impl Iterator<Item = &'i str>) -> bool {
        ids.any(|id| self.hits.iter().any(|known| known.id == id))
    }

    /// What the store's history read at `now` answers: the newest hits whose ids are from a
    /// minute before `now` on (at most [`HISTORY_LIMIT`]), those of the last minute as past
    /// hits, newest first.
    pub(super) fn before(&self, now: DateTime<Utc>) -> Vec<PastHit> {
        let bound = id_bound(now - chrono::Duration::seconds(HISTORY_SECONDS));
        self.hits
            .iter()
            .rev()
            .take_while(|known| known.id.as_str() > bound.as_str())
            .take(HISTORY_LIMIT as usize)
            .filter_map(|known| known.past(now))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tracking::event_id_at;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap_or_default()
    }

    #[test]
    fn the_history_is_the_last_minute_newest_first_at_most_the_limit() {
        let mut recent = RecentHits::default();
        for second in [0, 10, 20, 30, 31, 32, 33, 34, 35, 36, 37] {
            recent.add(
                &event_id_at(at(second)),
                at(second),
                HitKind::Open,
                None,
                None,
            );
        }
        let history = recent.before(at(65));
        let seconds: Vec<i64> = history.iter().map(|h| h.seconds_before).collect();
        // The 8 newest ids; of those, the hit at 0 s is more than a minute back (not among
        // them anyway) and the one at 10 s is not among the 8 newest either.
        assert_eq!(seconds, vec![28, 29, 30, 31, 32, 33, 34, 35]);
        assert!(recent.before(at(200)).is_empty());
    }

    #[test]
    fn a_later_hit_known_from_a_replay_is_read_but_not_a_past_hit() {
        let mut recent = RecentHits::default();
        let later = event_id_at(at(50));
        recent.add(&later, at(50), HitKind::Click, Some("link"), None);
        assert!(recent.before(at(40)).is_empty());
        assert!(recent.holds_any([later.as_str()].into_iter()));
        assert!(!recent.holds_any(["another"].into_iter()));
    }
}
