//! The sharded map behind [`MemoryBackend`](super::MemoryBackend): quick_cache's S3-FIFO
//! shards, each behind its own read-write lock.
//!
//! Owning the locks (rather than using `quick_cache::sync`) lets a read look at the entry in
//! place under the read lock, so a hit costs no reference count on the entry, and lets the key
//! be hashed once: the hash picks the shard and is stored beside the key, and the shard's table
//! reuses it.

use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use quick_cache::Equivalent;
use quick_cache::unsync::{Cache, DefaultLifecycle};

use super::{Entry, EntryWeighter};
use crate::util::short_bytes;

/// A stored key and its hash.
pub(super) struct StoredKey {
    hash: u64,
    text: Box<str>,
}

impl StoredKey {
    pub(super) fn as_str(&self) -> &str {
        &self.text
    }
}

/// A key being looked up, hashed once by [`Store::probe`].
#[derive(Clone, Copy)]
struct Probe<'a> {
    hash: u64,
    text: &'a str,
}

impl StoredKey {
    fn probe(&self) -> Probe<'_> {
        Probe {
            hash: self.hash,
            text: &self.text,
        }
    }
}

impl Hash for StoredKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.probe().hash(state);
    }
}

impl Hash for Probe<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

impl PartialEq for StoredKey {
    fn eq(&self, other: &Self) -> bool {
        self.probe().equivalent(other)
    }
}

impl Eq for StoredKey {}

impl Equivalent<StoredKey> for Probe<'_> {
    #[inline]
    fn equivalent(&self, key: &StoredKey) -> bool {
        self.hash == key.hash && short_bytes::equal(self.text.as_bytes(), key.text.as_bytes())
    }
}

/// Passes the hash a key carries through to the shard's table.
#[derive(Clone, Copy, Default)]
struct Prehashed;

struct PrehashedHasher(u64);

impl BuildHasher for Prehashed {
    type Hasher = PrehashedHasher;

    fn build_hasher(&self) -> PrehashedHasher {
        PrehashedHasher(0)
    }
}

impl Hasher for PrehashedHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write_u64(&mut self, hash: u64) {
        self.0 = hash;
    }

    /// Keys only ever write their `u64`; anything else is still mixed in rather than lost.
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(byte)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
}

type Map = Cache<StoredKey, Entry, EntryWeighter, Prehashed, DefaultLifecycle<StoredKey, Entry>>;

/// One shard, on its own cache lines so that readers of neighbouring shards do not share one.
#[repr(align(128))]
struct Shard(RwLock<Map>);

/// Each shard should hold at least this many entries, so that eviction stays close to the
/// policy's choice across the whole store.
const MIN_SHARD_ITEMS: u64 = 32;

pub(super) struct Store {
    shards: Box<[Shard]>,
    mask: u64,
    hasher: foldhash::fast::RandomState,
}

impl Store {
    /// A store for about `items` entries of total weight at most `capacity`.
    pub(super) fn new(items: u64, capacity: u64, weighter: EntryWeighter) -> Self {
        let threads = std::thread::available_parallelism().map_or(1, usize::from);
        let mut shards = (threads as u64 * 4).next_power_of_two();
        while shards > 1 && items / shards < MIN_SHARD_ITEMS {
            shards /= 2;
        }
        let per_shard = |total: u64| total.div_ceil(shards).max(1);
        let shard_items = usize::try_from(per_shard(items)).unwrap_or(usize::MAX);
        Self {
            shards: (0..shards)
                .map(|_| {
                    Shard(RwLock::new(Map::with(
                        shard_items,
                        per_shard(capacity),
                        weighter.clone(),
                        Prehashed,
                        DefaultLifecycle::default(),
                    )))
                })
                .collect(),
            mask: shards - 1,
            hasher: foldhash::fast::RandomState::default(),
        }
    }

    #[inline]
    fn probe<'a>(&self, key: &'a str) -> Probe<'a> {
        Probe {
            hash: self.hasher.hash_one(key),
            text: key,
        }
    }

    /// The shard for a hash; the table inside uses the low bits, so the shard takes others.
    #[inline]
    fn shard(&self, probe: Probe<'_>) -> &RwLock<Map> {
        // `mask < shards.len()`, so the index is in bounds.
        let index = (probe.hash.rotate_left(32) & self.mask) as usize;
        &self.shards[index].0
    }

    /// Runs `read` on the entry under `key`, marking it as recently used.
    #[inline]
    pub(super) fn read<R>(&self, key: &str, read: impl FnOnce(&Entry) -> R) -> Option<R> {
        let probe = self.probe(key);
        read_lock(self.shard(probe)).get(&probe).map(read)
    }

    /// Like [`read`](Self::read), without marking the entry as used.
    pub(super) fn peek<R>(&self, key: &str, read: impl FnOnce(&Entry) -> R) -> Option<R> {
        let probe = self.probe(key);
        read_lock(self.shard(probe)).peek(&probe).map(read)
    }

    /// Runs `hold` on the entry under `key` (if any) with the shard locked for reading, so
    /// that no write to the key lands meanwhile; does not mark the entry as used.
    pub(super) fn hold<R>(&self, key: &str, hold: impl FnOnce(Option<&Entry>) -> R) -> R {
        let probe = self.probe(key);
        hold(read_lock(self.shard(probe)).peek(&probe))
    }

    /// Runs `update` on the entry under `key` (if any) with the shard locked for writing, and
    /// stores the entry it returns (if any) in its place.
    pub(super) fn update<R>(
        &self,
        key: &str,
        update: impl FnOnce(Option<&Entry>) -> (Option<Entry>, R),
    ) -> R {
        let probe = self.probe(key);
        let mut map = write_lock(self.shard(probe));
        let (next, outcome) = update(map.peek(&probe));
        if let Some(next) = next {
            let key = StoredKey {
                hash: probe.hash,
                text: key.into(),
            };
            map.insert(key, next);
        }
        outcome
    }

    /// Removes and returns the entry under `key`.
    pub(super) fn remove(&self, key: &str) -> Option<Entry> {
        let probe = self.probe(key);
        let removed = write_lock(self.shard(probe)).remove(&probe);
        removed.map(|(_, entry)| entry)
    }

    /// Removes and returns the entry under `key` if `condition` holds for it.
    pub(super) fn take_if(
        &self,
        key: &str,
        condition: impl FnOnce(&Entry) -> bool,
    ) -> Option<Entry> {
        let probe = self.probe(key);
        let removed = write_lock(self.shard(probe)).remove_if(&probe, condition);
        removed.map(|(_, entry)| entry)
    }

    /// Removes the entry under `key` if `condition` holds for it. Returns whether it did.
    pub(super) fn remove_if(&self, key: &str, condition: impl FnOnce(&Entry) -> bool) -> bool {
        self.take_if(key, condition).is_some()
    }

    /// Removes every entry `select` picks, one shard at a time. Returns how many of those
    /// `counts` says to count.
    pub(super) fn remove_where(
        &self,
        select: impl Fn(&str) -> bool,
        counts: impl Fn(&Entry) -> bool,
    ) -> usize {
        let removed = std::cell::Cell::new(0);
        for shard in &self.shards {
            write_lock(&shard.0).retain(|key, entry| {
                let remove = select(key.as_str());
                if remove && counts(entry) {
                    removed.set(removed.get() + 1);
                }
                !remove
            });
        }
        removed.get()
    }

    /// How many shards [`visit_shard`](Self::visit_shard) walks.
    pub(super) fn shard_count(&self) -> usize {
        self.shards.len()
    }

    /// Hands every key of shard `index` and its entry to `visit`, under the shard's read
    /// lock. Returns how many entries it examined.
    pub(super) fn visit_shard(&self, index: usize, mut visit: impl FnMut(&str, &Entry)) -> usize {
        let Some(shard) = self.shards.get(index) else {
            return 0;
        };
        let map = read_lock(&shard.0);
        for (key, entry) in map.iter() {
            visit(key.as_str(), entry);
        }
        map.len()
    }

    pub(super) fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| read_lock(&shard.0).len())
            .sum()
    }

    pub(super) fn capacity(&self) -> u64 {
        self.shards
            .iter()
            .map(|shard| read_lock(&shard.0).capacity())
            .sum()
    }

    pub(super) fn clear(&self) {
        for shard in &self.shards {
            write_lock(&shard.0).clear();
        }
    }
}

/// A poisoned shard only means a thread panicked while reading or replacing an entry (in a
/// value's `Clone` or `Drop`); the map itself is consistent, so keep using it.
#[inline]
fn read_lock(lock: &RwLock<Map>) -> RwLockReadGuard<'_, Map> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn write_lock(lock: &RwLock<Map>) -> RwLockWriteGuard<'_, Map> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}
