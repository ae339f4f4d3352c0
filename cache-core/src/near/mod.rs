//! A coherent near cache: copies of a remote backend's values kept in process, decoded, for
//! as long as the remote side's invalidations say they are current, and never longer.
//!
//! [`NearStore`] is the in-process half; a backend that can hear about changes to its keys
//! (Redis: RESP3 client tracking, in `cache-redis`) owns one and offers it through
//! [`CacheBackend::near`](crate::CacheBackend::near). The rules it enforces:
//!
//! - **A read is inserted only if nothing invalidated its key while it was in flight.** The
//!   reader takes a [`ReadTicket`] *before* sending its request and hands the reply back
//!   through [`NearStore::finish_read`]; an invalidation of the key (or a flush) that arrived
//!   in between makes the insert a no-op. This closes the race in which an invalidation lands
//!   between a reply and its insert and the old value lives on.
//! - **Nothing is served unless the invalidation source is known to be live.** The owner
//!   calls [`NearStore::set_serving`]`(false)` on any doubt (a disconnect, a missed
//!   heartbeat): that empties the store and refuses every read in flight, and reads bypass it
//!   until the owner has re-established its source and called `set_serving(true)`.
//! - **Bounded**: at most `max_entries` copies, the oldest inserts evicted first; a copy
//!   never outlives the TTL the remote side reported for it.
//!
//! ```
//! use std::time::Duration;
//! use cache_core::Bytes;
//! use cache_core::near::NearStore;
//!
//! let near = NearStore::new(10_000);
//! near.set_serving(true);
//! let ticket = near.begin_read("user:7").expect("serving");
//! near.invalidate("user:7"); // another client wrote the key while our GET was in flight
//! assert!(!near.finish_read(ticket, Bytes::from_static(b"old"), None)); // not kept
//!
//! let ticket = near.begin_read("user:7").expect("serving");
//! assert!(near.finish_read(ticket, Bytes::from_static(b"new"), Some(Duration::from_secs(60))));
//! assert_eq!(near.get("user:7").as_deref(), Some(&b"new"[..]));
//! ```

mod shard;

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;

use self::shard::{Looked, Shard, lock, read};
use crate::backend::capabilities::{LocalEntry, NearValues, SharedValue};
use crate::runtime::stats::Striped;
use crate::util::clock::Instant;

/// Shards of the store; a power of two.
const SHARDS: usize = 64;

/// The in-process tier of a near cache. See the [module](self) documentation.
pub struct NearStore {
    shards: Box<[Shard]>,
    hasher: foldhash::fast::RandomState,
    /// Bumped by every flush: a ticket from before a flush never inserts.
    epoch: AtomicU64,
    serving: AtomicBool,
    flushes: AtomicU64,
    // Striped: every hit counts, and hits on one key from many threads must not contend
    // (the near_hit bench's 64-task group).
    hits: Striped,
    misses: Striped,
    per_shard: usize,
}

impl std::fmt::Debug for NearStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NearStore")
            .field("serving", &self.is_serving())
            .field("max_entries", &(self.per_shard * SHARDS))
            .finish_non_exhaustive()
    }
}

/// A read in flight, taken by [`NearStore::begin_read`] before the request is sent. Dropping
/// it without [`NearStore::finish_read`] (the read failed) inserts nothing.
#[must_use = "a read's reply is kept only through `finish_read`"]
pub struct ReadTicket<'a> {
    store: &'a NearStore,
    key: Box<str>,
    shard: usize,
    epoch: u64,
    /// The shard's invalidation count when the read began.
    seen: u64,
}

impl std::fmt::Debug for ReadTicket<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadTicket")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl Drop for ReadTicket<'_> {
    fn drop(&mut self) {
        lock(&self.store.shards[self.shard]).end_read(&self.key);
    }
}

/// What a [`NearStore`] has done since it was made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct NearStats {
    /// Reads served in process.
    pub hits: u64,
    /// Reads that found no copy (while serving).
    pub misses: u64,
    /// Replies kept.
    pub inserts: u64,
    /// Replies not kept because their key was invalidated (or the store flushed) while they
    /// were in flight.
    pub refused: u64,
    /// Keys invalidated (by the remote side or by this process's own writes).
    pub invalidations: u64,
    /// Times the whole store was emptied (a disconnect, a missed heartbeat, a server flush).
    pub flushes: u64,
    /// Copies evicted to stay within the bound.
    pub evictions: u64,
    /// Copies held now.
    pub entries: u64,
    /// Whether the store serves reads now.
    pub serving: bool,
}

impl NearStore {
    /// A store of at most `max_entries` copies (at least one per shard), not serving until
    /// [`set_serving`](Self::set_serving)`(true)`.
    #[must_use]
    pub fn new(max_entries: usize) -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Shard::default()).collect(),
            hasher: foldhash::fast::RandomState::default(),
            epoch: AtomicU64::new(0),
            serving: AtomicBool::new(false),
            flushes: AtomicU64::new(0),
            hits: Striped::default(),
            misses: Striped::default(),
            per_shard: max_entries.div_ceil(SHARDS).max(1),
        }
    }

    /// Whether reads are served and kept.
    #[must_use]
    pub fn is_serving(&self) -> bool {
        self.serving.load(Ordering::Acquire)
    }

    /// Starts serving (the invalidation source is live from now on) or stops (it may have
    /// missed something). Either way the store is emptied and every read in flight is
    /// refused: what was read before the source was known live cannot be trusted.
    pub fn set_serving(&self, serving: bool) {
        self.flush();
        self.serving.store(serving, Ordering::Release);
    }

    /// Empties the store and refuses every read in flight (a server-side flush, for
    /// instance), and goes on serving as before.
    pub fn flush(&self) {
        // The epoch moves first: a read finishing between the two steps is refused by the
        // epoch, or inserted before its shard is cleared.
        self.epoch.fetch_add(1, Ordering::AcqRel);
        for shard in &*self.shards {
            lock(shard).clear();
        }
        self.flushes.fetch_add(1, Ordering::Relaxed);
    }

    /// Drops the copy of `key` and refuses the reads of it in flight. For invalidations from
    /// the remote side, and for this process's own writes (before the write is sent, and again
    /// once it is answered).
    pub fn invalidate(&self, key: &str) {
        let shard = self.shard_of(key);
        lock(&self.shards[shard]).invalidate(key);
    }

    /// Takes a ticket for a read of `key` about to be sent, or `None` while not serving (the
    /// read then bypasses the store).
    pub fn begin_read(&self, key: &str) -> Option<ReadTicket<'_>> {
        if !self.is_serving() {
            return None;
        }
        let shard = self.shard_of(key);
        let epoch = self.epoch.load(Ordering::Acquire);
        let seen = lock(&self.shards[shard]).begin_read(key);
        Some(ReadTicket {
            store: self,
            key: key.into(),
            shard,
            epoch,
            seen,
        })
    }

    /// Keeps `bytes`, the reply of `ticket`'s read, for at most `ttl` (`None`: the key has no
    /// expiry) — unless the key was invalidated, the store flushed or serving stopped since
    /// the ticket was taken. Returns whether it was kept.
    pub fn finish_read(&self, ticket: ReadTicket<'_>, bytes: Bytes, ttl: Option<Duration>) -> bool {
        let expires = ttl.map(|ttl| Instant::now() + ttl);
        let mut shard = lock(&self.shards[ticket.shard]);
        let current = self.is_serving() && self.epoch.load(Ordering::Acquire) == ticket.epoch;
        shard.finish_read(
            &ticket.key,
            ticket.seen,
            current,
            bytes,
            expires,
            self.per_shard,
        )
    }

    /// The bytes of the current copy of `key`, if the store holds one and is serving.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<Bytes> {
        let mut found = None;
        self.visit(key, &mut |entry| found = Some(entry.bytes.clone()));
        found
    }

    /// What the store has done so far.
    #[must_use]
    pub fn stats(&self) -> NearStats {
        let mut stats = NearStats {
            hits: self.hits.sum(),
            misses: self.misses.sum(),
            flushes: self.flushes.load(Ordering::Relaxed),
            serving: self.is_serving(),
            ..NearStats::default()
        };
        for shard in &*self.shards {
            read(shard).add_stats(&mut stats);
        }
        stats
    }

    fn shard_of(&self, key: &str) -> usize {
        (self.hasher.hash_one(key) >> 32) as usize % SHARDS
    }
}

impl NearValues for NearStore {
    fn visit(&self, key: &str, visit: &mut dyn FnMut(LocalEntry<'_>)) {
        if !self.is_serving() {
            return;
        }
        let shard = &self.shards[self.shard_of(key)];
        let looked = read(shard).visit(key, visit);
        match looked {
            Looked::Served => self.hits.add(1),
            Looked::Missing => self.misses.add(1),
            Looked::Expired => {
                lock(shard).remove_expired(key);
                self.misses.add(1);
            }
        }
    }

    fn remember(&self, key: &str, bytes: &Bytes, value: SharedValue) {
        lock(&self.shards[self.shard_of(key)]).remember(key, bytes, value);
    }
}

#[cfg(test)]
mod tests;
