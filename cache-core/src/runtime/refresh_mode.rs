//! Refresh mode: a generated `<fn>_refresh` companion calls the function itself, so that its
//! body is written (and type-checked) once; the mode tells the function's `cached` call to run
//! the body and overwrite instead of looking up.

use std::cell::Cell;
use std::future::{Future, poll_fn};
use std::pin::pin;

thread_local! {
    /// Set only while [`refresh`] polls its future for the first time: the first `cached`
    /// call it reaches takes it, before that call runs anything, so nested cached calls in the
    /// body (and every other task on the thread) see it unset.
    static REFRESH: Cell<bool> = const { Cell::new(false) };
}

/// Clears the flag when the first poll ends, even by a panic.
struct Armed;

impl Armed {
    fn new() -> Self {
        REFRESH.with(|flag| flag.set(true));
        Self
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
    let mut first = true;
    poll_fn(|cx| {
        if std::mem::take(&mut first) {
            let _armed = Armed::new();
            return future.as_mut().poll(cx);
        }
        future.as_mut().poll(cx)
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
    async fn the_mode_is_set_for_the_first_poll_only_and_taken_once() {
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
    async fn a_later_poll_does_not_set_the_mode() {
        let seen = refresh(async {
            tokio::task::yield_now().await;
            take()
        })
        .await;
        assert!(!seen);
    }
}
