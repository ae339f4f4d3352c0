//! Seed guide `000` (a Redis client with Lua scripts, locks, pipelines, a cache decorator and
//! external API settings) section by section, each step printed as it runs: configuration
//! from the environment, connect and health, get/set/delete/TTL, data structures, Lua scripts
//! and the atomic operations they stand for, locks, pipelines and batches, the cache
//! decorator, and an external API client whose calls are cached, rate limited, retried with
//! backoff and guarded by a circuit breaker.
//!
//! Everything runs on the embedded memory backend as on Redis; what only Redis has (Lua
//! scripts, pipelines and transactions, `INFO`) runs when there is a [`RedisBackend`], and the
//! memory run says which library call does the same job.

mod basics;
mod connect;
mod decorator;
mod external_api;
mod locks;
mod pipelines;
mod scripts;

use std::io::Write;

use cache_core::{CacheBackend, KeyTtl};
use cache_redis::RedisBackend;

pub use external_api::{ApiAuth, ApiConfig, BreakerPolicy, CachePolicy};

/// What a step can fail with: writing the output, the backend, or the local upstream.
pub type StepError = Box<dyn std::error::Error + Send + Sync>;

/// Runs every section on `redis` when given, on a fresh memory backend otherwise, printing
/// each step to `out`.
///
/// # Errors
///
/// Writing to `out` failed, or the backend or the local upstream failed a step that should
/// have succeeded.
///
/// ```no_run
/// # async fn demo() -> Result<(), examples::walkthrough::StepError> {
/// examples::walkthrough::run(None, &mut std::io::stdout()).await?;
/// # Ok(()) }
/// ```
pub async fn run(redis: Option<RedisBackend>, out: &mut impl Write) -> Result<(), StepError> {
    let (backend, name) = crate::backend::serving(redis.as_ref());
    // A second run starts where the first did: no cached answers, no spent rate limits.
    backend.clear().await?;
    connect::run(&backend, name, redis.as_ref(), out).await?;
    basics::run(&backend, out).await?;
    scripts::run(&backend, redis.as_ref(), out).await?;
    locks::run(&backend, out).await?;
    pipelines::run(&backend, redis.as_ref(), out).await?;
    decorator::run(&backend, out).await?;
    external_api::run(&backend, out).await
}

/// Prints a section title.
fn section(out: &mut impl Write, title: &str) -> std::io::Result<()> {
    writeln!(out, "\n== {title}")
}

/// A TTL rounded up to whole seconds, as `TTL` shows it.
fn seconds(ttl: KeyTtl) -> String {
    match ttl {
        KeyTtl::ExpiresIn(left) => format!("{} s", left.as_millis().div_ceil(1000)),
        other => format!("{other:?}"),
    }
}
