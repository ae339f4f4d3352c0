//! The guide's operations through the interface: set and get with an expiry, update, empty
//! and missing values, expiration, delete, and a cached function.

use std::io::Write;
use std::time::Duration;

use cache_core::{Bytes, CacheBackend, DynBackend, KeyTtl, with_backend};

use super::profiles::Profiles;
use super::{StepError, section};

/// How long the expiration step's value lives.
const SHORT_TTL: Duration = Duration::from_millis(300);

pub(super) async fn run(backend: &DynBackend, out: &mut impl Write) -> Result<(), StepError> {
    set_and_get(backend, out).await?;
    update(backend, out).await?;
    empty_and_missing(backend, out).await?;
    expiration(backend, out).await?;
    delete(backend, out).await?;
    cached_function(backend, out).await
}

/// The bytes under `key`, as text, or `None`.
async fn text(backend: &DynBackend, key: &str) -> cache_core::Result<Option<String>> {
    let value = backend.get(key).await?;
    Ok(value.map(|bytes| String::from_utf8_lossy(&bytes).into_owned()))
}

async fn set_and_get(backend: &DynBackend, out: &mut impl Write) -> Result<(), StepError> {
    section(out, "set_value / get_value (SETEX / GET)")?;
    let value = Bytes::from_static(br#"{"name": "John Doe"}"#);
    backend
        .set("user:123", value, Some(Duration::from_secs(3600)))
        .await?;
    writeln!(out, "set user:123 for 1 hour")?;
    writeln!(
        out,
        "get user:123 -> {:?}",
        text(backend, "user:123").await?
    )?;
    let left = match backend.ttl("user:123").await? {
        KeyTtl::ExpiresIn(left) => format!("expires in {} s", left.as_secs().div_ceil(60) * 60),
        other => format!("{other:?}"),
    };
    writeln!(out, "ttl user:123 -> {left}")?;
    Ok(())
}

async fn update(backend: &DynBackend, out: &mut impl Write) -> Result<(), StepError> {
    section(out, "updating a value")?;
    let value = Bytes::from_static(br#"{"name": "Jane Doe"}"#);
    backend
        .set("user:123", value, Some(Duration::from_secs(3600)))
        .await?;
    writeln!(
        out,
        "get user:123 -> {:?}",
        text(backend, "user:123").await?
    )?;
    Ok(())
}

async fn empty_and_missing(backend: &DynBackend, out: &mut impl Write) -> Result<(), StepError> {
    section(out, "empty and missing values")?;
    // The guide stores `None` as empty bytes; here an empty value and no value stay distinct.
    backend
        .set("empty", Bytes::new(), Some(Duration::from_secs(60)))
        .await?;
    let empty = backend.get("empty").await?.map(|bytes| bytes.len());
    writeln!(out, "get empty -> {empty:?} (bytes)")?;
    writeln!(out, "get missing -> {:?}", text(backend, "missing").await?)?;
    Ok(())
}

async fn expiration(backend: &DynBackend, out: &mut impl Write) -> Result<(), StepError> {
    section(out, "expiration")?;
    backend
        .set("flash", Bytes::from_static(b"soon gone"), Some(SHORT_TTL))
        .await?;
    writeln!(out, "set flash for {} ms", SHORT_TTL.as_millis())?;
    writeln!(out, "exists flash -> {}", backend.exists("flash").await?)?;
    tokio::time::sleep(SHORT_TTL + Duration::from_millis(100)).await;
    writeln!(
        out,
        "after {} ms: get flash -> {:?}",
        SHORT_TTL.as_millis() + 100,
        text(backend, "flash").await?
    )?;
    Ok(())
}

async fn delete(backend: &DynBackend, out: &mut impl Write) -> Result<(), StepError> {
    section(out, "delete")?;
    writeln!(
        out,
        "delete user:123 -> {}",
        backend.delete("user:123").await?
    )?;
    writeln!(
        out,
        "get user:123 -> {:?}",
        text(backend, "user:123").await?
    )?;
    writeln!(
        out,
        "delete user:123 again -> {}",
        backend.delete("user:123").await?
    )?;
    Ok(())
}

async fn cached_function(backend: &DynBackend, out: &mut impl Write) -> Result<(), StepError> {
    section(out, "a cached function over the interface")?;
    let profiles = Profiles::default();
    for call in ["first", "second"] {
        let profile = with_backend(backend.clone(), profiles.get(7)).await;
        writeln!(
            out,
            "{call} call -> {profile} (store loads: {})",
            profiles.loads()
        )?;
    }
    Ok(())
}
