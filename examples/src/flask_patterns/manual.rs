//! The guide's manual cache operations: `set` / `get` / `has` / `delete`, `add` (only if
//! absent), the batch calls, and two caches with their own defaults of which one is cleared.

use std::io::Write;
use std::time::Duration;

use cache_core::layer::Prefix;
use cache_core::{CacheBackend, CacheBackendExt, DynBackend};

use super::{StepError, section};

/// The guide's `timeout=300`.
const TIMEOUT: Option<Duration> = Some(Duration::from_secs(300));

pub(super) async fn run(backend: &DynBackend, out: &mut impl Write) -> Result<(), StepError> {
    single_keys(backend, out).await?;
    add(backend, out).await?;
    batches(backend, out).await?;
    two_caches(backend, out).await
}

async fn text(backend: &impl CacheBackend, key: &str) -> cache_core::Result<Option<String>> {
    backend.get_value(key).await
}

async fn single_keys(backend: &DynBackend, out: &mut impl Write) -> Result<(), StepError> {
    section(out, "set / get / has / delete")?;
    backend.set_value("key", "value", TIMEOUT).await?;
    writeln!(out, "set key = \"value\" for 300 s")?;
    writeln!(out, "get key -> {:?}", text(backend, "key").await?)?;
    writeln!(out, "has key -> {}", backend.exists("key").await?)?;
    writeln!(out, "delete key -> {}", backend.delete("key").await?)?;
    writeln!(out, "has key -> {}", backend.exists("key").await?)?;
    writeln!(out, "get key -> {:?}", text(backend, "key").await?)?;
    Ok(())
}

async fn add(backend: &DynBackend, out: &mut impl Write) -> Result<(), StepError> {
    section(out, "add (only if absent)")?;
    for value in ["first", "second"] {
        let bytes = serde_json::to_vec(value)?;
        // One atomic step (Redis `SET NX`): of two racing writers exactly one wins.
        let added = backend
            .set_if_absent("greeting", bytes.into(), TIMEOUT)
            .await?;
        writeln!(out, "add greeting = {value:?} -> {added}")?;
    }
    writeln!(
        out,
        "get greeting -> {:?}",
        text(backend, "greeting").await?
    )?;
    Ok(())
}

async fn batches(backend: &DynBackend, out: &mut impl Write) -> Result<(), StepError> {
    section(out, "set_many / get_many / delete_many")?;
    let entries: Vec<(&str, cache_core::Bytes)> =
        [("key1", "value1"), ("key2", "value2"), ("key3", "value3")]
            .into_iter()
            .map(|(key, value)| Ok((key, serde_json::to_vec(value)?.into())))
            .collect::<Result<_, serde_json::Error>>()?;
    backend.set_many(&entries, TIMEOUT).await?;
    writeln!(out, "set_many key1, key2, key3 for 300 s")?;
    let keys = ["key1", "key2", "key3", "key4"];
    writeln!(
        out,
        "get_many {} -> {:?}",
        keys.join(", "),
        texts(backend, &keys).await?
    )?;
    let removed = backend.delete_many(&keys[..3]).await?;
    writeln!(out, "delete_many key1, key2, key3 -> {removed} removed")?;
    writeln!(
        out,
        "get_many key1, key2, key3 -> {:?}",
        texts(backend, &keys[..3]).await?
    )?;
    Ok(())
}

/// The values under `keys`, in one round trip, as text.
async fn texts(backend: &DynBackend, keys: &[&str]) -> Result<Vec<Option<String>>, StepError> {
    let values = backend.get_many(keys).await?;
    values
        .into_iter()
        .map(|value| match value {
            Some(bytes) => Ok(Some(serde_json::from_slice(&bytes)?)),
            None => Ok(None),
        })
        .collect()
}

async fn two_caches(backend: &DynBackend, out: &mut impl Write) -> Result<(), StepError> {
    section(out, "two caches on one store, one cleared")?;
    // The guide's `api_cache` and `static_cache` are two Redis databases; a prefix keeps
    // them apart on one store, and `clear` then removes only its own keys.
    let api_cache = Prefix::new("api:", backend.clone());
    let static_cache = Prefix::new("static:", backend.clone());
    api_cache.set_value("data", "[1, 2, 3]", TIMEOUT).await?;
    static_cache
        .set_value("page", "<h1>About</h1>", Some(Duration::from_secs(3600)))
        .await?;
    writeln!(
        out,
        "api_cache set data for 5 min, static_cache set page for 1 h"
    )?;
    api_cache.clear().await?;
    writeln!(out, "api_cache.clear()")?;
    writeln!(
        out,
        "api_cache get data -> {:?}",
        text(&api_cache, "data").await?
    )?;
    writeln!(
        out,
        "static_cache get page -> {:?}",
        text(&static_cache, "page").await?
    )?;
    Ok(())
}
