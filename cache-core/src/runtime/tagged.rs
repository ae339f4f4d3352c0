//! The cached call of a function with `tags = [...]` (see [`tags`](super::tags)).
//!
//! - **In-process hit** (memory backend, or near copies of the entry and of every version):
//!   as [`cached`](super::cached::cached)'s, plus one in-process read per tag.
//! - **Remote hit**: one `MGET` of the versions and the entry.
//! - **Miss**, or an entry whose versions are no longer current: the miss path of
//!   [`cached`](super::cached::cached) (one run per key, locks, shared errors), storing the
//!   value with the versions read before the body ran. A tag with no version yet costs one
//!   `SET NX` first.
//! - **Backend failing**: the body runs uncached, as with any cached function.
//! - **Serving past the TTL** (`stale`, `refresh_ahead`, `fail_safe`,
//!   [`cached_graceful_tagged`]): the versions first (in process, or one `MGET` that also reads
//!   a remote entry), then the graceful call of [`graceful`](super::graceful) with the versions
//!   as part of the shape: a value whose tags were invalidated is no value, neither fresh nor
//!   stale, so an invalidation ends its grace too.

use std::future::Future;

use bytes::Bytes;

use super::backend_call::{Lookup, read};
use super::cached::{local_hit, miss, overwrite};
use super::graceful::{Detach, detach_spawned, graceful_from};
use super::refresh_mode;
use super::registry::{Entry, with_resolved};
use super::settings;
use super::shape::{CacheShape, Cacheable};
use super::site::Site;
use super::tags::{self, Tagged, Tagging};

/// The whole call of a tagged function: `tag_keys` are its tags' version keys, built from
/// the call's arguments.
pub async fn cached_tagged<R, Sh, Body, Fut>(
    site: &'static Site,
    key: &str,
    tag_keys: &[&str],
    shape: Sh,
    body: Body,
) -> R
where
    Sh: CacheShape<R, Value: Cacheable>,
    Body: FnOnce() -> Fut,
    Fut: Future<Output = R>,
{
    if !settings::is_enabled() {
        return body().await;
    }
    let refreshing = refresh_mode::take();
    if !refreshing {
        let versions = with_resolved(site.backend_name(), |served| {
            tags::in_process(served, tag_keys)
        });
        if let Some(versions) = versions
            && let Some(found) = local_hit::<Tagged<Sh::Value>>(site, key)
            && found.versions == versions
        {
            site.counters().hit();
            return shape.load(found.value);
        }
    }
    Box::pin(look(site, key, tag_keys, shape, body, refreshing)).await
}

/// Past the in-process look: the versions (and, remotely, the entry) in one round trip, then
/// the entry if it is current, else the miss path.
async fn look<R, Sh, Body, Fut>(
    site: &'static Site,
    key: &str,
    tag_keys: &[&str],
    shape: Sh,
    body: Body,
    refreshing: bool,
) -> R
where
    Sh: CacheShape<R, Value: Cacheable>,
    Body: FnOnce() -> Fut,
    Fut: Future<Output = R>,
{
    let served = site.backend();
    let with_entry = served.backend.local().is_none() && !refreshing;
    let Some((versions, entry)) = fetch(site, &served, key, tag_keys, with_entry).await else {
        return body().await;
    };
    let shape = Tagging { shape, versions };
    if refreshing {
        return overwrite(site, key, shape, body).await;
    }
    let mut looked = with_entry;
    if let Some(bytes) = entry {
        match read::<Tagged<Sh::Value>>(site, &served, key, &bytes) {
            Lookup::Hit(found) if shape.fresh(&found) => {
                site.counters().remote_hit();
                return shape.load(found);
            }
            Lookup::Hit(_) | Lookup::Miss => {}
            // Reported; the miss path looks again.
            Lookup::Unreadable | Lookup::Failed => looked = false,
        }
    }
    drop(served);
    miss(site, key, shape, body, looked).await
}

/// The whole call of a tagged function that serves past its TTL: the versions of `tag_keys`,
/// then [`cached_graceful`](super::graceful::cached_graceful) with them in the shape.
pub async fn cached_graceful_tagged<R, Sh, Body, Fut>(
    site: &'static Site,
    key: &str,
    tag_keys: &[&str],
    shape: Sh,
    body: Body,
    detach: Detach<R, Tagged<Sh::Value>, Body, Tagging<Sh>>,
) -> R
where
    Sh: CacheShape<R, Value: Cacheable>,
    Body: FnOnce() -> Fut,
    Fut: Future<Output = R>,
{
    if !settings::is_enabled() {
        return body().await;
    }
    let served = site.backend();
    // In process where the backend keeps them; else one `MGET`, with the entry on a remote
    // backend, which the graceful lookup then takes instead of reading it again.
    let (versions, prefetched) = match tags::in_process(&served, tag_keys) {
        Some(versions) => (versions, None),
        None => {
            let with_entry = served.backend.local().is_none();
            let Some((versions, entry)) = fetch(site, &served, key, tag_keys, with_entry).await
            else {
                return body().await;
            };
            (versions, with_entry.then_some(entry))
        }
    };
    drop(served);
    let shape = Tagging { shape, versions };
    Box::pin(graceful_from(site, key, shape, body, detach, prefetched)).await
}

/// The versions of `tag_keys`, and with `with_entry` the bytes under `key`, in one `MGET`;
/// versions that do not exist yet are created. `None` if the backend did not answer (logged).
async fn fetch(
    site: &Site,
    served: &Entry,
    key: &str,
    tag_keys: &[&str],
    with_entry: bool,
) -> Option<(Vec<u64>, Option<Bytes>)> {
    let mut keys = tag_keys.to_vec();
    if with_entry {
        keys.push(key);
    }
    let get = served.backend.get_many(&keys);
    let mut found = site.call_capability(served, "get", key, get).await.ok()?;
    let entry = if with_entry {
        found.pop().flatten()
    } else {
        None
    };
    let versions = tags::complete(site, served, tag_keys, found).await?;
    Some((versions, entry))
}

/// [`spawned`](super::graceful::spawned) for a tagged function: its refreshes spawned on the
/// runtime.
#[must_use]
pub fn spawned_tagged<R, Body, Fut, Sh>(
    _body: &Body,
    _shape: &Sh,
) -> Detach<R, Tagged<Sh::Value>, Body, Tagging<Sh>>
where
    Body: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = R> + Send + 'static,
    R: Send + 'static,
    Sh: CacheShape<R, Value: Cacheable> + Clone + Send + Sync + 'static,
{
    detach_spawned()
}
