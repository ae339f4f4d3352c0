//! The REST demo service of the Redis cache guide: a JSON API over the cache, user profiles
//! in hash records, a rate limiter, a distributed lock, a task queue and stats, on the
//! embedded memory backend or on Redis (`REDIS_URL`), every key under one prefix.
//!
//! Start it with `cargo run -p examples --bin rest_demo` (port `PORT`, default 8002), then:
//!
//! ```text
//! curl -X POST localhost:8002/cache -H 'Content-Type: application/json' \
//!      -d '{"key": "hello", "value": "world", "ttl": 300}'
//! curl localhost:8002/cache/hello
//! curl 'localhost:8002/cache?pattern=hel*'
//! curl -X DELETE localhost:8002/cache/hello
//! curl -X POST localhost:8002/users -H 'Content-Type: application/json' \
//!      -d '{"user_id": "user123", "name": "John Doe", "email": "john@example.com", "age": 30}'
//! curl localhost:8002/users/user123          # cache_hit, and a ttl_seconds that falls
//! for i in $(seq 12); do curl -s 'localhost:8002/rate-limit/check?user_id=u1&limit=10&window=60'; echo; done
//! curl -X POST 'localhost:8002/lock/payment_gateway?processing_time=5' &
//! curl -X POST 'localhost:8002/lock/payment_gateway?processing_time=1'   # 409 meanwhile
//! curl -X POST localhost:8002/queue/tasks -H 'Content-Type: application/json' \
//!      -d '{"id": "task1", "title": "Send email", "priority": "high"}'
//! curl localhost:8002/queue/tasks/all
//! curl localhost:8002/queue/tasks            # oldest first; 404 when empty
//! curl localhost:8002/stats
//! curl -X POST localhost:8002/stats/reset    # only the demo's keys
//! curl localhost:8002/metrics                # Prometheus text (`cache_core::metrics`)
//! curl localhost:8002/openapi.json           # and /docs in a browser
//! ```
//!
//! Bad input (malformed JSON, a missing field, a negative TTL, a body over 64 KiB) is a 4xx
//! with a JSON `{"error": ...}` body.

mod cache;
pub mod docs;
mod errors;
mod lock;
mod metrics;
mod queue;
mod rate_limit;
mod stats;
mod users;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use cache_core::DynBackend;
use cache_core::layer::Prefix;
use cache_redis::RedisBackend;

use errors::ApiError;

/// The prefix of every key the demo writes, as in the guide (`demo_api:`).
pub const DEFAULT_PREFIX: &str = "demo_api:";

/// The largest request body accepted; a larger one is a 413 with a JSON error.
pub const BODY_LIMIT: usize = 64 * 1024;

/// What every handler shares.
#[derive(Clone)]
struct Demo {
    /// The backend, under the demo's prefix.
    store: DynBackend,
    prefix: Arc<str>,
    backend_name: &'static str,
    /// The same server, for what only Redis tells (`INFO`) in `/stats`.
    redis: Option<RedisBackend>,
    started: Instant,
}

/// The demo's routes on `backend` (named `backend_name` in `/stats`), every key under
/// `prefix`.
///
/// ```
/// use std::sync::Arc;
/// use cache_core::MemoryBackend;
///
/// let app = examples::rest_demo::router(Arc::new(MemoryBackend::new()), "memory", "demo_api:");
/// # let _: axum::Router = app;
/// ```
pub fn router(backend: DynBackend, backend_name: &'static str, prefix: &str) -> Router {
    routes(Demo {
        store: Arc::new(Prefix::new(prefix, backend)),
        prefix: prefix.into(),
        backend_name,
        redis: None,
        started: Instant::now(),
    })
}

/// The demo's routes on Redis, every key under `prefix`; `/stats` adds the server's `INFO`
/// figures (memory, clients, commands, operations per second, hit ratio).
///
/// ```no_run
/// # async fn run() -> cache_core::Result<()> {
/// let redis = cache_redis::RedisBackend::connect(cache_redis::RedisConfig::from_env()?).await?;
/// let app = examples::rest_demo::redis_router(redis, "demo_api:");
/// # let _: axum::Router = app; Ok(()) }
/// ```
pub fn redis_router(redis: RedisBackend, prefix: &str) -> Router {
    routes(Demo {
        store: Arc::new(Prefix::new(prefix, redis.clone())),
        prefix: prefix.into(),
        backend_name: "redis",
        redis: Some(redis),
        started: Instant::now(),
    })
}

fn routes(demo: Demo) -> Router {
    // Installed before the first request, so that every decision and lock is recorded.
    metrics::recorder();
    Router::new()
        .route("/cache", post(cache::set).get(cache::list))
        .route("/cache/{key}", get(cache::get).delete(cache::delete))
        .route("/users", post(users::create))
        .route("/users/{user_id}", get(users::get).delete(users::delete))
        .route("/rate-limit/check", get(rate_limit::check))
        .route("/lock/{resource}", post(lock::process))
        .route(
            "/queue/tasks",
            post(queue::push).get(queue::pop).delete(queue::clear),
        )
        .route("/queue/tasks/all", get(queue::peek_all))
        .route("/stats", get(stats::stats))
        .route("/stats/reset", post(stats::reset))
        .route("/metrics", get(metrics::metrics))
        .route(
            "/openapi.json",
            get(|| async { axum::Json(docs::openapi()) }),
        )
        .route("/docs", get(|| async { docs::page() }))
        .fallback(|| async { ApiError::not_found("no such endpoint; see /docs") })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(demo)
}
