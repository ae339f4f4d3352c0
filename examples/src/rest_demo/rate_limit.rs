//! `/rate-limit/check`: a fixed window per user, as the guide's Lua script counts (`INCR`,
//! `EXPIRE` on the first call of a window), decided atomically by the library.

use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use cache_core::rate_limit::{RateLimitPolicy, RateLimiter};
use serde::Deserialize;
use serde_json::json;

use super::Demo;
use super::cache::check_key;
use super::errors::{ApiError, Query};

#[derive(Deserialize)]
pub(super) struct Check {
    user_id: String,
    #[serde(default = "default_limit")]
    limit: u32,
    #[serde(default = "default_window")]
    window: u64,
}

const fn default_limit() -> u32 {
    10
}

const fn default_window() -> u64 {
    60
}

/// `GET /rate-limit/check?user_id=&limit=&window=`: counts this call against the user's
/// window. Always 200 (it is a question, answered in `allowed`); a refusal carries
/// `Retry-After`.
pub(super) async fn check(
    State(demo): State<Demo>,
    Query(check): Query<Check>,
) -> Result<Response, ApiError> {
    check_key(&check.user_id)?;
    if check.limit == 0 || check.limit > 1_000_000 || check.window == 0 || check.window > 86_400 {
        return Err(ApiError::bad_request(
            "limit must be 1 to 1000000 and window 1 to 86400 seconds",
        ));
    }
    let policy = RateLimitPolicy::fixed_window(check.limit, Duration::from_secs(check.window));
    let decision = RateLimiter::new(policy)
        .backend(demo.store.clone())
        .namespace("ratelimit:")
        // The limit and window are part of the key, so a call with other figures starts its
        // own count instead of reading one kept under different rules.
        .check(&format!(
            "{}:{}:{}",
            check.user_id, check.limit, check.window
        ))
        .await?;
    let body = axum::Json(json!({
        "user_id": check.user_id,
        "allowed": decision.allowed(),
        "current_count": decision.limit() - decision.remaining(),
        "limit": decision.limit(),
        "remaining": decision.remaining(),
        "window_seconds": check.window,
        "retry_after_seconds": decision.retry_after_secs(),
        "reset_after_seconds": decision.reset_after_secs(),
    }));
    let mut response = body.into_response();
    if !decision.allowed() {
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(decision.retry_after_secs()),
        );
    }
    Ok(response)
}
