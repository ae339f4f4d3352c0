//! One execution per key across processes: before a miss's body runs, the process's leader
//! claims the key on the backend's [`LockStore`]; leaders in other processes wait for the
//! *value* (woken when it is filled), and the value is written fenced, so a load that an
//! invalidation, a newer write or a newer holder overtook stores nothing.
//!
//! What it costs a remote miss: the claim replaces nothing and adds one round trip (the fill
//! is the `SET` it replaces, and releases the lock in the same script). Hits never get here.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use super::backend_call::{NoAnswer, encode};
use super::registry::Entry;
use super::shape::Cacheable;
use super::site::Site;
use crate::SharedValue;
use crate::codec::{Codec, Json};
use crate::lock::held;
use crate::lock::{Acquire, Fill, Granted, LockGuard, LockStore, LockToken, wait_for_release};
use crate::typed::decode_or_warn;

/// How long a cached function's claim lasts without renewal (what a crashed leader costs the
/// fleet) unless its `lock_lease` says otherwise.
pub(crate) const DEFAULT_LOCK_LEASE: Duration = Duration::from_secs(10);

/// How long callers wait for another process's leader to fill a key before running the body
/// themselves, unless the function's `lock_wait` says otherwise.
pub(crate) const DEFAULT_LOCK_WAIT: Duration = Duration::from_secs(10);

/// What claiming a missed key came to.
pub(crate) enum Claim<S> {
    /// This process leads the fleet: run the body through the guard's
    /// [`renewing`](LockGuard::renewing), then [`fill`] through the guard.
    Lead(LockGuard),
    /// Another process filled the key meanwhile.
    Value(S),
    /// Run the body without the fleet's lock; `store` says whether to store the result
    /// unfenced (no locks here) or not at all (the backend failed, or another process's
    /// leader still holds the key after the whole wait and will fill it).
    Unlocked { store: bool },
}

/// Claims `key` for this process, waiting (woken, bounded by the function's `lock_wait`) while
/// another process holds it. `unreadable`: this call already reported the key's bytes as
/// unreadable, so finding them again here is not reported twice.
pub(crate) async fn claim<S: Cacheable>(
    site: &Site,
    served: &Entry,
    key: &str,
    unreadable: bool,
) -> Claim<S> {
    let Some(store) = site.locks(served) else {
        return Claim::Unlocked { store: true };
    };
    if held::by_this_task(key) {
        // Inside this task's `#[locked]` on the same name: the lock is ours already.
        return Claim::Unlocked { store: true };
    }
    let token = match LockToken::random() {
        Ok(token) => token,
        Err(error) => {
            site.failed("claim", key, &error);
            return Claim::Unlocked { store: true };
        }
    };
    let lease = site.lock_lease();
    let deadline = tokio::time::Instant::now() + site.lock_wait();
    let mut watching = false;
    loop {
        // Only a caller that found the key held watches it, registered before it claims
        // again, so a fill in between still wakes it.
        let woken = watching.then(|| store.watch(key));
        let claimed = site
            .call_capability(served, "claim", key, store.claim(key, &token, lease))
            .await;
        match claimed {
            Ok(Acquire::Acquired { fence }) => {
                return Claim::Lead(leading(site, served, key, token, fence));
            }
            Ok(Acquire::Filled { value }) => return filled(site, key, &value, unreadable),
            Ok(Acquire::Held { remaining }) => match woken {
                None => watching = true,
                Some(_) if tokio::time::Instant::now() >= deadline => {
                    tracing::debug!(
                        function = site.name(),
                        key,
                        "another process still computes the key after the lock wait; running the body here"
                    );
                    return Claim::Unlocked { store: false };
                }
                Some(woken) => wait_for_release(woken, remaining, deadline).await,
            },
            Err(_) => return Claim::Unlocked { store: false },
        }
    }
}

/// The guard of this process's hold on `key`, renewed by running the work through it.
fn leading(site: &Site, served: &Entry, key: &str, token: LockToken, fence: u64) -> LockGuard {
    LockGuard::unrenewed(Granted {
        backend: Arc::clone(&served.backend),
        name: key.to_owned(),
        token,
        fence,
        lease: site.lock_lease(),
        timeout: site.timeout(),
    })
}

/// What taking a key's refresh across the fleet came to.
pub(crate) enum RefreshLead {
    /// This process refreshes the key: run the body through the guard's
    /// [`renewing`](LockGuard::renewing), then write through [`fill_for`].
    Lead(LockGuard),
    /// Another process holds the key (refreshing or loading it), for about this long.
    Elsewhere(Option<Duration>),
    /// No locks here (or `lock = false`, or the backend failed): refresh, write unfenced.
    Unlocked,
}

/// Takes `key`'s refresh for this process across the fleet, without waiting: one refresh per
/// key in the fleet where the backend has locks, written fenced, so an invalidation while it
/// runs is not undone by its write.
pub(crate) async fn lead_refresh(site: &Site, served: &Entry, key: &str) -> RefreshLead {
    let Some(store) = site.locks(served) else {
        return RefreshLead::Unlocked;
    };
    if held::by_this_task(key) {
        return RefreshLead::Unlocked;
    }
    let token = match LockToken::random() {
        Ok(token) => token,
        Err(error) => {
            site.failed("claim refresh", key, &error);
            return RefreshLead::Unlocked;
        }
    };
    let lease = site.lock_lease();
    let acquired = site
        .call_capability(
            served,
            "claim refresh",
            key,
            store.acquire(key, &token, lease),
        )
        .await;
    match acquired {
        Ok(Acquire::Acquired { fence }) => {
            RefreshLead::Lead(leading(site, served, key, token, fence))
        }
        Ok(Acquire::Held { remaining }) => RefreshLead::Elsewhere(remaining),
        Ok(Acquire::Filled { .. }) | Err(_) => RefreshLead::Unlocked,
    }
}

/// Claims `key` after removing, under its fence, the value a claim found there that the
/// caller may not serve. A value another process stored meanwhile is run past the caller's
/// freshness by the miss path, which then runs the body without storing.
pub(crate) async fn claim_outdated<S: Cacheable>(
    site: &Site,
    served: &Entry,
    key: &str,
) -> Claim<S> {
    let Some(store) = site.locks(served) else {
        return Claim::Unlocked { store: true };
    };
    if supersede(site, served, store, key, None).await.is_err() {
        return Claim::Unlocked { store: false };
    }
    claim(site, served, key, true).await
}

fn filled<S: Cacheable>(site: &Site, key: &str, bytes: &Bytes, reported: bool) -> Claim<S> {
    let value = if reported {
        Json.decode(bytes).ok()
    } else {
        decode_or_warn(&Json, Some(site.name()), key, bytes)
    };
    match value {
        Some(value) => Claim::Value(value),
        None => {
            // Not ours to read (another function's type under the key): compute and overwrite.
            if !reported {
                site.counters().error();
            }
            Claim::Unlocked { store: true }
        }
    }
}

/// What a fenced fill came to.
pub(crate) enum Filled {
    Stored,
    /// Refused: an invalidation, a newer write or a newer holder overtook this load.
    Superseded,
    /// The backend failed (logged); the value is still good to hand out.
    Failed,
}

/// The leader's fenced write of `value`, which releases the claim.
pub(crate) async fn fill<S: Cacheable>(
    site: &Site,
    served: &Entry,
    key: &str,
    guard: LockGuard,
    value: &S,
) -> Filled {
    fill_for(site, served, key, guard, value, site.ttl_for(key)).await
}

/// [`fill`] with a TTL of the caller's.
pub(crate) async fn fill_for<S: Cacheable>(
    site: &Site,
    served: &Entry,
    key: &str,
    guard: LockGuard,
    value: &S,
    ttl: Option<Duration>,
) -> Filled {
    let Some(fill) = fill_of_for(site, served, key, value, ttl) else {
        return Filled::Failed;
    };
    match site
        .call_capability(served, "fill", key, guard.fill(fill))
        .await
    {
        Ok(true) => Filled::Stored,
        Ok(false) => {
            tracing::debug!(
                function = site.name(),
                key,
                "a newer write or invalidation overtook this load; its value was not stored"
            );
            Filled::Superseded
        }
        Err(_) => Filled::Failed,
    }
}

/// Moves `key`'s fence past every load in flight, then writes `value` under it (or deletes
/// it): what `_invalidate` and `_refresh` do where the backend has locks.
pub(crate) async fn supersede(
    site: &Site,
    served: &Entry,
    store: &dyn LockStore,
    key: &str,
    value: Option<Fill>,
) -> std::result::Result<bool, NoAnswer> {
    site.call_capability(served, "supersede", key, store.supersede(key, value))
        .await
}

/// The `Fill` of `value` as this backend keeps it (decoded too, where it keeps values in
/// process).
pub(crate) fn fill_of<S: Cacheable>(
    site: &Site,
    served: &Entry,
    key: &str,
    value: &S,
) -> Option<Fill> {
    fill_of_for(site, served, key, value, site.ttl_for(key))
}

fn fill_of_for<S: Cacheable>(
    site: &Site,
    served: &Entry,
    key: &str,
    value: &S,
    ttl: Option<Duration>,
) -> Option<Fill> {
    let bytes = encode(site, key, value)?;
    let decoded = served
        .backend
        .local()
        .map(|_| Arc::new(value.clone()) as SharedValue);
    Some(Fill::new(bytes, decoded, ttl))
}
