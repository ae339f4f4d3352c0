//! One execution per key: concurrent misses of one key in a process share one body run.

use std::any::Any;
use std::collections::HashMap;
use std::future::{Future, poll_fn};
use std::hash::BuildHasher;
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::watch;

use super::shape::SharedResult;

const SHARDS: usize = 16;

/// Flights are per store as well as per key (see `cached::store_id`).
type FlightKey = (usize, String);

type FlightMap = HashMap<FlightKey, Arc<dyn Any + Send + Sync>>;

#[derive(Default)]
struct Shard {
    flights: Mutex<FlightMap>,
    /// How many flights of this shard have ended. A caller that reads the same count before
    /// its lookup and when it becomes leader knows no flight stored a value in between, so
    /// it need not look again (a remote miss is then one `GET` and one `SET`).
    ended: AtomicU64,
}

/// The calls in flight for one function, by key. Touched only on misses: hits never see it.
pub(crate) struct Flights {
    shards: Box<[Shard]>,
    hasher: foldhash::fast::FixedState,
}

impl std::fmt::Debug for Flights {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Flights").finish_non_exhaustive()
    }
}

/// What the leading call made of its run, as its followers see it.
#[derive(Clone)]
pub(crate) enum Outcome<S> {
    Pending,
    /// The cacheable value the leader computed.
    Value(S),
    /// The leader's result is not to be cached (an `Err`, a vetoed value) and cannot be
    /// shared: each follower runs the body itself rather than queueing behind one another.
    Uncacheable,
    /// The leader's result is not to be cached but can be cloned: each follower returns a
    /// copy, so a failing source is called once for all of them.
    Shared(SharedResult),
    /// The leader's body panicked: every follower runs the body itself, at once, instead of
    /// taking over one after another (which would queue them behind one panic each).
    Panicked,
    /// An invalidation or a newer write overtook the leader's load, so its value may be older
    /// than what a follower may see: followers join again.
    Superseded,
}

type Flight<S> = watch::Sender<Outcome<S>>;

/// A shard's count of ended flights, read before a lookup.
#[derive(Clone, Copy)]
pub(crate) struct Generation(u64);

pub(crate) enum Join<'a, S: Send + Sync + 'static> {
    Leader(Leader<'a, S>),
    Follower(watch::Receiver<Outcome<S>>),
    /// Another type is in flight under this key (a generic function's other instance): no
    /// coalescing, just run.
    Alone,
}

impl Flights {
    pub(crate) fn new() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Shard::default()).collect(),
            hasher: foldhash::fast::FixedState::default(),
        }
    }

    fn shard(&self, key: &str) -> &Shard {
        &self.shards[(self.hasher.hash_one(key) as usize) % SHARDS]
    }

    /// The count to hand to [`join`](Self::join) after a lookup of `key`.
    pub(crate) fn generation(&self, key: &str) -> Generation {
        Generation(self.shard(key).ended.load(Ordering::Acquire))
    }

    /// Joins the flight for `key` on the store identified by `store`; `seen` is the
    /// [`generation`](Self::generation) read before the caller's lookup.
    pub(crate) fn join<S: Send + Sync + 'static>(
        &self,
        store: usize,
        key: &str,
        seen: Generation,
    ) -> Join<'_, S> {
        let shard = self.shard(key);
        let mut flights = lock(shard);
        let flight_key = (store, key.to_owned());
        if let Some(existing) = flights.get(&flight_key) {
            return match existing.downcast_ref::<Flight<S>>() {
                Some(flight) => Join::Follower(flight.subscribe()),
                None => Join::Alone,
            };
        }
        let flight: Arc<Flight<S>> = Arc::new(watch::Sender::new(Outcome::Pending));
        flights.insert(flight_key.clone(), flight.clone());
        Join::Leader(Leader {
            shard,
            key: flight_key,
            flight,
            raced: shard.ended.load(Ordering::Relaxed) != seen.0,
        })
    }

    /// Takes the flight for `key` out of the map, so that callers from now on start a new one
    /// rather than share a load begun before (an invalidation's). Its leader still publishes
    /// to the followers it has.
    pub(crate) fn detach(&self, store: usize, key: &str) {
        let shard = self.shard(key);
        lock(shard).remove(&(store, key.to_owned()));
    }

    /// [`detach`](Self::detach) for every key in flight on `store`.
    pub(crate) fn detach_all(&self, store: usize) {
        for shard in &self.shards {
            lock(shard).retain(|(on, _), _| *on != store);
        }
    }
}

fn lock(shard: &Shard) -> MutexGuard<'_, FlightMap> {
    shard.flights.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The call that runs the body for everyone. Dropping it unpublished closes the flight: after
/// a cancellation one follower takes over; after a panic every follower runs at once.
pub(crate) struct Leader<'a, S: Send + Sync + 'static> {
    shard: &'a Shard,
    key: FlightKey,
    flight: Arc<Flight<S>>,
    raced: bool,
}

impl<S: Send + Sync + 'static> Leader<'_, S> {
    /// Whether a flight of this shard ended since the caller's lookup, so its value may be
    /// stored now.
    pub(crate) fn raced(&self) -> bool {
        self.raced
    }

    pub(crate) fn publish(self, outcome: Outcome<S>) {
        self.flight.send_replace(outcome);
    }
}

impl<S: Send + Sync + 'static> Leader<'_, S> {
    /// Runs the leader's body. If a poll of it panics, the followers are told at once, while
    /// the panic unwinds: a future dropped later (the panic caught above the task) would
    /// otherwise look like a cancellation.
    pub(crate) async fn run<F: Future>(&self, body: F) -> F::Output {
        let mut body = pin!(body);
        poll_fn(|cx| {
            let guard = PanicGuard(&self.flight);
            let polled = body.as_mut().poll(cx);
            std::mem::forget(guard);
            polled
        })
        .await
    }
}

/// Dropped only while a poll of the leader's body unwinds.
struct PanicGuard<'a, S>(&'a Flight<S>);

impl<S> Drop for PanicGuard<'_, S> {
    fn drop(&mut self) {
        self.0.send_if_modified(|outcome| {
            let pending = matches!(outcome, Outcome::Pending);
            if pending {
                *outcome = Outcome::Panicked;
            }
            pending
        });
    }
}

impl<S: Send + Sync + 'static> Drop for Leader<'_, S> {
    fn drop(&mut self) {
        let mut flights = lock(self.shard);
        // Counted before the flight leaves the map, under its lock: whoever joins after
        // the removal sees the new count.
        self.shard.ended.fetch_add(1, Ordering::Release);
        let ours = flights.get(&self.key).is_some_and(|current| {
            let current: &(dyn Any + Send + Sync) = &**current;
            std::ptr::addr_eq(current, Arc::as_ptr(&self.flight))
        });
        if ours {
            flights.remove(&self.key);
        }
    }
}

/// What a follower learnt by waiting.
pub(crate) enum Waited<S> {
    Value(S),
    /// The leader's uncached result, to copy.
    Shared(SharedResult),
    /// Nothing to share (uncacheable result, or the leader panicked): run the body.
    RunYourself,
    /// The leader was cancelled before it finished, or its load was superseded: join again.
    Abandoned,
}

pub(crate) async fn wait<S: Clone>(mut follower: watch::Receiver<Outcome<S>>) -> Waited<S> {
    match follower
        .wait_for(|outcome| !matches!(outcome, Outcome::Pending))
        .await
    {
        Ok(outcome) => match &*outcome {
            Outcome::Value(value) => Waited::Value(value.clone()),
            Outcome::Shared(result) => Waited::Shared(Arc::clone(result)),
            Outcome::Superseded => Waited::Abandoned,
            Outcome::Uncacheable | Outcome::Panicked | Outcome::Pending => Waited::RunYourself,
        },
        Err(_) => Waited::Abandoned,
    }
}
