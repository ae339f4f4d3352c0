//! [`Wakeups`]: who waits for which lock name, so that a release wakes them instead of them
//! polling. For [`LockStore`](super::LockStore) implementors.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::task::{Context, Poll};

use tokio::sync::Notify;
use tokio::sync::futures::OwnedNotified;

/// The waiters of each lock name. A backend keeps one, hands out [`watch`](Self::watch)es and
/// calls [`wake`](Self::wake) when a name is released or filled (the memory backend in
/// process; the Redis backend on each notification its subscription receives).
///
/// ```
/// use cache_core::lock::Wakeups;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let wakeups = Wakeups::default();
/// let woken = wakeups.watch("payment:7"); // registered now: no wake can be missed
/// wakeups.wake("payment:7");
/// woken.await;
/// # }
/// ```
#[derive(Debug, Default)]
pub struct Wakeups {
    waiting: Mutex<Waiting>,
}

#[derive(Debug, Default)]
struct Waiting {
    by_name: HashMap<Box<str>, Weak<Notify>>,
    /// The map's size after its last sweep of names nobody waits for any more.
    swept_at: usize,
}

impl Wakeups {
    /// A wakeup that fires at the next [`wake`](Self::wake) of `name` after this call.
    pub fn watch(&self, name: &str) -> Wakeup {
        let mut waiting = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        let notify = match waiting.by_name.get(name).and_then(Weak::upgrade) {
            Some(notify) => notify,
            None => {
                let notify = Arc::new(Notify::new());
                waiting.by_name.insert(name.into(), Arc::downgrade(&notify));
                waiting.sweep();
                notify
            }
        };
        let mut notified = Box::pin(notify.notified_owned());
        notified.as_mut().enable();
        Wakeup(Some(notified))
    }

    /// Wakes every [`watch`](Self::watch) of `name` made before this call.
    pub fn wake(&self, name: &str) {
        let notify = {
            let mut waiting = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
            waiting.by_name.remove(name)
        };
        if let Some(notify) = notify.and_then(|notify| notify.upgrade()) {
            notify.notify_waiters();
        }
    }

    /// Wakes every watch of every name: for a backend that may have missed notifications
    /// (its subscription reconnected), so that waiters look again.
    pub fn wake_all(&self) {
        let all = std::mem::take(
            &mut self
                .waiting
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .by_name,
        );
        for notify in all.into_values().filter_map(|notify| notify.upgrade()) {
            notify.notify_waiters();
        }
    }

    /// Whether anyone in this process waits for `name`.
    #[must_use]
    pub fn is_watched(&self, name: &str) -> bool {
        let waiting = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        waiting
            .by_name
            .get(name)
            .is_some_and(|notify| notify.strong_count() > 0)
    }
}

impl Waiting {
    /// Drops names whose waiters all left, whenever the map has doubled since the last sweep:
    /// amortised O(1) per watch, and the map stays within twice the names waited for.
    fn sweep(&mut self) {
        if self.by_name.len() > 2 * self.swept_at.max(32) {
            self.by_name.retain(|_, notify| notify.strong_count() > 0);
            self.swept_at = self.by_name.len();
        }
    }
}

/// A registered wait for one name's next release (see [`Wakeups::watch`]), or one that never
/// fires ([`never`](Self::never)), for a backend that cannot notify.
pub struct Wakeup(Option<Pin<Box<OwnedNotified>>>);

impl Wakeup {
    /// A wakeup that never fires: waiters then wait out the holder's lease.
    #[must_use]
    pub fn never() -> Self {
        Self(None)
    }
}

impl std::fmt::Debug for Wakeup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Wakeup").finish_non_exhaustive()
    }
}

impl Future for Wakeup {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match self.0.as_mut() {
            Some(notified) => notified.as_mut().poll(cx),
            None => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_wake_reaches_watches_made_before_it_only() {
        let wakeups = Wakeups::default();
        let early = wakeups.watch("k");
        let other = wakeups.watch("other");
        wakeups.wake("k");
        let late = wakeups.watch("k");
        early.await;
        assert!(wakeups.is_watched("other"));
        let timed_out = tokio::time::timeout(std::time::Duration::from_millis(20), late).await;
        assert!(
            timed_out.is_err(),
            "a watch made after the wake must wait for the next one"
        );
        wakeups.wake_all();
        other.await;
    }

    #[test]
    fn names_nobody_waits_for_are_swept() {
        let wakeups = Wakeups::default();
        for i in 0..10_000 {
            drop(wakeups.watch(&format!("k{i}")));
        }
        let kept = wakeups.waiting.lock().map(|w| w.by_name.len()).unwrap_or(0);
        assert!(kept <= 64, "{kept} names kept for no waiter");
    }
}
