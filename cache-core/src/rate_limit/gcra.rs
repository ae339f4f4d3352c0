//! GCRA, the generic cell rate algorithm: the default [`Algorithm`](super::Algorithm).
//!
//! With emission interval `T = window / limit` (rounded up to a whole µs) and burst `B`, the
//! state is one number, the *theoretical arrival time* `tat` (µs). A call of cost `c` at `now`:
//!
//! ```text
//! tat     = max(tat, now)              (no state: tat = now)
//! new_tat = tat + T·c
//! allowed ⇔ new_tat ≤ now + T·B        then store new_tat until it has passed
//! ```
//!
//! # Guarantee
//!
//! In any interval of length `W` (closed at both ends), GCRA admits a total cost of at most
//! `B + ⌊W / T⌋`. It averages `limit` per `window` but is **not** "at most `limit` in any
//! window": with the default `B = limit`, up to `2·limit − 1` can pass within one `window`
//! (a full burst, then one more every `T`). For a hard cap of `N` per window, split the budget
//! so that `B + limit ≤ N`, or use the [sliding log](super::sliding_log).
//!
//! This is the arithmetic of `cache-redis/src/scripts/gcra.lua`, line for line; the same
//! arrival times give the same decisions on every backend.
//!
//! ```
//! use cache_core::rate_limit::gcra::{self, Gcra};
//!
//! // One cell every 100 ms, bursts of 5.
//! let params = Gcra::new(100_000, 5)?;
//! let mut tat = None;
//! for _ in 0..5 {
//!     let outcome = gcra::decide(tat, 0, &params, 1)?;
//!     assert!(outcome.decision.allowed());
//!     tat = outcome.write.map(|(state, _ttl)| state);
//! }
//! let denied = gcra::decide(tat, 0, &params, 1)?;
//! assert!(!denied.decision.allowed());
//! assert_eq!(denied.decision.retry_after().as_micros(), 100_000);
//! assert_eq!(denied.decision.reset_after().as_micros(), 500_000);
//! # Ok::<(), cache_core::Error>(())
//! ```

use super::policy::cost_fits;
use super::{Outcome, RateLimitDecision, RateLimitPolicy, micros, saturating_u32};
use crate::{Error, ErrorKind, Result};

/// GCRA's parameters: the emission interval `T` in µs and the burst `B`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Gcra {
    emission_interval_us: u64,
    burst: u32,
}

impl Gcra {
    /// `T` (µs per cell, at least 1) and `B` (at least 1); [`ErrorKind::InvalidInput`] otherwise.
    pub fn new(emission_interval_us: u64, burst: u32) -> Result<Self> {
        if emission_interval_us == 0 || burst == 0 {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "GCRA needs an emission interval and a burst of at least 1",
            ));
        }
        Ok(Self {
            emission_interval_us,
            burst,
        })
    }

    /// The parameters of a GCRA `policy`, after [validating](RateLimitPolicy::validate) it.
    pub fn from_policy(policy: &RateLimitPolicy) -> Result<Self> {
        policy.validate()?;
        Self::new(policy.emission_interval_us(), policy.capacity())
    }

    /// `T`, in µs.
    #[must_use]
    pub const fn emission_interval_us(&self) -> u64 {
        self.emission_interval_us
    }

    /// `B`.
    #[must_use]
    pub const fn burst(&self) -> u32 {
        self.burst
    }
}

/// Decides a call of `cost` at `now_us`, given the stored `tat` (`None`: no state).
///
/// The outcome's `write` is the new `tat` and how long to keep it (until it has passed; after
/// that, no state and a stale state decide alike). A `cost` of 0 is a peek: it reports
/// `remaining` and writes nothing. A `cost` over the burst is [`ErrorKind::InvalidInput`].
#[inline]
pub fn decide(tat: Option<u64>, now_us: u64, params: &Gcra, cost: u32) -> Result<Outcome<u64>> {
    cost_fits(cost, params.burst)?;
    let t = params.emission_interval_us;
    let now = now_us;
    let tat = tat.map_or(now, |tat| tat.max(now));
    let new_tat = tat.saturating_add(t.saturating_mul(u64::from(cost)));
    // `now + T·B`: the latest a `tat` may reach while the call still passes.
    let horizon = now.saturating_add(t.saturating_mul(u64::from(params.burst)));
    if horizon < new_tat {
        return Ok(Outcome {
            decision: RateLimitDecision::denied(
                params.burst,
                saturating_u32(horizon.saturating_sub(tat) / t),
                micros(new_tat - horizon),
                micros(tat - now),
            ),
            write: None,
        });
    }
    Ok(Outcome {
        decision: RateLimitDecision::admitted(
            params.burst,
            saturating_u32((horizon - new_tat) / t),
            micros(new_tat - now),
        ),
        write: (cost > 0).then_some((new_tat, new_tat - now)),
    })
}
