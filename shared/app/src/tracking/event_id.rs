//! The ids of `email_events` rows written for hits: UUID v7 of the hit's time (the clock's,
//! not the machine's), so a message's index lists its hits as they happened and the history
//! rules read "since a minute ago" as a key range.
//!
//! Within one millisecond, ids follow the order they were made in (RFC 9562 §6.2, a counter
//! after the time): many hits in one millisecond — a burst, or a test's stopped clock — are
//! then appended to the store's B-trees instead of scattered over them. The rest of the id
//! is random, so ids stay unique across processes.

use std::sync::atomic::{AtomicU32, Ordering};

use chrono::{DateTime, Utc};

/// Bits of the sequence in an id: rand_a's 12, then the byte after the variant's.
const SEQUENCE_BITS: u32 = 20;

/// The next sequence number; starts anywhere so two processes do not make the same ones.
static SEQUENCE: AtomicU32 = AtomicU32::new(0);
static SEEDED: std::sync::Once = std::sync::Once::new();

fn next_sequence() -> u32 {
    SEEDED.call_once(|| SEQUENCE.store(rand::random::<u32>(), Ordering::Relaxed));
    SEQUENCE.fetch_add(1, Ordering::Relaxed) & ((1 << SEQUENCE_BITS) - 1)
}

/// A UUID v7 of `at`, after every id made before it in the same millisecond by this process
/// (until the 20-bit sequence wraps: a million ids, after which the order within that
/// millisecond is arbitrary but every id still unique).
pub(super) fn event_id_at(at: DateTime<Utc>) -> String {
    let sequence = next_sequence();
    // The builder's layout: bytes 0–1 are rand_a (the version takes the top nibble of byte
    // 0), byte 2 begins rand_b (the variant takes its top two bits) — kept zero so that byte
    // 3, the sequence's last eight bits, decides the order next; bytes 4–9 are random.
    let mut bytes = [0u8; 10];
    bytes[0] = (sequence >> 16) as u8 & 0x0f;
    bytes[1] = (sequence >> 8) as u8;
    bytes[3] = sequence as u8;
    rand::fill(&mut bytes[4..]);
    let millis = u64::try_from(at.timestamp_millis()).unwrap_or(0);
    uuid::Builder::from_unix_timestamp_millis(millis, &bytes)
        .into_uuid()
        .to_string()
}

/// The text below every v7 id of `at` or later: its 48-bit millisecond prefix, as the id's
/// text begins (`xxxxxxxx-xxxx`).
pub(super) fn id_bound(at: DateTime<Utc>) -> String {
    let millis = u64::try_from(at.timestamp_millis()).unwrap_or(0);
    format!("{:08x}-{:04x}", millis >> 16, millis & 0xffff)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    #[test]
    fn event_ids_sort_by_the_hits_time_and_the_bound_selects_from_it() {
        let at = at("2026-11-27T09:00:00.500Z");
        let id = event_id_at(at);
        let parsed = uuid::Uuid::parse_str(&id).expect("a uuid");
        assert_eq!(parsed.get_version_num(), 7);
        assert_eq!(parsed.get_variant(), uuid::Variant::RFC4122);
        assert!(id.as_str() > id_bound(at).as_str());
        assert!(id.as_str() < id_bound(at + chrono::Duration::milliseconds(1)).as_str());
        assert!(id.as_str() > id_bound(at - chrono::Duration::seconds(60)).as_str());
        let later = event_id_at(at + chrono::Duration::seconds(1));
        assert!(later > id);
        let earlier = event_id_at(at - chrono::Duration::milliseconds(1));
        assert!(earlier < id, "the time decides before the sequence");
    }

    #[test]
    fn ids_of_one_millisecond_follow_the_order_they_were_made_in_and_are_unique() {
        let at = at("2026-11-27T09:00:00.500Z");
        // Other tests may take sequence numbers meanwhile: the order holds, the gaps vary.
        let ids: Vec<String> = (0..5_000).map(|_| event_id_at(at)).collect();
        let wraps = ids.windows(2).filter(|pair| pair[1] <= pair[0]).count();
        assert!(
            wraps <= 1,
            "in order but for at most one wrap of the sequence"
        );
        let mut distinct = ids.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), ids.len());
    }
}
