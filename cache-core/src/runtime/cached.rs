//! The cached call: an in-process hit, else the miss path with one body run per key.
//!
//! What one call costs the backend:
//!
//! - **In-process hit** (memory backend): one read under a shard's read lock, no allocation,
//!   no decode, no timer.
//! - **Near hit** (Redis with its near cache on): the same, on the near cache's copy; the
//!   first hit of a copy decodes it and keeps the value beside it.
//! - **Remote hit** (Redis): one `GET`.
//! - **Miss**: on a remote backend with locks, one `GET`, one claim and one fenced fill (see
//!   [`fleet`](super::fleet)); without locks (or with `lock = false`) one `GET` and one
//!   `SET`, the leader looking again only when a flight of its shard ended since its lookup.
//!   In process, a second look by the leader, then the claim and the fill.
//! - **Backend failing**: concurrent callers of a key still share one body run, whose result
//!   is not written back. Sequential calls each run the body while the backend keeps failing.

use std::future::Future;
use std::sync::Arc;

use tracing::Instrument as _;

use super::backend_call::{Lookup, lookup, store, within};
use super::fleet::{self, Claim, Filled};
use super::refresh_mode;
use super::registry::{Entry, with_resolved};
use super::settings;
use super::shape::{CacheShape, Cacheable};
use super::single_flight::{Join, Outcome, Waited, wait};
use super::site::Site;
use crate::codec::{Codec, Json};
use crate::lock::held;
use crate::metrics::LoadTimer;
use crate::{NearValues, Result};

/// The whole cached call: hit → value; miss → one body run per key, stored and shared.
pub async fn cached<R, Sh, Body, Fut>(site: &'static Site, key: &str, shape: Sh, body: Body) -> R
where
    Sh: CacheShape<R, Value: Cacheable>,
    Body: FnOnce() -> Fut,
    Fut: Future<Output = R>,
{
    if !settings::is_enabled() {
        return body().await;
    }
    if refresh_mode::take() {
        return Box::pin(overwrite(site, key, shape, body)).await;
    }
    if let Some(value) = local_hit::<Sh::Value>(site, key) {
        site.counters().hit();
        return shape.load(value);
    }
    // Boxed: the miss path's state (flights, backend calls, timeouts) would otherwise make
    // every caller's future several hundred bytes larger, hits included.
    Box::pin(miss(site, key, shape, body, false)).await
}

/// The in-process fast path: no allocation, no decode, no reference count on the registry.
/// A near cache's copy is served the same way once decoded, off this function's own code.
#[inline]
pub(crate) fn local_hit<S: Cacheable>(site: &Site, key: &str) -> Option<S> {
    let mut hit = None;
    with_resolved(site.backend_name(), |served| {
        if let Some(local) = served.backend.local() {
            local.visit(key, &mut |entry| {
                hit = entry
                    .value
                    .and_then(|value| value.downcast_ref::<S>())
                    .cloned();
            });
        } else if let Some(near) = served.backend.near() {
            hit = near_hit(near, key);
        }
    });
    hit
}

/// A hit on a near cache's copy: its decoded value, or its bytes decoded now and kept beside
/// them. Undecodable bytes are left to the miss path, which reports them.
///
/// Never inlined: inlined, its decode grew `local_hit` and cost the memory backend's hit
/// 50 -> 62 ns (macro_hit, `ours_cached`, one run each on this machine).
#[inline(never)]
fn near_hit<S: Cacheable>(near: &dyn NearValues, key: &str) -> Option<S> {
    let mut hit = None;
    let mut undecoded = None;
    near.visit(key, &mut |entry| {
        hit = entry
            .value
            .and_then(|value| value.downcast_ref::<S>())
            .cloned();
        if hit.is_none() {
            undecoded = Some(entry.bytes.clone());
        }
    });
    if hit.is_some() {
        return hit;
    }
    let bytes = undecoded?;
    let value: S = Json.decode(&bytes).ok()?;
    near.remember(key, &bytes, Arc::new(value.clone()));
    Some(value)
}

/// Flights are per store as well as per key: tasks in different `with_backend` scopes each
/// fill their own store, and tasks whose scopes share a store share its flights. A store is
/// its in-process values where it keeps them (the same behind every `Arc` or wrapper that
/// forwards them), else the registry's entry. Either outlives every flight on it (each
/// leader holds the backend), so the address cannot be reused while a flight is open.
pub(crate) fn store_id(served: &Entry) -> usize {
    match served.backend.local() {
        Some(local) => std::ptr::from_ref(local).cast::<()>() as usize,
        None => Arc::as_ptr(&served.backend).cast::<()>() as usize,
    }
}

/// The miss path, in a `cache.miss` span (debug level): the function, its key template, the
/// key, the outcome (`hit`: found on the backend; `computed`: the body ran and its value is
/// stored; `joined`: another caller's run answered; `ran`: the body ran, nothing stored) and
/// the duration. Hits in process make no span. `looked`: the caller has just looked the key up
/// on the backend and found nothing to return, so the first round does not look again.
pub(crate) async fn miss<R, Sh, Body, Fut>(
    site: &'static Site,
    key: &str,
    shape: Sh,
    body: Body,
    looked: bool,
) -> R
where
    Sh: CacheShape<R, Value: Cacheable>,
    Body: FnOnce() -> Fut,
    Fut: Future<Output = R>,
{
    let span = tracing::debug_span!(
        "cache.miss",
        function = site.name(),
        key_template = site.template(),
        key,
        outcome = tracing::field::Empty,
        duration_ms = tracing::field::Empty,
    );
    let started = quanta::Instant::now();
    let result = find_or_run(site, key, shape, body, looked, &span)
        .instrument(span.clone())
        .await;
    span.record("duration_ms", started.elapsed().as_secs_f64() * 1e3);
    result
}

/// Records how the miss ended, on its span.
fn outcome(span: &tracing::Span, outcome: &'static str) {
    span.record("outcome", outcome);
}

async fn find_or_run<R, Sh, Body, Fut>(
    site: &'static Site,
    key: &str,
    shape: Sh,
    body: Body,
    mut looked: bool,
    span: &tracing::Span,
) -> R
where
    Sh: CacheShape<R, Value: Cacheable>,
    Body: FnOnce() -> Fut,
    Fut: Future<Output = R>,
{
    let state = site.state();
    let counters = state.counters;
    let served = site.backend();
    let in_process = served.backend.local().is_some();
    loop {
        let seen = state.flights.generation(key);
        // In process, the hit path has just looked; the leader looks again below.
        let first = if in_process || std::mem::take(&mut looked) {
            Lookup::Miss
        } else {
            lookup::<Sh::Value>(site, &served, key).await
        };
        // Bytes this function cannot read are reported once per call, however often the
        // call meets them (its lookups, then its claim).
        let mut unreadable = false;
        let failed = match first {
            Lookup::Hit(value) if shape.fresh(&value) => {
                counters.remote_hit();
                outcome(span, "hit");
                return shape.load(value);
            }
            Lookup::Hit(_) | Lookup::Miss => false,
            Lookup::Unreadable => {
                unreadable = true;
                false
            }
            Lookup::Failed => true,
        };
        match state
            .flights
            .join::<Sh::Value>(store_id(&served), key, seen)
        {
            Join::Leader(leader) => {
                // A flight that ended since our lookup has stored its value (leaders store
                // before they leave): look again, so a key is computed once even when our
                // lookup raced that store. In process a look costs nothing; remotely only
                // when a flight of this shard did end.
                let look_again = in_process || (leader.raced() && !failed);
                if look_again {
                    match lookup::<Sh::Value>(site, &served, key).await {
                        Lookup::Hit(value) if shape.fresh(&value) => {
                            counters.remote_hit();
                            outcome(span, "hit");
                            leader.publish(Outcome::Value(value.clone()));
                            return shape.load(value);
                        }
                        Lookup::Unreadable => unreadable = true,
                        Lookup::Hit(_) | Lookup::Miss | Lookup::Failed => {}
                    }
                }
                // A backend that just failed is not asked again: that would cost the caller a
                // second timeout.
                let claim: Claim<Sh::Value> = if failed {
                    Claim::Unlocked { store: false }
                } else {
                    match fleet::claim(site, &served, key, unreadable).await {
                        // A value the claim found but this call may not serve (its tags were
                        // invalidated, or it is past its TTL) is removed under the fence
                        // first, so the key can be claimed.
                        Claim::Value(value) if !shape.fresh(&value) => {
                            fleet::claim_outdated(site, &served, key).await
                        }
                        claim => claim,
                    }
                };
                let claim = match claim {
                    Claim::Value(value) if shape.fresh(&value) => {
                        counters.remote_hit();
                        outcome(span, "hit");
                        leader.publish(Outcome::Value(value.clone()));
                        return shape.load(value);
                    }
                    claim => claim,
                };
                counters.miss();
                let timer = LoadTimer::start();
                let result = match &claim {
                    Claim::Lead(guard) => {
                        let body = held::holding(key, guard.renewing(body()));
                        leader.run(body).await
                    }
                    _ => leader.run(body()).await,
                };
                let published = match shape.store(&result) {
                    Some(value) => {
                        timer.finish(site.name(), true);
                        outcome(span, "computed");
                        keep(site, &served, key, claim, value).await
                    }
                    // An unpublished claim is released by its guard's drop. An `Err` that can
                    // be cloned goes to the followers: a failing source is called once.
                    None => {
                        timer.finish(site.name(), false);
                        outcome(span, "ran");
                        match shape.share() {
                            Some(share) => Outcome::Shared((share.wrap)(&result)),
                            None => Outcome::Uncacheable,
                        }
                    }
                };
                leader.publish(published);
                return result;
            }
            Join::Follower(follower) => match wait(follower).await {
                // The leader read older tag versions than this call: look again.
                Waited::Value(value) if !shape.fresh(&value) => {}
                Waited::Value(value) => {
                    counters.remote_hit();
                    outcome(span, "joined");
                    return shape.load(value);
                }
                Waited::Shared(shared) => {
                    counters.miss();
                    if let Some(result) = shape.share().and_then(|share| (share.unwrap)(&shared)) {
                        outcome(span, "joined");
                        return result;
                    }
                    outcome(span, "ran");
                    return body().await;
                }
                Waited::RunYourself => {
                    counters.miss();
                    outcome(span, "ran");
                    return body().await;
                }
                Waited::Abandoned => {}
            },
            Join::Alone => {
                counters.miss();
                let timer = LoadTimer::start();
                let result = body().await;
                let value = shape.store(&result);
                timer.finish(site.name(), value.is_some());
                if let (Some(value), false) = (value, failed) {
                    outcome(span, "computed");
                    store(site, &served, key, &value).await;
                } else {
                    outcome(span, "ran");
                }
                return result;
            }
        }
    }
}

/// Stores the leader's value as its claim says: fenced through the fleet's lock (refused if
/// the load was overtaken), plainly where there are no locks, or not at all.
async fn keep<S: Cacheable>(
    site: &Site,
    served: &Entry,
    key: &str,
    claim: Claim<S>,
    value: S,
) -> Outcome<S> {
    match claim {
        Claim::Lead(guard) => match fleet::fill(site, served, key, guard, &value).await {
            Filled::Superseded => Outcome::Superseded,
            Filled::Stored | Filled::Failed => Outcome::Value(value),
        },
        Claim::Unlocked { store: true } => {
            store(site, served, key, &value).await;
            Outcome::Value(value)
        }
        Claim::Unlocked { store: false } | Claim::Value(_) => Outcome::Value(value),
    }
}

/// Runs the body and overwrites the cached value with its result (if cacheable), whatever
/// was cached before: [`cached`] in refresh mode. Where the backend has locks the write
/// supersedes every load in flight, so none of them stores an older value over it.
pub(crate) async fn overwrite<R, Sh, Body, Fut>(
    site: &'static Site,
    key: &str,
    shape: Sh,
    body: Body,
) -> R
where
    Sh: CacheShape<R, Value: Cacheable>,
    Body: FnOnce() -> Fut,
    Fut: Future<Output = R>,
{
    let timer = LoadTimer::start();
    let result = body().await;
    let value = shape.store(&result);
    timer.finish(site.name(), value.is_some());
    if let Some(value) = value {
        let served = site.backend();
        match site.locks(&served) {
            Some(locks) => {
                if let Some(fill) = fleet::fill_of(site, &served, key, &value) {
                    // A failure is logged and counted by the call; the caller has its value.
                    let _written = fleet::supersede(site, &served, locks, key, Some(fill)).await;
                }
            }
            None => store(site, &served, key, &value).await,
        }
        site.state().flights.detach(store_id(&served), key);
    }
    result
}

/// The backend an invalidation goes to, unless its breaker has it down: then nothing could be
/// removed, which the caller is told rather than left to believe.
fn serving_for_invalidation(site: &Site) -> Result<Entry> {
    let served = site.backend();
    if served.health.is_down() {
        return Err(crate::Error::new(
            crate::ErrorKind::Connection,
            "the backend is marked down by its circuit breaker; nothing was invalidated",
        ));
    }
    Ok(served)
}

/// Removes every cached value of the function: the keys matching `pattern`, its key template
/// with each placeholder a `*`. Backs the generated `*_invalidate_all` companion; returns how
/// many keys were removed.
///
/// One backend call (`delete_pattern`: a scan and deletes on Redis), bounded by the
/// function's timeout. This process's flights on the backend are detached, so callers from
/// now on run the body; a load in flight when it runs may still store the value it computed.
/// Keys of another function whose template the pattern also matches are removed too (a
/// template that extends this one, such as `user:<id>:posts` after `user:<id>`).
pub async fn invalidate_all(site: &'static Site, pattern: &str) -> Result<u64> {
    let served = serving_for_invalidation(site)?;
    let what = || format!("invalidate of every key matching `{pattern}`");
    let removed = within(site.timeout(), what, served.backend.delete_pattern(pattern)).await;
    site.state().flights.detach_all(store_id(&served));
    removed
}

/// Removes the cached value under `key`. Backs the generated `*_invalidate` companion; returns
/// whether there was one.
///
/// No caller that starts after it returns sees the value it removed: where the backend has
/// locks, every load in flight is superseded (its fenced write is refused, in any process),
/// and this process's flight for the key is detached, so later callers do not join it.
pub async fn invalidate(site: &'static Site, key: &str) -> Result<bool> {
    let served = serving_for_invalidation(site)?;
    let what = || format!("invalidate of `{key}`");
    let removed = match site.locks(&served) {
        Some(locks) => within(site.timeout(), what, locks.supersede(key, None)).await,
        None => within(site.timeout(), what, served.backend.delete(key)).await,
    };
    // After the supersede: a flight begun before it may have stored the old value, and must
    // not hand it to callers who come after this returns.
    site.state().flights.detach(store_id(&served), key);
    removed
}
