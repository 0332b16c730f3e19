//! Resolved tokens kept in memory: a link followed again (or its hit applied) does not read
//! the store. Bounded in size, and in age so a deleted message's links stop resolving soon.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lru::LruCache;

use super::Token;

const CAPACITY: usize = 100_000;
const MAX_AGE: Duration = Duration::from_secs(300);

pub(super) struct TokenCache {
    entries: Mutex<LruCache<String, (Arc<Token>, Instant)>>,
}

impl Default for TokenCache {
    fn default() -> Self {
        Self {
            entries: Mutex::new(LruCache::new(
                NonZeroUsize::new(CAPACITY).unwrap_or(NonZeroUsize::MIN),
            )),
        }
    }
}

impl TokenCache {
    pub(super) fn get(&self, token: &str) -> Option<Arc<Token>> {
        let mut entries = self.entries.lock().ok()?;
        match entries.get(token) {
            Some((found, at)) if at.elapsed() < MAX_AGE => Some(found.clone()),
            Some(_) => {
                entries.pop(token);
                None
            }
            None => None,
        }
    }

    pub(super) fn put(&self, token: &str, found: Arc<Token>) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.put(token.to_owned(), (found, Instant::now()));
        }
    }
}
