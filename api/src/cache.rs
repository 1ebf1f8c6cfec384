//! A cache of rendered responses (feeds, the public events list). A 1,000-event feed costs tens of milliseconds to read and write;
//! calendar apps ask for the same bytes again and again. An entry is served while nothing has
//! been written through this process since it was built (every write that succeeded bumps a
//! generation) and it is younger than [`MAX_AGE`], the bound on how long a change made through
//! another instance can go unseen.
//!
//! The cache is bounded twice: by the bytes it holds (keys and headers included) and by its
//! entry count, so keys made up by a client (a junk filter value per request) cannot grow it.
//! It is `moka`'s concurrent cache: entries expire after [`MAX_AGE`] by themselves, and its
//! TinyLFU admission keeps one-off keys from pushing out the feeds people ask for again.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use actix_web::web::Bytes;
use moka::sync::Cache;
use prometheus_client::metrics::counter::Counter;

/// How long an entry is trusted without a write in this process.
pub const MAX_AGE: Duration = Duration::from_secs(5);

/// The default bound on the bytes kept (bodies, keys and headers).
pub const MAX_BYTES: usize = 64 * 1024 * 1024;

/// The default bound on the number of entries kept.
pub const MAX_ENTRIES: usize = 10_000;

/// What an entry costs besides its key, headers and body: the map's and the entry's own overhead.
const ENTRY_OVERHEAD: usize = 256;

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

/// How full the cache is, for `/metrics`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CacheUsage {
    /// Entries held.
    pub entries: u64,
    /// Bytes held: keys, headers and bodies, each entry counted at least `max_bytes / max_entries`.
    pub bytes: u64,
}

/// Rendered responses by key, with the write generation they were built at.
pub struct ResponseCache {
    generation: AtomicU64,
    entries: Cache<String, Arc<Cached>>,
    max_bytes: usize,
    max_entries: usize,
    hits: Counter,
    misses: Counter,
}

impl Default for ResponseCache {
    fn default() -> Self {
        Self::new(MAX_BYTES, MAX_ENTRIES)
    }
}

impl ResponseCache {
    /// A cache holding at most `max_bytes` (keys included) in at most `max_entries` entries.
    pub fn new(max_bytes: usize, max_entries: usize) -> Self {
        let max_entries = max_entries.max(1);
        // Every entry weighs at least a share of the byte budget, so the byte bound is also an
        // entry-count bound.
        let least = max_bytes.div_ceil(max_entries).max(1);
        let entries = Cache::builder()
            .max_capacity(max_bytes as u64)
            .weigher(move |key: &String, entry: &Arc<Cached>| {
                u32::try_from(weight(key, entry).max(least)).unwrap_or(u32::MAX)
            })
            .time_to_live(MAX_AGE)
            .build();
        Self {
            generation: AtomicU64::new(0),
            entries,
            max_bytes,
            max_entries,
            hits: Counter::default(),
            misses: Counter::default(),
        }
    }

    /// Marks every entry stale: called after each request that wrote (unless its response
    /// carries [`Unchanged`]).
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
        let fresh = self.entries.get(key).filter(|entry| {
            let fresh = entry.generation == self.generation() && entry.built.elapsed() <= MAX_AGE;
            if !fresh {
                self.entries.invalidate(key);
            }
            fresh
        });
        match fresh {
            Some(_) => self.hits.inc(),
            None => self.misses.inc(),
        };
        fresh
    }

    /// Keeps a response built at `generation` (unless a write came since, or its body is larger
    /// than a quarter of the byte budget), evicting others to stay within the bounds.
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
        if weight(&key, &entry) > self.max_bytes / 4 || generation != self.generation() {
            return entry;
        }
        self.entries.insert(key, entry.clone());
        // Evict now rather than at the cache's next housekeeping, so the bounds hold after every
        // insert (this runs on a miss only, beside a database read).
        self.entries.run_pending_tasks();
        entry
    }

    /// How full the cache is now.
    pub fn usage(&self) -> CacheUsage {
        self.entries.run_pending_tasks();
        CacheUsage {
            entries: self.entries.entry_count(),
            bytes: self.entries.weighted_size(),
        }
    }

    /// The bounds: bytes and entries.
    pub fn limits(&self) -> (usize, usize) {
        (self.max_bytes, self.max_entries)
    }

    /// The counters of lookups answered from the cache and not, for `/metrics`.
    pub fn counters(&self) -> (Counter, Counter) {
        (self.hits.clone(), self.misses.clone())
    }
}

/// What an entry costs: its key, headers and body, and a fixed overhead.
fn weight(key: &str, entry: &Cached) -> usize {
    key.len()
        + entry.etag.len()
        + entry.last_modified.as_ref().map_or(0, String::len)
        + entry.body.len()
        + ENTRY_OVERHEAD
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
    fn long_keys_count_against_the_byte_budget() {
        let cache = ResponseCache::new(1024 * 1024, 10_000);
        let at = cache.generation();
        for n in 0..200 {
            let key = format!("events?q={n}{}", "x".repeat(30 * 1024));
            cache.put(key, at, String::new(), None, Bytes::from_static(b"[]"));
        }
        let usage = cache.usage();
        assert!(usage.bytes <= 1024 * 1024, "{usage:?}");
        assert!(usage.entries < 40, "{usage:?}");
    }

    #[test]
    fn the_entry_count_is_bounded_even_for_tiny_entries() {
        let cache = ResponseCache::new(64 * 1024 * 1024, 50);
        let at = cache.generation();
        for n in 0..1_000 {
            cache.put(format!("k{n}"), at, String::new(), None, Bytes::from_static(b"x"));
        }
        assert!(cache.usage().entries <= 50, "{:?}", cache.usage());
    }
}

/// Put in a successful write's response extensions by a handler whose write touches nothing a
/// cached response shows and queues nothing for the worker now (asking for a sign-in link,
/// signing out): the response cache stays as it was. Anyone may post the sign-in form, so without
/// this a stream of such posts would keep every feed uncached.
#[derive(Clone, Copy, Debug)]
pub struct Unchanged;
