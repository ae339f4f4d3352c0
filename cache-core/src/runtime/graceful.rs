//! The cached call of a function that serves past its TTL (`stale`, `refresh_ahead`,
//! `fail_safe`; see [`grace`](super::grace)).
//!
//! - **Fresh hit**: as [`cached`](super::cached::cached)'s, plus one read of the coarse wall
//!   clock to check the stamp.
//! - **Refresh due** (`refresh_ahead`) or **stale** (within `stale`): the value is returned
//!   at once; the first caller in the process takes the key's refresh, which runs in the
//!   background where the body can be spawned (owned arguments, no `unless`) and
//!   otherwise in that caller, which then gets the new value, the others still served the
//!   old one.
//! - **Expired** (past `stale`, within `fail_safe`): the first caller refreshes and waits for
//!   it, at most `soft_timeout`; if the body fails, panics or times out, the old value is
//!   returned and kept for `fail_safe`. Other callers meanwhile get the old value.
//! - Where the backend has locks, the refresh is also the fleet's: its process holds the
//!   key's lock (taken without waiting, [`fleet::lead_refresh`]) and writes fenced through it;
//!   a process finding the key held serves the old value and defers its own try.
//! - A key whose body failed is not run again in this process before its throttle ends
//!   ([`GraceState`](super::grace::GraceState)); until then callers get the old value.
//! - **No value**: [`cached`](super::cached::cached)'s miss path (one run per key, locks,
//!   shared errors), storing a stamped value.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use bytes::Bytes;
use futures_util::FutureExt as _;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::backend_call::{Lookup, lookup, read, store_for};
use super::cached::{local_hit, miss, overwrite};
use super::fleet::{self, RefreshLead};
use super::freshness;
use super::grace::{Age, Grace, RefreshTicket, Stamped, Stamping};
use super::refresh_mode;
use super::registry::Entry;
use super::settings;
use super::shape::{CacheShape, Cacheable};
use super::site::Site;
use crate::lock::LockGuard;
use crate::metrics::LoadTimer;

/// How a function's refresh leaves its caller: spawned on the runtime ([`spawned`]), or not
/// at all ([`Detach::inline`]: the caller runs it).
pub struct Detach<R, S, Body, Sh>(Option<SpawnRefresh<R, S, Body, Sh>>);

/// Spawns a refresh: the body run, its value stored, the ticket released.
type SpawnRefresh<R, S, Body, Sh> = fn(
    &'static Site,
    Entry,
    RefreshTicket<'static>,
    &Sh,
    Body,
    Stamped<S>,
) -> JoinHandle<Option<R>>;

impl<R, S, Body, Sh> Detach<R, S, Body, Sh> {
    /// Refreshes run by the caller that takes them: for functions whose arguments borrow.
    #[must_use]
    pub const fn inline() -> Self {
        Self(None)
    }
}

impl<R, S, Body, Sh> std::fmt::Debug for Detach<R, S, Body, Sh> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Detach(spawn)"
        } else {
            "Detach(inline)"
        })
    }
}

/// Refreshes spawned on the runtime, for a function whose arguments are owned (the macro
/// decides from the signature: trait selection cannot tell lifetimes apart). Its body must be
/// `Send`, as that of any function called from `tokio::spawn` or an axum handler is; a
/// function whose body is not `Send` is refused at compile time ("future cannot be sent
/// between threads safely"): borrowing an argument makes its refreshes run in the caller.
#[must_use]
pub fn spawned<R, Body, Fut, Sh>(_body: &Body, _shape: &Sh) -> Detach<R, Sh::Value, Body, Sh>
where
    Body: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = R> + Send + 'static,
    R: Send + 'static,
    Sh: CacheShape<R, Value: Cacheable> + Clone + Send + Sync + 'static,
{
    detach_spawned()
}

/// [`spawned`], for the shape `Sh` named by its type alone.
pub(crate) fn detach_spawned<R, Body, Fut, Sh>() -> Detach<R, Sh::Value, Body, Sh>
where
    Body: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = R> + Send + 'static,
    R: Send + 'static,
    Sh: CacheShape<R, Value: Cacheable> + Clone + Send + Sync + 'static,
{
    // The task is handed the backend the caller was served by: a backend scoped to the
    // caller's task (`with_backend`) does not reach a spawned one.
    Detach(Some(|site, served, ticket, shape, body, old| {
        let shape = shape.clone();
        tokio::spawn(
            async move { refresh(site, &served, &ticket, &shape, body(), &old, None).await },
        )
    }))
}

/// What a caller already read of the key from a remote backend: `None` if nothing (the
/// lookup reads it), else its bytes or their absence.
pub(crate) trait Prefetched {
    fn entry(self) -> Option<Option<Bytes>>;
}

/// Nothing read: a plain graceful call. Zero-sized, with [`cached_graceful`] a plain function,
/// so that a stale function's hit is what it was before tags could prefetch (`macro_hit`,
/// `ours_cached_stale`, 7 paired rounds: an enum holding the bytes, behind an `async`
/// wrapper, cost 3.7 ns, 1.05x -> 1.10x a plain hit).
pub(crate) struct NotRead;

impl Prefetched for NotRead {
    #[inline]
    fn entry(self) -> Option<Option<Bytes>> {
        None
    }
}

/// The key's bytes or their absence, read in the same round trip as a tagged function's
/// versions (`None`: not read).
impl Prefetched for Option<Option<Bytes>> {
    fn entry(self) -> Option<Option<Bytes>> {
        self
    }
}

/// The whole call of a graceful function (see the module's docs). A plain function returning
/// the future: no state machine of its own around the one that does the work.
pub fn cached_graceful<R, Sh, Body, Fut>(
    site: &'static Site,
    key: &str,
    shape: Sh,
    body: Body,
    detach: Detach<R, Sh::Value, Body, Sh>,
) -> impl Future<Output = R>
where
    Sh: CacheShape<R, Value: Cacheable>,
    Body: FnOnce() -> Fut,
    Fut: Future<Output = R>,
{
    graceful_from(site, key, shape, body, detach, NotRead)
}

/// [`cached_graceful`], given what the caller already read of the key.
pub(crate) async fn graceful_from<R, Sh, Body, Fut, P: Prefetched>(
    site: &'static Site,
    key: &str,
    shape: Sh,
    body: Body,
    detach: Detach<R, Sh::Value, Body, Sh>,
    prefetched: P,
) -> R
where
    Sh: CacheShape<R, Value: Cacheable>,
    Body: FnOnce() -> Fut,
    Fut: Future<Output = R>,
{
    if !settings::is_enabled() {
        return body().await;
    }
    if refresh_mode::take() {
        return Box::pin(overwrite(site, key, stamping(site, key, &shape), body)).await;
    }
    let grace = site.grace();
    // A value whose tags were invalidated since is no value (`fresh`: always for an untagged
    // function, whose check compiles away).
    if let Some(found) = local_hit::<Stamped<Sh::Value>>(site, key)
        && shape.fresh(&found.value)
    {
        match found.age(&grace) {
            Age::Fresh => {
                site.counters().hit();
                return shape.load(found.value);
            }
            age if servable(age, &grace) => {
                let served = site.backend();
                return Box::pin(past_ttl(
                    site, served, key, &shape, body, detach, found, age,
                ))
                .await;
            }
            // Past every window (kept a clock tick longer): a miss.
            _ => {}
        }
    }
    Box::pin(look(site, key, shape, body, detach, prefetched)).await
}

/// Whether a value of this age may still be returned.
fn servable(age: Age, grace: &Grace) -> bool {
    age != Age::Expired || grace.fail_safe.is_some()
}

fn stamping<'a, Sh>(site: &Site, key: &str, shape: &'a Sh) -> Stamping<'a, Sh> {
    Stamping {
        shape,
        fresh_for: site.fresh_for(key).unwrap_or(Duration::MAX),
        grace: site.grace(),
    }
}

/// Past the in-process look: the backend's value, else the miss path.
async fn look<R, Sh, Body, Fut>(
    site: &'static Site,
    key: &str,
    shape: Sh,
    body: Body,
    detach: Detach<R, Sh::Value, Body, Sh>,
    prefetched: impl Prefetched,
) -> R
where
    Sh: CacheShape<R, Value: Cacheable>,
    Body: FnOnce() -> Fut,
    Fut: Future<Output = R>,
{
    let served = site.backend();
    let mut looked = false;
    if served.backend.local().is_none() {
        let grace = site.grace();
        let found = match prefetched.entry() {
            None => lookup::<Stamped<Sh::Value>>(site, &served, key).await,
            Some(Some(bytes)) => read(site, &served, key, &bytes),
            Some(None) => Lookup::Miss,
        };
        match found {
            Lookup::Hit(found) if !shape.fresh(&found.value) => looked = true,
            Lookup::Hit(found) => match found.age(&grace) {
                Age::Fresh => {
                    site.counters().remote_hit();
                    return shape.load(found.value);
                }
                age if servable(age, &grace) => {
                    return past_ttl(site, served, key, &shape, body, detach, found, age).await;
                }
                _ => looked = true,
            },
            Lookup::Miss => looked = true,
            // Reported; the miss path decides whether to claim after a failure.
            Lookup::Unreadable | Lookup::Failed => {}
        }
    }
    drop(served);
    miss(site, key, stamping(site, key, &shape), body, looked).await
}

/// A value found past its `ttl` (or past `refresh_ahead`): returned, refreshed, or both.
#[allow(clippy::too_many_arguments)]
async fn past_ttl<R, Sh, Body, Fut>(
    site: &'static Site,
    served: Entry,
    key: &str,
    shape: &Sh,
    body: Body,
    detach: Detach<R, Sh::Value, Body, Sh>,
    old: Stamped<Sh::Value>,
    age: Age,
) -> R
where
    Sh: CacheShape<R, Value: Cacheable>,
    Body: FnOnce() -> Fut,
    Fut: Future<Output = R>,
{
    let grace = site.grace();
    let Some(ticket) = site.state().grace.begin_refresh(key) else {
        // Another caller refreshes it, or its body failed moments ago.
        return serve_old(site, key, shape, old, age);
    };
    let spawn = detach
        .0
        .filter(|_| tokio::runtime::Handle::try_current().is_ok());
    if age != Age::Expired {
        // Returned at once; refreshed behind it where the body can be spawned.
        if let Some(spawn) = spawn {
            drop(spawn(site, served, ticket, shape, body, old.clone()));
            return serve_old(site, key, shape, old, age);
        }
        return refresh(site, &served, &ticket, shape, body(), &old, None)
            .await
            .unwrap_or_else(|| serve_old(site, key, shape, old, age));
    }
    // Expired: the caller waits for the refresh, at most `soft_timeout`.
    let deadline = grace.soft_timeout.map(|soft| Instant::now() + soft);
    let refreshed = match spawn {
        Some(spawn) => {
            let task = spawn(site, served, ticket, shape, body, old.clone());
            // On a timeout the task goes on, and stores its value when it has one.
            within(deadline, task)
                .await
                .and_then(|joined| joined.ok().flatten())
        }
        // The deadline goes inside, so that the lock taken for the refresh outlives a body
        // cut short by it, and the old value kept for `fail_safe` is written fenced.
        None => refresh(site, &served, &ticket, shape, body(), &old, deadline).await,
    };
    refreshed.unwrap_or_else(|| serve_old(site, key, shape, old, age))
}

/// `future`, or `None` once `deadline` (if any) has passed.
async fn within<F: Future>(deadline: Option<Instant>, future: F) -> Option<F::Output> {
    match deadline {
        Some(deadline) => tokio::time::timeout_at(deadline, future).await.ok(),
        None => Some(future.await),
    }
}

/// How a refresh may write its key.
enum Writer {
    /// Fenced, through the fleet's lock the refresh holds: refused once an invalidation or a
    /// newer write overtook it.
    Fenced(LockGuard),
    /// Plainly: the backend has no locks for this function, so no fence exists.
    Plain,
    /// Not at all: cut short by `soft_timeout` before it held the lock, the refresh could not
    /// tell an invalidation meanwhile, which a write would undo.
    Nothing,
}

/// What a refresh that did not answer by its deadline reports.
const SOFT_TIMEOUT_FAILURE: &str = "did not answer within `soft_timeout`";

/// Runs the body for a refresh and stores its value; `None` if it failed (an `Err` or any
/// result that is not cached, a panic, or no answer by `deadline`), which keeps the old value
/// and throttles the key.
async fn refresh<R, Sh, Fut>(
    site: &'static Site,
    served: &Entry,
    ticket: &RefreshTicket<'_>,
    shape: &Sh,
    run: Fut,
    old: &Stamped<Sh::Value>,
    deadline: Option<Instant>,
) -> Option<R>
where
    Sh: CacheShape<R, Value: Cacheable>,
    Fut: Future<Output = R>,
{
    let key = ticket.key();
    let Some(lead) = within(deadline, fleet::lead_refresh(site, served, key)).await else {
        source_failed(
            site,
            served,
            ticket,
            Writer::Nothing,
            old,
            SOFT_TIMEOUT_FAILURE,
        )
        .await;
        return None;
    };
    let writer = match lead {
        RefreshLead::Lead(guard) => {
            // Another process may have refreshed the key between this caller's read and its
            // lead: then that value is the refresh (once per key in the fleet).
            match within(deadline, lookup::<Stamped<Sh::Value>>(site, served, key)).await {
                Some(Lookup::Hit(found))
                    if found.age(&site.grace()) == Age::Fresh && shape.fresh(&found.value) =>
                {
                    ticket.succeeded();
                    return Some(shape.load(found.value));
                }
                Some(_) => Writer::Fenced(guard),
                None => {
                    let writer = Writer::Fenced(guard);
                    source_failed(site, served, ticket, writer, old, SOFT_TIMEOUT_FAILURE).await;
                    return None;
                }
            }
        }
        RefreshLead::Elsewhere(remaining) => {
            ticket.elsewhere(&site.grace(), remaining);
            tracing::debug!(
                function = site.name(),
                key,
                "another process refreshes the key; serving the old value"
            );
            return None;
        }
        RefreshLead::Unlocked => Writer::Plain,
    };
    site.counters().refresh();
    let timer = LoadTimer::start();
    let run = AssertUnwindSafe(run).catch_unwind();
    let ran = match &writer {
        Writer::Fenced(guard) => within(deadline, guard.renewing(run)).await,
        Writer::Plain | Writer::Nothing => within(deadline, run).await,
    };
    let fresh = match &ran {
        Some(Ok(result)) => stamping(site, key, shape).store(result),
        Some(Err(_)) | None => None,
    };
    // A body cut short by the deadline is no load: it did not end.
    if ran.is_some() {
        timer.finish(site.name(), fresh.is_some());
    }
    let failure = match ran {
        Some(Ok(result)) => match fresh {
            Some(fresh) => {
                ticket.succeeded();
                // The caller has its value; a write the deadline cuts short is a lost write,
                // as a failed one is (the lock ends with the guard).
                let written = write(site, served, key, writer, &fresh, site.ttl_for(key));
                let _ = within(deadline, written).await;
                return Some(result);
            }
            None => "returned a result that is not cached (an `Err`)",
        },
        Some(Err(_panic)) => "panicked",
        None => SOFT_TIMEOUT_FAILURE,
    };
    source_failed(site, served, ticket, writer, old, failure).await;
    None
}

/// A refresh's write, as its [`Writer`] allows.
async fn write<S: Cacheable>(
    site: &Site,
    served: &Entry,
    key: &str,
    writer: Writer,
    value: &S,
    ttl: Option<Duration>,
) {
    match writer {
        Writer::Fenced(guard) => {
            // Refused or failed: logged by the fill; the caller has its value either way.
            let _filled = fleet::fill_for(site, served, key, guard, value, ttl).await;
        }
        Writer::Plain => store_for(site, served, key, value, ttl).await,
        Writer::Nothing => tracing::debug!(
            function = site.name(),
            key,
            "not written: the refresh holds no fence for the key"
        ),
    }
}

/// A failed refresh: the key throttled, the old value kept for `fail_safe`, one log line.
async fn source_failed<S: Cacheable>(
    site: &'static Site,
    served: &Entry,
    ticket: &RefreshTicket<'_>,
    writer: Writer,
    old: &Stamped<S>,
    failure: &str,
) {
    let grace = site.grace();
    let retry_in = ticket.failed(&grace);
    let key = ticket.key();
    tracing::warn!(
        function = site.name(),
        key,
        ?retry_in,
        "the function's body {failure}; serving the value past its TTL instead"
    );
    if let Some(fail_safe) = grace.fail_safe {
        let keep = old.kept_for(&grace).max(fail_safe);
        write(site, served, key, writer, old, Some(keep)).await;
    }
}

/// The old value, counted: a hit while it is fresh, else a stale answer.
fn serve_old<R, Sh: CacheShape<R>>(
    site: &Site,
    key: &str,
    shape: &Sh,
    old: Stamped<Sh::Value>,
    age: Age,
) -> R {
    if age == Age::RefreshDue {
        site.counters().hit();
    } else {
        site.counters().stale();
        freshness::served_stale();
        tracing::debug!(
            function = site.name(),
            key,
            ?age,
            "served a value past its TTL"
        );
    }
    shape.load(old.value)
}
