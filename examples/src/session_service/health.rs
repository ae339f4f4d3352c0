//! `GET /health`: the backend's ping, and on Redis the server's `INFO` summary.

use std::time::Instant;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::Shared;

/// 200 with `"status": "healthy"` when the backend answers a ping, 503 otherwise.
pub(super) async fn health(State(app): State<Shared>) -> (StatusCode, Json<Value>) {
    let started = Instant::now();
    if let Err(error) = app.backend.ping().await {
        tracing::warn!(%error, "health: the backend does not answer");
        let body = json!({ "status": "unhealthy", "error": error.to_string() });
        return (StatusCode::SERVICE_UNAVAILABLE, Json(body));
    }
    let ping_ms = started.elapsed().as_secs_f64() * 1000.0;
    let mut body = json!({ "status": "healthy", "ping_ms": ping_ms });
    body["backend"] = match &app.redis {
        None => json!({ "kind": "memory" }),
        Some(redis) => match redis.info().await {
            Ok(info) => json!({
                "kind": "redis",
                "version": info.version,
                "uptime_seconds": info.uptime.as_secs(),
                "connected_clients": info.connected_clients,
                "used_memory": info.used_memory,
                "total_commands_processed": info.total_commands_processed,
                "hit_ratio": info.hit_ratio(),
                "nodes": info.nodes,
            }),
            // A ping answered but INFO did not (an ACL without it): still healthy.
            Err(error) => json!({ "kind": "redis", "info_error": error.to_string() }),
        },
    };
    (StatusCode::OK, Json(body))
}
