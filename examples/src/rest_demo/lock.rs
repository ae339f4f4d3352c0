//! `/lock/{resource}`: work done under a distributed lock; a concurrent request gets 409.

use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use cache_core::lock::Lock;
use serde::Deserialize;
use serde_json::json;

use super::Demo;
use super::cache::check_key;
use super::errors::{ApiError, ApiResult, Query};

/// The longest processing a request may ask for, so one request cannot hold a resource (and
/// a connection) for long.
const MAX_PROCESSING_SECS: f64 = 30.0;

/// The lease: longer than the renewal period, short enough that a crashed holder frees the
/// resource soon. The guard renews it while the work runs.
const LEASE: Duration = Duration::from_secs(10);

#[derive(Deserialize)]
pub(super) struct Processing {
    #[serde(default = "default_processing")]
    processing_time: f64,
}

const fn default_processing() -> f64 {
    1.0
}

/// `POST /lock/{resource}?processing_time=2`: takes the lock without waiting, "processes" for
/// `processing_time` seconds, releases it.
pub(super) async fn process(
    State(demo): State<Demo>,
    Path(resource): Path<String>,
    Query(processing): Query<Processing>,
) -> ApiResult {
    check_key(&resource)?;
    let secs = processing.processing_time;
    if !(0.0..=MAX_PROCESSING_SECS).contains(&secs) {
        return Err(ApiError::bad_request(format!(
            "processing_time must be between 0 and {MAX_PROCESSING_SECS} seconds, got {secs}"
        )));
    }
    let lock = Lock::new(demo.store.clone(), format!("lock:{resource}")).lease(LEASE);
    let guard = match lock.try_acquire().await {
        Ok(Some(guard)) => guard,
        Ok(None) => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                format!("Resource '{resource}' is locked by another request, try again later"),
            ));
        }
        Err(busy) => {
            tracing::warn!(%busy, "lock unavailable");
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                busy.to_string(),
            ));
        }
    };
    let fence = guard.fence();
    tokio::time::sleep(Duration::from_secs_f64(secs)).await;
    let released = guard.release().await?;
    Ok(axum::Json(json!({
        "message": "Processed with lock",
        "resource": resource,
        "processing_time": secs,
        "fence": fence,
        "released": released,
    })))
}
