//! Telling a stale answer from a fresh one: [`with_freshness`].

use std::cell::Cell;
use std::future::{Future, poll_fn};
use std::pin::pin;

thread_local! {
    /// Stale answers returned on this thread so far. A future's polls run alone on their
    /// thread, so what grows during them was served to that future.
    static STALE_SERVED: Cell<u64> = const { Cell::new(0) };
}

/// Whether an answer was computed for it or served from the past.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Freshness {
    /// Every cached call answered within its `ttl` (or ran its body).
    Fresh,
    /// Some cached call answered with a value past its `ttl`, as `stale` or `fail_safe`
    /// allow.
    Stale,
}

/// Runs `future` and says whether any `#[cached]` call it made returned a stale value (from
/// `stale` or `fail_safe`). Costs nothing to the calls themselves: each stale answer bumps a
/// thread-local counter, which this reads around each poll.
///
/// ```
/// use cache_core::{Freshness, cached, with_freshness};
///
/// #[cached(key = "price:<sku>", ttl = 60, stale = "1h")]
/// async fn price(sku: u32) -> u64 {
///     u64::from(sku) * 100
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let (cents, freshness) = with_freshness(price(7)).await;
/// assert_eq!((cents, freshness), (700, Freshness::Fresh));
/// # }
/// ```
pub async fn with_freshness<F: Future>(future: F) -> (F::Output, Freshness) {
    let mut future = pin!(future);
    let mut stale = false;
    let output = poll_fn(|cx| {
        let before = STALE_SERVED.with(Cell::get);
        let polled = future.as_mut().poll(cx);
        stale |= STALE_SERVED.with(Cell::get) != before;
        polled
    })
    .await;
    let freshness = if stale {
        Freshness::Stale
    } else {
        Freshness::Fresh
    };
    (output, freshness)
}

/// Records a stale answer on this thread.
pub(crate) fn served_stale() {
    STALE_SERVED.with(|served| served.set(served.get().wrapping_add(1)));
}
