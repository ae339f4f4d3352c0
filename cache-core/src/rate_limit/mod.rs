//! Rate limiting: exact, atomic per key, and shared by every process using the same backend.
//!
//! - [`RateLimitPolicy`]: `limit` per `window`, decided by an [`Algorithm`] (GCRA by default).
//! - [`RateLimitStore::rate_limit`](crate::RateLimitStore::rate_limit): one atomic decision on a
//!   backend. Redis runs it as a Lua script on the server's clock; the [`MemoryBackend`]
//!   runs the same pure algorithm ([`gcra`], [`fixed_window`], [`sliding_log`]) on tokio's
//!   clock. Given the same arrival times, both decide alike.
//! - [`RateLimitDecision`]: allowed, limit, remaining, retry-after and reset-after.
//! - [`RateLimiter`]: the programmatic limiter, for code that is not a function boundary
//!   (`#[rate_limited]` covers functions).
//! - [`RateLimited`]: the error for a denied call.
//!
//! ```
//! use std::time::Duration;
//! use cache_core::rate_limit::{RateLimitPolicy, RateLimiter};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> cache_core::Result<()> {
//! let limiter = RateLimiter::new(RateLimitPolicy::gcra(10, Duration::from_secs(60)));
//! let decision = limiter.check("alice").await?;
//! assert!(decision.allowed());
//! assert_eq!(decision.remaining(), 9);
//! # Ok(()) }
//! ```
//!
//! # Algorithms and their exact guarantees
//!
//! | [`Algorithm`] | state per key | guarantee for `limit` `N` per `window` `W` |
//! |---|---|---|
//! | [`Gcra`](Algorithm::Gcra) (default) | one integer | average `N / W`; at most `burst + ⌊w / T⌋` in any interval of length `w`, `T = W / N` (so up to `2N − 1` in one `W` with the default `burst = N`) |
//! | [`FixedWindow`](Algorithm::FixedWindow) | start + count | at most `N` per window, but up to **`2N`** within one `W` across a window boundary |
//! | [`SlidingLog`](Algorithm::SlidingLog) | one entry per admitted unit | **never more than `N` in any window of length `W`** |
//!
//! All three work in integer microseconds, never count denied calls, and treat a `cost` of 0
//! as a peek. A cost larger than the policy's [`capacity`](RateLimitPolicy::capacity) can never
//! pass and is [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput), not "retry later".
//!
//! # When the backend fails
//!
//! [`RateLimiter`] *fails open* by default ([`FailureMode::Open`]): if the backend is down, slow
//! past the timeout, or cannot rate-limit, the call is allowed and a warning is logged.
//! [`FailureMode::Closed`] returns the error instead. Errors in the policy or the cost are
//! always returned.
//!
//! Clients may retry a script whose reply was lost, which charges the call twice: a limiter
//! errs on the safe side.
//!
//! [`MemoryBackend`]: crate::MemoryBackend

mod decision;
pub(crate) mod expansion;
pub mod fixed_window;
pub mod gcra;
#[cfg(feature = "http")]
pub mod http;
mod limiter;
mod policy;
pub mod sliding_log;
mod window_params;

use std::time::Duration;

pub use decision::{RateLimitDecision, RateLimited};
pub use limiter::{DEFAULT_NAMESPACE, FailureMode, RateLimiter};
pub use policy::{Algorithm, MAX_SLIDING_LOG_LIMIT, MAX_SPAN, RateLimitPolicy};
pub use window_params::WindowParams;

/// What one pure decision does: the [`RateLimitDecision`] and what to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome<S> {
    /// The decision.
    pub decision: RateLimitDecision,
    /// The state to store and how long to keep it (µs), or `None` to leave the stored state
    /// as it is. Once the time has passed, no state and the stale state decide alike.
    pub write: Option<(S, u64)>,
}

fn micros(us: u64) -> Duration {
    Duration::from_micros(us)
}

fn saturating_u32(value: u64) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests;
