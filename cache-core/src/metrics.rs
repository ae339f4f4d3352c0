//! Metrics: one table of names, reported through the [`metrics`](https://docs.rs/metrics)
//! facade when the `metrics` feature is on, to whatever recorder the application installs
//! (Prometheus through `metrics-exporter-prometheus`, OpenTelemetry, StatsD, ...).
//!
//! | name | kind | attributes | counts |
//! |---|---|---|---|
//! | `cache.requests` | counter | `cache.name`, `cache.level`, `cache.result` | calls of each cached function: `hit`, `miss`, `stale`, `error` |
//! | `cache.refreshes` | counter | `cache.name` | body runs that renewed a value served past its TTL |
//! | `cache.backend.duration` | histogram, seconds | `cache.name`, `cache.operation` | each backend call of a cached function |
//! | `cache.load.duration` | histogram, seconds | `cache.name`, `cache.load.result` | each body run that loads a value (a miss's, a refresh's, an overwrite's): `ok` when its result is cached, `error` when it is not (an `Err`, a result `unless` or `cache_none` refuses, a refresh's panic) |
//! | `ratelimit.decisions` | counter | `ratelimit.name`, `ratelimit.result` | each decision: `allowed`, `limited`, `failed_open`, `error` |
//! | `cache.lock.acquisitions` | counter | `cache.lock.result` | each [`Lock`](crate::lock::Lock) acquire: `acquired`, `busy`, `failed` |
//! | `cache.lock.wait` | histogram, seconds | `cache.lock.result` | how long each acquire took |
//! | `cache.lock.losses` | counter | — | held locks whose lease could not be renewed |
//! | `cache.breaker.changes` | counter | `cache.breaker.state` | a backend's circuit breaker opening (`open`) or closing (`closed`) |
//!
//! - `cache.name` is the function's path (`app::users::get_user`), `ratelimit.name` the
//!   limiter's key prefix (`rl:api:gcra:`): bounded by the code, never by the data. **No key is
//!   ever an attribute.**
//! - `cache.level` is where an answer came from: `memory` (the memory backend), `near` (the
//!   Redis backend's near cache) or `redis` (the backend's own store: Redis, or any backend
//!   that keeps no values in process). Misses, stale answers and errors carry the level of the
//!   function's backend. `error` counts backend failures and unreadable values (each call then
//!   ran uncached).
//! - Requests cost nothing per call: they are the per-function counters of
//!   [`stats`](crate::stats), handed to the recorder as totals by [`publish`] (call it
//!   before rendering, as the REST demo's `/metrics` does, or every few seconds with
//!   [`publish_every`]). Everything else is recorded as it happens, off the hit path.
//! - The Prometheus exporter (`metrics-exporter-prometheus`) writes the names with `_` for
//!   `.`: `cache_requests{cache_name="...",cache_level="memory",cache_result="hit"}`.

use std::time::Duration;

/// The names and attribute values of the table above, for recorders, dashboards and tests.
pub mod names {
    /// Calls of a cached function, by level and result.
    pub const REQUESTS: &str = "cache.requests";
    /// Body runs that renewed a value served past its TTL.
    pub const REFRESHES: &str = "cache.refreshes";
    /// The duration of each backend call of a cached function, in seconds.
    pub const BACKEND_DURATION: &str = "cache.backend.duration";
    /// The duration of each body run that loads a value, in seconds, by result.
    pub const LOAD_DURATION: &str = "cache.load.duration";
    /// Rate-limit decisions, by result.
    pub const RATE_LIMIT_DECISIONS: &str = "ratelimit.decisions";
    /// Lock acquisitions, by result.
    pub const LOCK_ACQUISITIONS: &str = "cache.lock.acquisitions";
    /// How long each lock acquisition took, in seconds.
    pub const LOCK_WAIT: &str = "cache.lock.wait";
    /// Held locks whose lease could not be renewed.
    pub const LOCK_LOSSES: &str = "cache.lock.losses";
    /// A backend's circuit breaker opening or closing.
    pub const BREAKER_CHANGES: &str = "cache.breaker.changes";

    /// The cached function's path.
    pub const NAME: &str = "cache.name";
    /// `memory`, `near` or `redis`.
    pub const LEVEL: &str = "cache.level";
    /// `hit`, `miss`, `stale` or `error`.
    pub const RESULT: &str = "cache.result";
    /// The backend operation (`get`, `set`, `claim`, `fill`, ...).
    pub const OPERATION: &str = "cache.operation";
    /// `ok` (the load's result is cached) or `error` (it is not).
    pub const LOAD_RESULT: &str = "cache.load.result";
    /// The rate limiter's key prefix.
    pub const RATE_LIMIT_NAME: &str = "ratelimit.name";
    /// `allowed`, `limited`, `failed_open` or `error`.
    pub const RATE_LIMIT_RESULT: &str = "ratelimit.result";
    /// `acquired`, `busy` or `failed`.
    pub const LOCK_RESULT: &str = "cache.lock.result";
    /// `open` or `closed`.
    pub const BREAKER_STATE: &str = "cache.breaker.state";
}

/// Hands every cached function's request counts to the installed recorder, as absolute
/// totals (so calling it often, or from several places, counts nothing twice).
#[cfg(feature = "metrics")]
pub fn publish() {
    for (name, totals) in crate::runtime::stats::levelled() {
        let requests = |level: &'static str, result: &'static str, total: u64| {
            metrics::counter!(names::REQUESTS, names::NAME => name, names::LEVEL => level, names::RESULT => result)
                .absolute(total);
        };
        for (level, hits) in totals.hits {
            requests(level, "hit", hits);
        }
        requests(totals.level, "miss", totals.stats.misses);
        requests(totals.level, "stale", totals.stats.stale);
        requests(totals.level, "error", totals.stats.errors);
        metrics::counter!(names::REFRESHES, names::NAME => name).absolute(totals.stats.refreshes);
    }
}

/// Spawns a task on the current tokio runtime that calls [`publish`] every `interval`, for
/// recorders that are not scraped through the application (push exporters).
///
/// # Panics
///
/// Outside a tokio runtime, as `tokio::spawn` does.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// // At start-up, once a recorder is installed:
/// let publisher = cache_core::metrics::publish_every(std::time::Duration::from_secs(5));
/// # publisher.abort();
/// # }
/// ```
#[cfg(feature = "metrics")]
pub fn publish_every(interval: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        loop {
            ticks.tick().await;
            publish();
        }
    })
}

/// One backend call of the cached function `name`.
#[inline]
pub(crate) fn backend_call(name: &'static str, operation: &'static str, elapsed: Duration) {
    #[cfg(feature = "metrics")]
    metrics::histogram!(names::BACKEND_DURATION, names::NAME => name, names::OPERATION => operation)
        .record(elapsed.as_secs_f64());
    #[cfg(not(feature = "metrics"))]
    let _ = (name, operation, elapsed);
}

/// A load (a body run whose result may be cached) being timed for `cache.load.duration`:
/// without the `metrics` feature, nothing at all.
pub(crate) struct LoadTimer {
    #[cfg(feature = "metrics")]
    started: quanta::Instant,
}

impl LoadTimer {
    /// Starts timing a load.
    #[inline]
    pub(crate) fn start() -> Self {
        Self {
            #[cfg(feature = "metrics")]
            started: quanta::Instant::now(),
        }
    }

    /// The load of the cached function `name` ended; `cached` says whether its result is.
    #[inline]
    pub(crate) fn finish(self, name: &'static str, cached: bool) {
        #[cfg(feature = "metrics")]
        metrics::histogram!(names::LOAD_DURATION, names::NAME => name, names::LOAD_RESULT => if cached { "ok" } else { "error" })
            .record(self.started.elapsed().as_secs_f64());
        #[cfg(not(feature = "metrics"))]
        let _ = (name, cached);
    }
}

/// One decision of the rate limiter whose keys start with `name`.
#[inline]
pub(crate) fn rate_limit_decision(name: &str, result: &'static str) {
    #[cfg(feature = "metrics")]
    metrics::counter!(names::RATE_LIMIT_DECISIONS, names::RATE_LIMIT_NAME => name.to_owned(), names::RATE_LIMIT_RESULT => result)
        .increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = (name, result);
}

/// One lock acquisition, which took `waited`.
pub(crate) fn lock_acquisition(result: &'static str, waited: Duration) {
    #[cfg(feature = "metrics")]
    {
        metrics::counter!(names::LOCK_ACQUISITIONS, names::LOCK_RESULT => result).increment(1);
        metrics::histogram!(names::LOCK_WAIT, names::LOCK_RESULT => result)
            .record(waited.as_secs_f64());
    }
    #[cfg(not(feature = "metrics"))]
    let _ = (result, waited);
}

/// A held lock lost its lease.
pub(crate) fn lock_lost() {
    #[cfg(feature = "metrics")]
    metrics::counter!(names::LOCK_LOSSES).increment(1);
}

/// A backend's breaker opened (`open`) or closed (`closed`).
pub(crate) fn breaker_changed(state: &'static str) {
    #[cfg(feature = "metrics")]
    metrics::counter!(names::BREAKER_CHANGES, names::BREAKER_STATE => state).increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = state;
}
