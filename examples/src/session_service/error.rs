//! The service's errors, each a status with a JSON body `{"error": "..."}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// A request the service refuses or cannot serve.
#[derive(Debug)]
pub(super) enum ApiError {
    /// 400: a malformed request.
    BadRequest(&'static str),
    /// 401: no valid credential (session cookie, login state or code).
    Unauthorized(&'static str),
    /// 503: the backend failed; the session store fails closed.
    Unavailable,
}

impl From<cache_core::Error> for ApiError {
    fn from(error: cache_core::Error) -> Self {
        // The library's errors name keys with ids shown as `<id>`: no secret reaches the log.
        tracing::warn!(%error, "session store unavailable");
        Self::Unavailable
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            Self::BadRequest(message) => (StatusCode::BAD_REQUEST, message),
            Self::Unauthorized(message) => (StatusCode::UNAUTHORIZED, message),
            Self::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "session store unavailable"),
        };
        (status, Json(json!({ "error": message }))).into_response()
    }
}
