//! The patterns of seed guide `001` (Redis caching with Flask and Flask-Caching), step by
//! step on one [`CacheBackend`]: the embedded memory backend, or Redis when `REDIS_URL` is
//! set ([`crate::backend::from_env`]), with the same code and the same output.
//!
//! | guide | here |
//! |---|---|
//! | `@cache.memoize`, `cache.delete_memoized(f, 42)` | `#[cached]`, `{fn}_invalidate(42)` |
//! | `cache.delete_memoized(f)` | [`CacheBackend::delete_pattern`] on the key template's start |
//! | `@cache.cached(unless=...)` | `#[cached]` and `{fn}_refresh` |
//! | `set` / `get` / `has` / `delete` / `add` | [`CacheBackendExt`](cache_core::CacheBackendExt), `exists`, `delete`, `set_if_absent` |
//! | `set_many` / `get_many` / `delete_many`, `clear` | the batch calls, [`Prefix`](cache_core::layer::Prefix) + `clear` |
//! | dynamic keys, cache-aside, invalidation | [`KeyBuf`](cache_core::KeyBuf), `get_value` / `set_value`, `delete_many`, `delete_pattern` |
//! | write-through, cache warming | `set_value`, `set_many` |
//! | `INCR`, counters per day | `increment`, [`Counter`](cache_core::structures::Counter) |
//! | `ZADD` / `ZREVRANGE` / `ZREVRANK` / `ZINCRBY` | [`Leaderboard`](cache_core::structures::Leaderboard) |
//! | `PUBLISH` / `SUBSCRIBE` | [`Channel`](cache_core::structures::Channel) |
//! | Flask-Session | [`Sessions`](cache_core::session::Sessions) |
//! | `@rate_limit` on a route | [`RateLimitLayer`](cache_core::http::RateLimitLayer) in axum |
//! | hit rate, `/debug/cache/<key>`, `KEYS` | [`cache_core::stats`], `ttl`, [`scan_keys`](cache_core::structures::scan_keys) |

mod counters;
mod db;
mod keys;
mod leaderboard;
mod manual;
mod memoize;
mod notify;
mod rate_limit;
mod sessions;
mod stats;
mod strategies;

use std::io::Write;

use cache_core::{CacheBackend, DynBackend, with_backend};

/// What a step can fail with: writing the output, the backend, or the local HTTP server.
pub type StepError = Box<dyn std::error::Error + Send + Sync>;

/// Runs every section on `backend`, printing each step to `out`.
///
/// It starts by clearing `backend` (every key under its prefix), so that a second run on the
/// same Redis prints what the first did: no spent rate limit, no value already added.
///
/// # Errors
///
/// Writing to `out` failed, or `backend` or the local search server failed a step.
///
/// ```no_run
/// # async fn demo() -> Result<(), examples::flask_patterns::StepError> {
/// let backend = std::sync::Arc::new(cache_core::MemoryBackend::new());
/// examples::flask_patterns::run(backend, &mut std::io::stdout()).await?;
/// # Ok(()) }
/// ```
pub async fn run(backend: DynBackend, out: &mut impl Write) -> Result<(), StepError> {
    backend.clear().await?;
    // The memoized functions use this run's backend, not a global one.
    with_backend(backend.clone(), sections(&backend, out)).await
}

async fn sections(backend: &DynBackend, out: &mut impl Write) -> Result<(), StepError> {
    memoize::run(backend, out).await?;
    manual::run(backend, out).await?;
    keys::run(backend, out).await?;
    strategies::run(backend, out).await?;
    counters::run(backend, out).await?;
    leaderboard::run(backend, out).await?;
    notify::run(backend, out).await?;
    sessions::run(backend, out).await?;
    rate_limit::run(backend, out).await?;
    stats::run(backend, out).await
}

/// Prints a section title.
fn section(out: &mut impl Write, title: &str) -> std::io::Result<()> {
    writeln!(out, "\n== {title}")
}
