//! The [`CacheBackend`] trait: the one interface every store implements.

use std::any::Any;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

use crate::rate_limit::{RateLimitDecision, RateLimitPolicy};
use crate::{Error, ErrorKind, Result};

/// A value kept in process memory in its decoded form, shared without copying.
///
/// The macro runtime stores a function's result as `Arc<T>` erased to this type, so that an
/// in-process hit is a downcast and a clone, never a decode.
pub type SharedValue = Arc<dyn Any + Send + Sync>;

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
/// Atomic compound operations beyond these (rate-limit decisions, locks) are added to this trait
/// as further methods with a default body that returns [`ErrorKind::Unsupported`], so existing
/// backends keep compiling.
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

    /// Whether every call on this backend ends within a bounded time by itself (a client-side
    /// response timeout, or never waiting at all). The macro runtime then does not arm a timer
    /// of its own around each call, unless a function asks for its own `timeout`. The default,
    /// `false`, is right for any backend that might wait without bound.
    fn enforces_timeouts(&self) -> bool {
        false
    }

    /// Identifies the store behind this handle: handles that share one store (clones of a
    /// [`MemoryBackend`](crate::MemoryBackend), `Arc`s of one backend) return the same value.
    /// The macro runtime coalesces concurrent misses per store and key, so callers in
    /// different [`with_backend`](crate::with_backend) scopes each fill their own store.
    ///
    /// The default is the address of `self`; a handle type that shares its store across
    /// clones should return the address of the shared part.
    fn store_id(&self) -> usize {
        std::ptr::from_ref(self).cast::<()>() as usize
    }

    /// The in-process decoded value under `key`, for backends that keep one.
    ///
    /// This is the macro runtime's fast path: an in-process backend returns the
    /// [`SharedValue`] stored by [`set_shared`](Self::set_shared) without decoding anything.
    /// Backends that only hold bytes (Redis) keep the default, which returns `None`, and the
    /// runtime falls back to [`get`](Self::get) and the codec.
    fn get_shared(&self, key: &str) -> Option<SharedValue> {
        let _ = key;
        None
    }

    /// Calls `visit` with the in-process decoded value under `key`, if there is one, without
    /// cloning it: the macro runtime's hit path. The default goes through
    /// [`get_shared`](Self::get_shared); in-process backends override it to borrow in place.
    fn visit_shared(&self, key: &str, visit: &mut dyn FnMut(&(dyn Any + Send + Sync))) {
        if let Some(shared) = self.get_shared(key) {
            visit(&*shared);
        }
    }

    /// Stores `encoded` under `key` like [`set`](Self::set), and, in an in-process backend, the
    /// decoded `value` beside it for [`get_shared`](Self::get_shared).
    async fn set_shared(
        &self,
        key: &str,
        value: SharedValue,
        encoded: Bytes,
        ttl: Option<Duration>,
    ) -> Result<()> {
        let _ = value;
        self.set(key, encoded, ttl).await
    }

    /// Decides, atomically for `key`, whether a call costing `cost` passes under `policy`, and
    /// takes the cost if it does. Every process sharing the backend shares the budget.
    ///
    /// Implementations run the algorithm of [`rate_limit`](crate::rate_limit) exactly (Redis:
    /// a Lua script on the server's clock), store the state under `key` with a TTL so idle keys
    /// disappear, and report an invalid policy as [`ErrorKind::Config`] and a cost over
    /// [`RateLimitPolicy::capacity`] as [`ErrorKind::InvalidInput`]. The default returns
    /// [`ErrorKind::Unsupported`].
    async fn rate_limit(
        &self,
        key: &str,
        policy: &RateLimitPolicy,
        cost: u32,
    ) -> Result<RateLimitDecision> {
        let _ = (key, policy, cost);
        Err(Error::new(
            ErrorKind::Unsupported,
            "this backend does not implement rate limiting",
        ))
    }

    /// [`rate_limit`](Self::rate_limit) without a future, for backends that decide without
    /// waiting (in process, no I/O): [`Poll::Ready`](std::task::Poll::Ready) with the result
    /// `rate_limit` would give, or [`Poll::Pending`](std::task::Poll::Pending) (the default)
    /// to have the caller await `rate_limit`. Callers such as
    /// [`RateLimiter`](crate::RateLimiter) try it first, which spares an in-process decision
    /// the boxed future and the timer; it is a `Poll` so that a caller's own future can
    /// return it as it is.
    ///
    /// ```
    /// use std::time::Duration;
    /// use cache_core::{CacheBackend, MemoryBackend, RateLimitPolicy};
    ///
    /// let policy = RateLimitPolicy::gcra(10, Duration::from_secs(1));
    /// let memory = MemoryBackend::new();
    /// let std::task::Poll::Ready(decision) = memory.rate_limit_now("rl:gcra:7", &policy, 1) else {
    ///     unreachable!("the memory backend decides in process");
    /// };
    /// assert!(decision?.allowed);
    /// # Ok::<(), cache_core::Error>(())
    /// ```
    fn rate_limit_now(
        &self,
        key: &str,
        policy: &RateLimitPolicy,
        cost: u32,
    ) -> Poll<Result<RateLimitDecision>> {
        let _ = (key, policy, cost);
        Poll::Pending
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

/// A shared backend is a backend: `Arc<MemoryBackend>` or `Arc<dyn CacheBackend>` can be
/// installed, wrapped in a layer, or handed to a test while the caller keeps a handle.
#[async_trait]
impl<B: CacheBackend + ?Sized> CacheBackend for Arc<B> {
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
    fn enforces_timeouts(&self) -> bool {
        (**self).enforces_timeouts()
    }
    fn store_id(&self) -> usize {
        (**self).store_id()
    }
    fn get_shared(&self, key: &str) -> Option<SharedValue> {
        (**self).get_shared(key)
    }
    fn visit_shared(&self, key: &str, visit: &mut dyn FnMut(&(dyn Any + Send + Sync))) {
        (**self).visit_shared(key, visit);
    }
    async fn set_shared(
        &self,
        key: &str,
        value: SharedValue,
        encoded: Bytes,
        ttl: Option<Duration>,
    ) -> Result<()> {
        (**self).set_shared(key, value, encoded, ttl).await
    }
    async fn rate_limit(
        &self,
        key: &str,
        policy: &RateLimitPolicy,
        cost: u32,
    ) -> Result<RateLimitDecision> {
        (**self).rate_limit(key, policy, cost).await
    }
    fn rate_limit_now(
        &self,
        key: &str,
        policy: &RateLimitPolicy,
        cost: u32,
    ) -> Poll<Result<RateLimitDecision>> {
        (**self).rate_limit_now(key, policy, cost)
    }
}
