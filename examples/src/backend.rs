//! Which backend an example app runs on: Redis when `REDIS_URL` (or `REDIS_HOST`) is set, the
//! embedded memory backend otherwise. Same code, same behaviour.

use cache_core::{DynBackend, MemoryBackend};
use cache_redis::{RedisBackend, RedisConfig};

/// The backend the environment asks for, and its name for logs (`"memory"` or `"redis"`).
///
/// # Errors
///
/// A `REDIS_*` variable with a bad value, or a Redis that refuses the connection.
///
/// ```no_run
/// # async fn run() -> cache_core::Result<()> {
/// let (backend, name) = examples::backend::from_env("demo:").await?;
/// println!("serving on {name}");
/// # let _ = backend; Ok(()) }
/// ```
pub async fn from_env(prefix: &str) -> cache_core::Result<(DynBackend, &'static str)> {
    let (backend, redis) = from_env_with_redis(prefix).await?;
    Ok((backend, if redis.is_some() { "redis" } else { "memory" }))
}

/// As [`from_env`], also handing back the [`RedisBackend`] itself when it is Redis, for the
/// apps that show its Redis-only API (`info()`, `connection()`). Both are one connection.
///
/// # Errors
///
/// As [`from_env`].
///
/// ```no_run
/// # async fn run() -> cache_core::Result<()> {
/// let (backend, redis) = examples::backend::from_env_with_redis("demo:").await?;
/// if let Some(redis) = &redis {
///     println!("Redis {}", redis.info().await?.version);
/// }
/// # let _ = backend; Ok(()) }
/// ```
pub async fn from_env_with_redis(
    prefix: &str,
) -> cache_core::Result<(DynBackend, Option<RedisBackend>)> {
    if std::env::var_os("REDIS_URL").is_none() && std::env::var_os("REDIS_HOST").is_none() {
        return Ok((std::sync::Arc::new(MemoryBackend::new()), None));
    }
    let config = RedisConfig::from_env()?.key_prefix(prefix);
    let redis = RedisBackend::connect(config).await?;
    Ok((std::sync::Arc::new(redis.clone()), Some(redis)))
}
