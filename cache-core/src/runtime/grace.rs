//! Serving past the TTL: what a function with `stale`, `refresh_ahead` or `fail_safe` stores
//! ([`Stamped`]), how it reads a stamp ([`Age`]), and its per-key state in process
//! ([`GraceState`]: one refresh per key, throttled retries of a failing source).
//!
//! A value of such a function is stored as `{"v": value, "w": written, "f": fresh_until}` (Unix
//! milliseconds), on the backend for `ttl` + [`Grace::keep`]: the stamps say what the value is
//! worth now in every process that reads it, whatever the backend.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::shape::{CacheShape, Share};
use crate::util::clock::wall_millis;

/// How long an entry is served past its `ttl`, and when it is refreshed: the options
/// `stale`, `refresh_ahead`, `fail_safe`, `fail_safe_throttle` and `soft_timeout` of
/// `#[cached]`, checked at compile time. Every field `None` is a plain function.
#[derive(Debug, Clone, Copy, Default)]
pub struct Grace {
    /// After its `ttl`, the value is served at once for this long while one refresh per key
    /// runs (stale-while-revalidate).
    pub stale: Option<Duration>,
    /// A hit after this fraction of the `ttl` starts a refresh, so that a hot key is renewed
    /// before anyone misses it.
    pub refresh_ahead: Option<f64>,
    /// When the body fails (an `Err`, a panic, or `soft_timeout`) while an old value exists,
    /// that value is returned instead, and kept for this long.
    pub fail_safe: Option<Duration>,
    /// The least time between two runs of a failing body per key in this process (doubled
    /// after each further failure, up to 8 times), or 10 s.
    pub fail_safe_throttle: Option<Duration>,
    /// How long a caller waits for a refresh when an old value could be returned instead.
    pub soft_timeout: Option<Duration>,
}

/// The throttle of a failing source when `fail_safe_throttle` is not given. With its doubling,
/// a source down for 60 s is called 3 times in that minute per key and process (at 0, 10 and
/// 30 s); a source back up is seen within 80 s at most.
pub(crate) const DEFAULT_THROTTLE: Duration = Duration::from_secs(10);

/// How many times the throttle may double for a key that keeps failing.
const MAX_BACKOFF_SHIFT: u32 = 3;

impl Grace {
    /// How long past its `ttl` a value is kept on the backend: as long as it may be served.
    pub(crate) fn keep(&self) -> Duration {
        let stale = self.stale.unwrap_or_default();
        let fail_safe = self.fail_safe.unwrap_or_default();
        stale.max(fail_safe)
    }

    fn throttle(&self) -> Duration {
        self.fail_safe_throttle.unwrap_or(DEFAULT_THROTTLE)
    }
}

/// A value with its freshness stamps, as a graceful function stores it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Stamped<S> {
    #[serde(rename = "v")]
    pub(crate) value: S,
    /// When it was written (Unix ms).
    #[serde(rename = "w")]
    written: u64,
    /// Until when it is fresh (Unix ms).
    #[serde(rename = "f")]
    fresh_until: u64,
}

/// What a stamped value is worth now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Age {
    /// Fresh: return it.
    Fresh,
    /// Fresh, and past `refresh_ahead`: return it and refresh.
    RefreshDue,
    /// Past its `ttl`, within `stale`: return it at once and refresh.
    Stale,
    /// Past `stale` too: refresh, and return it only if the refresh fails (`fail_safe`).
    Expired,
}

impl<S> Stamped<S> {
    pub(crate) fn new(value: S, fresh_for: Duration) -> Self {
        let written = wall_millis();
        let fresh = u64::try_from(fresh_for.as_millis()).unwrap_or(u64::MAX);
        Self {
            value,
            written,
            fresh_until: written.saturating_add(fresh),
        }
    }

    /// How much longer it lives on the backend under `grace`, from now.
    pub(crate) fn kept_for(&self, grace: &Grace) -> Duration {
        let until = Duration::from_millis(self.fresh_until).saturating_add(grace.keep());
        until.saturating_sub(Duration::from_millis(wall_millis()))
    }

    /// Its age under `grace`, now.
    #[inline]
    pub(crate) fn age(&self, grace: &Grace) -> Age {
        let now = wall_millis();
        if now < self.fresh_until {
            let due = grace.refresh_ahead.is_some_and(|fraction| {
                let lifetime = self.fresh_until.saturating_sub(self.written);
                #[allow(
                    clippy::cast_precision_loss,
                    clippy::cast_possible_truncation,
                    clippy::cast_sign_loss
                )]
                let ahead = (lifetime as f64 * fraction) as u64;
                now >= self.written.saturating_add(ahead)
            });
            return if due { Age::RefreshDue } else { Age::Fresh };
        }
        let stale_until = grace.stale.map_or(0, |stale| {
            self.fresh_until
                .saturating_add(u64::try_from(stale.as_millis()).unwrap_or(u64::MAX))
        });
        if now < stale_until {
            Age::Stale
        } else {
            Age::Expired
        }
    }
}

/// The shape of a graceful function: its own shape's value, stamped as it is stored; stale
/// values are not hits to the miss path.
pub(crate) struct Stamping<'a, Sh> {
    pub(crate) shape: &'a Sh,
    pub(crate) fresh_for: Duration,
    pub(crate) grace: Grace,
}

impl<R, Sh: CacheShape<R>> CacheShape<R> for Stamping<'_, Sh> {
    type Value = Stamped<Sh::Value>;

    fn store(&self, result: &R) -> Option<Self::Value> {
        let value = self.shape.store(result)?;
        Some(Stamped::new(value, self.fresh_for))
    }

    fn load(&self, value: Self::Value) -> R {
        self.shape.load(value.value)
    }

    fn share(&self) -> Option<Share<R>> {
        self.shape.share()
    }

    fn fresh(&self, value: &Self::Value) -> bool {
        matches!(value.age(&self.grace), Age::Fresh | Age::RefreshDue)
            && self.shape.fresh(&value.value)
    }
}

/// Per graceful function: the keys being refreshed, and the failing ones with when their
/// source may be tried again. Touched only past a fresh hit.
#[derive(Default)]
pub(crate) struct GraceState {
    refreshing: Mutex<HashSet<Box<str>>>,
    failing: Mutex<HashMap<Box<str>, Failing>>,
}

#[derive(Clone, Copy)]
struct Failing {
    retry_at: tokio::time::Instant,
    failures: u32,
}

impl GraceState {
    /// Takes the key's refresh, unless another caller in this process has it or the key's
    /// source failed too recently to be tried again.
    pub(crate) fn begin_refresh<'a>(&'a self, key: &str) -> Option<RefreshTicket<'a>> {
        let throttled = lock(&self.failing)
            .get(key)
            .is_some_and(|failing| tokio::time::Instant::now() < failing.retry_at);
        if throttled {
            return None;
        }
        let key: Box<str> = key.into();
        if !lock(&self.refreshing).insert(key.clone()) {
            return None;
        }
        Some(RefreshTicket { state: self, key })
    }

    fn failed(&self, key: &str, grace: &Grace) -> Duration {
        let mut failing = lock(&self.failing);
        let failures = failing.get(key).map_or(0, |failing| failing.failures);
        let wait = grace
            .throttle()
            .saturating_mul(1 << failures.min(MAX_BACKOFF_SHIFT));
        failing.insert(
            key.into(),
            Failing {
                retry_at: tokio::time::Instant::now() + wait,
                failures: failures.saturating_add(1),
            },
        );
        wait
    }

    /// Holds the key's refreshes in this process off for `wait`, without counting a failure:
    /// another process refreshes it.
    fn defer(&self, key: &str, wait: Duration) {
        let mut failing = lock(&self.failing);
        let failures = failing.get(key).map_or(0, |failing| failing.failures);
        failing.insert(
            key.into(),
            Failing {
                retry_at: tokio::time::Instant::now() + wait,
                failures,
            },
        );
    }

    fn succeeded(&self, key: &str) {
        let mut failing = lock(&self.failing);
        if !failing.is_empty() {
            failing.remove(key);
        }
    }
}

/// The one refresh of a key in this process, released when dropped (finished, failed,
/// cancelled or unwound).
pub(crate) struct RefreshTicket<'a> {
    state: &'a GraceState,
    key: Box<str>,
}

impl RefreshTicket<'_> {
    pub(crate) fn key(&self) -> &str {
        &self.key
    }

    /// The refresh failed: the key's source is not tried again for the throttle, which is
    /// returned.
    pub(crate) fn failed(&self, grace: &Grace) -> Duration {
        self.state.failed(&self.key, grace)
    }

    pub(crate) fn succeeded(&self) {
        self.state.succeeded(&self.key);
    }

    /// Another process refreshes the key: this process does not try again for the holder's
    /// `remaining` lease, at most the throttle.
    pub(crate) fn elsewhere(&self, grace: &Grace, remaining: Option<Duration>) {
        let throttle = grace.throttle();
        let wait = remaining.map_or(throttle, |remaining| remaining.min(throttle));
        self.state.defer(&self.key, wait);
    }
}

impl Drop for RefreshTicket<'_> {
    fn drop(&mut self) {
        lock(&self.state.refreshing).remove(&self.key);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grace() -> Grace {
        Grace {
            stale: Some(Duration::from_secs(10)),
            refresh_ahead: Some(0.5),
            fail_safe: Some(Duration::from_secs(60)),
            ..Grace::default()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_stamp_ages_through_each_window() {
        let stamped = Stamped::new(1_u8, Duration::from_secs(10));
        let grace = grace();
        assert_eq!(stamped.age(&grace), Age::Fresh);
        tokio::time::advance(Duration::from_secs(6)).await;
        assert_eq!(stamped.age(&grace), Age::RefreshDue);
        tokio::time::advance(Duration::from_secs(5)).await;
        assert_eq!(stamped.age(&grace), Age::Stale);
        tokio::time::advance(Duration::from_secs(10)).await;
        assert_eq!(stamped.age(&grace), Age::Expired);
        assert_eq!(grace.keep(), Duration::from_secs(60));
    }

    #[tokio::test(start_paused = true)]
    async fn one_refresh_per_key_and_a_failing_key_backs_off() {
        let state = GraceState::default();
        let grace = Grace::default();
        let ticket = state.begin_refresh("k").expect("first");
        assert!(state.begin_refresh("k").is_none(), "one refresh per key");
        assert!(state.begin_refresh("other").is_some());
        assert_eq!(ticket.failed(&grace), DEFAULT_THROTTLE);
        drop(ticket);
        assert!(state.begin_refresh("k").is_none(), "throttled");
        tokio::time::advance(DEFAULT_THROTTLE).await;
        let ticket = state
            .begin_refresh("k")
            .expect("retried after the throttle");
        assert_eq!(ticket.failed(&grace), DEFAULT_THROTTLE * 2);
        drop(ticket);
        tokio::time::advance(DEFAULT_THROTTLE * 2).await;
        let ticket = state
            .begin_refresh("k")
            .expect("retried after the doubled throttle");
        ticket.succeeded();
        drop(ticket);
        assert!(
            state.begin_refresh("k").is_some(),
            "a success ends the throttle"
        );
    }
}
