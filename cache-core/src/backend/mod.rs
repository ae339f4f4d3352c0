//! The [`CacheBackend`] trait, the byte store every backend implements, and the capability
//! objects a backend may offer beside it ([`capabilities`]).

pub(crate) mod capabilities;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

pub use capabilities::{LocalEntry, LocalValues, NearValues, RateLimitStore, SharedValue};

use crate::lock::LockStore;
use crate::structures::{KeyScan, PubSubStore, StructureStore};

use crate::{Error, ErrorKind, Result};

/// The remaining lifetime of a key, as [`CacheBackend::ttl`] reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyTtl {
    /// There is no such key (or it has expired).
    Missing,
    /// The key exists and never expires.
    Persistent,
    /// The key exists and expires after this long.
    ExpiresIn(Duration),
}

/// A store of byte values under string keys, with per-key expiry.
///
/// Every backend (the in-memory [`MemoryBackend`](crate::MemoryBackend), Redis, ...) implements
/// this trait, and the macros only ever talk to `dyn CacheBackend`, so a backend can be chosen at
/// run time (`Arc<dyn CacheBackend>`) and swapped in tests.
///
/// # Contract
///
/// - Keys are UTF-8 strings used exactly as given: any namespace prefix is the job of the
///   backend's configuration or of [`Prefix`](crate::layer::Prefix), never of the caller.
/// - A `ttl` of `None` means "no expiry". A `Some` TTL of zero is
///   [`ErrorKind::InvalidInput`]: a zero TTL is almost always a bug in the caller.
/// - Every single-key operation is atomic with respect to every other operation on that key.
/// - Batch operations ([`get_many`](Self::get_many), [`set_many`](Self::set_many),
///   [`delete_many`](Self::delete_many)) are atomic per key, not across keys.
/// - Errors mean the operation may or may not have happened (a timeout is not a "no").
///
/// # Capabilities
///
/// Everything beyond the byte store is a capability object reached through one accessor each,
/// `None` (the default) where the backend lacks it: [`local`](Self::local) for values kept
/// decoded in process (the macro runtime's hit path), [`rate_limits`](Self::rate_limits) for
/// atomic rate-limit decisions, [`locks`](Self::locks) for leases and fences,
/// [`structures`](Self::structures) for queues, hashes, sorted sets, sets and counters,
/// [`pubsub`](Self::pubsub) for channels and [`key_scan`](Self::key_scan) for listing keys.
/// New capabilities arrive as new accessors with a `None` default, so existing backends keep
/// compiling. A wrapper that does not change a capability
/// forwards them all with [`forward_capabilities!`](crate::forward_capabilities), so one it
/// wraps never loses one silently.
///
/// # Implementing
///
/// The trait is object-safe through [`async_trait`](macro@async_trait): implement it with `#[async_trait]`.
///
/// ```
/// use cache_core::{async_trait, Bytes, CacheBackend, KeyTtl, MemoryBackend, Result};
/// use std::time::Duration;
///
/// /// A backend that logs every read, then defers to another.
/// struct Logged<B>(B);
///
/// #[async_trait]
/// impl<B: CacheBackend> CacheBackend for Logged<B> {
///     async fn get(&self, key: &str) -> Result<Option<Bytes>> {
///         println!("get {key}");
///         self.0.get(key).await
///     }
///     async fn set(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> Result<()> {
///         self.0.set(key, value, ttl).await
///     }
///     async fn set_if_absent(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> Result<bool> {
///         self.0.set_if_absent(key, value, ttl).await
///     }
///     async fn delete(&self, key: &str) -> Result<bool> { self.0.delete(key).await }
///     async fn exists(&self, key: &str) -> Result<bool> { self.0.exists(key).await }
///     async fn ttl(&self, key: &str) -> Result<KeyTtl> { self.0.ttl(key).await }
///     async fn expire(&self, key: &str, ttl: Duration) -> Result<bool> { self.0.expire(key, ttl).await }
///     async fn increment(&self, key: &str, delta: i64) -> Result<i64> { self.0.increment(key, delta).await }
///     async fn delete_pattern(&self, pattern: &str) -> Result<u64> { self.0.delete_pattern(pattern).await }
///     async fn clear(&self) -> Result<()> { self.0.clear().await }
///     async fn ping(&self) -> Result<()> { self.0.ping().await }
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<()> {
/// let backend = Logged(MemoryBackend::new());
/// backend.set("k", Bytes::from_static(b"v"), None).await?;
/// assert_eq!(backend.get("k").await?.as_deref(), Some(&b"v"[..]));
/// # Ok(()) }
/// ```
#[async_trait]
pub trait CacheBackend: Send + Sync + 'static {
    /// The value under `key`, or `None` if there is none or it has expired.
    async fn get(&self, key: &str) -> Result<Option<Bytes>>;

    /// Stores `value` under `key`, replacing any value and TTL it had. `ttl: None` stores it
    /// without expiry.
    async fn set(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> Result<()>;

    /// Stores `value` under `key` only if the key holds nothing. Returns whether it was stored.
    /// Atomic: of many concurrent callers on one absent key, exactly one gets `true`.
    async fn set_if_absent(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> Result<bool>;

    /// Removes `key`. Returns whether it existed.
    async fn delete(&self, key: &str) -> Result<bool>;

    /// Removes every key in `keys`. Returns how many existed.
    async fn delete_many(&self, keys: &[&str]) -> Result<u64> {
        let mut removed = 0;
        for key in keys {
            removed += u64::from(self.delete(key).await?);
        }
        Ok(removed)
    }

    /// Whether `key` holds a value that has not expired.
    async fn exists(&self, key: &str) -> Result<bool>;

    /// How long `key` has left to live.
    async fn ttl(&self, key: &str) -> Result<KeyTtl>;

    /// Gives an existing key a new TTL, counted from now. Returns `false` if there is no such key.
    async fn expire(&self, key: &str, ttl: Duration) -> Result<bool>;

    /// Adds `delta` to the integer stored under `key` and returns the new value. A missing key
    /// counts as `0` and is created without expiry; an existing key keeps its TTL.
    /// Atomic: `n` concurrent increments by 1 raise the value by exactly `n`.
    ///
    /// The value is stored as its decimal digits (as Redis `INCRBY` does), so
    /// [`get`](Self::get) returns e.g. `b"42"`. A value that is not a 64-bit integer, or an
    /// overflow, is [`ErrorKind::NotAnInteger`].
    async fn increment(&self, key: &str, delta: i64) -> Result<i64>;

    /// The values under `keys`, in the same order, `None` for each missing key.
    async fn get_many(&self, keys: &[&str]) -> Result<Vec<Option<Bytes>>> {
        let mut values = Vec::with_capacity(keys.len());
        for key in keys {
            values.push(self.get(key).await?);
        }
        Ok(values)
    }

    /// Stores every `(key, value)` pair, all with the same `ttl`.
    async fn set_many(&self, entries: &[(&str, Bytes)], ttl: Option<Duration>) -> Result<()> {
        for (key, value) in entries {
            self.set(key, value.clone(), ttl).await?;
        }
        Ok(())
    }

    /// Removes every key matching the glob `pattern` (Redis `MATCH` syntax: `*`, `?`, `[...]`,
    /// `\` escapes) and returns how many were removed.
    ///
    /// It walks the keyspace incrementally (Redis: `SCAN`, never `KEYS`), so it never blocks the
    /// server, and keys written while it runs may or may not be removed. Build patterns from
    /// [`KeyBuf`](crate::KeyBuf)-escaped values so a value cannot widen the pattern.
    async fn delete_pattern(&self, pattern: &str) -> Result<u64>;

    /// Removes every key this backend owns (under its prefix, if it has one).
    async fn clear(&self) -> Result<()>;

    /// Checks that the backend answers.
    async fn ping(&self) -> Result<()>;

    /// The in-process decoded values this backend keeps beside the bytes, if it keeps any:
    /// the macro runtime's hit path. Backends that only hold bytes (Redis) return `None`, and
    /// the runtime decodes what [`get`](Self::get) returns instead.
    fn local(&self) -> Option<&dyn LocalValues> {
        None
    }

    /// Atomic rate-limit decisions on this backend, if it makes them (see
    /// [`rate_limit`](crate::rate_limit)). Without them a [`RateLimiter`](crate::RateLimiter)
    /// applies its [`FailureMode`](crate::rate_limit::FailureMode).
    fn rate_limits(&self) -> Option<&dyn RateLimitStore> {
        None
    }

    /// Leases with owner tokens and fences on this backend, if it has them (see
    /// [`lock`](crate::lock)). `#[cached]` uses them for one execution per key across
    /// processes, `#[locked]` and [`Lock`](crate::lock::Lock) for mutual exclusion.
    fn locks(&self) -> Option<&dyn LockStore> {
        None
    }

    /// Queues, hash records, sorted sets, sets, counters with expiry and read-and-delete on
    /// this backend's keys, if it has them (see [`structures`](crate::structures)).
    fn structures(&self) -> Option<&dyn StructureStore> {
        None
    }

    /// Publish and subscribe on named channels, if the backend has them (see
    /// [`PubSubStore`]).
    fn pubsub(&self) -> Option<&dyn PubSubStore> {
        None
    }

    /// Incremental listing of the keys matching a glob, if the backend can list them (see
    /// [`KeyScan`] and [`structures::scan_keys`](crate::structures::scan_keys)).
    fn key_scan(&self) -> Option<&dyn KeyScan> {
        None
    }

    /// Decoded copies of this backend's values kept in process while they are known to be
    /// current, if it keeps any (a Redis backend with its near cache on; see
    /// [`near`](crate::near)). The macro runtime serves hits from them; a key they do not hold
    /// is looked up on the backend as usual.
    fn near(&self) -> Option<&dyn NearValues> {
        None
    }
}

/// Rejects a zero TTL, as the [`CacheBackend`] contract requires. For backend implementors.
///
/// ```
/// use std::time::Duration;
/// assert!(cache_core::check_ttl(Some(Duration::ZERO)).is_err());
/// assert!(cache_core::check_ttl(Some(Duration::from_secs(1))).is_ok());
/// assert!(cache_core::check_ttl(None).is_ok());
/// ```
pub fn check_ttl(ttl: Option<Duration>) -> Result<()> {
    match ttl {
        Some(ttl) if ttl.is_zero() => Err(Error::new(
            ErrorKind::InvalidInput,
            "a TTL of zero is not allowed; use `None` for no expiry or delete the key",
        )),
        _ => Ok(()),
    }
}

/// Implements [`CacheBackend`] for a smart pointer by forwarding every operation and every
/// capability to the backend it points to.
macro_rules! forward_through_pointer {
    ($($pointer:ident),+) => {$(
        #[async_trait]
        impl<B: CacheBackend + ?Sized> CacheBackend for $pointer<B> {
            async fn get(&self, key: &str) -> Result<Option<Bytes>> {
                (**self).get(key).await
            }
            async fn set(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> Result<()> {
                (**self).set(key, value, ttl).await
            }
            async fn set_if_absent(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> Result<bool> {
                (**self).set_if_absent(key, value, ttl).await
            }
            async fn delete(&self, key: &str) -> Result<bool> {
                (**self).delete(key).await
            }
            async fn delete_many(&self, keys: &[&str]) -> Result<u64> {
                (**self).delete_many(keys).await
            }
            async fn exists(&self, key: &str) -> Result<bool> {
                (**self).exists(key).await
            }
            async fn ttl(&self, key: &str) -> Result<KeyTtl> {
                (**self).ttl(key).await
            }
            async fn expire(&self, key: &str, ttl: Duration) -> Result<bool> {
                (**self).expire(key, ttl).await
            }
            async fn increment(&self, key: &str, delta: i64) -> Result<i64> {
                (**self).increment(key, delta).await
            }
            async fn get_many(&self, keys: &[&str]) -> Result<Vec<Option<Bytes>>> {
                (**self).get_many(keys).await
            }
            async fn set_many(&self, entries: &[(&str, Bytes)], ttl: Option<Duration>) -> Result<()> {
                (**self).set_many(entries, ttl).await
            }
            async fn delete_pattern(&self, pattern: &str) -> Result<u64> {
                (**self).delete_pattern(pattern).await
            }
            async fn clear(&self) -> Result<()> {
                (**self).clear().await
            }
            async fn ping(&self) -> Result<()> {
                (**self).ping().await
            }
            crate::forward_capabilities!(**self);
        }
    )+};
}

// A shared or boxed backend is a backend: `Arc<MemoryBackend>`, `Arc<dyn CacheBackend>` or
// `Box<dyn CacheBackend>` can be installed, wrapped in a layer, or handed to a test while the
// caller keeps a handle.
forward_through_pointer!(Arc, Box);
