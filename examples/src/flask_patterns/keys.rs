//! Dynamic keys (`user:<id>:<resource>`), the cache-aside read behind them, and the
//! invalidation an update owes them: by key, by memoized arguments, and by pattern.

use std::future::Future;
use std::io::Write;
use std::time::Duration;

use cache_core::key::glob_escape;
use cache_core::{CacheBackend, CacheBackendExt, DynBackend, KeyBuf, KeyPart};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::db::{Db, Post, User};
use super::{StepError, section};

/// How long a user's cached resources live (the guide's `timeout=600`).
const USER_TTL: Duration = Duration::from_secs(600);

/// `get_cache_key(user_id, resource_type)`: `user:<id>:<resource>`, the id in its escaped key
/// form so that no id can spell another user's key (`"7:posts"` stays one segment).
pub(super) fn user_key(user_id: &(impl KeyPart + ?Sized), resource: &str) -> String {
    let mut key = KeyBuf::new();
    key.push_literal("user:");
    key.push_part(user_id);
    key.push_literal(":");
    key.push_literal(resource);
    key.into_string()
}

/// Where a value came from, for the step lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Source {
    /// A hit.
    Cache,
    /// A miss: `fetch` ran and its value was stored.
    Database,
}

impl Source {
    /// `cache` or `database`.
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Self::Cache => "cache",
            Self::Database => "database",
        }
    }
}

/// `cache_aside_pattern(key, fetch_func, timeout)`: the cached value, or `fetch`'s, stored
/// for `ttl` on the way out.
pub(super) async fn cache_aside<T, F>(
    backend: &DynBackend,
    key: &str,
    ttl: Duration,
    fetch: impl FnOnce() -> F,
) -> cache_core::Result<(T, Source)>
where
    T: Serialize + DeserializeOwned + Sync,
    F: Future<Output = T>,
{
    if let Some(value) = backend.get_value(key).await? {
        return Ok((value, Source::Cache));
    }
    tracing::debug!(key, "cache miss; loading from the database");
    let value = fetch().await;
    backend.set_value(key, &value, Some(ttl)).await?;
    Ok((value, Source::Database))
}

/// `get_user_data(user_id)`: the profile, cache-aside under `user:<id>:profile`.
pub(super) async fn user_profile(
    backend: &DynBackend,
    db: &Db,
    user_id: u64,
) -> cache_core::Result<(Option<User>, Source)> {
    let key = user_key(&user_id, "profile");
    cache_aside(backend, &key, USER_TTL, || db.user(user_id)).await
}

/// The user's posts, cache-aside under `user:<id>:posts`.
pub(super) async fn user_posts(
    backend: &DynBackend,
    db: &Db,
    user_id: u64,
) -> cache_core::Result<(Vec<Post>, Source)> {
    let key = user_key(&user_id, "posts");
    cache_aside(backend, &key, USER_TTL, || db.posts_of(user_id)).await
}

/// `update_user_profile`: the write, then every cached copy it makes stale.
async fn update_user_profile(
    backend: &DynBackend,
    db: &Db,
    user_id: u64,
    name: &str,
) -> cache_core::Result<(u64, bool)> {
    db.rename(user_id, name).await;
    let stale = [user_key(&user_id, "profile"), user_key(&user_id, "stats")];
    let stale: Vec<&str> = stale.iter().map(String::as_str).collect();
    let removed = backend.delete_many(&stale).await?;
    let memoized = db.user_statistics_invalidate(user_id).await?;
    Ok((removed, memoized))
}

/// `invalidate_user_cache(user_id)`: every `user:<id>:*` key, whatever resources exist.
async fn invalidate_user_cache(backend: &DynBackend, user_id: u64) -> cache_core::Result<u64> {
    let pattern = format!("{}*", glob_escape(&user_key(&user_id, "")));
    backend.delete_pattern(&pattern).await
}

pub(super) async fn run(backend: &DynBackend, out: &mut impl Write) -> Result<(), StepError> {
    dynamic_keys(backend, out).await?;
    invalidation(backend, out).await
}

fn name(user: Option<&User>) -> &str {
    user.map_or("<none>", |user| user.name.as_str())
}

async fn dynamic_keys(backend: &DynBackend, out: &mut impl Write) -> Result<(), StepError> {
    section(out, "dynamic keys and cache-aside")?;
    writeln!(
        out,
        "get_cache_key(42, profile) -> {}",
        user_key(&42, "profile")
    )?;
    writeln!(
        out,
        "get_cache_key(\"7:posts\", profile) -> {}",
        user_key("7:posts", "profile")
    )?;
    let db = Db::default();
    for _ in 0..2 {
        let (user, source) = user_profile(backend, &db, 42).await?;
        writeln!(
            out,
            "get_user_data(42) -> {} from the {} (db queries: {})",
            name(user.as_ref()),
            source.as_str(),
            db.queries()
        )?;
    }
    Ok(())
}

async fn invalidation(backend: &DynBackend, out: &mut impl Write) -> Result<(), StepError> {
    section(out, "invalidation on update")?;
    let db = Db::default();
    user_profile(backend, &db, 42).await?;
    user_posts(backend, &db, 42).await?;
    db.user_statistics(42).await;
    writeln!(
        out,
        "cached user:42:profile, user:42:posts, user_statistics(42)"
    )?;
    let (removed, memoized) = update_user_profile(backend, &db, 42, "Ada Lovelace").await?;
    writeln!(
        out,
        "update_user_profile(42) -> deleted {removed} of user:42:profile, user:42:stats; \
         delete_memoized(user_statistics, 42) -> {memoized}"
    )?;
    let (user, source) = user_profile(backend, &db, 42).await?;
    writeln!(
        out,
        "get_user_data(42) -> {} from the {}",
        name(user.as_ref()),
        source.as_str()
    )?;
    let (_, source) = user_posts(backend, &db, 42).await?;
    writeln!(
        out,
        "user posts(42) -> from the {} (untouched by the rename)",
        source.as_str()
    )?;
    let removed = invalidate_user_cache(backend, 42).await?;
    writeln!(
        out,
        "invalidate_user_cache(42) -> {removed} keys under user:42:*"
    )?;
    let (_, source) = user_posts(backend, &db, 42).await?;
    writeln!(out, "user posts(42) -> from the {}", source.as_str())?;
    Ok(())
}
