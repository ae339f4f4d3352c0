//! Tags: one call, [`invalidate_tag`], makes a miss of every entry carrying a tag, however
//! many there are.
//!
//! Each tag has a version: an integer under the key [`TAG_KEY_PREFIX`]`<tag>` on the backend.
//! An entry of a function with `tags = [...]` is stored with the versions its call read
//! *before* its body ran, and served only while each is still the current one.
//! [`invalidate_tag`] increments the version: one command, whatever the number of entries,
//! and an entry computed from data older than the invalidation can never be served after it
//! (its versions were read before it).
//!
//! - A tag with no version yet gets a random one (62 bits, by `SET NX`), never a small count:
//!   a version key that expired, was evicted or was removed and is created again can never
//!   take a value an entry already carries, so losing one costs misses, never a stale hit.
//! - Versions are read as entries are: in process on the memory backend, from the near
//!   cache's copies where it is on (which an increment by any process invalidates, as it does
//!   an entry), else in the same round trip as the entry (`MGET`).

use std::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::backend_call::within;
use super::registry::{self, Entry};
use super::settings;
use super::shape::{CacheShape, Share};
use super::site::Site;
use crate::{Error, ErrorKind, LocalEntry, Result};

/// Where a tag's version lives: this prefix, then the tag.
pub const TAG_KEY_PREFIX: &str = "__tag:";

/// How long a version lives at least, past which it is created again (a miss for each entry
/// carrying the old one). Longer where the function's values live longer: twice their life.
const MIN_VERSION_LIFE: Duration = Duration::from_secs(24 * 60 * 60);

/// A tagged function's value as stored: the value and the versions of its tags, in the
/// order of the function's `tags`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tagged<S> {
    #[serde(rename = "v")]
    pub(crate) value: S,
    #[serde(rename = "t")]
    pub(crate) versions: Vec<u64>,
}

/// The [`CacheShape`] of a tagged function: its own shape's, each value stored with the
/// versions its call read, and fresh only while they are current.
#[derive(Debug, Clone)]
pub struct Tagging<Sh> {
    pub(crate) shape: Sh,
    pub(crate) versions: Vec<u64>,
}

impl<R, Sh: CacheShape<R>> CacheShape<R> for Tagging<Sh> {
    type Value = Tagged<Sh::Value>;

    fn store(&self, result: &R) -> Option<Self::Value> {
        Some(Tagged {
            value: self.shape.store(result)?,
            versions: self.versions.clone(),
        })
    }

    fn load(&self, value: Self::Value) -> R {
        self.shape.load(value.value)
    }

    fn share(&self) -> Option<Share<R>> {
        self.shape.share()
    }

    fn fresh(&self, value: &Self::Value) -> bool {
        value.versions == self.versions
    }
}

/// A version as its key holds it: decimal digits.
fn parse(bytes: &[u8]) -> Option<u64> {
    std::str::from_utf8(bytes).ok()?.parse().ok()
}

/// The versions of `tag_keys`, read without waiting where the backend keeps them in process
/// (the memory backend, or the near cache's copies); `None` if any is not there.
pub(crate) fn in_process(served: &Entry, tag_keys: &[&str]) -> Option<Vec<u64>> {
    let backend = &served.backend;
    tag_keys
        .iter()
        .map(|key| {
            let mut version = None;
            let mut see = |entry: LocalEntry<'_>| version = parse(entry.bytes);
            if let Some(local) = backend.local() {
                local.visit(key, &mut see);
            } else {
                backend.near()?.visit(key, &mut see);
            }
            version
        })
        .collect()
}

/// The versions `found` holds for `tag_keys`, creating those that have none. `None` if the
/// backend did not answer (logged): the call then runs uncached.
pub(crate) async fn complete(
    site: &Site,
    served: &Entry,
    tag_keys: &[&str],
    found: Vec<Option<Bytes>>,
) -> Option<Vec<u64>> {
    let mut versions = Vec::with_capacity(tag_keys.len());
    for (key, bytes) in tag_keys.iter().zip(found) {
        let version = match bytes.as_deref().map(parse) {
            Some(Some(version)) => version,
            Some(None) => not_a_version(site, key)?,
            None => create(site, served, key).await?,
        };
        versions.push(version);
    }
    Some(versions)
}

/// Gives the tag `key` a random version, unless another caller gave it one first: then
/// theirs.
async fn create(site: &Site, served: &Entry, key: &str) -> Option<u64> {
    let start = match getrandom::u64() {
        // Below 2^62, above 2^32: a version key incremented from nothing counts from 1.
        Ok(random) => (random >> 2) | (1 << 32),
        Err(error) => {
            let error = Error::new(
                ErrorKind::Backend,
                format!("no randomness for a tag version: {error}"),
            );
            site.failed("create tag version", key, &error);
            return None;
        }
    };
    let life = site
        .ttl_for(key)
        .map(|life| life.saturating_mul(2).max(MIN_VERSION_LIFE));
    let backend = &served.backend;
    let bytes = Bytes::from(start.to_string());
    let created = site
        .call_capability(
            served,
            "create tag version",
            key,
            backend.set_if_absent(key, bytes, life),
        )
        .await
        .ok()?;
    if created {
        return Some(start);
    }
    let theirs = site
        .call_capability(served, "get tag version", key, backend.get(key))
        .await
        .ok()?;
    // Gone again at once (invalidated, expired): this call runs uncached.
    match theirs.as_deref().map(parse)? {
        Some(version) => Some(version),
        None => not_a_version(site, key),
    }
}

#[cold]
fn not_a_version<T>(site: &Site, key: &str) -> Option<T> {
    let error = Error::new(
        ErrorKind::NotAnInteger,
        "the tag's version key holds something other than a version",
    );
    site.failed("get tag version", key, &error);
    None
}

/// Makes every cached entry carrying `tag` a miss, on every backend a cached function could
/// use now (the default and each registered one; in a [`with_backend`](crate::with_backend)
/// scope, the scope's): one command per backend, however many entries carry the tag.
///
/// A tag is what a function's `tags = [...]` option makes of its arguments: with
/// `#[cached(tags = ["user:<id>"])]`, the call with `id = 7` carries `user:7`. No call that
/// starts after this returns is served an entry that carried the tag, in any process sharing
/// the backend; a call whose body was running when it returned stores an entry that is not
/// served either.
///
/// Fails (after trying every backend) if one did not answer within the default timeout or has
/// its breaker open: entries there may still be served.
///
/// ```
/// use cache_core::cached;
///
/// #[cached(key = "user:<id>", ttl = 300, tags = ["user:<id>"])]
/// async fn user_name(id: u64) -> String {
///     format!("user {id}")
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> cache_core::Result<()> {
/// user_name(7).await; // computed, then cached with the version of `user:7`
/// cache_core::invalidate_tag("user:7").await?;
/// user_name(7).await; // computed again
/// # Ok(()) }
/// ```
pub async fn invalidate_tag(tag: &str) -> Result<()> {
    let key = format!("{TAG_KEY_PREFIX}{tag}");
    let mut failure = None;
    for served in registry::every_serving() {
        if let Err(error) = bump(&served, &key).await {
            tracing::warn!(tag, %error, "tag invalidation failed on a backend");
            failure.get_or_insert(error);
        }
    }
    failure.map_or(Ok(()), Err)
}

/// Moves the version under `key` on one backend past every value it had.
async fn bump(served: &Entry, key: &str) -> Result<()> {
    if served.health.is_down() {
        return Err(Error::new(
            ErrorKind::Connection,
            "the backend is marked down by its circuit breaker; the tag was not invalidated",
        ));
    }
    let timeout = settings::default_timeout();
    let what = || format!("invalidating the tag version `{key}`");
    let version = within(timeout, what, served.backend.increment(key, 1)).await?;
    if version == 1 {
        // There was no version, so no entry can be current for it; a version of 1 (which no
        // entry is given) is not left behind, without expiry, for every tag ever invalidated.
        within(timeout, what, served.backend.delete(key)).await?;
    }
    Ok(())
}
