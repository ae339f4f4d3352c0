//! Sliding log: the strict algorithm. See [`Algorithm::SlidingLog`](super::Algorithm).
//!
//! The state is the sorted log of admission times (µs) still inside the window, one entry per
//! unit of cost. A call of cost `c` at `now`:
//!
//! ```text
//! drop every entry t with t + window ≤ now
//! allowed ⇔ len + c ≤ limit            then log c entries at now
//! ```
//!
//! # Guarantee
//!
//! **Never more than `limit` in any window of length `window`**: for every `t`, the admitted
//! cost with admission time in `(t − window, t]` is at most `limit`. Equivalently, in the sorted
//! sequence of admitted units `a`, `a[i + limit] − a[i] ≥ window`. Denied calls are not logged
//! (logging them would make a different, penalising limiter). The price is memory: one entry
//! per admitted unit, so keep `limit` small (at most
//! [`MAX_SLIDING_LOG_LIMIT`](super::MAX_SLIDING_LOG_LIMIT)).
//!
//! This is the arithmetic of `cache-redis/src/scripts/sliding_log.lua`, line for line.
//!
//! ```
//! use std::collections::VecDeque;
//! use cache_core::rate_limit::{WindowParams, sliding_log};
//!
//! // 2 per 100 ms.
//! let params = WindowParams::new(2, 100_000)?;
//! let mut log = VecDeque::new();
//! assert!(sliding_log::decide(&mut log, 0, &params, 1)?.decision.allowed());
//! assert!(sliding_log::decide(&mut log, 60_000, &params, 1)?.decision.allowed());
//! let denied = sliding_log::decide(&mut log, 99_999, &params, 1)?.decision;
//! assert!(!denied.allowed());
//! assert_eq!(denied.retry_after().as_micros(), 1); // the entry at 0 leaves at 100 000
//! assert!(sliding_log::decide(&mut log, 100_000, &params, 1)?.decision.allowed());
//! assert_eq!(log, [60_000, 100_000]);
//! # Ok::<(), cache_core::Error>(())
//! ```

use std::collections::VecDeque;

use super::policy::cost_fits;
use super::{Outcome, RateLimitDecision, WindowParams, micros, saturating_u32};
use crate::Result;

/// Decides a call of `cost` at `now_us` against `log`, which it updates in place: expired
/// entries are dropped (as the script's `ZREMRANGEBYSCORE` does, even when denied) and, when
/// allowed, `cost` entries at `now_us` are added, keeping the log sorted.
///
/// The outcome's `write` is `Some(((), ttl))` when entries were added: keep the log for `ttl`
/// (until its newest entry leaves the window). A `cost` of 0 is a peek. A `cost` over the
/// limit is [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput).
pub fn decide(
    log: &mut VecDeque<u64>,
    now_us: u64,
    params: &WindowParams,
    cost: u32,
) -> Result<Outcome<()>> {
    cost_fits(cost, params.limit())?;
    let now = now_us;
    let window = params.window_us();
    let limit = u64::from(params.limit());
    while log
        .front()
        .is_some_and(|&at| at.saturating_add(window) <= now)
    {
        log.pop_front();
    }
    let count = log.len() as u64;
    let reset_after = |log: &VecDeque<u64>| {
        micros(log.back().map_or(0, |&newest| {
            newest.saturating_add(window).saturating_sub(now)
        }))
    };
    let total = count + u64::from(cost);
    if total > limit {
        // The call passes once the entries up to this one have left the window.
        let index = usize::try_from(total - limit - 1).unwrap_or(usize::MAX);
        let leaves_at = log.get(index).map_or(now, |&at| at.saturating_add(window));
        let retry_after = leaves_at.saturating_sub(now);
        return Ok(Outcome {
            decision: RateLimitDecision::denied(
                params.limit(),
                saturating_u32(limit.saturating_sub(count)),
                micros(retry_after),
                reset_after(log),
            ),
            write: None,
        });
    }
    if cost == 0 {
        return Ok(Outcome {
            decision: RateLimitDecision::admitted(
                params.limit(),
                saturating_u32(limit - total),
                reset_after(log),
            ),
            write: None,
        });
    }
    let at = log.partition_point(|&logged| logged <= now);
    for _ in 0..cost {
        log.insert(at, now);
    }
    let decision = RateLimitDecision::admitted(
        params.limit(),
        saturating_u32(limit - total),
        reset_after(log),
    );
    let ttl = u64::try_from(decision.reset_after().as_micros()).unwrap_or(u64::MAX);
    Ok(Outcome {
        decision,
        write: Some(((), ttl)),
    })
}
