//! The table the memory backend keeps its data structures in: sharded like the value store,
//! but never evicted (a queue that silently lost items to the cache's bound would be a bug).

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::{Kind, Slot};
use crate::key::glob_match;
use crate::util::clock::Instant;

/// Shards of the table; a power of two.
const SHARDS: usize = 64;
/// A shard is swept of expired slots no earlier than at this size.
const MIN_SWEEP: usize = 64;

type Map = HashMap<Box<str>, Slot, foldhash::fast::RandomState>;

/// Every data structure of one [`MemoryBackend`](crate::MemoryBackend), one slot per key.
pub(in crate::memory) struct Table {
    shards: Box<[Shard]>,
    hasher: foldhash::fast::RandomState,
    /// Slots stored, expired ones not yet reclaimed included: while it is zero, the value
    /// operations skip the table with this one relaxed load.
    slots: AtomicUsize,
}

/// Aligned to its own cache lines, so that threads working on neighbouring shards do not
/// contend.
#[repr(align(128))]
struct Shard(Mutex<Slots>);

#[derive(Default)]
struct Slots {
    map: Map,
    /// The map's size after its last sweep of expired slots.
    swept_at: usize,
}

impl Table {
    pub(in crate::memory) fn new() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Shard(Mutex::default())).collect(),
            hasher: foldhash::fast::RandomState::default(),
            slots: AtomicUsize::new(0),
        }
    }

    /// Whether any structure may be stored. One relaxed load: the gate in front of every
    /// check a value operation makes on this table.
    #[inline]
    pub(in crate::memory) fn in_use(&self) -> bool {
        self.slots.load(Ordering::Relaxed) != 0
    }

    fn shard(&self, key: &str) -> MutexGuard<'_, Slots> {
        let hash = self.hasher.hash_one(key);
        lock(&self.shards[(hash >> 32) as usize % SHARDS].0)
    }

    /// Runs `update` on the live slot under `key` (`None`: there is none) with its shard
    /// locked, and keeps what it leaves there, unless that is an empty structure: an empty
    /// structure is removed, as Redis removes it. O(1) besides what `update` does.
    pub(in crate::memory) fn update<R>(
        &self,
        key: &str,
        update: impl FnOnce(&mut Option<Slot>) -> R,
    ) -> R {
        let now = Instant::now();
        let mut slots = self.shard(key);
        let (stored_key, mut slot) = match slots.map.remove_entry(key) {
            Some((stored, slot)) => (Some(stored), Some(slot).filter(|slot| slot.is_live(now))),
            None => (None, None),
        };
        let existed = stored_key.is_some();
        let outcome = update(&mut slot);
        let kept = match slot {
            Some(slot) if !slot.structure.is_empty() => {
                slots
                    .map
                    .insert(stored_key.unwrap_or_else(|| key.into()), slot);
                true
            }
            _ => false,
        };
        match (existed, kept) {
            (false, true) => {
                self.slots.fetch_add(1, Ordering::Relaxed);
                self.sweep(&mut slots, now);
            }
            (true, false) => {
                self.slots.fetch_sub(1, Ordering::Relaxed);
            }
            _ => {}
        }
        outcome
    }

    /// Drops expired slots whenever the shard has doubled since its last sweep: amortised
    /// O(1) per new slot.
    fn sweep(&self, slots: &mut Slots, now: Instant) {
        if slots.map.len() > 2 * slots.swept_at.max(MIN_SWEEP) {
            let removed = retain(&mut slots.map, |_, slot| slot.is_live(now));
            self.slots.fetch_sub(removed, Ordering::Relaxed);
            slots.swept_at = slots.map.len();
        }
    }

    /// Runs `read` on the live slot under `key`, if there is one.
    pub(in crate::memory) fn read<R>(&self, key: &str, read: impl FnOnce(&Slot) -> R) -> Option<R> {
        if !self.in_use() {
            return None;
        }
        let now = Instant::now();
        self.shard(key)
            .map
            .get(key)
            .filter(|slot| slot.is_live(now))
            .map(read)
    }

    /// The kind of the live structure under `key`, if there is one.
    #[inline]
    pub(in crate::memory) fn kind(&self, key: &str) -> Option<Kind> {
        self.read(key, |slot| slot.structure.kind())
    }

    /// Gives the live structure under `key` a new expiry. Returns whether there was one.
    pub(in crate::memory) fn expire(&self, key: &str, at: Instant) -> bool {
        self.in_use()
            && self.update(key, |slot| {
                slot.as_mut()
                    .map(|slot| slot.expires_at = Some(at))
                    .is_some()
            })
    }

    /// Removes the structure under `key`. Returns whether it was live.
    pub(in crate::memory) fn remove(&self, key: &str) -> bool {
        if !self.in_use() {
            return false;
        }
        let now = Instant::now();
        let Some(slot) = self.shard(key).map.remove(key) else {
            return false;
        };
        self.slots.fetch_sub(1, Ordering::Relaxed);
        slot.is_live(now)
    }

    /// Removes every structure whose key matches the glob `pattern`. Returns how many were
    /// live.
    pub(in crate::memory) fn remove_matching(&self, pattern: &str) -> usize {
        let now = Instant::now();
        let mut live = 0;
        self.each_shard(|slots| {
            retain(&mut slots.map, |key, slot| {
                let matches = glob_match(pattern, key);
                live += usize::from(matches && slot.is_live(now));
                !matches
            })
        });
        live
    }

    /// Reclaims every expired slot. Returns how many.
    pub(in crate::memory) fn purge_expired(&self) -> usize {
        let now = Instant::now();
        let mut removed = 0;
        self.each_shard(|slots| {
            let gone = retain(&mut slots.map, |_, slot| slot.is_live(now));
            removed += gone;
            gone
        });
        removed
    }

    /// Slots stored, expired ones not yet reclaimed included.
    pub(in crate::memory) fn len(&self) -> usize {
        self.slots.load(Ordering::Relaxed)
    }

    pub(in crate::memory) fn clear(&self) {
        self.each_shard(|slots| {
            let removed = slots.map.len();
            slots.map.clear();
            slots.swept_at = 0;
            removed
        });
    }

    /// How many shards [`visit_shard`](Self::visit_shard) walks.
    pub(in crate::memory) fn shard_count(&self) -> usize {
        SHARDS
    }

    /// Hands every live key of shard `index` to `visit`. Returns how many slots it examined.
    pub(in crate::memory) fn visit_shard(
        &self,
        index: usize,
        mut visit: impl FnMut(&str),
    ) -> usize {
        let Some(shard) = self.shards.get(index).filter(|_| self.in_use()) else {
            return 0;
        };
        let now = Instant::now();
        let slots = lock(&shard.0);
        for (key, slot) in &slots.map {
            if slot.is_live(now) {
                visit(key);
            }
        }
        slots.map.len()
    }

    /// Runs `change` on every shard, `change` returning how many slots it removed.
    fn each_shard(&self, mut change: impl FnMut(&mut Slots) -> usize) {
        if !self.in_use() {
            return;
        }
        for shard in &self.shards {
            let removed = change(&mut lock(&shard.0));
            self.slots.fetch_sub(removed, Ordering::Relaxed);
        }
    }
}

/// Keeps the slots `keep` picks. Returns how many it removed.
fn retain(map: &mut Map, mut keep: impl FnMut(&str, &Slot) -> bool) -> usize {
    let before = map.len();
    map.retain(|key, slot| keep(key, slot));
    before - map.len()
}

/// A poisoned shard only means a thread panicked while holding it (in a caller's closure);
/// every change leaves the map consistent, so its data is still good.
fn lock(mutex: &Mutex<Slots>) -> MutexGuard<'_, Slots> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
