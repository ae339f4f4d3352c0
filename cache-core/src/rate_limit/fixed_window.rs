//! Fixed window: a counter per window. See [`Algorithm::FixedWindow`](super::Algorithm).
//!
//! The state is the window's start and the cost admitted in it. A window starts at the first
//! call after the previous window ended (it is not aligned to the clock) and lasts `window`:
//!
//! ```text
//! no state, or now ≥ start + window:  start = now, count = 0
//! allowed ⇔ count + cost ≤ limit      then count += cost
//! ```
//!
//! # Guarantee
//!
//! At most `limit` per window, but **up to `2·limit` within one `window`'s length** across a
//! boundary: `limit` at the end of one window and `limit` at the start of the next. Denied calls
//! are not counted. Use the [sliding log](super::sliding_log) when that matters; this is the
//! cheapest algorithm and its `reset_after` is exactly the end of the window.
//!
//! This is the arithmetic of `cache-redis/src/scripts/fixed_window.lua`, line for line.
//!
//! ```
//! use cache_core::rate_limit::{WindowParams, fixed_window};
//!
//! // 3 per second.
//! let params = WindowParams::new(3, 1_000_000)?;
//! let mut state = None;
//! let mut allowed = Vec::new();
//! for now in [0, 10, 20, 30, 999_999, 1_000_000] {
//!     let outcome = fixed_window::decide(state, now, &params, 1)?;
//!     allowed.push(outcome.decision.allowed());
//!     if let Some((next, _ttl)) = outcome.write {
//!         state = Some(next);
//!     }
//! }
//! assert_eq!(allowed, [true, true, true, false, false, true]);
//! # Ok::<(), cache_core::Error>(())
//! ```

use super::policy::cost_fits;
use super::{Outcome, RateLimitDecision, WindowParams, micros, saturating_u32};
use crate::Result;

/// A fixed window's state: when the current window started (µs) and the cost admitted in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WindowState {
    /// The start of the current window, µs.
    pub start_us: u64,
    /// The cost admitted since then.
    pub count: u64,
}

/// Decides a call of `cost` at `now_us`, given the stored `state` (`None`: no state).
///
/// The outcome's `write` is the new state and how long to keep it (until the window ends).
/// A `cost` of 0 is a peek. A `cost` over the limit is
/// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput).
#[inline]
pub fn decide(
    state: Option<WindowState>,
    now_us: u64,
    params: &WindowParams,
    cost: u32,
) -> Result<Outcome<WindowState>> {
    cost_fits(cost, params.limit())?;
    let now = now_us;
    let limit = u64::from(params.limit());
    let cost = u64::from(cost);
    let (start, count) = match state {
        Some(state) if now < state.start_us.saturating_add(params.window_us()) => {
            (state.start_us, state.count)
        }
        _ => (now, 0),
    };
    let ends_in = start.saturating_add(params.window_us()) - now;
    if count.saturating_add(cost) > limit {
        return Ok(Outcome {
            decision: RateLimitDecision::denied(
                params.limit(),
                saturating_u32(limit.saturating_sub(count)),
                micros(ends_in),
                micros(ends_in),
            ),
            write: None,
        });
    }
    let count = count + cost;
    let reset_after = if count > 0 { ends_in } else { 0 };
    Ok(Outcome {
        decision: RateLimitDecision::admitted(
            params.limit(),
            saturating_u32(limit - count),
            micros(reset_after),
        ),
        write: (cost > 0).then_some((
            WindowState {
                start_us: start,
                count,
            },
            ends_in,
        )),
    })
}
