//! A time-ordered queue of expiring keys, so expired entries are reclaimed without scanning.

use std::cell::Cell;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Mutex;

use crate::util::clock::Instant;

use super::store::Store;

const STRIPES: usize = 16;

/// Earliest expiry on top.
type Heap = BinaryHeap<Reverse<(Instant, String)>>;

#[derive(Default)]
struct Stripe {
    heap: Heap,
    /// The size at which stale keys are next dropped: at least the stripe limit, and twice
    /// what the last pass kept, so that a stripe full of live keys is not rescanned on every
    /// push.
    prune_at: usize,
}

/// Min-heaps of `(expires_at, key)`, striped so that concurrent writers rarely share a lock.
///
/// A key may appear more than once (it was rewritten) or after its entry is gone (evicted or
/// deleted); reaping checks that the entry still carries the queued expiry before removing it.
pub(super) struct ExpiryQueue {
    stripes: Box<[Mutex<Stripe>]>,
    /// Past this many queued keys in one stripe, stale ones are dropped so that the queue stays
    /// proportional to the live entries even when evictions outpace expiry.
    stripe_limit: usize,
}

thread_local! {
    static STRIPE: Cell<usize> = const { Cell::new(usize::MAX) };
}

fn my_stripe() -> usize {
    STRIPE.with(|stripe| {
        if stripe.get() == usize::MAX {
            static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            stripe.set(NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % STRIPES);
        }
        stripe.get()
    })
}

impl ExpiryQueue {
    pub(super) fn new(limit: usize) -> Self {
        Self {
            stripes: (0..STRIPES).map(|_| Mutex::default()).collect(),
            stripe_limit: (limit / STRIPES).max(64),
        }
    }

    pub(super) fn push(&self, at: Instant, key: &str, store: &Store) {
        let mut stripe = lock(&self.stripes[my_stripe()]);
        stripe.heap.push(Reverse((at, key.to_owned())));
        if stripe.heap.len() > stripe.prune_at.max(self.stripe_limit) {
            stripe.heap.retain(|Reverse((at, key))| {
                store.peek(key, |entry| entry.expires_at == Some(*at)) == Some(true)
            });
            stripe.prune_at = stripe.heap.len().saturating_mul(2);
        }
    }

    /// Pops up to `max` keys due at `now` and hands each to `remove`. Returns how many
    /// `remove` reported as removed.
    pub(super) fn reap(
        &self,
        now: Instant,
        max: usize,
        mut remove: impl FnMut(&str, Instant) -> bool,
    ) -> usize {
        let mut removed = 0;
        let mut budget = max;
        let first = my_stripe();
        for offset in 0..STRIPES {
            if budget == 0 {
                break;
            }
            let mut stripe = lock(&self.stripes[(first + offset) % STRIPES]);
            let heap = &mut stripe.heap;
            while budget > 0 {
                match heap.peek() {
                    Some(Reverse((at, _))) if *at <= now => {}
                    _ => break,
                }
                if let Some(Reverse((at, key))) = heap.pop() {
                    removed += usize::from(remove(&key, at));
                    budget -= 1;
                }
            }
            // Writes reap their own stripe only, keeping their cost flat; a full purge walks all.
            if max != usize::MAX {
                break;
            }
        }
        removed
    }

    pub(super) fn clear(&self) {
        for stripe in &self.stripes {
            lock(stripe).heap.clear();
        }
    }
}

/// A poisoned stripe only means another thread panicked mid-push; the heap is still a heap.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
