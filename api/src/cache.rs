//! A cache of rendered responses (feeds, the public events list). A 1,000-event feed costs tens of milliseconds to read and write;
//! calendar apps ask for the same bytes again and again. An entry is served while nothing has
//! been written through this process since it was built (every request other than `GET`, `HEAD`
//! and `OPTIONS` bumps a generation) and it is younger than [`MAX_AGE`], the bound on how long a
//! change made through another instance can go unseen.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::web::Bytes;

/// How long an entry is trusted without a write in this process.
pub const MAX_AGE: Duration = Duration::from_secs(5);

/// The most bytes of bodies kept; the least recently used entries go first.
pub const MAX_BYTES: usize = 64 * 1024 * 1024;

/// One rendered response.
pub struct Cached {
    /// The strong `ETag`.
    pub etag: String,
    /// `Last-Modified`, formatted, when known.
    pub last_modified: Option<String>,
    /// The body.
    pub body: Bytes,
    generation: u64,
    built: Instant,
}

struct Slot {
    entry: Arc<Cached>,
    used: u64,
}

/// Rendered responses by key, with the write generation they were built at.
#[derive(Default)]
pub struct ResponseCache {
    generation: AtomicU64,
    clock: AtomicU64,
    slots: Mutex<HashMap<String, Slot>>,
}

impl ResponseCache {
    /// Marks every entry stale: called after each request that may have written.
    pub fn bump(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// The generation to build at: read it *before* reading the database, so that a write
    /// landing during the build leaves the entry stale.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// The entry for `key` if it is still fresh.
    pub fn get(&self, key: &str) -> Option<Arc<Cached>> {
        let now = self.generation();
        let tick = self.clock.fetch_add(1, Ordering::Relaxed);
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        let slot = slots.get_mut(key)?;
        if slot.entry.generation != now || slot.entry.built.elapsed() > MAX_AGE {
            slots.remove(key);
            return None;
        }
        slot.used = tick;
        Some(slot.entry.clone())
    }

    /// Keeps a response built at `generation`, evicting the least recently used entries over
    /// [`MAX_BYTES`]. A body larger than a quarter of that is not kept.
    pub fn put(
        &self,
        key: String,
        generation: u64,
        etag: String,
        last_modified: Option<String>,
        body: Bytes,
    ) -> Arc<Cached> {
        let entry = Arc::new(Cached {
            etag,
            last_modified,
            body,
            generation,
            built: Instant::now(),
        });
        if entry.body.len() > MAX_BYTES / 4 || generation != self.generation() {
            return entry;
        }
        let tick = self.clock.fetch_add(1, Ordering::Relaxed);
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        slots.insert(
            key,
            Slot {
                entry: entry.clone(),
                used: tick,
            },
        );
        let mut total: usize = slots.values().map(|s| s.entry.body.len()).sum();
        while total > MAX_BYTES {
            let Some(oldest) = slots.iter().min_by_key(|(_, s)| s.used).map(|(k, _)| k.clone()) else {
                break;
            };
            if let Some(gone) = slots.remove(&oldest) {
                total -= gone.entry.body.len();
            }
        }
        entry
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_served_until_a_write_bumps_the_generation() {
        let cache = ResponseCache::default();
        let at = cache.generation();
        cache.put("a".into(), at, "\"1\"".into(), None, Bytes::from_static(b"body"));
        assert_eq!(cache.get("a").unwrap().body, Bytes::from_static(b"body"));
        cache.bump();
        assert!(cache.get("a").is_none());
    }

    #[test]
    fn an_entry_built_across_a_write_is_not_kept() {
        let cache = ResponseCache::default();
        let at = cache.generation();
        cache.bump();
        cache.put("a".into(), at, "\"1\"".into(), None, Bytes::from_static(b"old"));
        assert!(cache.get("a").is_none());
    }

    #[test]
    fn the_least_recently_used_entries_leave_first_over_the_byte_budget() {
        let cache = ResponseCache::default();
        let at = cache.generation();
        let big = Bytes::from(vec![b'x'; MAX_BYTES / 4]);
        for key in ["a", "b", "c", "d"] {
            cache.put(key.into(), at, String::new(), None, big.clone());
        }
        assert!(cache.get("a").is_some());
        cache.put("e".into(), at, String::new(), None, big);
        assert!(cache.get("a").is_some(), "a was used most recently but one");
        assert!(cache.get("b").is_none(), "b was the least recently used");
    }
}
