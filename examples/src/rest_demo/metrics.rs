//! `/metrics`: the library's metrics (`cache_core::metrics`) in Prometheus text, through
//! `metrics-exporter-prometheus`.

use std::sync::OnceLock;

use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use super::errors::ApiError;

/// The process's Prometheus recorder, installed the first time a router is built; `None` if
/// the application had installed another recorder before (its figures then go there).
pub(super) fn recorder() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| match PrometheusBuilder::new().install_recorder() {
            Ok(handle) => Some(handle),
            Err(error) => {
                tracing::warn!(%error, "another metrics recorder is installed; /metrics is off");
                None
            }
        })
        .as_ref()
}

/// `GET /metrics`: every counter and histogram, cached functions' request totals published
/// first (they are counted in process, for free, until asked for).
pub(super) async fn metrics() -> Response {
    let Some(handle) = recorder() else {
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "another metrics recorder is installed in this process",
        )
        .into_response();
    };
    cache_core::metrics::publish();
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4")],
        handle.render(),
    )
        .into_response()
}
