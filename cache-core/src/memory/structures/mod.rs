//! The memory backend's [`StructureStore`]: queues, hashes, sorted sets and sets in a table
//! of their own beside the values ([`table`]), sharing one key space with them as Redis
//! does, plus the plain-value operations (counters with a TTL, take, replace) on the value
//! store.
//!
//! # Atomicity
//!
//! Every [`Op`] runs under the lock of its key's value shard (read) and then its structure
//! shard (always in that order, so never a deadlock), so each is atomic on its key, and a
//! plain value and a structure never share a key: a value write holds the value shard's write
//! lock while it replaces a structure. A pop with a deadline only ever pops under those
//! locks, between waits, so dropping it never loses a value.

mod hash;
mod plain;
mod queue;
mod set;
mod sorted;
mod table;

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::ops::Range;

use async_trait::async_trait;
use bytes::Bytes;

use super::MemoryBackend;
use crate::structures::{Op, Reply, StructureStore};
use crate::util::clock::Instant;
use crate::{Error, ErrorKind, Result};
use sorted::SortedSet;
pub(super) use table::Table;

/// One key's structure and when it expires.
pub(super) struct Slot {
    structure: Structure,
    expires_at: Option<Instant>,
}

impl Slot {
    fn is_live(&self, now: Instant) -> bool {
        self.expires_at.is_none_or(|at| at > now)
    }

    /// When the structure expires (`None`: never).
    pub(super) fn expires_at(&self) -> Option<Instant> {
        self.expires_at
    }
}

enum Structure {
    Queue(VecDeque<Bytes>),
    Hash(HashMap<String, Bytes>),
    Sorted(SortedSet),
    Set(HashSet<Bytes>),
}

impl Structure {
    fn kind(&self) -> Kind {
        match self {
            Self::Queue(_) => Kind::Queue,
            Self::Hash(_) => Kind::Hash,
            Self::Sorted(_) => Kind::Sorted,
            Self::Set(_) => Kind::Set,
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            Self::Queue(queue) => queue.is_empty(),
            Self::Hash(hash) => hash.is_empty(),
            Self::Sorted(sorted) => sorted.is_empty(),
            Self::Set(set) => set.is_empty(),
        }
    }
}

/// What a key holds, for [`ErrorKind::WrongType`] messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Value,
    Queue,
    Hash,
    Sorted,
    Set,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Value => "a plain value",
            Self::Queue => "a queue",
            Self::Hash => "a hash",
            Self::Sorted => "a sorted set",
            Self::Set => "a set",
        })
    }
}

/// The error for an operation on `key`, which holds `held`, that works on `wanted`.
pub(super) fn wrong_type(key: &str, held: Kind, wanted: Kind) -> Error {
    Error::new(
        ErrorKind::WrongType,
        format!("key `{key}` holds {held}, not {wanted}"),
    )
}

fn invalid(message: String) -> Error {
    Error::new(ErrorKind::InvalidInput, message)
}

/// One kind of structure, as a slot holds it.
trait Family: Default {
    const KIND: Kind;
    fn pick(structure: &mut Structure) -> Option<&mut Self>;
    fn wrap(self) -> Structure;
}

macro_rules! family {
    ($type:ty, $variant:ident) => {
        impl Family for $type {
            const KIND: Kind = Kind::$variant;
            fn pick(structure: &mut Structure) -> Option<&mut Self> {
                match structure {
                    Structure::$variant(inner) => Some(inner),
                    _ => None,
                }
            }
            fn wrap(self) -> Structure {
                Structure::$variant(self)
            }
        }
    };
}

family!(VecDeque<Bytes>, Queue);
family!(HashMap<String, Bytes>, Hash);
family!(SortedSet, Sorted);
family!(HashSet<Bytes>, Set);

/// The structure of family `T` under the key, `None` if the key holds none; another kind
/// is [`ErrorKind::WrongType`].
fn existing<'s, T: Family>(slot: &'s mut Option<Slot>, key: &str) -> Result<Option<&'s mut T>> {
    let Some(slot) = slot else { return Ok(None) };
    let held = slot.structure.kind();
    T::pick(&mut slot.structure)
        .map(Some)
        .ok_or_else(|| wrong_type(key, held, T::KIND))
}

/// The structure of family `T` under the key, created empty (and persistent) if the key holds
/// none; another kind is [`ErrorKind::WrongType`]. The table drops it again if it stays empty.
fn created<'s, T: Family>(slot: &'s mut Option<Slot>, key: &str) -> Result<&'s mut T> {
    let slot = slot.get_or_insert_with(|| Slot {
        structure: T::default().wrap(),
        expires_at: None,
    });
    let held = slot.structure.kind();
    T::pick(&mut slot.structure).ok_or_else(|| wrong_type(key, held, T::KIND))
}

/// Positions `start..=stop` of a sequence of `len`, by Redis `LRANGE` / `ZRANGE` rules: a
/// negative position counts from the end, a range past either end is clamped, and a start
/// after the stop (or past the end) is empty.
fn positions(start: i64, stop: i64, len: usize) -> Range<usize> {
    let len = i64::try_from(len).unwrap_or(i64::MAX);
    let from_end = |position: i64| {
        if position < 0 {
            position + len
        } else {
            position
        }
    };
    let start = from_end(start).max(0);
    let stop = from_end(stop).min(len - 1);
    if start > stop {
        return 0..0;
    }
    // Both are within `0..len` here.
    let index = |position: i64| usize::try_from(position).unwrap_or(0);
    index(start)..index(stop) + 1
}

/// Counts as Redis replies them.
fn count(n: usize) -> Reply {
    Reply::Count(n as u64)
}

impl MemoryBackend {
    /// Runs `op` on the structure slot under `key`, atomically: the value shard is held (for
    /// reading) so no plain value can appear meanwhile, and a live plain value there is
    /// [`ErrorKind::WrongType`].
    fn on_structure<R>(
        &self,
        key: &str,
        wanted: Kind,
        op: impl FnOnce(&mut Option<Slot>) -> Result<R>,
    ) -> Result<R> {
        let now = Instant::now();
        self.inner.store.hold(key, |entry| {
            if entry.is_some_and(|entry| entry.is_live(now)) {
                return Err(wrong_type(key, Kind::Value, wanted));
            }
            self.inner.structures.update(key, op)
        })
    }

    /// [`ErrorKind::WrongType`] if `key` holds a structure, for an operation on plain values.
    /// One relaxed load while the backend holds no structures.
    #[inline]
    pub(super) fn refuse_structure(&self, key: &str) -> Result<()> {
        if self.inner.structures.in_use() {
            return self.refuse_structure_slow(key);
        }
        Ok(())
    }

    #[cold]
    fn refuse_structure_slow(&self, key: &str) -> Result<()> {
        match self.inner.structures.kind(key) {
            Some(held) => Err(wrong_type(key, held, Kind::Value)),
            None => Ok(()),
        }
    }
}

/// Each operation's cost is noted on its function in the family modules (n: the structure's
/// size, k: the values given or returned).
#[async_trait]
impl StructureStore for MemoryBackend {
    async fn apply(&self, key: &str, op: Op<'_>) -> Result<Reply> {
        use Kind::{Hash, Queue, Set, Sorted};
        match op {
            Op::QueuePush { values } => {
                let reply = self.on_structure(key, Queue, |slot| queue::push(slot, key, values));
                if reply.is_ok() && !values.is_empty() {
                    self.inner.queue_wakeups.wake(key);
                }
                reply
            }
            Op::QueuePop { count } => {
                queue::check_count(key, count)?;
                self.on_structure(key, Queue, |slot| queue::pop(slot, key, count))
            }
            Op::QueuePopWait { timeout } => self.pop_wait(key, timeout).await,
            Op::QueueRange { start, stop } => {
                self.on_structure(key, Queue, |slot| queue::range(slot, key, start, stop))
            }
            Op::QueueLen => self.on_structure(key, Queue, |slot| queue::len(slot, key)),
            Op::HashSet { fields } => {
                self.on_structure(key, Hash, |slot| hash::set(slot, key, fields))
            }
            Op::HashGet { fields } => {
                self.on_structure(key, Hash, |slot| hash::get(slot, key, fields))
            }
            Op::HashGetAll => self.on_structure(key, Hash, |slot| hash::get_all(slot, key)),
            Op::HashDelete { fields } => {
                self.on_structure(key, Hash, |slot| hash::delete(slot, key, fields))
            }
            Op::HashLen => self.on_structure(key, Hash, |slot| hash::len(slot, key)),
            Op::SortedAdd { members } => {
                self.on_structure(key, Sorted, |slot| sorted::add(slot, key, members))
            }
            Op::SortedIncrement { member, by } => {
                self.on_structure(key, Sorted, |slot| sorted::increment(slot, key, member, by))
            }
            Op::SortedRange { start, stop, order } => self.on_structure(key, Sorted, |slot| {
                sorted::range(slot, key, start, stop, order)
            }),
            Op::SortedRangeByScore {
                min,
                max,
                order,
                limit,
            } => {
                let bounds = sorted::Bounds::new(key, min, max)?;
                self.on_structure(key, Sorted, |slot| {
                    sorted::range_by_score(slot, key, bounds, order, limit)
                })
            }
            Op::SortedRank { member, order } => {
                self.on_structure(key, Sorted, |slot| sorted::rank(slot, key, member, order))
            }
            Op::SortedScore { member } => {
                self.on_structure(key, Sorted, |slot| sorted::score(slot, key, member))
            }
            Op::SortedRemove { members } => {
                self.on_structure(key, Sorted, |slot| sorted::remove(slot, key, members))
            }
            Op::SortedLen => self.on_structure(key, Sorted, |slot| sorted::len(slot, key)),
            Op::SetAdd { members } => {
                self.on_structure(key, Set, |slot| set::add(slot, key, members))
            }
            Op::SetRemove { members } => {
                self.on_structure(key, Set, |slot| set::remove(slot, key, members))
            }
            Op::SetContains { member } => {
                self.on_structure(key, Set, |slot| set::contains(slot, key, member))
            }
            Op::SetMembers => self.on_structure(key, Set, |slot| set::members(slot, key)),
            Op::SetLen => self.on_structure(key, Set, |slot| set::len(slot, key)),
            Op::CounterIncrement { delta, ttl } => self.counter_increment(key, delta, ttl),
            Op::Take => self.take(key),
            Op::Replace { value, ttl } => self.replace(key, value, ttl),
        }
    }
}

#[cfg(test)]
mod tests;
