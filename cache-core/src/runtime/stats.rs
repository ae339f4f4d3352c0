//! Per-function counters: hits, misses, errors and backend latency, readable in-process.
//!
//! Every `#[cached]` function counts under its name (`module::path::function`). Counters are
//! striped across cache lines, so counting a hit costs one uncontended atomic add even when
//! many threads hit the same function.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! for (name, stats) in cache_core::stats::all() {
//!     println!("{name}: {} hits, {} misses, hit ratio {:.2}", stats.hits, stats.misses, stats.hit_ratio());
//! }
//! # }
//! ```

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{LazyLock, Mutex, PoisonError};
use std::time::Duration;

const STRIPES: usize = 8;

#[repr(align(64))]
#[derive(Default)]
struct Padded(AtomicU64);

/// A counter that threads add to without sharing a cache line.
#[derive(Default)]
pub(crate) struct Striped([Padded; STRIPES]);

thread_local! {
    static STRIPE: Cell<usize> = const { Cell::new(usize::MAX) };
}

#[inline]
fn stripe() -> usize {
    STRIPE.with(|stripe| {
        let mut index = stripe.get();
        if index == usize::MAX {
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            index = NEXT.fetch_add(1, Ordering::Relaxed) % STRIPES;
            stripe.set(index);
        }
        index
    })
}

impl Striped {
    #[inline]
    pub(crate) fn add(&self, n: u64) {
        self.0[stripe()].0.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn sum(&self) -> u64 {
        self.0
            .iter()
            .map(|cell| cell.0.load(Ordering::Relaxed))
            .sum()
    }
}

/// The live counters of one name. Obtained with [`handle`]; read with [`snapshot`].
#[derive(Default)]
pub(crate) struct Counters {
    /// Hits served in process (the memory backend, near copies).
    hits: Striped,
    /// Hits that took a backend call (or a flight's value).
    remote_hits: Striped,
    /// The tier of the function's backend, as last seen: a [`Level`] (for metrics).
    #[cfg(feature = "metrics")]
    level: std::sync::atomic::AtomicU8,
    misses: Striped,
    errors: Striped,
    backend_calls: Striped,
    backend_nanos: Striped,
    bypassed: Striped,
    stale: Striped,
    refreshes: Striped,
}

impl Counters {
    /// Counts a hit served in process.
    #[inline]
    pub(crate) fn hit(&self) {
        self.hits.add(1);
    }

    /// Counts a hit that took the backend (or another caller's run).
    pub(crate) fn remote_hit(&self) {
        self.remote_hits.add(1);
    }

    /// Notes the tier of the backend serving the function.
    #[cfg(feature = "metrics")]
    pub(crate) fn saw(&self, backend: &dyn crate::CacheBackend) {
        let level = if backend.local().is_some() {
            Level::Memory
        } else if backend.near().is_some() {
            Level::Near
        } else {
            Level::Redis
        };
        self.level.store(level as u8, Ordering::Relaxed);
    }

    /// Counts a miss (the function body ran).
    pub(crate) fn miss(&self) {
        self.misses.add(1);
    }

    /// Counts a failed backend call or an undecodable value.
    pub(crate) fn error(&self) {
        self.errors.add(1);
    }

    /// Counts a call answered with a value past its TTL.
    pub(crate) fn stale(&self) {
        self.stale.add(1);
    }

    /// Counts a body run that refreshed a value some caller was served meanwhile.
    pub(crate) fn refresh(&self) {
        self.refreshes.add(1);
    }

    /// Counts a backend call skipped because the backend's breaker has it down.
    pub(crate) fn bypassed(&self) {
        self.bypassed.add(1);
    }

    /// Records how long one backend call took.
    pub(crate) fn backend_call(&self, elapsed: Duration) {
        self.backend_calls.add(1);
        self.backend_nanos
            .add(u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX));
    }

    fn snapshot(&self) -> Stats {
        Stats {
            hits: self.hits.sum() + self.remote_hits.sum(),
            misses: self.misses.sum(),
            errors: self.errors.sum(),
            backend_calls: self.backend_calls.sum(),
            backend_time: Duration::from_nanos(self.backend_nanos.sum()),
            bypassed: self.bypassed.sum(),
            stale: self.stale.sum(),
            refreshes: self.refreshes.sum(),
        }
    }
}

/// A point-in-time copy of one name's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Calls answered from the cache.
    pub hits: u64,
    /// Calls that ran the function body.
    pub misses: u64,
    /// Backend failures, timeouts and undecodable values (each also logged).
    pub errors: u64,
    /// Calls that reached the backend beyond an in-process hit.
    pub backend_calls: u64,
    /// Total time spent in those backend calls.
    pub backend_time: Duration,
    /// Backend calls not made because the backend's circuit breaker had it down (see
    /// [`health`](crate::health)); the function ran uncached instead.
    pub bypassed: u64,
    /// Calls answered with a value past its `ttl` (`stale` or `fail_safe`); not in `hits`.
    pub stale: u64,
    /// Body runs that renewed a value while callers were served the old one (`stale`,
    /// `refresh_ahead`, `fail_safe`); not in `misses`.
    pub refreshes: u64,
}

impl Stats {
    /// `hits / (hits + misses)`, or 0 before any call.
    #[must_use]
    pub fn hit_ratio(&self) -> f64 {
        let total = self.hits + self.misses;
        if total == 0 {
            0.0
        } else {
            self.hits as f64 / total as f64
        }
    }

    /// What was counted after `earlier`, a copy of the same counters taken before: each count
    /// less its earlier value (never below zero).
    ///
    /// ```
    /// let earlier = cache_core::stats::Stats::default();
    /// let now = cache_core::stats::snapshot("my_app::get_user").unwrap_or_default();
    /// assert_eq!(now.since(&earlier), now);
    /// ```
    #[must_use]
    pub fn since(&self, earlier: &Self) -> Self {
        Self {
            hits: self.hits.saturating_sub(earlier.hits),
            misses: self.misses.saturating_sub(earlier.misses),
            errors: self.errors.saturating_sub(earlier.errors),
            backend_calls: self.backend_calls.saturating_sub(earlier.backend_calls),
            backend_time: self.backend_time.saturating_sub(earlier.backend_time),
            bypassed: self.bypassed.saturating_sub(earlier.bypassed),
            stale: self.stale.saturating_sub(earlier.stale),
            refreshes: self.refreshes.saturating_sub(earlier.refreshes),
        }
    }

    /// The mean backend call latency, or zero before any call.
    #[must_use]
    pub fn mean_backend_latency(&self) -> Duration {
        match u32::try_from(self.backend_calls) {
            Ok(0) => Duration::ZERO,
            Ok(calls) => self.backend_time / calls,
            Err(_) => Duration::from_nanos(
                u64::try_from(self.backend_time.as_nanos() / u128::from(self.backend_calls))
                    .unwrap_or(u64::MAX),
            ),
        }
    }
}

/// The tier of a function's backend.
#[cfg(feature = "metrics")]
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Level {
    Unknown = 0,
    Memory,
    Near,
    Redis,
}

/// One function's counts as metrics label them (see [`metrics`](crate::metrics)).
#[cfg(feature = "metrics")]
pub(crate) struct Levelled {
    /// The level of misses, stale answers and errors: the function's backend's.
    pub(crate) level: &'static str,
    /// Hits by the level that served them.
    pub(crate) hits: Vec<(&'static str, u64)>,
    pub(crate) stats: Stats,
}

/// Every function's counts, labelled by level.
#[cfg(feature = "metrics")]
pub(crate) fn levelled() -> Vec<(&'static str, Levelled)> {
    let registry = REGISTRY.lock().unwrap_or_else(PoisonError::into_inner);
    registry
        .iter()
        .map(|(name, counters)| {
            let level = match counters.level.load(Ordering::Relaxed) {
                1 => Level::Memory,
                2 => Level::Near,
                3 => Level::Redis,
                _ => Level::Unknown,
            };
            let (in_process, remote) = (counters.hits.sum(), counters.remote_hits.sum());
            let hits = match level {
                Level::Memory | Level::Unknown => vec![("memory", in_process + remote)],
                Level::Near => vec![("near", in_process), ("redis", remote)],
                Level::Redis => vec![("redis", in_process + remote)],
            };
            let level = match level {
                Level::Memory | Level::Unknown => "memory",
                Level::Near => "near",
                Level::Redis => "redis",
            };
            let stats = counters.snapshot();
            (*name, Levelled { level, hits, stats })
        })
        .collect()
}

static REGISTRY: LazyLock<Mutex<HashMap<&'static str, &'static Counters>>> =
    LazyLock::new(Mutex::default);

/// The counters for `name`, created on first use and kept for the life of the process.
pub(crate) fn handle(name: &'static str) -> &'static Counters {
    let mut registry = REGISTRY.lock().unwrap_or_else(PoisonError::into_inner);
    registry
        .entry(name)
        .or_insert_with(|| Box::leak(Box::default()))
}

/// The counters of `name`, if anything was counted under it.
#[must_use]
pub fn snapshot(name: &str) -> Option<Stats> {
    let registry = REGISTRY.lock().unwrap_or_else(PoisonError::into_inner);
    registry.get(name).map(|counters| counters.snapshot())
}

/// Every name's counters, sorted by name.
#[must_use]
pub fn all() -> Vec<(&'static str, Stats)> {
    let registry = REGISTRY.lock().unwrap_or_else(PoisonError::into_inner);
    let mut all: Vec<_> = registry
        .iter()
        .map(|(name, counters)| (*name, counters.snapshot()))
        .collect();
    all.sort_by_key(|(name, _)| *name);
    all
}

/// Backend names that cached functions asked for but nobody registered (a misspelt
/// `#[cached(backend = "...")]`), with how many lookups each had. Each such call used the
/// default backend; the first was logged.
///
/// ```
/// assert!(cache_core::stats::unknown_backends().iter().all(|(_, uses)| *uses > 0));
/// ```
#[must_use]
pub fn unknown_backends() -> Vec<(String, u64)> {
    super::registry::unknown_names()
}

/// Whether the backend a function naming `name` (or none) uses is marked down by its circuit
/// breaker right now (see [`health`](crate::health) for the rule).
///
/// ```
/// assert!(!cache_core::stats::backend_down(None));
/// ```
#[must_use]
pub fn backend_down(name: Option<&str>) -> bool {
    super::registry::with_resolved(name, |entry| entry.health.is_down())
}
