//! `/cache`: JSON values under keys of their own, with a TTL.

use std::time::Duration;

use axum::extract::{Path, State};
use cache_core::structures::scan_keys;
use cache_core::{Bytes, CacheBackend, KeyTtl};
use serde::Deserialize;
use serde_json::{Value, json};

use super::Demo;
use super::errors::{ApiError, ApiResult, Json, Query};

/// Where cache entries live within the demo's prefix.
const SPACE: &str = "cache:";

/// The TTL of an entry set without one, as in the guide's `default_ttl`.
const DEFAULT_TTL_SECS: i64 = 3600;

/// The longest TTL accepted: a year.
const MAX_TTL_SECS: i64 = 365 * 24 * 3600;

#[derive(Deserialize)]
pub(super) struct SetEntry {
    key: String,
    value: Value,
    ttl: Option<i64>,
}

#[derive(Deserialize)]
pub(super) struct Listing {
    pattern: Option<String>,
}

/// `POST /cache` `{"key", "value", "ttl"}`.
pub(super) async fn set(State(demo): State<Demo>, Json(entry): Json<SetEntry>) -> ApiResult {
    check_key(&entry.key)?;
    let ttl = entry.ttl.unwrap_or(DEFAULT_TTL_SECS);
    if !(1..=MAX_TTL_SECS).contains(&ttl) {
        return Err(ApiError::bad_request(format!(
            "ttl must be between 1 and {MAX_TTL_SECS} seconds, got {ttl}"
        )));
    }
    let secs = ttl.unsigned_abs();
    let bytes = serde_json::to_vec(&entry.value)
        .map_err(|error| ApiError::bad_request(format!("value for `{}`: {error}", entry.key)))?;
    demo.store
        .set(
            &stored(&entry.key),
            Bytes::from(bytes),
            Some(Duration::from_secs(secs)),
        )
        .await?;
    Ok(axum::Json(json!({
        "message": "Value cached successfully",
        "key": entry.key,
        "ttl": secs,
    })))
}

/// `GET /cache/{key}`: the value and its remaining TTL, or 404.
pub(super) async fn get(State(demo): State<Demo>, Path(key): Path<String>) -> ApiResult {
    let full = stored(&key);
    let bytes = demo.store.get(&full).await?.ok_or_else(|| missing(&key))?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|error| {
        ApiError::new(
            axum::http::StatusCode::CONFLICT,
            format!("`{key}` is not JSON: {error}"),
        )
    })?;
    Ok(axum::Json(json!({
        "key": key,
        "value": value,
        "ttl_seconds": ttl_seconds(demo.store.ttl(&full).await?),
    })))
}

/// `DELETE /cache/{key}`: 404 if there was nothing to delete.
pub(super) async fn delete(State(demo): State<Demo>, Path(key): Path<String>) -> ApiResult {
    if !demo.store.delete(&stored(&key)).await? {
        return Err(missing(&key));
    }
    Ok(axum::Json(
        json!({ "message": "Key deleted", "key": key, "deleted": true }),
    ))
}

/// `GET /cache?pattern=user:*`: the keys matching the glob (all of them without one), walked
/// with `SCAN`, never `KEYS`.
pub(super) async fn list(State(demo): State<Demo>, Query(listing): Query<Listing>) -> ApiResult {
    let pattern = listing.pattern.unwrap_or_else(|| "*".to_owned());
    let keys: Vec<String> = scan_keys(demo.store.clone(), format!("{SPACE}{pattern}"))
        .collect()
        .await?
        .into_iter()
        .filter_map(|key| key.strip_prefix(SPACE).map(str::to_owned))
        .collect();
    Ok(axum::Json(
        json!({ "pattern": pattern, "count": keys.len(), "keys": keys }),
    ))
}

/// The seconds left of a TTL as the guide shows them (`-1`: no expiry).
pub(super) fn ttl_seconds(ttl: KeyTtl) -> Option<i64> {
    match ttl {
        KeyTtl::Missing => None,
        KeyTtl::Persistent => Some(-1),
        KeyTtl::ExpiresIn(left) => Some(i64::try_from(left.as_secs()).unwrap_or(i64::MAX)),
    }
}

/// A key the caller names: not empty, and short enough to be a key.
pub(super) fn check_key(key: &str) -> Result<(), ApiError> {
    if key.is_empty() || key.len() > 512 {
        return Err(ApiError::bad_request(format!(
            "a key must be 1 to 512 bytes long, got {} bytes",
            key.len()
        )));
    }
    Ok(())
}

fn stored(key: &str) -> String {
    format!("{SPACE}{key}")
}

fn missing(key: &str) -> ApiError {
    ApiError::not_found(format!("Key '{key}' not found"))
}
