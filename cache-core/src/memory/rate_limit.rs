//! [`RateLimitStore::rate_limit`](crate::RateLimitStore::rate_limit) for [`MemoryBackend`]: the
//! pure algorithms of [`crate::rate_limit`], run on per-key state updated in place.
//!
//! Limiter state lives beside the cached values, in its own sharded table: a decision is one
//! shard lock, one lookup and a few integer operations, with no allocation once the key
//! exists. A cell is kept until the algorithm's state has run out (then no state and the stale
//! state decide alike); expired cells are swept when a shard has doubled since its last sweep,
//! and the table is bounded: a new key on a full shard drops the cell nearest to its expiry
//! among [`EVICTION_SAMPLE`] of that shard's cells, so the cost of a new key stays the same
//! however large the bound.
//!
//! [`MemoryBackend`]: super::MemoryBackend

use std::collections::VecDeque;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use hashbrown::HashTable;

use super::cell_key::CellKey;
use crate::key::glob_match;
use crate::rate_limit::fixed_window::{self, WindowState};
use crate::rate_limit::gcra::{self, Gcra};
use crate::rate_limit::sliding_log;
use crate::rate_limit::{Algorithm, Outcome, RateLimitDecision, RateLimitPolicy, WindowParams};
use crate::util::clock;
use crate::util::short_bytes;
use crate::{Error, ErrorKind, Result};

/// Shards of the limiter table; a power of two.
const SHARDS: usize = 64;
/// A shard is swept of expired cells no earlier than at this size.
const MIN_SWEEP: usize = 64;
/// Cells a full shard compares to choose the one to drop: the one nearest to its expiry among
/// this many, read from consecutive buckets on from the new key's own (bucket order is hash
/// order, unrelated to expiry), or among all of them in a shard this small. So the cell
/// dropped is nearly always one of the earliest to expire: one of the latest-expiring half
/// goes only if all 8 are, a chance of 2⁻⁸, and the limiter lasting longest never while
/// another is sampled. Comparing the whole shard made a new key on a full table of 1M cost
/// 316 µs, ~27x a new key on a filling one; 8 cost 1.65x and 16 cost 2.2–2.8x
/// (`rate_limit_memory` bench, `new_key_1m_bound/full` against `new_key_1m_bound/filling`,
/// paired).
const EVICTION_SAMPLE: usize = 8;

/// Every rate limiter of one [`MemoryBackend`](super::MemoryBackend).
pub(super) struct Limiters {
    shards: Box<[Shard]>,
    hasher: foldhash::fast::RandomState,
    /// Cells per shard before a new one drops one (see [`EVICTION_SAMPLE`]).
    shard_capacity: usize,
    /// Whether a cell was ever created, so cache operations skip the limiters until then.
    used: AtomicBool,
}

/// Aligned to its own cache lines, so that threads working on neighbouring shards do not
/// contend.
#[repr(align(128))]
struct Shard(Mutex<Cells>);

struct Cells {
    table: HashTable<Cell>,
    /// The size at which the next sweep runs.
    sweep_at: usize,
    /// The policy of the last decision in this shard and its parameters: a limiter applies one
    /// policy to many keys, so most decisions skip validating it again.
    memo: Option<(RateLimitPolicy, Params)>,
}

/// One key's limiter: 64 bytes, one cache line.
struct Cell {
    key: CellKey,
    /// When the state runs out, in µs on [`clock::micros`].
    expires_us: u64,
    state: State,
}

enum State {
    /// GCRA's theoretical arrival time.
    Gcra(u64),
    Window(WindowState),
    #[expect(
        clippy::box_collection,
        reason = "a pointer instead of a 32-byte deque keeps every cell in one cache line"
    )]
    Log(Box<VecDeque<u64>>),
}

impl State {
    fn algorithm(&self) -> Algorithm {
        match self {
            Self::Gcra(_) => Algorithm::Gcra,
            Self::Window(_) => Algorithm::FixedWindow,
            Self::Log(_) => Algorithm::SlidingLog,
        }
    }
}

/// What a decision changed.
enum Change {
    Nothing,
    /// The state, in place; it now lasts this many µs.
    Updated(u64),
    /// A new state, lasting this many µs.
    Created(State, u64),
}

#[inline]
fn in_place<S>(outcome: Outcome<S>, slot: &mut S) -> (RateLimitDecision, Change) {
    match outcome.write {
        Some((state, ttl)) => {
            *slot = state;
            (outcome.decision, Change::Updated(ttl))
        }
        None => (outcome.decision, Change::Nothing),
    }
}

#[inline]
fn created<S>(outcome: Outcome<S>, wrap: impl FnOnce(S) -> State) -> (RateLimitDecision, Change) {
    match outcome.write {
        Some((state, ttl)) => (outcome.decision, Change::Created(wrap(state), ttl)),
        None => (outcome.decision, Change::Nothing),
    }
}

fn wrong_state(key: &str, stored: Algorithm, wanted: Algorithm) -> Error {
    Error::new(
        ErrorKind::WrongType,
        format!("key `{key}` holds {stored} rate-limit state, not {wanted}"),
    )
}

/// A validated policy's parameters.
#[derive(Clone, Copy)]
enum Params {
    Gcra(Gcra),
    Window(WindowParams),
    Log(WindowParams),
}

impl Params {
    fn of(policy: &RateLimitPolicy) -> Result<Self> {
        Ok(match policy.algorithm() {
            Algorithm::Gcra => Self::Gcra(Gcra::from_policy(policy)?),
            Algorithm::FixedWindow => Self::Window(WindowParams::from_policy(policy)?),
            Algorithm::SlidingLog => Self::Log(WindowParams::from_policy(policy)?),
        })
    }

    /// Decides on `state` (`None`: no state), updating it in place when the call is admitted.
    /// State of another algorithm is an error naming `key`.
    #[inline(always)]
    fn decide(
        &self,
        key: &str,
        state: Option<&mut State>,
        now_us: u64,
        cost: u32,
    ) -> Result<(RateLimitDecision, Change)> {
        Ok(match (self, state) {
            (Self::Gcra(params), Some(State::Gcra(tat))) => {
                in_place(gcra::decide(Some(*tat), now_us, params, cost)?, tat)
            }
            (Self::Gcra(params), None) => {
                created(gcra::decide(None, now_us, params, cost)?, State::Gcra)
            }
            (Self::Window(params), Some(State::Window(window))) => in_place(
                fixed_window::decide(Some(*window), now_us, params, cost)?,
                window,
            ),
            (Self::Window(params), None) => created(
                fixed_window::decide(None, now_us, params, cost)?,
                State::Window,
            ),
            (Self::Log(params), Some(State::Log(log))) => {
                in_place(sliding_log::decide(log, now_us, params, cost)?, &mut ())
            }
            (Self::Log(params), None) => {
                let mut log = VecDeque::new();
                let outcome = sliding_log::decide(&mut log, now_us, params, cost)?;
                created(outcome, |()| State::Log(Box::new(log)))
            }
            (_, Some(state)) => {
                return Err(wrong_state(key, state.algorithm(), self.algorithm()));
            }
        })
    }

    fn algorithm(&self) -> Algorithm {
        match self {
            Self::Gcra(_) => Algorithm::Gcra,
            Self::Window(_) => Algorithm::FixedWindow,
            Self::Log(_) => Algorithm::SlidingLog,
        }
    }
}

impl Limiters {
    pub(super) fn new(max_cells: usize) -> Self {
        Self {
            shards: (0..SHARDS)
                .map(|_| {
                    Shard(Mutex::new(Cells {
                        table: HashTable::new(),
                        sweep_at: MIN_SWEEP,
                        memo: None,
                    }))
                })
                .collect(),
            hasher: foldhash::fast::RandomState::default(),
            shard_capacity: max_cells.div_ceil(SHARDS).max(1),
            used: AtomicBool::new(false),
        }
    }

    fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    /// The shard of a key's hash. Its bits 32 and up pick it: the table inside uses the low
    /// bits for the bucket and the top seven for its tags.
    fn shard(&self, hash: u64) -> MutexGuard<'_, Cells> {
        lock(&self.shards[(hash >> 32) as usize % SHARDS].0)
    }

    /// Takes one decision for `key` atomically. `occupied` tells whether the key holds a cached
    /// value; it is asked only before a limiter is created there.
    #[inline]
    pub(super) fn decide(
        &self,
        key: &str,
        policy: &RateLimitPolicy,
        cost: u32,
        occupied: impl FnOnce() -> bool,
    ) -> Result<RateLimitDecision> {
        let now_us = clock::micros();
        let hash = self.hash(key.as_bytes());
        let mut guard = self.shard(hash);
        let cells = &mut *guard;
        let params = match cells.memo {
            Some((memo, params)) if memo == *policy => params,
            _ => {
                let params = Params::of(policy)?;
                cells.memo = Some((*policy, params));
                params
            }
        };
        policy.check_cost(cost)?;
        if let Ok(mut entry) = cells.table.find_entry(hash, keyed(key)) {
            let cell = entry.get_mut();
            // A stale cell of another algorithm is as good as none.
            if cell.state.algorithm() == params.algorithm() || cell.expires_us > now_us {
                let (decision, change) = params.decide(key, Some(&mut cell.state), now_us, cost)?;
                if let Change::Updated(ttl) = change {
                    cell.expires_us = now_us.saturating_add(ttl);
                }
                return Ok(decision);
            }
            entry.remove();
        }
        if occupied() {
            return Err(Error::new(
                ErrorKind::Backend,
                format!("key `{key}` holds a value that is not rate-limit state"),
            ));
        }
        let (decision, change) = params.decide(key, None, now_us, cost)?;
        if let Change::Created(state, ttl) = change {
            let cell = Cell {
                key: CellKey::new(key),
                expires_us: now_us.saturating_add(ttl),
                state,
            };
            self.insert(cells, hash, cell, now_us);
        }
        Ok(decision)
    }

    fn insert(&self, cells: &mut Cells, hash: u64, cell: Cell, now_us: u64) {
        if cells.table.len() >= cells.sweep_at {
            cells.table.retain(|cell| cell.expires_us > now_us);
            cells.sweep_at = cells.table.len().saturating_mul(2).max(MIN_SWEEP);
        }
        if cells.table.len() >= self.shard_capacity {
            // The new key's hash is as random as a fresh number, and its bucket is where the
            // lookup just read the control bytes.
            drop_nearest_to_expiry(cells, hash);
        }
        cells
            .table
            .insert_unique(hash, cell, |cell| self.hash(cell.key.as_bytes()));
        self.used.store(true, Ordering::Relaxed);
    }

    /// How long `key`'s limiter state lasts, if it has any.
    pub(super) fn ttl(&self, key: &str) -> Option<Duration> {
        if !self.used.load(Ordering::Relaxed) {
            return None;
        }
        let now_us = clock::micros();
        let hash = self.hash(key.as_bytes());
        let cells = self.shard(hash);
        let cell = cells
            .table
            .find(hash, keyed(key))
            .filter(|cell| cell.expires_us > now_us)?;
        Some(Duration::from_micros(cell.expires_us - now_us))
    }

    /// Resets `key`'s limiter. Returns whether it had live state.
    pub(super) fn remove(&self, key: &str) -> bool {
        if !self.used.load(Ordering::Relaxed) {
            return false;
        }
        let now_us = clock::micros();
        let hash = self.hash(key.as_bytes());
        let mut cells = self.shard(hash);
        match cells.table.find_entry(hash, keyed(key)) {
            Ok(entry) => entry.remove().0.expires_us > now_us,
            Err(_) => false,
        }
    }

    /// Resets every limiter whose key matches the glob `pattern`. Returns how many had live
    /// state.
    pub(super) fn remove_matching(&self, pattern: &str) -> usize {
        let now_us = clock::micros();
        let mut removed = 0;
        self.each_shard(|cells| {
            cells.table.retain(|cell| {
                let matches = glob_match(pattern, &cell.key.to_text());
                removed += usize::from(matches && cell.expires_us > now_us);
                !matches
            });
        });
        removed
    }

    /// Removes expired cells. Returns how many.
    pub(super) fn purge_expired(&self) -> usize {
        let now_us = clock::micros();
        let mut removed = 0;
        self.each_shard(|cells| {
            let before = cells.table.len();
            cells.table.retain(|cell| cell.expires_us > now_us);
            removed += before - cells.table.len();
        });
        removed
    }

    /// Cells stored, expired ones not yet swept included.
    pub(super) fn len(&self) -> usize {
        let mut len = 0;
        self.each_shard(|cells| len += cells.table.len());
        len
    }

    pub(super) fn clear(&self) {
        self.each_shard(|cells| cells.table.clear());
    }

    /// How many shards [`visit_shard`](Self::visit_shard) walks.
    pub(super) fn shard_count(&self) -> usize {
        SHARDS
    }

    /// Hands the key of every live limiter of shard `index` to `visit`. Returns how many cells
    /// it examined.
    pub(super) fn visit_shard(&self, index: usize, mut visit: impl FnMut(&str)) -> usize {
        let Some(shard) = self
            .shards
            .get(index)
            .filter(|_| self.used.load(Ordering::Relaxed))
        else {
            return 0;
        };
        let now_us = clock::micros();
        let cells = lock(&shard.0);
        for cell in &cells.table {
            if cell.expires_us > now_us {
                visit(&cell.key.to_text());
            }
        }
        cells.table.len()
    }

    fn each_shard(&self, mut visit: impl FnMut(&mut Cells)) {
        if !self.used.load(Ordering::Relaxed) {
            return;
        }
        for shard in &self.shards {
            visit(&mut lock(&shard.0));
        }
    }
}

/// Drops the cell nearest to its expiry among [`EVICTION_SAMPLE`] of `cells`, read from the
/// bucket `seed` picks on.
#[cold]
fn drop_nearest_to_expiry(cells: &mut Cells, seed: u64) {
    let buckets = cells.table.num_buckets();
    // Truncating the seed on 32-bit targets keeps it as random.
    let Some(start) = (seed as usize).checked_rem(buckets) else {
        return;
    };
    let mut nearest: Option<(u64, usize)> = None;
    let mut sampled = 0;
    for index in (start..buckets).chain(0..start) {
        let Some(cell) = cells.table.get_bucket(index) else {
            continue;
        };
        if nearest.is_none_or(|(expires_us, _)| cell.expires_us < expires_us) {
            nearest = Some((cell.expires_us, index));
        }
        sampled += 1;
        if sampled == EVICTION_SAMPLE {
            break;
        }
    }
    let Some((_, index)) = nearest else {
        return;
    };
    if let Ok(entry) = cells.table.get_bucket_entry(index) {
        tracing::debug!(
            dropped = &*entry.get().key.to_text(),
            "rate-limit table full; dropping the limiter nearest to expiry of those sampled"
        );
        entry.remove();
    }
}

/// Matches the cell of `key`.
fn keyed(key: &str) -> impl Fn(&Cell) -> bool + '_ {
    move |cell| short_bytes::equal(cell.key.as_bytes(), key.as_bytes())
}

/// A poisoned shard only means a thread panicked while holding it; every update leaves the
/// table consistent, so its data is still good.
fn lock(mutex: &Mutex<Cells>) -> MutexGuard<'_, Cells> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_cell_fills_one_cache_line() {
        assert_eq!(std::mem::size_of::<super::Cell>(), 64);
    }
}
