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
    Ok(serving(redis_from_env(prefix).await?.as_ref()))
}

/// The backend to serve on, and its name: `redis` (a handle sharing its connection) when
/// there is one, a fresh memory backend otherwise. For an app that also keeps the
/// [`RedisBackend`] itself (see [`redis_from_env`]).
pub fn serving(redis: Option<&RedisBackend>) -> (DynBackend, &'static str) {
    match redis {
        Some(redis) => (std::sync::Arc::new(redis.clone()), "redis"),
        None => (std::sync::Arc::new(MemoryBackend::new()), "memory"),
    }
}

/// The Redis backend the environment asks for, or `None` when neither `REDIS_URL` nor
/// `REDIS_HOST` is set: for an app that also wants what only Redis tells (`INFO`).
///
/// # Errors
///
/// As [`from_env`].
///
/// ```no_run
/// # async fn run() -> cache_core::Result<()> {
/// if let Some(redis) = examples::backend::redis_from_env("demo:").await? {
///     println!("Redis {}", redis.info().await?.version);
/// }
/// # Ok(()) }
/// ```
pub async fn redis_from_env(prefix: &str) -> cache_core::Result<Option<RedisBackend>> {
    if std::env::var_os("REDIS_URL").is_none() && std::env::var_os("REDIS_HOST").is_none() {
        return Ok(None);
    }
    let config = RedisConfig::from_env()?.key_prefix(prefix);
    RedisBackend::connect(config).await.map(Some)
}
