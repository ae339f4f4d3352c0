//! [`CacheBackend::rate_limit`](crate::CacheBackend::rate_limit) for [`MemoryBackend`]: the
//! pure algorithms of [`crate::rate_limit`], run under the key's shard lock on tokio's clock.
//!
//! The state lives in the store like any entry (its decoded form in `Entry::shared`, no bytes),
//! with the TTL the algorithm asks for, so idle limiters expire and are reclaimed like other
//! entries, `delete` resets a limiter and `clear` resets them all. Like any entry, limiter state
//! can be evicted when the store is full, which resets that limiter.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;

use super::{Entry, MemoryBackend};
use crate::backend::SharedValue;
use crate::rate_limit::fixed_window::{self, FixedWindow, WindowState};
use crate::rate_limit::gcra::{self, Gcra};
use crate::rate_limit::sliding_log::{self, SlidingLog};
use crate::rate_limit::{Algorithm, RateLimitDecision, RateLimitPolicy};
use crate::{Error, ErrorKind, Result};

/// One key's limiter state.
struct LimiterState {
    /// The instant the algorithms' microseconds count from, fixed when the state is created:
    /// any `Instant` works, paused test clocks included, and the numbers stay small.
    origin: Instant,
    kind: Kind,
}

enum Kind {
    /// GCRA's theoretical arrival time.
    Gcra(u64),
    Window(WindowState),
    /// Mutated in place under the shard lock (the mutex is never contended), so a decision
    /// does not copy the log.
    Log(Mutex<VecDeque<u64>>),
}

impl Kind {
    fn algorithm(&self) -> Algorithm {
        match self {
            Self::Gcra(_) => Algorithm::Gcra,
            Self::Window(_) => Algorithm::FixedWindow,
            Self::Log(_) => Algorithm::SlidingLog,
        }
    }
}

enum Params {
    Gcra(Gcra),
    Window(FixedWindow),
    Log(SlidingLog),
}

/// Takes one decision for `key` atomically.
pub(super) fn decide(
    backend: &MemoryBackend,
    key: &str,
    policy: &RateLimitPolicy,
    cost: u32,
) -> Result<RateLimitDecision> {
    let params = match policy.algorithm() {
        Algorithm::Gcra => Params::Gcra(Gcra::from_policy(policy)?),
        Algorithm::FixedWindow => Params::Window(FixedWindow::from_policy(policy)?),
        Algorithm::SlidingLog => Params::Log(SlidingLog::from_policy(policy)?),
    };
    policy.check_cost(cost)?;
    // `update` queues the expiry of entries it creates; a live entry replaced in place is ours
    // to queue.
    let mut replaced_until = None;
    let decision = backend.update(key, |current| {
        let now = Instant::now();
        let stored = current.map(|entry| stored_state(entry, key)).transpose()?;
        let origin = stored.map_or(now, |(_, state)| state.origin);
        let now_us =
            u64::try_from(now.saturating_duration_since(origin).as_micros()).unwrap_or(u64::MAX);
        let kind = stored.map(|(_, state)| &state.kind);
        let (decision, write) = match (&params, kind) {
            (Params::Gcra(params), None | Some(Kind::Gcra(_))) => {
                let tat = match kind {
                    Some(Kind::Gcra(tat)) => Some(*tat),
                    _ => None,
                };
                let outcome = gcra::decide(tat, now_us, params, cost)?;
                let write = outcome
                    .write
                    .map(|(tat, ttl)| (new_state(origin, Kind::Gcra(tat)), ttl));
                (outcome.decision, write)
            }
            (Params::Window(params), None | Some(Kind::Window(_))) => {
                let window = match kind {
                    Some(Kind::Window(window)) => Some(*window),
                    _ => None,
                };
                let outcome = fixed_window::decide(window, now_us, params, cost)?;
                let write = outcome
                    .write
                    .map(|(window, ttl)| (new_state(origin, Kind::Window(window)), ttl));
                (outcome.decision, write)
            }
            (Params::Log(params), None) => {
                let mut log = VecDeque::new();
                let outcome = sliding_log::decide(&mut log, now_us, params, cost)?;
                let write = outcome
                    .write
                    .map(|((), ttl)| (new_state(origin, Kind::Log(Mutex::new(log))), ttl));
                (outcome.decision, write)
            }
            (Params::Log(params), Some(Kind::Log(log))) => {
                let mut log = log.lock().unwrap_or_else(PoisonError::into_inner);
                let outcome = sliding_log::decide(&mut log, now_us, params, cost)?;
                let shared = stored.map(|(shared, _)| Arc::clone(shared));
                (
                    outcome.decision,
                    shared.zip(outcome.write.map(|((), ttl)| ttl)),
                )
            }
            (_, Some(kind)) => {
                return Err(wrong_type(key, kind.algorithm(), policy.algorithm()));
            }
        };
        let Some((shared, ttl_us)) = write else {
            return Ok((None, decision));
        };
        // The algorithm runs on tokio's clock; the entry expires on the store's own clock.
        let expires_at = super::clock::Instant::now() + Duration::from_micros(ttl_us);
        if current.is_some() {
            replaced_until = Some(expires_at);
        }
        let entry = Arc::new(Entry {
            bytes: Bytes::new(),
            shared: Some(shared),
            expires_at: Some(expires_at),
        });
        Ok((Some(entry), decision))
    })?;
    if let Some(at) = replaced_until {
        backend.inner.expiry.push(at, key, &backend.inner.store);
    }
    Ok(decision)
}

fn new_state(origin: Instant, kind: Kind) -> SharedValue {
    Arc::new(LimiterState { origin, kind })
}

fn stored_state<'a>(entry: &'a Entry, key: &str) -> Result<(&'a SharedValue, &'a LimiterState)> {
    entry
        .shared
        .as_ref()
        .and_then(|shared| Some((shared, shared.downcast_ref::<LimiterState>()?)))
        .ok_or_else(|| {
            Error::new(
                ErrorKind::Backend,
                format!("key `{key}` holds a value that is not rate-limit state"),
            )
        })
}

fn wrong_type(key: &str, stored: Algorithm, wanted: Algorithm) -> Error {
    Error::new(
        ErrorKind::Backend,
        format!("key `{key}` holds {stored} rate-limit state, not {wanted}"),
    )
}
