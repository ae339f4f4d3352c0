//! A Redis backend for `cache-core`: standalone, Redis Cluster and Sentinel.
//!
//! [`RedisBackend`] implements the whole [`CacheBackend`](cache_core::CacheBackend) contract,
//! so every `#[cached]` function works unchanged on it:
//!
//! ```no_run
//! use cache_redis::{RedisBackend, RedisConfig};
//!
//! # async fn run() -> cache_core::Result<()> {
//! // REDIS_URL / REDIS_HOST / REDIS_PORT / REDIS_PASSWORD / REDIS_DB / REDIS_KEY_PREFIX /
//! // REDIS_DEFAULT_TTL, see `RedisConfig::from_env`.
//! let redis = RedisBackend::connect(RedisConfig::from_env()?).await?;
//! cache_core::set_global_backend(redis);
//! # Ok(()) }
//! ```
//!
//! # What is stored
//!
//! `#[cached(key = "user:<id>")]` called with `id = 7` on a backend with prefix `app:` stores
//! the JSON of the value under `app:user:7`, with the function's TTL, so `redis-cli GET
//! app:user:7` and other languages can read it (key format: [`cache_core::key`]).
//!
//! # Data structures, pub/sub, key scans, pipelines
//!
//! [`CacheBackend::structures`](cache_core::CacheBackend::structures) (queues, hashes, sorted
//! sets, sets, counters: one Redis command each on the prefixed key, blocking pops on
//! dedicated connections), [`CacheBackend::pubsub`](cache_core::CacheBackend::pubsub)
//! (prefixed channels) and [`CacheBackend::key_scan`](cache_core::CacheBackend::key_scan)
//! (`SCAN`, every primary of a Cluster) back the typed handles of
//! [`cache_core::structures`], the same as on the memory backend. Redis only:
//! [`RedisBackend::pipeline`] batches commands and runs `MULTI`/`EXEC` transactions on
//! prefixed keys, split or refused per hash slot on a Cluster.
//!
//! # Near cache
//!
//! [`RedisConfig::near_cache`] (or `REDIS_NEAR_CACHE`) keeps values read through the backend
//! in process, decoded for `#[cached]`, coherent through RESP3 client tracking: hits cost no
//! round trip, writes by any client drop the copy, and a lost or silent tracking connection
//! empties it until tracking is back. The guarantee and its bound are on
//! [`RedisConfig::near_cache`]; [`RedisBackend::near_cache_stats`] counts what it does.
//!
//! # Plain Redis
//!
//! [`RedisBackend::connection`] hands out the shared connection for hashes, lists, sets, sorted
//! sets and scripts through [`redis::AsyncCommands`]; [`RedisBackend::pubsub`] opens a
//! pub/sub connection; [`RedisBackend::health_check`] and [`RedisBackend::info`] serve health
//! endpoints. This crate re-exports [`redis`] so the versions match.
//!
//! # Features
//!
//! - `tls`: `rediss://` URLs and [`RedisConfig::tls`], through rustls (ring provider), checking
//!   the server against the system root certificates or the CA given with
//!   [`RedisConfig::tls_ca`]; client certificates with [`RedisConfig::tls_client_cert`].
#![doc(test(attr(deny(warnings), allow(dead_code))))]

mod backend;
mod config;
mod connection;
mod error;
mod info;
mod locks;
mod near;
mod pipeline;
mod rate_limit;
mod scripts;
mod structures;

pub use backend::RedisBackend;
pub use config::{ENV_VARS, PREFIX_SEPARATORS, RedisConfig, RetryPolicy, Topology};
pub use connection::RedisConnection;
pub use info::ServerInfo;
pub use near::TRACKING_CLIENT_NAME;
pub use pipeline::RedisPipeline;
pub use redis;
