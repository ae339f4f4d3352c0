//! Attribute-macro caching for async Rust.
//!
//! Put `#[cached]` on an async function and its results are kept in a [`CacheBackend`]: the
//! embedded [`MemoryBackend`] by default, Redis through `cache-redis`, or your own. Put
//! `#[rate_limited]` on one and its calls are limited per key, with the same backends; put
//! `#[locked]` on one and its body runs holding a distributed lock named by its arguments.
//!
//! ```
//! # #[cfg(feature = "macros")] mod with_macros {
//! use cache_core::cached;
//! # #[derive(Clone, serde::Serialize, serde::Deserialize)] pub struct User { pub id: u64 }
//!
//! #[cached(key = "user:<id>", ttl = 300)]
//! pub async fn get_user(id: u64) -> Result<User, String> {
//!     Ok(User { id }) // runs on a miss; `Ok` values are kept for 5 minutes under `user:<id>`
//! }
//! # }
//! ```
//!
//! The backends can also be used directly:
//!
//! ```
//! use cache_core::{MemoryBackend, CacheBackendExt};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> cache_core::Result<()> {
//! let cache = MemoryBackend::new();
//! cache.set_value("greeting", &"hello", None).await?;
//! let greeting: Option<String> = cache.get_value("greeting").await?;
//! assert_eq!(greeting.as_deref(), Some("hello"));
//! # Ok(()) }
//! ```
//!
//! # Crate layout
//!
//! - [`CacheBackend`]: the trait every store implements; [`CacheBackendExt`] adds typed
//!   `get_value` / `set_value` over JSON.
//! - [`MemoryBackend`]: sharded, bounded, per-entry TTL; keeps decoded values for hits.
//! - [`key`]: the key format (a public contract) and [`KeyPart`] for types used in keys.
//! - [`set_global_backend`], [`register_backend`], [`with_backend`]: which backend serves.
//! - [`stats`]: per-function hit / miss / error / latency counters.
//! - [`layer::Prefix`]: a namespace prefix in front of any backend.
//! - [`rate_limit`]: rate-limit policies, algorithms and [`RateLimiter`].
//! - [`lock`]: distributed locks with fencing ([`lock::Lock`], [`LockBusy`]).
//! - [`structures`]: queues, hash records, leaderboards, sets, counters, pub/sub channels and
//!   key scans, on every backend.
//! - [`session`]: typed server-side sessions, one-time tokens and (feature `tower-sessions`)
//!   a `tower-sessions` store, on every backend.
//! - `testing` (feature `test-util`): the backend conformance suite, fault-injecting and
//!   recording wrappers and per-function hit/miss assertions.
#![doc(test(attr(deny(warnings))))]

mod backend;
pub mod codec;
mod error;
pub mod key;
pub mod layer;
pub mod lock;
mod memory;
pub mod metrics;
pub mod near;
pub mod rate_limit;
mod runtime;
pub mod session;
pub mod structures;
#[cfg(feature = "test-util")]
pub mod testing;
mod typed;
mod util;

#[doc(hidden)]
pub mod __private;
#[doc(hidden)]
pub use backend::capabilities::capability_names;

/// The `async_trait` attribute, re-exported so that an implementation of [`CacheBackend`] (or
/// of a capability trait) needs no dependency of its own: write `#[cache_core::async_trait]`
/// on the `impl`.
pub use async_trait::async_trait;
pub use backend::{
    CacheBackend, KeyTtl, LocalEntry, LocalValues, NearValues, RateLimitStore, SharedValue,
    check_ttl,
};
pub use bytes::Bytes;
pub use error::{Error, ErrorKind, Result};
pub use key::{KeyBuf, KeyPart};
pub use lock::{LockBusy, LockStore};
pub use memory::{MemoryBackend, MemoryBackendBuilder};
#[cfg(feature = "http")]
pub use rate_limit::http;
pub use rate_limit::{RateLimitDecision, RateLimitPolicy, RateLimited, RateLimiter};
pub use runtime::aside::CacheAside;
pub use runtime::freshness::{Freshness, with_freshness};
pub use runtime::functions::{Function, FunctionKind, functions};
pub use runtime::registry::{
    DynBackend, backend, register_backend, set_global_backend, with_backend, with_named_backend,
};
pub use runtime::settings::{
    DISABLE_ENV, default_timeout, is_enabled, set_default_timeout, set_enabled,
};
pub use runtime::tags::invalidate_tag;
pub use runtime::{health, stats};
pub use typed::CacheBackendExt;

#[cfg(feature = "macros")]
pub use cache_macros::cached;
#[cfg(feature = "macros")]
pub use cache_macros::locked;
#[cfg(feature = "macros")]
pub use cache_macros::rate_limited;
