//! `/stats`: what the backend can tell about itself and the demo's keys; `/stats/reset`.

use std::time::Instant;

use axum::extract::State;
use cache_core::CacheBackend;
use cache_core::structures::scan_keys;
use cache_redis::ServerInfo;
use serde_json::{Value, json};

use super::Demo;
use super::errors::ApiResult;

/// `GET /stats`: the backend, its health (a ping and how long it took), the demo's key count
/// and the app's uptime; on Redis, the server's `INFO` figures too.
pub(super) async fn stats(State(demo): State<Demo>) -> ApiResult {
    let started = Instant::now();
    let ping = demo.store.ping().await;
    let ping_ms = started.elapsed().as_secs_f64() * 1000.0;
    if let Err(error) = &ping {
        tracing::warn!(%error, "stats: the backend does not answer");
    }
    let total_keys = match ping {
        Ok(()) => Some(scan_keys(demo.store.clone(), "*").collect().await?.len()),
        Err(_) => None,
    };
    let server = match (&demo.redis, total_keys) {
        (Some(redis), Some(_)) => Some(server_figures(&redis.info().await?)),
        _ => None,
    };
    Ok(axum::Json(json!({
        "backend": demo.backend_name,
        "status": if total_keys.is_some() { "connected" } else { "unavailable" },
        "ping_ms": ping_ms,
        "key_prefix": demo.prefix,
        "total_keys": total_keys,
        "uptime_seconds": demo.started.elapsed().as_secs(),
        "server": server,
    })))
}

/// What Redis says about itself: memory, clients, commands, operations per second, hits.
fn server_figures(info: &ServerInfo) -> Value {
    let field = |name: &str| info.fields.get(name).cloned();
    json!({
        "version": info.version,
        "nodes": info.nodes,
        "uptime_seconds": info.uptime.as_secs(),
        "used_memory_bytes": info.used_memory,
        "used_memory_human": field("used_memory_human"),
        "connected_clients": info.connected_clients,
        "total_commands_processed": info.total_commands_processed,
        "ops_per_second": field("instantaneous_ops_per_sec").and_then(|ops| ops.parse::<u64>().ok()),
        "keyspace_hits": info.keyspace_hits,
        "keyspace_misses": info.keyspace_misses,
        "hit_ratio": info.hit_ratio(),
    })
}

/// `POST /stats/reset`: deletes the demo's keys, and only those (other prefixes on the same
/// server are untouched).
pub(super) async fn reset(State(demo): State<Demo>) -> ApiResult {
    let deleted = demo.store.delete_pattern("*").await?;
    Ok(axum::Json(json!({
        "message": format!("Deleted every key under `{}`", demo.prefix),
        "deleted_keys": deleted,
    })))
}
