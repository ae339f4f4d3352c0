//! Refresh mode: a generated `<fn>_refresh` companion calls the function itself, so that its
//! body is written (and type-checked) once; the mode tells the function's `cached` call to run
//! the body and overwrite instead of looking up.

use std::cell::Cell;
use std::future::{Future, poll_fn};
use std::pin::pin;

thread_local! {
    /// Set only while [`refresh`] polls its future, until the first `cached` call it reaches
    /// takes it (before that call runs anything), so nested cached calls in the body, and
    /// every other task on the thread, see it unset. Not only the first poll: a
    /// `#[rate_limited]` check in front of the cached call may have to wait first.
    static REFRESH: Cell<bool> = const { Cell::new(false) };
}

/// Clears the flag when a poll ends, even by a panic.
struct Armed;

impl Armed {
    fn new() -> Self {
        REFRESH.with(|flag| flag.set(true));
        Self
    }

    /// Whether no `cached` call took the mode during this poll.
    fn untaken(&self) -> bool {
        REFRESH.with(Cell::get)
    }
}

impl Drop for Armed {
    fn drop(&mut self) {
        REFRESH.with(|flag| flag.set(false));
    }
}

/// Runs `future` (a call of a `#[cached]` function) in refresh mode: that call runs its body
/// and overwrites the cached value with the result, if cacheable, instead of looking it up.
pub async fn refresh<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut pending = true;
    poll_fn(|cx| {
        if !pending {
            return future.as_mut().poll(cx);
        }
        let armed = Armed::new();
        let polled = future.as_mut().poll(cx);
        pending = armed.untaken();
        polled
    })
    .await
}

/// Whether the call being entered is to refresh (and clears the mode). One thread-local read
/// on the hit path.
#[inline]
pub(crate) fn take() -> bool {
    REFRESH.with(|flag| {
        let set = flag.get();
        if set {
            flag.set(false);
        }
        set
    })
}

/// Whether refresh mode is set right now (it never is outside [`refresh`]'s first poll).
#[cfg(test)]
fn is_set() -> bool {
    REFRESH.with(Cell::get)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_mode_is_taken_once() {
        let seen = refresh(async {
            let first = take();
            let second = take();
            tokio::task::yield_now().await;
            (first, second, is_set())
        })
        .await;
        assert_eq!(seen, (true, false, false));
        assert!(!is_set());
    }

    #[tokio::test]
    async fn the_mode_waits_for_a_call_that_comes_after_a_wait() {
        let seen = refresh(async {
            tokio::task::yield_now().await;
            let first = take();
            tokio::task::yield_now().await;
            (first, is_set())
        })
        .await;
        assert_eq!(seen, (true, false));
    }

    #[tokio::test]
    async fn the_mode_is_unset_between_polls() {
        let mut outside = None;
        let inner = async {
            tokio::task::yield_now().await;
        };
        let polled = refresh(inner);
        let mut polled = std::pin::pin!(polled);
        std::future::poll_fn(|cx| {
            let _ = polled.as_mut().poll(cx);
            outside = Some(is_set());
            std::task::Poll::Ready(())
        })
        .await;
        assert_eq!(outside, Some(false));
    }
}
