//! The identities already seen in a file (duplicates within one import).

use super::*;

/// The identities seen in a file, as 64-bit hashes in a sorted vector plus a small hash set
/// of recent ones (merged in every 64k): 8 bytes an identity, ~16 at a merge's peak, so a
/// million-row file needs tens of MiB, not hundreds. Two different identities share a hash
/// with probability ~n²/2⁶⁵ (under 10⁻⁷ for a million rows); such a row would be reported as
/// `duplicate_in_file`.
#[derive(Default)]
pub(super) struct SeenKeys {
    sorted: Vec<u64>,
    recent: HashSet<u64>,
}

pub(super) const RECENT_KEYS: usize = 1 << 16;

impl SeenKeys {
    pub(super) fn hash(kind: u8, value: &str) -> u64 {
        // SipHash-1-3 with fixed keys: the same in every run and process (resumption relies on it).
        let mut hasher =
            std::hash::BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default()
                .build_hasher();
        hasher.write_u8(kind);
        hasher.write(value.as_bytes());
        hasher.finish()
    }

    pub(super) fn contains(&self, hash: u64) -> bool {
        self.recent.contains(&hash) || self.sorted.binary_search(&hash).is_ok()
    }

    pub(super) fn insert(&mut self, hash: u64) {
        self.recent.insert(hash);
        if self.recent.len() >= RECENT_KEYS {
            let mut fresh: Vec<u64> = self.recent.drain().collect();
            fresh.sort_unstable();
            let mut merged = Vec::with_capacity(self.sorted.len() + fresh.len());
            let (mut a, mut b) = (self.sorted.iter().peekable(), fresh.iter().peekable());
            while let (Some(&&x), Some(&&y)) = (a.peek(), b.peek()) {
                if x <= y {
                    merged.push(x);
                    a.next();
                } else {
                    merged.push(y);
                    b.next();
                }
            }
            merged.extend(a);
            merged.extend(b);
            self.sorted = merged;
            self.recent.shrink_to(RECENT_KEYS);
        }
    }

    /// True if either identity was seen before; records both.
    pub(super) fn check_and_insert(&mut self, draft: &LeadDraft) -> bool {
        let email = draft.email_key.as_deref().map(|e| Self::hash(b'e', e));
        let linkedin = draft.linkedin_key.as_deref().map(|l| Self::hash(b'l', l));
        let seen =
            email.is_some_and(|h| self.contains(h)) || linkedin.is_some_and(|h| self.contains(h));
        if !seen {
            email
                .into_iter()
                .chain(linkedin)
                .for_each(|h| self.insert(h));
        }
        seen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seen_keys_survive_merges() {
        let mut seen = SeenKeys::default();
        let draft = |i: usize| LeadDraft {
            fields: Map::new(),
            email_key: Some(format!("p{i}@x.com")),
            linkedin_key: None,
        };
        for i in 0..(RECENT_KEYS * 3 + 7) {
            assert!(!seen.check_and_insert(&draft(i)), "{i}");
        }
        assert!(seen.sorted.windows(2).all(|w| w[0] <= w[1]));
        for i in (0..(RECENT_KEYS * 3 + 7)).step_by(997) {
            assert!(seen.check_and_insert(&draft(i)), "{i}");
        }
    }

    #[test]
    fn seen_keys_catch_either_identity() {
        let mut seen = SeenKeys::default();
        let draft = |email: Option<&str>, linkedin: Option<&str>| LeadDraft {
            fields: Map::new(),
            email_key: email.map(str::to_owned),
            linkedin_key: linkedin.map(str::to_owned),
        };
        assert!(!seen.check_and_insert(&draft(Some("a@x.com"), None)));
        assert!(seen.check_and_insert(&draft(
            Some("a@x.com"),
            Some("https://www.linkedin.com/in/a")
        )));
        assert!(!seen.check_and_insert(&draft(
            Some("b@x.com"),
            Some("https://www.linkedin.com/in/b")
        )));
        assert!(seen.check_and_insert(&draft(None, Some("https://www.linkedin.com/in/b"))));
    }
}
