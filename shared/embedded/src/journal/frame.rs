//! One record on disk: its length, its CRC-32 and its bytes. A frame whose length runs past
//! the file or whose CRC does not match is where a crash cut a write short: everything from
//! there on was never acknowledged (a record is answered only after its fsync).

/// Length (u32 LE) + CRC-32 (u32 LE).
pub(super) const HEADER: usize = 8;
/// A record larger than this is refused (a tracking hit is a few hundred bytes).
pub(super) const MAX_RECORD: usize = 64 * 1024;

pub(super) fn encode(record: &[u8], into: &mut Vec<u8>) {
    // MAX_RECORD keeps the length inside u32.
    let len = u32::try_from(record.len()).unwrap_or(u32::MAX);
    into.extend_from_slice(&len.to_le_bytes());
    into.extend_from_slice(&crc32fast::hash(record).to_le_bytes());
    into.extend_from_slice(record);
}

/// The record starting at `bytes[0]` and the length of its frame, or None when the bytes do
/// not hold a whole, intact frame.
pub(super) fn decode(bytes: &[u8]) -> Option<(&[u8], usize)> {
    let len = u32::from_le_bytes(bytes.get(0..4)?.try_into().ok()?) as usize;
    let crc = u32::from_le_bytes(bytes.get(4..8)?.try_into().ok()?);
    if len > MAX_RECORD {
        return None;
    }
    let record = bytes.get(HEADER..HEADER + len)?;
    (crc32fast::hash(record) == crc).then_some((record, HEADER + len))
}

/// How many bytes from the start hold whole, intact frames.
pub(super) fn valid_prefix(bytes: &[u8]) -> usize {
    let mut at = 0;
    while let Some((_, len)) = decode(&bytes[at..]) {
        at += len;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Records come back as written; any cut or flipped byte ends the valid prefix at
        /// the damaged frame, never later, and never panics.
        #[test]
        fn frames_round_trip_and_damage_ends_the_valid_prefix(
            records in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 1..20),
            cut in any::<prop::sample::Index>(),
            flip in any::<prop::sample::Index>(),
        ) {
            let mut bytes = Vec::new();
            let mut ends = Vec::new();
            for record in &records {
                encode(record, &mut bytes);
                ends.push(bytes.len());
            }
            prop_assert_eq!(valid_prefix(&bytes), bytes.len());
            let mut at = 0;
            for record in &records {
                let (decoded, len) = decode(&bytes[at..]).expect("an intact frame");
                prop_assert_eq!(decoded, record.as_slice());
                at += len;
            }
            let cut = cut.index(bytes.len());
            let prefix = valid_prefix(&bytes[..cut]);
            prop_assert!(prefix <= cut);
            prop_assert!(prefix == 0 || ends.contains(&prefix));
            let mut damaged = bytes.clone();
            let flip = flip.index(damaged.len());
            damaged[flip] ^= 0x5a;
            let prefix = valid_prefix(&damaged);
            let damaged_frame_start = ends.iter().copied().filter(|end| *end <= flip).max().unwrap_or(0);
            prop_assert!(prefix <= damaged_frame_start);
        }
    }
}
