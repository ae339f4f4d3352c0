//! What `#[cached]` expansions call: the hit path, fail-open misses and single-flight.
//!
//! Reached by generated code through [`crate::__private`]; not a public API.

use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::codec::{Codec, Json};
use crate::refresh_mode;
use crate::registry::{DynBackend, with_resolved};
use crate::singleflight::{Flights, Join, Outcome, Waited, wait};
use crate::stats::{self, Counters};
use crate::{Error, ErrorKind, Result, settings};

/// One cached function: its name, options and per-function state. Generated code keeps one in
/// a `static` inside the function.
pub struct Site {
    config: SiteConfig,
    state: OnceLock<SiteState>,
}

/// What a [`Site`] is told at compile time. A struct with named fields, so that generated
/// code says which option each value is.
#[derive(Debug, Clone, Copy)]
pub struct SiteConfig {
    /// `module::path::function`, as the function's stats are counted under.
    pub name: &'static str,
    /// The backend registered under this name, or the default.
    pub backend: Option<&'static str>,
    /// How long values live, or forever.
    pub ttl: Option<Duration>,
    /// How long the backend may take, or [`settings::default_timeout`].
    pub timeout: Option<Duration>,
}

struct SiteState {
    counters: &'static Counters,
    flights: Flights,
}

impl Site {
    /// A site with these options.
    #[must_use]
    pub const fn new(config: SiteConfig) -> Self {
        Self {
            config,
            state: OnceLock::new(),
        }
    }

    /// The function's name, as its stats are counted under.
    #[must_use]
    pub fn name(&self) -> &'static str {
        self.config.name
    }

    #[inline]
    fn state(&self) -> &SiteState {
        self.state.get_or_init(|| SiteState {
            counters: stats::handle(self.config.name),
            flights: Flights::new(),
        })
    }

    fn backend(&self) -> DynBackend {
        with_resolved(self.config.backend, Arc::clone)
    }

    fn timeout(&self) -> Duration {
        self.config.timeout.unwrap_or_else(settings::default_timeout)
    }

    /// Runs one backend call under the site's timeout, timing and counting it; failures are
    /// logged and come back as `None` (the caller fails open).
    async fn call<T>(
        &self,
        backend: &DynBackend,
        op: &'static str,
        key: &str,
        call: impl Future<Output = Result<T>>,
    ) -> Option<T> {
        let counters = self.state().counters;
        // The TSC, not `CLOCK_MONOTONIC`: two reads per backend call, at a third of the cost
        // where the kernel's clock is virtualised. Real time even under a paused test clock.
        let started = quanta::Instant::now();
        // A second timer around a backend that bounds its own calls only costs time.
        let outcome = if self.config.timeout.is_none() && backend.enforces_timeouts() {
            call.await
        } else {
            match tokio::time::timeout(self.timeout(), call).await {
                Ok(outcome) => outcome,
                Err(_) => Err(Error::new(
                    ErrorKind::Timeout,
                    format!("no answer within {:?}", self.timeout()),
                )),
            }
        };
        counters.backend_call(started.elapsed());
        match outcome {
            Ok(value) => Some(value),
            Err(error) => {
                counters.error();
                tracing::warn!(function = self.config.name, op, key, %error, "cache backend failed; running uncached");
                None
            }
        }
    }
}

/// How a function's return value maps to what is cached.
///
/// `store` picks the cacheable part of a result (`Ok`'s value, `Some`'s value, the whole value,
/// or nothing when a `unless` predicate vetoes it); `load` rebuilds a result from it.
pub struct Shape<R, S, Store, Load>
where
    Store: Fn(&R) -> Option<S>,
    Load: Fn(S) -> R,
{
    /// Picks what to cache from a result.
    pub store: Store,
    /// Rebuilds a result from a cached value.
    pub load: Load,
    #[doc(hidden)]
    pub _marker: std::marker::PhantomData<fn(R) -> S>,
}

impl<R, S, Store, Load> Shape<R, S, Store, Load>
where
    Store: Fn(&R) -> Option<S>,
    Load: Fn(S) -> R,
{
    /// A shape from its two halves.
    pub const fn new(store: Store, load: Load) -> Self {
        Self {
            store,
            load,
            _marker: std::marker::PhantomData,
        }
    }
}

/// Bounds on a cached value: cloneable for followers, serializable for the backend.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be cached",
    label = "the cached value must be `Clone + Serialize + DeserializeOwned + Send + Sync + 'static`",
    note = "derive `Clone, serde::Serialize, serde::Deserialize` for `{Self}`, or cache an `Arc` of it (serde's `rc` feature)"
)]
pub trait Cacheable: Clone + Serialize + DeserializeOwned + Send + Sync + 'static {}
impl<T: Clone + Serialize + DeserializeOwned + Send + Sync + 'static> Cacheable for T {}

/// The whole cached call: hit → value; miss → one body run per key, stored and shared.
pub async fn cached<R, S, Store, Load, Body, Fut>(
    site: &'static Site,
    key: &str,
    shape: Shape<R, S, Store, Load>,
    body: Body,
) -> R
where
    S: Cacheable,
    Store: Fn(&R) -> Option<S>,
    Load: Fn(S) -> R,
    Body: FnOnce() -> Fut,
    Fut: Future<Output = R>,
{
    if !settings::is_enabled() {
        return body().await;
    }
    if refresh_mode::take() {
        return Box::pin(overwrite(site, key, shape, body)).await;
    }
    if let Some(value) = local_hit::<S>(site, key) {
        site.state().counters.hit();
        return (shape.load)(value);
    }
    // Boxed: the miss path's state (flights, backend calls, timeouts) would otherwise make
    // every caller's future several hundred bytes larger, hits included.
    Box::pin(miss(site, key, shape, body)).await
}

/// The in-process fast path: no allocation, no decode, no reference count on the registry.
#[inline]
fn local_hit<S: Cacheable>(site: &Site, key: &str) -> Option<S> {
    let mut hit = None;
    with_resolved(site.config.backend, |backend| {
        backend.visit_shared(key, &mut |shared| hit = shared.downcast_ref::<S>().cloned());
    });
    hit
}

async fn miss<R, S, Store, Load, Body, Fut>(
    site: &'static Site,
    key: &str,
    shape: Shape<R, S, Store, Load>,
    body: Body,
) -> R
where
    S: Cacheable,
    Store: Fn(&R) -> Option<S>,
    Load: Fn(S) -> R,
    Body: FnOnce() -> Fut,
    Fut: Future<Output = R>,
{
    let state = site.state();
    let backend = site.backend();
    loop {
        match remote_get::<S>(site, &backend, key).await {
            Lookup::Hit(value) => {
                state.counters.hit();
                return (shape.load)(value);
            }
            Lookup::Failed => {
                // The backend is down or slow: don't queue behind it, and don't try to write.
                state.counters.miss();
                return body().await;
            }
            Lookup::Miss => {}
        }
        match state.flights.join::<S>(backend.store_id(), key) {
            Join::Leader(leader) => {
                // A flight that ended between our lookup and our join has stored its value
                // (leaders store before they leave): look again, in process or on the server,
                // so a key is computed once even when our first lookup raced that store.
                if let Lookup::Hit(value) = remote_get::<S>(site, &backend, key).await {
                    state.counters.hit();
                    leader.publish(Outcome::Value(value.clone()));
                    return (shape.load)(value);
                }
                state.counters.miss();
                let result = body().await;
                let outcome = match (shape.store)(&result) {
                    Some(value) => {
                        store(site, &backend, key, &value).await;
                        Outcome::Value(value)
                    }
                    None => Outcome::Uncacheable,
                };
                leader.publish(outcome);
                return result;
            }
            Join::Follower(follower) => match wait(follower).await {
                Waited::Value(value) => {
                    state.counters.hit();
                    return (shape.load)(value);
                }
                Waited::Uncacheable => {
                    state.counters.miss();
                    return body().await;
                }
                Waited::Abandoned => continue,
            },
            Join::Alone => {
                state.counters.miss();
                let result = body().await;
                if let Some(value) = (shape.store)(&result) {
                    store(site, &backend, key, &value).await;
                }
                return result;
            }
        }
    }
}

enum Lookup<S> {
    Hit(S),
    Miss,
    Failed,
}

async fn remote_get<S: Cacheable>(site: &Site, backend: &DynBackend, key: &str) -> Lookup<S> {
    if let Some(value) = backend
        .get_shared(key)
        .and_then(|shared| shared.downcast_ref::<S>().cloned())
    {
        return Lookup::Hit(value);
    }
    match site.call(backend, "get", key, backend.get(key)).await {
        None => Lookup::Failed,
        Some(None) => Lookup::Miss,
        Some(Some(bytes)) => match Json.decode::<S>(&bytes) {
            Ok(value) => Lookup::Hit(value),
            Err(error) => {
                site.state().counters.error();
                tracing::warn!(function = site.config.name, key, %error, "undecodable cache value; recomputing");
                Lookup::Miss
            }
        },
    }
}

async fn store<S: Cacheable>(site: &Site, backend: &DynBackend, key: &str, value: &S) {
    let encoded = match Json.encode(value) {
        Ok(encoded) => Bytes::from(encoded),
        Err(error) => {
            site.state().counters.error();
            tracing::warn!(function = site.config.name, key, %error, "value could not be encoded; not cached");
            return;
        }
    };
    let shared = Arc::new(value.clone());
    site.call(
        backend,
        "set",
        key,
        backend.set_shared(key, shared, encoded, site.config.ttl),
    )
    .await;
}

/// Runs the body and overwrites the cached value with its result (if cacheable), whatever
/// was cached before: [`cached`] in refresh mode.
async fn overwrite<R, S, Store, Load, Body, Fut>(
    site: &'static Site,
    key: &str,
    shape: Shape<R, S, Store, Load>,
    body: Body,
) -> R
where
    S: Cacheable,
    Store: Fn(&R) -> Option<S>,
    Load: Fn(S) -> R,
    Body: FnOnce() -> Fut,
    Fut: Future<Output = R>,
{
    let result = body().await;
    if let Some(value) = (shape.store)(&result) {
        store(site, &site.backend(), key, &value).await;
    }
    result
}

/// Removes the cached value under `key`. Backs the generated `*_invalidate` companion; returns
/// whether there was one.
pub async fn invalidate(site: &'static Site, key: &str) -> Result<bool> {
    let backend = site.backend();
    match tokio::time::timeout(site.timeout(), backend.delete(key)).await {
        Ok(outcome) => outcome,
        Err(_) => Err(Error::new(
            ErrorKind::Timeout,
            format!(
                "invalidate of `{key}` got no answer within {:?}",
                site.timeout()
            ),
        )),
    }
}
