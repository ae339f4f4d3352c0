//! One execution per key: concurrent misses of one key in a process share one body run.

use std::any::Any;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::watch;

const SHARDS: usize = 16;

/// Flights are per backend as well as per key: two tasks in different `with_backend` scopes
/// must each fill their own store.
type FlightKey = (usize, String);

type Shard = Mutex<HashMap<FlightKey, Arc<dyn Any + Send + Sync>>>;

/// The calls in flight for one function, by key. Touched only on misses: hits never see it.
pub(crate) struct Flights {
    shards: Box<[Shard]>,
    hasher: foldhash::fast::FixedState,
}

/// What the leading call made of its run, as its followers see it.
#[derive(Clone)]
pub(crate) enum Outcome<S> {
    Pending,
    /// The cacheable value the leader computed.
    Value(S),
    /// The leader's result is not to be cached (an `Err`, a vetoed value): each follower runs
    /// the body itself rather than queueing behind one another.
    Uncacheable,
}

type Flight<S> = watch::Sender<Outcome<S>>;

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
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            hasher: foldhash::fast::FixedState::default(),
        }
    }

    fn shard(&self, key: &str) -> MutexGuard<'_, HashMap<FlightKey, Arc<dyn Any + Send + Sync>>> {
        let index = (self.hasher.hash_one(key) as usize) % SHARDS;
        self.shards[index]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Joins the flight for `key` on the backend identified by `backend` (its address).
    pub(crate) fn join<S: Send + Sync + 'static>(&self, backend: usize, key: &str) -> Join<'_, S> {
        let mut shard = self.shard(key);
        let flight_key = (backend, key.to_owned());
        if let Some(existing) = shard.get(&flight_key) {
            return match existing.downcast_ref::<Flight<S>>() {
                Some(flight) => Join::Follower(flight.subscribe()),
                None => Join::Alone,
            };
        }
        let flight: Arc<Flight<S>> = Arc::new(watch::Sender::new(Outcome::Pending));
        shard.insert(flight_key.clone(), flight.clone());
        Join::Leader(Leader {
            flights: self,
            key: flight_key,
            flight,
        })
    }
}

/// The call that runs the body for everyone. Dropping it unpublished (the caller was
/// cancelled) closes the flight, and one follower takes over.
pub(crate) struct Leader<'a, S: Send + Sync + 'static> {
    flights: &'a Flights,
    key: FlightKey,
    flight: Arc<Flight<S>>,
}

impl<S: Send + Sync + 'static> Leader<'_, S> {
    pub(crate) fn publish(self, outcome: Outcome<S>) {
        self.flight.send_replace(outcome);
    }
}

impl<S: Send + Sync + 'static> Drop for Leader<'_, S> {
    fn drop(&mut self) {
        let mut shard = self.flights.shard(&self.key.1);
        let ours = shard.get(&self.key).is_some_and(|current| {
            let current: &(dyn Any + Send + Sync) = &**current;
            std::ptr::addr_eq(current, Arc::as_ptr(&self.flight))
        });
        if ours {
            shard.remove(&self.key);
        }
    }
}

/// What a follower learnt by waiting.
pub(crate) enum Waited<S> {
    Value(S),
    Uncacheable,
    /// The leader was cancelled before it finished.
    Abandoned,
}

pub(crate) async fn wait<S: Clone>(mut follower: watch::Receiver<Outcome<S>>) -> Waited<S> {
    match follower
        .wait_for(|outcome| !matches!(outcome, Outcome::Pending))
        .await
    {
        Ok(outcome) => match &*outcome {
            Outcome::Value(value) => Waited::Value(value.clone()),
            Outcome::Uncacheable | Outcome::Pending => Waited::Uncacheable,
        },
        Err(_) => Waited::Abandoned,
    }
}
