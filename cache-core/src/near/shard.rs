//! One shard of a [`NearStore`](super::NearStore): its copies, their insertion order (for
//! eviction) and its reads in flight, behind one read-write lock: hits only read, so hits on
//! one hot key from many threads never wait for each other.

use std::collections::{HashMap, VecDeque};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use bytes::Bytes;

use super::NearStats;
use crate::backend::capabilities::{LocalEntry, SharedValue};
use crate::util::clock::Instant;

type Map<V> = HashMap<Box<str>, V, foldhash::fast::RandomState>;

/// Aligned to its own cache lines, so that threads working on neighbouring shards do not
/// contend.
#[repr(align(128))]
#[derive(Default)]
pub(super) struct Shard(RwLock<Copies>);

/// Locks `shard` for an update. Every update leaves the shard consistent before it can panic,
/// so a poisoned lock is taken over.
pub(super) fn lock(shard: &Shard) -> RwLockWriteGuard<'_, Copies> {
    shard.0.write().unwrap_or_else(PoisonError::into_inner)
}

/// Locks `shard` for a read, as [`lock`] does.
pub(super) fn read(shard: &Shard) -> RwLockReadGuard<'_, Copies> {
    shard.0.read().unwrap_or_else(PoisonError::into_inner)
}

/// What a look at one key found.
pub(super) enum Looked {
    Served,
    Missing,
    Expired,
}

#[derive(Default)]
pub(super) struct Copies {
    copies: Map<Copy>,
    /// Keys in the order they were first inserted; may hold keys removed since.
    order: VecDeque<Box<str>>,
    /// Keys with reads in flight, and the shard's invalidation count at the latest
    /// invalidation of each.
    reading: Map<Reading>,
    /// Invalidations seen by this shard: a ticket's snapshot of it tells invalidations that
    /// came after its read began from those before.
    invalidations: u64,
    counts: Counts,
}

struct Copy {
    bytes: Bytes,
    value: Option<SharedValue>,
    expires: Option<Instant>,
}

struct Reading {
    readers: u32,
    invalidated_at: u64,
}

#[derive(Default)]
struct Counts {
    inserts: u64,
    refused: u64,
    invalidated: u64,
    evictions: u64,
}

impl Copies {
    /// Shows the live copy under `key` to `visit`. An expired copy is left for the caller to
    /// remove under the write lock.
    pub(super) fn visit(&self, key: &str, visit: &mut dyn FnMut(LocalEntry<'_>)) -> Looked {
        match self.copies.get(key) {
            Some(copy) if copy.expires.is_none_or(|expires| Instant::now() < expires) => {
                visit(LocalEntry::new(copy.value.as_deref(), &copy.bytes));
                Looked::Served
            }
            Some(_) => Looked::Expired,
            None => Looked::Missing,
        }
    }

    /// Removes the copy under `key` if it has expired.
    pub(super) fn remove_expired(&mut self, key: &str) {
        if self.copies.get(key).is_some_and(|copy| {
            copy.expires
                .is_some_and(|expires| Instant::now() >= expires)
        }) {
            self.copies.remove(key);
        }
    }

    /// Keeps `value` beside the copy under `key` if that copy is still the very buffer
    /// `bytes` was decoded from.
    pub(super) fn remember(&mut self, key: &str, bytes: &Bytes, value: SharedValue) {
        if let Some(copy) = self.copies.get_mut(key)
            && copy.bytes.as_ptr() == bytes.as_ptr()
            && copy.bytes.len() == bytes.len()
        {
            copy.value = Some(value);
        }
    }

    pub(super) fn begin_read(&mut self, key: &str) -> u64 {
        match self.reading.get_mut(key) {
            Some(reading) => reading.readers += 1,
            None => {
                let reading = Reading {
                    readers: 1,
                    invalidated_at: 0,
                };
                self.reading.insert(key.into(), reading);
            }
        }
        self.invalidations
    }

    pub(super) fn end_read(&mut self, key: &str) {
        if let Some(reading) = self.reading.get_mut(key) {
            reading.readers -= 1;
            if reading.readers == 0 {
                self.reading.remove(key);
            }
        }
    }

    pub(super) fn invalidate(&mut self, key: &str) {
        self.invalidations += 1;
        self.counts.invalidated += 1;
        self.copies.remove(key);
        if let Some(reading) = self.reading.get_mut(key) {
            reading.invalidated_at = self.invalidations;
        }
    }

    /// Inserts the reply of a read that began when the shard had seen `seen` invalidations,
    /// unless its key was invalidated since or the store is no longer `current`.
    pub(super) fn finish_read(
        &mut self,
        key: &str,
        seen: u64,
        current: bool,
        bytes: Bytes,
        expires: Option<Instant>,
        capacity: usize,
    ) -> bool {
        let overtaken = self
            .reading
            .get(key)
            .is_some_and(|reading| reading.invalidated_at > seen);
        if !current || overtaken {
            self.counts.refused += 1;
            return false;
        }
        let copy = Copy {
            bytes,
            value: None,
            expires,
        };
        if let Some(old) = self.copies.get_mut(key) {
            *old = copy;
        } else {
            self.make_room(capacity);
            self.copies.insert(key.into(), copy);
            self.order.push_back(key.into());
        }
        self.counts.inserts += 1;
        true
    }

    /// Evicts the oldest inserts until one more copy fits, and keeps `order` from growing
    /// past twice the capacity with keys removed since.
    fn make_room(&mut self, capacity: usize) {
        while self.copies.len() >= capacity {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            if self.copies.remove(&oldest).is_some() {
                self.counts.evictions += 1;
            }
        }
        if self.order.len() >= capacity.saturating_mul(2) {
            let copies = &self.copies;
            self.order.retain(|key| copies.contains_key(key));
        }
    }

    pub(super) fn clear(&mut self) {
        self.copies.clear();
        self.order.clear();
    }

    pub(super) fn add_stats(&self, stats: &mut NearStats) {
        let counts = &self.counts;
        stats.inserts += counts.inserts;
        stats.refused += counts.refused;
        stats.invalidations += counts.invalidated;
        stats.evictions += counts.evictions;
        stats.entries += self.copies.len() as u64;
    }
}
