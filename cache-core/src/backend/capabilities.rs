//! What a backend may offer beyond the byte store, each reached through one accessor on
//! [`CacheBackend`], `None` where the backend lacks it.

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

use crate::rate_limit::{RateLimitDecision, RateLimitPolicy};
use crate::{CacheBackend, Result};

/// A value kept in process memory in its decoded form, shared without copying.
///
/// The macro runtime stores a function's result as `Arc<T>` erased to this type, so that an
/// in-process hit is a downcast and a clone, never a decode.
pub type SharedValue = Arc<dyn Any + Send + Sync>;

/// One live entry as [`LocalValues::visit`] shows it, borrowed in place.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct LocalEntry<'a> {
    /// The decoded value stored beside the bytes by [`LocalValues::store`], if any (a value
    /// written as bytes only, by [`CacheBackend::set`], has none).
    pub value: Option<&'a (dyn Any + Send + Sync)>,
    /// The bytes every reader of the key sees.
    pub bytes: &'a Bytes,
}

impl<'a> LocalEntry<'a> {
    /// An entry showing `bytes` and, if there is one, the decoded `value` beside them.
    #[must_use]
    pub fn new(value: Option<&'a (dyn Any + Send + Sync)>, bytes: &'a Bytes) -> Self {
        Self { value, bytes }
    }
}

/// The in-process capability: values kept decoded beside their bytes, so that a hit is a
/// downcast and a clone instead of a decode. Offered by [`MemoryBackend`](crate::MemoryBackend)
/// through [`CacheBackend::local`].
///
/// Both methods finish without waiting: an in-process store has no I/O to wait for, so the
/// runtime calls them without a timer.
///
/// ```
/// use std::sync::Arc;
/// use cache_core::{Bytes, CacheBackend, MemoryBackend};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> cache_core::Result<()> {
/// let memory = MemoryBackend::new();
/// let local = memory.local().expect("the memory backend keeps decoded values");
/// local.store("n", Arc::new(42_u32), Bytes::from_static(b"42"), None)?;
///
/// let mut seen = None;
/// local.visit("n", &mut |entry| seen = entry.value.and_then(|v| v.downcast_ref::<u32>()).copied());
/// assert_eq!(seen, Some(42));
/// assert_eq!(memory.get("n").await?.as_deref(), Some(&b"42"[..])); // the bytes, for everyone else
/// # Ok(()) }
/// ```
pub trait LocalValues: Send + Sync {
    /// Calls `visit` with the live entry under `key`, if there is one, without cloning it.
    fn visit(&self, key: &str, visit: &mut dyn FnMut(LocalEntry<'_>));

    /// Stores `encoded` under `key`, as [`CacheBackend::set`] would, and the decoded `value`
    /// beside it. A `Some` TTL of zero is [`ErrorKind::InvalidInput`](crate::ErrorKind).
    fn store(
        &self,
        key: &str,
        value: SharedValue,
        encoded: Bytes,
        ttl: Option<Duration>,
    ) -> Result<()>;
}

/// The near-cache capability: decoded copies of a remote backend's values, kept in process
/// only while the backend hears of every change to them (see [`near`](crate::near)). Offered
/// by a Redis backend with its near cache on, through [`CacheBackend::near`].
///
/// Unlike [`LocalValues`], a copy that is not there says nothing: the value may still be on
/// the server, so a caller that finds nothing asks the backend. Both methods finish without
/// waiting.
pub trait NearValues: Send + Sync {
    /// Calls `visit` with the current copy under `key`, if there is one that may be served.
    fn visit(&self, key: &str, visit: &mut dyn FnMut(LocalEntry<'_>));

    /// Keeps `value`, decoded from `bytes`, beside the copy under `key` — only if that copy
    /// is still the very buffer `bytes` came from: a copy replaced or dropped since is left
    /// alone, so a decoded value can never outlive its bytes.
    fn remember(&self, key: &str, bytes: &Bytes, value: SharedValue);
}

/// The rate-limit capability: atomic decisions per key, shared by every process using the
/// backend. Offered by [`MemoryBackend`](crate::MemoryBackend) and the Redis backend through
/// [`CacheBackend::rate_limits`]; used by [`RateLimiter`](crate::RateLimiter).
#[async_trait]
pub trait RateLimitStore: Send + Sync {
    /// Decides, atomically for `key`, whether a call costing `cost` passes under `policy`, and
    /// takes the cost if it does.
    ///
    /// Implementations run the algorithm of [`rate_limit`](crate::rate_limit) exactly (Redis:
    /// a Lua script on the server's clock), store the state under `key` with a TTL so idle keys
    /// disappear, and report an invalid policy as [`ErrorKind::Config`](crate::ErrorKind) and a
    /// cost over [`RateLimitPolicy::capacity`] as
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind).
    async fn rate_limit(
        &self,
        key: &str,
        policy: &RateLimitPolicy,
        cost: u32,
    ) -> Result<RateLimitDecision>;

    /// The decision [`rate_limit`](Self::rate_limit) would give, made at once, for stores that
    /// decide without waiting (in process); `None` (the default) has the caller await
    /// `rate_limit`. [`RateLimiter`](crate::RateLimiter) tries it first, which spares an
    /// in-process decision the boxed future and the timer.
    ///
    /// ```
    /// use std::time::Duration;
    /// use cache_core::{CacheBackend, MemoryBackend, RateLimitPolicy};
    ///
    /// let policy = RateLimitPolicy::gcra(10, Duration::from_secs(1));
    /// let memory = MemoryBackend::new();
    /// let limits = memory.rate_limits().expect("the memory backend rate-limits");
    /// let decision = limits.try_rate_limit("rl:gcra:7", &policy, 1).expect("decided in process");
    /// assert!(decision?.allowed());
    /// # Ok::<(), cache_core::Error>(())
    /// ```
    fn try_rate_limit(
        &self,
        key: &str,
        policy: &RateLimitPolicy,
        cost: u32,
    ) -> Option<Result<RateLimitDecision>> {
        let _ = (key, policy, cost);
        None
    }
}

/// Forwards every capability accessor of [`CacheBackend`] to a wrapped backend: write it once
/// in an `impl CacheBackend` of a wrapper that changes no capability, and the wrapper keeps
/// every capability the wrapped backend has, including those added in later releases.
///
/// `forward_capabilities!(self.field)` forwards to a field; `forward_capabilities!(**self)` to
/// what a smart pointer points to.
///
/// ```
/// use cache_core::{async_trait, forward_capabilities, Bytes, CacheBackend, KeyTtl, MemoryBackend, Result};
/// use std::time::Duration;
///
/// /// Counts reads, and otherwise is the backend it wraps.
/// struct Counted<B> { inner: B, reads: std::sync::atomic::AtomicU64 }
///
/// #[async_trait]
/// impl<B: CacheBackend> CacheBackend for Counted<B> {
///     async fn get(&self, key: &str) -> Result<Option<Bytes>> {
///         self.reads.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
///         self.inner.get(key).await
///     }
///     async fn set(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> Result<()> { self.inner.set(key, value, ttl).await }
///     async fn set_if_absent(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> Result<bool> { self.inner.set_if_absent(key, value, ttl).await }
///     async fn delete(&self, key: &str) -> Result<bool> { self.inner.delete(key).await }
///     async fn exists(&self, key: &str) -> Result<bool> { self.inner.exists(key).await }
///     async fn ttl(&self, key: &str) -> Result<KeyTtl> { self.inner.ttl(key).await }
///     async fn expire(&self, key: &str, ttl: Duration) -> Result<bool> { self.inner.expire(key, ttl).await }
///     async fn increment(&self, key: &str, delta: i64) -> Result<i64> { self.inner.increment(key, delta).await }
///     async fn delete_pattern(&self, pattern: &str) -> Result<u64> { self.inner.delete_pattern(pattern).await }
///     async fn clear(&self) -> Result<()> { self.inner.clear().await }
///     async fn ping(&self) -> Result<()> { self.inner.ping().await }
///     forward_capabilities!(self.inner);
/// }
///
/// let counted = Counted { inner: MemoryBackend::new(), reads: Default::default() };
/// assert!(counted.local().is_some() && counted.locks().is_some() && counted.structures().is_some());
/// ```
#[macro_export]
macro_rules! forward_capabilities {
    (self . $field:ident) => {
        $crate::forward_capabilities!(@each this => &this.$field);
    };
    (** self) => {
        $crate::forward_capabilities!(@each this => &**this);
    };
    (@each $this:ident => $inner:expr) => {
        fn local(&self) -> ::core::option::Option<&dyn $crate::LocalValues> {
            let $this = self;
            $crate::CacheBackend::local($inner)
        }
        fn rate_limits(&self) -> ::core::option::Option<&dyn $crate::RateLimitStore> {
            let $this = self;
            $crate::CacheBackend::rate_limits($inner)
        }
        fn locks(&self) -> ::core::option::Option<&dyn $crate::LockStore> {
            let $this = self;
            $crate::CacheBackend::locks($inner)
        }
        fn structures(
            &self,
        ) -> ::core::option::Option<&dyn $crate::structures::StructureStore> {
            let $this = self;
            $crate::CacheBackend::structures($inner)
        }
        fn pubsub(&self) -> ::core::option::Option<&dyn $crate::structures::PubSubStore> {
            let $this = self;
            $crate::CacheBackend::pubsub($inner)
        }
        fn key_scan(&self) -> ::core::option::Option<&dyn $crate::structures::KeyScan> {
            let $this = self;
            $crate::CacheBackend::key_scan($inner)
        }
        fn near(&self) -> ::core::option::Option<&dyn $crate::NearValues> {
            let $this = self;
            $crate::CacheBackend::near($inner)
        }
    };
}

/// The capabilities `backend` offers, by name: what a wrapper must keep (see the conformance
/// suite). Lists every accessor of [`CacheBackend`].
#[doc(hidden)]
#[must_use]
pub fn capability_names(backend: &dyn CacheBackend) -> Vec<&'static str> {
    let offered = [
        ("local", backend.local().is_some()),
        ("rate_limits", backend.rate_limits().is_some()),
        ("locks", backend.locks().is_some()),
        ("structures", backend.structures().is_some()),
        ("pubsub", backend.pubsub().is_some()),
        ("key_scan", backend.key_scan().is_some()),
        ("near", backend.near().is_some()),
    ];
    offered
        .into_iter()
        .filter_map(|(name, offered)| offered.then_some(name))
        .collect()
}
