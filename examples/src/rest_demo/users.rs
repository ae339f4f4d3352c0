//! `/users`: profiles stored field by field in a hash record that expires after an hour.

use std::time::Duration;

use axum::extract::{Path, State};
use cache_core::structures::HashRecord;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::Demo;
use super::cache::{check_key, ttl_seconds};
use super::errors::{ApiError, ApiResult, Json};

/// How long a cached profile lives.
const PROFILE_TTL: Duration = Duration::from_secs(3600);

/// A user profile, as the guide posts it.
#[derive(Serialize, Deserialize)]
pub(super) struct Profile {
    user_id: String,
    name: String,
    email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    age: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    city: Option<String>,
}

/// `POST /users`: stores the profile and starts its hour.
pub(super) async fn create(State(demo): State<Demo>, Json(profile): Json<Profile>) -> ApiResult {
    check_key(&profile.user_id)?;
    let record = record(&demo, &profile.user_id);
    // A profile posted again replaces the old one rather than merging fields into it.
    record.clear().await?;
    record.store(&profile).await?;
    record.expire(PROFILE_TTL).await?;
    Ok(axum::Json(json!({
        "message": "User profile cached successfully",
        "user_id": profile.user_id,
        "ttl_seconds": PROFILE_TTL.as_secs(),
    })))
}

/// `GET /users/{id}`: the profile, `cache_hit`, and the seconds left (which only fall: reads
/// do not extend the TTL); 404 when it is not cached.
pub(super) async fn get(State(demo): State<Demo>, Path(user_id): Path<String>) -> ApiResult {
    let record = record(&demo, &user_id);
    let Some(profile) = record.load::<Profile>().await? else {
        return Err(not_cached(&user_id));
    };
    Ok(axum::Json(json!({
        "user_id": user_id,
        "profile": profile,
        "cache_hit": true,
        "ttl_seconds": ttl_seconds(record.ttl().await?),
    })))
}

/// `DELETE /users/{id}`: 404 if there was no such profile.
pub(super) async fn delete(State(demo): State<Demo>, Path(user_id): Path<String>) -> ApiResult {
    if !record(&demo, &user_id).clear().await? {
        return Err(not_cached(&user_id));
    }
    Ok(axum::Json(
        json!({ "message": "User profile deleted", "user_id": user_id }),
    ))
}

fn record(demo: &Demo, user_id: &str) -> HashRecord {
    HashRecord::new(demo.store.clone(), format!("user:{user_id}"))
}

fn not_cached(user_id: &str) -> ApiError {
    ApiError::not_found(format!("User '{user_id}' not found in cache"))
}
