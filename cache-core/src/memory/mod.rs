//! [`MemoryBackend`]: the embedded default, no server needed.

mod builder;
mod cell_key;
mod expiry;
mod locks;
mod pubsub;
mod rate_limit;
mod scan;
mod store;
mod structures;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

pub use builder::MemoryBackendBuilder;

use crate::backend::check_ttl;
use crate::key::glob_match;
use crate::lock::Wakeups;
use crate::structures::{KeyScan, PubSubStore, StructureStore};
use crate::util::clock::Instant;
use crate::{
    CacheBackend, KeyTtl, LocalEntry, LocalValues, LockStore, RateLimitDecision, RateLimitPolicy,
    RateLimitStore, Result, SharedValue,
};
use expiry::ExpiryQueue;
use locks::Locks;
use pubsub::Channels;
use rate_limit::Limiters;
use store::{Store, StoredKey};

/// One stored value: the bytes every reader can see, the decoded value the macro runtime
/// stored beside them (if any), and when it expires.
struct Entry {
    bytes: Bytes,
    shared: Option<SharedValue>,
    expires_at: Option<Instant>,
}

impl Entry {
    fn new(bytes: Bytes, shared: Option<SharedValue>, ttl: Option<Duration>) -> Self {
        Self {
            bytes,
            shared,
            expires_at: ttl.map(|ttl| Instant::now() + ttl),
        }
    }

    fn is_live(&self, now: Instant) -> bool {
        self.expires_at.is_none_or(|at| at > now)
    }
}

/// Weighs an entry as 1 (an entry bound) or as its approximate size in bytes (a byte bound).
#[derive(Clone)]
struct EntryWeighter {
    by_bytes: bool,
}

/// Rough per-entry bookkeeping cost, so that a byte bound also bounds many tiny entries.
const ENTRY_OVERHEAD: u64 = 64;

impl quick_cache::Weighter<StoredKey, Entry> for EntryWeighter {
    fn weight(&self, key: &StoredKey, entry: &Entry) -> u64 {
        if self.by_bytes {
            (key.as_str().len() + entry.bytes.len()) as u64 + ENTRY_OVERHEAD
        } else {
            1
        }
    }
}

/// The in-memory backend: sharded, bounded, with per-entry TTL.
///
/// - **No global lock.** Entries live in [`quick_cache`] shards, each behind its own lock; a
///   read takes one shard's read lock and looks at the entry in place, a write one shard's
///   write lock.
/// - **Bounded.** At most [`max_entries`](MemoryBackendBuilder::max_entries) entries (default
///   100 000), or [`max_bytes`](MemoryBackendBuilder::max_bytes) of keys and values. Past the
///   bound, quick_cache's S3-FIFO-style policy evicts cold entries first.
/// - **Expiry.** Each entry has its own TTL, measured on the kernel's coarse monotonic clock
///   (cheap enough to read on every hit; an entry may outlive its TTL by a few milliseconds).
///   With the `test-util` feature TTLs are measured on tokio's clock instead, so tests can
///   pause and advance time. An expired entry is never returned; it is reclaimed by later
///   writes, which each remove a few due entries from a time-ordered queue (no full scan), or
///   at once by [`purge_expired`](Self::purge_expired).
/// - **Atomic.** `increment`, `set_if_absent` and `expire` are read-modify-write operations
///   under the key's shard lock.
/// - **Typed fast path.** Values stored by the macro runtime keep their decoded form beside
///   their JSON bytes, so an in-process hit is a clone of an `Arc`, never a decode.
/// - **Capabilities.** [`local`](CacheBackend::local) (decoded values, the macros' hit path),
///   [`rate_limits`](CacheBackend::rate_limits), [`locks`](CacheBackend::locks) (leases
///   and fences in a table apart from the values; waiters are woken by releases),
///   [`structures`](CacheBackend::structures), [`pubsub`](CacheBackend::pubsub) and
///   [`key_scan`](CacheBackend::key_scan).
/// - **Data structures.** Queues, hashes, sorted sets and sets live in a sharded table of
///   their own, which the entry bound never evicts from (a queue does not lose items to the
///   cache's bound), and share one key space with the values, as in Redis: `exists`, `ttl`,
///   `expire`, the deletes, [`clear`](CacheBackend::clear), [`len`](Self::len),
///   [`purge_expired`](Self::purge_expired) and key scans see them; `set` over one replaces
///   it; an operation of the wrong kind on a key (a set operation on a plain value, `get` or
///   `increment` of a queue) is [`WrongType`](crate::ErrorKind::WrongType), changing
///   nothing. Each [`Op`](crate::structures::Op) is atomic on its key (it runs under the
///   key's locks); a structure left empty is removed; an expired one is invisible at once and
///   reclaimed on access, as its shard grows, or by `purge_expired`. While no structure
///   exists, value operations pay one relaxed atomic load for all this, and a hit nothing.
///   Costs: O(1) per value for queues, hashes and sets; O(log n) per member for sorted-set
///   writes, O(rank) for a rank and O(start + k) for a range by rank (a `BTreeSet` keeps
///   no ranks). A pop with a deadline is woken by pushes, never polls.
/// - **Pub/sub.** Within the process: a tokio `broadcast` channel per channel name, 1024
///   messages deep; a subscriber that falls further behind skips the oldest with one warning.
/// - **Key scans.** Whole shards of the values, then the structures, then the limiters, per
///   page: a key present for the whole scan is listed.
/// - **Rate limiting.** [`rate_limit`](RateLimitStore::rate_limit) keeps each key's limiter
///   state apart from cached values, updated in place under a shard lock, and answers at once
///   through [`try_rate_limit`](RateLimitStore::try_rate_limit). Limiter state lasts until the
///   limiter is full again; [`exists`](CacheBackend::exists), [`ttl`](CacheBackend::ttl),
///   the deletes, [`clear`](CacheBackend::clear), [`len`](Self::len) and
///   [`purge_expired`](Self::purge_expired) see it, as they would a Redis key; `get` and the
///   writes of values do not. At most
///   [`max_rate_limit_keys`](MemoryBackendBuilder::max_rate_limit_keys) keys hold limiter
///   state at once; past that, a new key drops (resets) one of the limiters nearest to
///   expiry: the nearest among 8 sampled from its shard.
///
/// Cloning a `MemoryBackend` gives another handle to the same store.
///
/// ```
/// use cache_core::{Bytes, CacheBackend, MemoryBackend};
/// use std::time::Duration;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> cache_core::Result<()> {
/// let cache = MemoryBackend::builder().max_entries(1_000).build();
/// cache.set("greeting", Bytes::from_static(b"hello"), Some(Duration::from_secs(60))).await?;
/// assert_eq!(cache.get("greeting").await?.as_deref(), Some(&b"hello"[..]));
/// assert_eq!(cache.increment("visits", 1).await?, 1);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct MemoryBackend {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    expiry: ExpiryQueue,
    limiters: Limiters,
    locks: Locks,
    /// Queues, hashes, sorted sets and sets: never evicted, unlike `store`.
    structures: structures::Table,
    /// Who waits in a pop with a deadline, woken by each push.
    queue_wakeups: Wakeups,
    channels: Channels,
}

impl MemoryBackend {
    /// A backend with the default bound (100 000 entries).
    #[must_use]
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// Configures a backend.
    pub fn builder() -> MemoryBackendBuilder {
        MemoryBackendBuilder::default()
    }

    fn from_store(store: Store, expiry_queue_limit: usize, max_limiters: usize) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                expiry: ExpiryQueue::new(expiry_queue_limit),
                limiters: Limiters::new(max_limiters),
                locks: Locks::default(),
                structures: structures::Table::new(),
                queue_wakeups: Wakeups::default(),
                channels: Channels::default(),
            }),
        }
    }

    /// How many entries are stored, rate limiters, data structures and expired entries not
    /// yet reclaimed included.
    #[must_use]
    pub fn len(&self) -> usize {
        self.inner.store.len() + self.inner.limiters.len() + self.inner.structures.len()
    }

    /// Whether nothing is stored.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Reclaims every expired entry, rate limiter and data structure now. Returns how many
    /// were removed.
    ///
    /// Writes already reclaim a few expired entries each; call this to bound memory in a
    /// process that stops writing, or before reading [`len`](Self::len).
    pub fn purge_expired(&self) -> usize {
        self.inner.reap(usize::MAX)
            + self.inner.limiters.purge_expired()
            + self.inner.structures.purge_expired()
    }

    /// Runs `read` on the live entry under `key`, if there is one.
    #[inline]
    fn live<R>(&self, key: &str, read: impl FnOnce(&Entry) -> R) -> Option<R> {
        self.inner
            .store
            .read(key, |entry| {
                entry.is_live(Instant::now()).then(|| read(entry))
            })
            .flatten()
    }

    /// Removes the value, the structure and the rate limiter under `key`. Returns whether
    /// any was live.
    fn remove(&self, key: &str, now: Instant) -> bool {
        let value = self.remove_value(key, now);
        let structure = self.inner.structures.remove(key);
        self.inner.limiters.remove(key) | value | structure
    }

    fn remove_value(&self, key: &str, now: Instant) -> bool {
        self.inner
            .store
            .remove(key)
            .is_some_and(|entry| entry.is_live(now))
    }

    /// One rate-limit decision, on limiter state kept apart from cached values.
    #[inline]
    fn decide(&self, key: &str, policy: &RateLimitPolicy, cost: u32) -> Result<RateLimitDecision> {
        self.inner
            .limiters
            .decide(key, policy, cost, || self.live(key, |_| ()).is_some())
    }

    /// Stores `entry` under `key`, replacing the value or structure there (Redis `SET`).
    fn insert(&self, key: &str, entry: Entry) {
        let expires_at = entry.expires_at;
        self.inner.store.update(key, |_| {
            // Under the value shard's write lock, so no structure op on the key interleaves.
            if self.inner.structures.in_use() {
                self.inner.structures.remove(key);
            }
            (Some(entry), ())
        });
        self.queue(key, expires_at);
        self.inner.reap(REAP_PER_WRITE);
    }

    /// Queues `key` for reclaiming at `expires_at`, once its entry is stored (the queue drops
    /// keys whose entry does not carry that expiry).
    fn queue(&self, key: &str, expires_at: Option<Instant>) {
        if let Some(at) = expires_at {
            self.inner.expiry.push(at, key, &self.inner.store);
        }
    }

    /// Runs `update` on the live entry under `key` (or `None`) atomically, storing the entry
    /// it returns (if any), under the shard's write lock.
    fn update<T>(
        &self,
        key: &str,
        update: impl FnOnce(Option<&Entry>) -> Result<(Option<Entry>, T)>,
    ) -> Result<T> {
        let now = Instant::now();
        let (outcome, queued) = self.inner.store.update(key, |current| {
            match update(current.filter(|entry| entry.is_live(now))) {
                Ok((next, value)) => {
                    let queued = next.as_ref().and_then(|next| next.expires_at);
                    (next, (Ok(value), queued))
                }
                Err(error) => (None, (Err(error), None)),
            }
        });
        self.queue(key, queued);
        self.inner.reap(REAP_PER_WRITE);
        outcome
    }
}

/// How many due entries each write reclaims; small, so a write's cost stays flat.
const REAP_PER_WRITE: usize = 8;

impl Inner {
    fn reap(&self, max: usize) -> usize {
        self.expiry.reap(Instant::now(), max, |key, at| {
            self.store
                .remove_if(key, |entry| entry.expires_at == Some(at))
        })
    }
}

impl Default for MemoryBackend {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for MemoryBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryBackend")
            .field("len", &self.len())
            .field("capacity", &self.inner.store.capacity())
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl CacheBackend for MemoryBackend {
    async fn get(&self, key: &str) -> Result<Option<Bytes>> {
        match self.live(key, |entry| entry.bytes.clone()) {
            Some(bytes) => Ok(Some(bytes)),
            None => {
                self.refuse_structure(key)?;
                Ok(None)
            }
        }
    }

    async fn set(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> Result<()> {
        check_ttl(ttl)?;
        self.insert(key, Entry::new(value, None, ttl));
        Ok(())
    }

    async fn set_if_absent(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> Result<bool> {
        check_ttl(ttl)?;
        self.update(key, |current| match current {
            Some(_) => Ok((None, false)),
            None if self.inner.structures.kind(key).is_some() => Ok((None, false)),
            None => Ok((Some(Entry::new(value, None, ttl)), true)),
        })
    }

    async fn delete(&self, key: &str) -> Result<bool> {
        Ok(self.remove(key, Instant::now()))
    }

    async fn delete_many(&self, keys: &[&str]) -> Result<u64> {
        let now = Instant::now();
        Ok(keys.iter().filter(|key| self.remove(key, now)).count() as u64)
    }

    async fn exists(&self, key: &str) -> Result<bool> {
        Ok(self.live(key, |_| ()).is_some()
            || self.inner.structures.kind(key).is_some()
            || self.inner.limiters.ttl(key).is_some())
    }

    async fn ttl(&self, key: &str) -> Result<KeyTtl> {
        let now = Instant::now();
        let expires_at = self
            .live(key, |entry| entry.expires_at)
            .or_else(|| self.inner.structures.read(key, |slot| slot.expires_at()));
        Ok(match expires_at {
            None => self
                .inner
                .limiters
                .ttl(key)
                .map_or(KeyTtl::Missing, KeyTtl::ExpiresIn),
            Some(None) => KeyTtl::Persistent,
            Some(Some(at)) => KeyTtl::ExpiresIn(at.saturating_duration_since(now)),
        })
    }

    async fn expire(&self, key: &str, ttl: Duration) -> Result<bool> {
        check_ttl(Some(ttl))?;
        let at = Instant::now() + ttl;
        self.update(key, |current| match current {
            None => Ok((None, self.inner.structures.expire(key, at))),
            Some(entry) => Ok((
                Some(Entry {
                    bytes: entry.bytes.clone(),
                    shared: entry.shared.clone(),
                    expires_at: Some(at),
                }),
                true,
            )),
        })
    }

    async fn increment(&self, key: &str, delta: i64) -> Result<i64> {
        self.add_to(key, delta, None)
    }

    async fn get_many(&self, keys: &[&str]) -> Result<Vec<Option<Bytes>>> {
        Ok(keys
            .iter()
            .map(|key| self.live(key, |entry| entry.bytes.clone()))
            .collect())
    }

    async fn set_many(&self, entries: &[(&str, Bytes)], ttl: Option<Duration>) -> Result<()> {
        check_ttl(ttl)?;
        for (key, value) in entries {
            self.insert(key, Entry::new(value.clone(), None, ttl));
        }
        Ok(())
    }

    async fn delete_pattern(&self, pattern: &str) -> Result<u64> {
        let now = Instant::now();
        let values = self
            .inner
            .store
            .remove_where(|key| glob_match(pattern, key), |entry| entry.is_live(now));
        let structures = self.inner.structures.remove_matching(pattern);
        Ok((values + structures + self.inner.limiters.remove_matching(pattern)) as u64)
    }

    async fn clear(&self) -> Result<()> {
        self.inner.store.clear();
        self.inner.expiry.clear();
        self.inner.limiters.clear();
        self.inner.locks.clear();
        self.inner.structures.clear();
        Ok(())
    }

    async fn ping(&self) -> Result<()> {
        Ok(())
    }

    fn local(&self) -> Option<&dyn LocalValues> {
        Some(self)
    }

    fn rate_limits(&self) -> Option<&dyn RateLimitStore> {
        Some(self)
    }

    fn locks(&self) -> Option<&dyn LockStore> {
        Some(self)
    }

    fn structures(&self) -> Option<&dyn StructureStore> {
        Some(self)
    }

    fn pubsub(&self) -> Option<&dyn PubSubStore> {
        Some(self)
    }

    fn key_scan(&self) -> Option<&dyn KeyScan> {
        Some(self)
    }
}

impl LocalValues for MemoryBackend {
    #[inline]
    fn visit(&self, key: &str, visit: &mut dyn FnMut(LocalEntry<'_>)) {
        self.live(key, |entry| {
            visit(LocalEntry::new(entry.shared.as_deref(), &entry.bytes));
        });
    }

    fn store(
        &self,
        key: &str,
        value: SharedValue,
        encoded: Bytes,
        ttl: Option<Duration>,
    ) -> Result<()> {
        check_ttl(ttl)?;
        self.insert(key, Entry::new(encoded, Some(value), ttl));
        Ok(())
    }
}

#[async_trait]
impl RateLimitStore for MemoryBackend {
    async fn rate_limit(
        &self,
        key: &str,
        policy: &RateLimitPolicy,
        cost: u32,
    ) -> Result<RateLimitDecision> {
        self.decide(key, policy, cost)
    }

    #[inline]
    fn try_rate_limit(
        &self,
        key: &str,
        policy: &RateLimitPolicy,
        cost: u32,
    ) -> Option<Result<RateLimitDecision>> {
        Some(self.decide(key, policy, cost))
    }
}

#[cfg(test)]
mod tests;
