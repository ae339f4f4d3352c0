//! [`Intercept`]: a backend wrapper that shows every operation to an [`Interceptor`] first, the
//! common ground of [`Faulty`](super::Faulty) and [`Recording`](super::Recording).

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

use crate::lock::{Acquire, Fill, LockStore, LockToken, Wakeup};
use crate::rate_limit::{RateLimitDecision, RateLimitPolicy};
use crate::structures::{
    KeyScan, Op, PubSubStore, Reply, ScanCursor, ScanPage, StructureStore, Subscription,
};
use crate::{CacheBackend, Error, ErrorKind, KeyTtl, RateLimitStore, Result};

/// One operation of [`CacheBackend`] or of one of its capabilities, as an [`Interceptor`] sees
/// it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Operation {
    /// [`CacheBackend::get`].
    Get,
    /// [`CacheBackend::get_many`].
    GetMany,
    /// [`CacheBackend::set`].
    Set,
    /// [`CacheBackend::set_many`].
    SetMany,
    /// [`CacheBackend::set_if_absent`].
    SetIfAbsent,
    /// [`CacheBackend::delete`].
    Delete,
    /// [`CacheBackend::delete_many`].
    DeleteMany,
    /// [`CacheBackend::exists`].
    Exists,
    /// [`CacheBackend::ttl`].
    Ttl,
    /// [`CacheBackend::expire`].
    Expire,
    /// [`CacheBackend::increment`].
    Increment,
    /// [`CacheBackend::delete_pattern`] (the key seen is the pattern).
    DeletePattern,
    /// [`CacheBackend::clear`] (no key).
    Clear,
    /// [`CacheBackend::ping`] (no key).
    Ping,
    /// [`RateLimitStore::rate_limit`].
    RateLimit,
    /// [`LockStore::acquire`] (the key seen is the lock's name).
    LockAcquire,
    /// [`LockStore::claim`].
    LockClaim,
    /// [`LockStore::extend`].
    LockExtend,
    /// [`LockStore::release`].
    LockRelease,
    /// [`LockStore::fill`].
    LockFill,
    /// [`LockStore::supersede`].
    LockSupersede,
    /// [`StructureStore::apply`], any data-structure operation.
    Structure,
    /// [`PubSubStore::publish`] (the key seen is the channel).
    Publish,
    /// [`PubSubStore::subscribe`] (the keys seen are the channels).
    Subscribe,
    /// [`KeyScan::scan`] (the key seen is the pattern).
    Scan,
}

impl Operation {
    /// Every operation, for faults that hit them all.
    pub const ALL: &'static [Self] = &[
        Self::Get,
        Self::GetMany,
        Self::Set,
        Self::SetMany,
        Self::SetIfAbsent,
        Self::Delete,
        Self::DeleteMany,
        Self::Exists,
        Self::Ttl,
        Self::Expire,
        Self::Increment,
        Self::DeletePattern,
        Self::Clear,
        Self::Ping,
        Self::RateLimit,
        Self::LockAcquire,
        Self::LockClaim,
        Self::LockExtend,
        Self::LockRelease,
        Self::LockFill,
        Self::LockSupersede,
        Self::Structure,
        Self::Publish,
        Self::Subscribe,
        Self::Scan,
    ];

    /// The reads of cached values: `Get` and `GetMany`.
    pub const READS: &'static [Self] = &[Self::Get, Self::GetMany];

    /// The method's name: `get`, `set_many`, `lock_acquire`, …
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::GetMany => "get_many",
            Self::Set => "set",
            Self::SetMany => "set_many",
            Self::SetIfAbsent => "set_if_absent",
            Self::Delete => "delete",
            Self::DeleteMany => "delete_many",
            Self::Exists => "exists",
            Self::Ttl => "ttl",
            Self::Expire => "expire",
            Self::Increment => "increment",
            Self::DeletePattern => "delete_pattern",
            Self::Clear => "clear",
            Self::Ping => "ping",
            Self::RateLimit => "rate_limit",
            Self::LockAcquire => "lock_acquire",
            Self::LockClaim => "lock_claim",
            Self::LockExtend => "lock_extend",
            Self::LockRelease => "lock_release",
            Self::LockFill => "lock_fill",
            Self::LockSupersede => "lock_supersede",
            Self::Structure => "structure",
            Self::Publish => "publish",
            Self::Subscribe => "subscribe",
            Self::Scan => "scan",
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What an [`Interceptor`] lets happen to an operation it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// The operation goes to the wrapped backend untouched.
    Forward,
    /// The operation goes to the wrapped backend with its value damaged: the bytes read
    /// (`Get`, `GetMany`) or written (`Set`, `SetMany`, `SetIfAbsent`, `LockFill`,
    /// `LockSupersede`) are scrambled so that no codec decodes them. Other operations go
    /// untouched.
    Corrupt,
}

/// Sees each operation of an [`Intercept`] before the wrapped backend does.
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use cache_core::testing::{Intercept, Interceptor, Operation, Verdict};
/// use cache_core::{CacheBackend, MemoryBackend};
///
/// /// Counts the writes.
/// #[derive(Default)]
/// struct Writes(AtomicU64);
///
/// #[cache_core::async_trait]
/// impl Interceptor for Writes {
///     async fn before(&self, op: Operation, _keys: &[&str]) -> cache_core::Result<Verdict> {
///         if op == Operation::Set {
///             self.0.fetch_add(1, Ordering::Relaxed);
///         }
///         Ok(Verdict::Forward)
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> cache_core::Result<()> {
/// let backend = Intercept::new(MemoryBackend::new(), Writes::default());
/// backend.set("k", "v".into(), None).await?;
/// assert_eq!(backend.interceptor().0.load(Ordering::Relaxed), 1);
/// # Ok(()) }
/// ```
#[async_trait]
pub trait Interceptor: Send + Sync + 'static {
    /// Called before `op` on `keys` (one key for most operations, none for `Clear` and
    /// `Ping`) reaches the wrapped backend. An error is the operation's answer and the backend
    /// is not called; the future may also wait (latency) or never finish (a hang).
    async fn before(&self, op: Operation, keys: &[&str]) -> Result<Verdict>;
}

/// A backend behind an [`Interceptor`]: every operation, of the byte store and of each
/// capability, is shown to the interceptor first, which may delay it, fail it or corrupt its
/// value ([`Faulty`](super::Faulty)), or write it down ([`Recording`](super::Recording)).
///
/// The wrapper keeps every capability of the backend inside, with two exceptions that make it
/// look like a remote store, so that every read is an operation a test sees:
///
/// - no in-process values ([`CacheBackend::local`] and [`CacheBackend::near`] are `None`): a
///   cached function's hit on a wrapped [`MemoryBackend`](crate::MemoryBackend) is a `Get`;
/// - no decision without waiting ([`RateLimitStore::try_rate_limit`] is `None`): each decision
///   is a `RateLimit`.
///
/// [`LockStore::watch`] is forwarded without being shown (it is no call: a wake-up to await).
pub struct Intercept<B, I> {
    inner: B,
    interceptor: I,
}

impl<B, I> Intercept<B, I> {
    /// `inner` behind `interceptor`.
    #[must_use]
    pub fn new(inner: B, interceptor: I) -> Self {
        Self { inner, interceptor }
    }

    /// The wrapped backend.
    #[must_use]
    pub fn get_ref(&self) -> &B {
        &self.inner
    }

    /// The interceptor.
    #[must_use]
    pub fn interceptor(&self) -> &I {
        &self.interceptor
    }

    /// The wrapped backend, unwrapped.
    #[must_use]
    pub fn into_inner(self) -> B {
        self.inner
    }
}

impl<B: fmt::Debug, I: fmt::Debug> fmt::Debug for Intercept<B, I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Intercept")
            .field("inner", &self.inner)
            .field("interceptor", &self.interceptor)
            .finish()
    }
}

impl<B: CacheBackend, I: Interceptor> Intercept<B, I> {
    /// Shows `op` to the interceptor: whether its value is to be corrupted, or its answer.
    async fn admit(&self, op: Operation, keys: &[&str]) -> Result<bool> {
        Ok(self.interceptor.before(op, keys).await? == Verdict::Corrupt)
    }

    fn inner_locks(&self) -> Result<&dyn LockStore> {
        self.inner.locks().ok_or_else(|| missing("locks"))
    }
}

/// `bytes` scrambled so that no codec decodes them: every byte flipped (JSON, UTF-8 and the
/// codecs' headers all reject a leading `0x80..` byte), and never empty.
fn damage(bytes: &Bytes) -> Bytes {
    let mut damaged: Vec<u8> = bytes.iter().map(|byte| !byte | 0x80).collect();
    if damaged.is_empty() {
        damaged.push(0xff);
    }
    Bytes::from(damaged)
}

fn damaged_if(corrupt: bool, bytes: Bytes) -> Bytes {
    if corrupt { damage(&bytes) } else { bytes }
}

fn damaged_fill(corrupt: bool, fill: Fill) -> Fill {
    if corrupt {
        // The decoded twin goes too: it would contradict the bytes.
        Fill::new(damage(&fill.bytes), None, fill.ttl)
    } else {
        fill
    }
}

fn missing(capability: &str) -> Error {
    Error::new(
        ErrorKind::Unsupported,
        format!("the backend inside this wrapper has no {capability}"),
    )
}

#[async_trait]
impl<B: CacheBackend, I: Interceptor> CacheBackend for Intercept<B, I> {
    async fn get(&self, key: &str) -> Result<Option<Bytes>> {
        let corrupt = self.admit(Operation::Get, &[key]).await?;
        let value = self.inner.get(key).await?;
        Ok(value.map(|bytes| damaged_if(corrupt, bytes)))
    }
    async fn set(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> Result<()> {
        let corrupt = self.admit(Operation::Set, &[key]).await?;
        self.inner.set(key, damaged_if(corrupt, value), ttl).await
    }
    async fn set_if_absent(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> Result<bool> {
        let corrupt = self.admit(Operation::SetIfAbsent, &[key]).await?;
        self.inner
            .set_if_absent(key, damaged_if(corrupt, value), ttl)
            .await
    }
    async fn delete(&self, key: &str) -> Result<bool> {
        self.admit(Operation::Delete, &[key]).await?;
        self.inner.delete(key).await
    }
    async fn delete_many(&self, keys: &[&str]) -> Result<u64> {
        self.admit(Operation::DeleteMany, keys).await?;
        self.inner.delete_many(keys).await
    }
    async fn exists(&self, key: &str) -> Result<bool> {
        self.admit(Operation::Exists, &[key]).await?;
        self.inner.exists(key).await
    }
    async fn ttl(&self, key: &str) -> Result<KeyTtl> {
        self.admit(Operation::Ttl, &[key]).await?;
        self.inner.ttl(key).await
    }
    async fn expire(&self, key: &str, ttl: Duration) -> Result<bool> {
        self.admit(Operation::Expire, &[key]).await?;
        self.inner.expire(key, ttl).await
    }
    async fn increment(&self, key: &str, delta: i64) -> Result<i64> {
        self.admit(Operation::Increment, &[key]).await?;
        self.inner.increment(key, delta).await
    }
    async fn get_many(&self, keys: &[&str]) -> Result<Vec<Option<Bytes>>> {
        let corrupt = self.admit(Operation::GetMany, keys).await?;
        let values = self.inner.get_many(keys).await?;
        Ok(values
            .into_iter()
            .map(|value| value.map(|bytes| damaged_if(corrupt, bytes)))
            .collect())
    }
    async fn set_many(&self, entries: &[(&str, Bytes)], ttl: Option<Duration>) -> Result<()> {
        let keys: Vec<&str> = entries.iter().map(|(key, _)| *key).collect();
        if self.admit(Operation::SetMany, &keys).await? {
            let damaged: Vec<(&str, Bytes)> = entries
                .iter()
                .map(|(key, value)| (*key, damage(value)))
                .collect();
            return self.inner.set_many(&damaged, ttl).await;
        }
        self.inner.set_many(entries, ttl).await
    }
    async fn delete_pattern(&self, pattern: &str) -> Result<u64> {
        self.admit(Operation::DeletePattern, &[pattern]).await?;
        self.inner.delete_pattern(pattern).await
    }
    async fn clear(&self) -> Result<()> {
        self.admit(Operation::Clear, &[]).await?;
        self.inner.clear().await
    }
    async fn ping(&self) -> Result<()> {
        self.admit(Operation::Ping, &[]).await?;
        self.inner.ping().await
    }
    fn rate_limits(&self) -> Option<&dyn RateLimitStore> {
        self.inner
            .rate_limits()
            .map(|_| self as &dyn RateLimitStore)
    }
    fn locks(&self) -> Option<&dyn LockStore> {
        self.inner.locks().map(|_| self as &dyn LockStore)
    }
    fn structures(&self) -> Option<&dyn StructureStore> {
        self.inner.structures().map(|_| self as &dyn StructureStore)
    }
    fn pubsub(&self) -> Option<&dyn PubSubStore> {
        self.inner.pubsub().map(|_| self as &dyn PubSubStore)
    }
    fn key_scan(&self) -> Option<&dyn KeyScan> {
        self.inner.key_scan().map(|_| self as &dyn KeyScan)
    }
}

/// Reached only through [`CacheBackend::rate_limits`], which offers it when the wrapped
/// backend has rate limits.
#[async_trait]
impl<B: CacheBackend, I: Interceptor> RateLimitStore for Intercept<B, I> {
    async fn rate_limit(
        &self,
        key: &str,
        policy: &RateLimitPolicy,
        cost: u32,
    ) -> Result<RateLimitDecision> {
        self.admit(Operation::RateLimit, &[key]).await?;
        let limits = self
            .inner
            .rate_limits()
            .ok_or_else(|| missing("rate limits"))?;
        limits.rate_limit(key, policy, cost).await
    }
}

/// Reached only through [`CacheBackend::locks`], as above.
#[async_trait]
impl<B: CacheBackend, I: Interceptor> LockStore for Intercept<B, I> {
    async fn acquire(&self, name: &str, token: &LockToken, lease: Duration) -> Result<Acquire> {
        self.admit(Operation::LockAcquire, &[name]).await?;
        self.inner_locks()?.acquire(name, token, lease).await
    }
    async fn claim(&self, name: &str, token: &LockToken, lease: Duration) -> Result<Acquire> {
        self.admit(Operation::LockClaim, &[name]).await?;
        self.inner_locks()?.claim(name, token, lease).await
    }
    async fn extend(&self, name: &str, token: &LockToken, lease: Duration) -> Result<bool> {
        self.admit(Operation::LockExtend, &[name]).await?;
        self.inner_locks()?.extend(name, token, lease).await
    }
    async fn release(&self, name: &str, token: &LockToken) -> Result<bool> {
        self.admit(Operation::LockRelease, &[name]).await?;
        self.inner_locks()?.release(name, token).await
    }
    fn watch(&self, name: &str) -> Wakeup {
        self.inner
            .locks()
            .map_or_else(Wakeup::never, |locks| locks.watch(name))
    }
    async fn fill(&self, name: &str, token: &LockToken, fence: u64, fill: Fill) -> Result<bool> {
        let corrupt = self.admit(Operation::LockFill, &[name]).await?;
        self.inner_locks()?
            .fill(name, token, fence, damaged_fill(corrupt, fill))
            .await
    }
    async fn supersede(&self, name: &str, value: Option<Fill>) -> Result<bool> {
        let corrupt = self.admit(Operation::LockSupersede, &[name]).await?;
        let value = value.map(|fill| damaged_fill(corrupt, fill));
        self.inner_locks()?.supersede(name, value).await
    }
}

/// Reached only through [`CacheBackend::structures`], as above.
#[async_trait]
impl<B: CacheBackend, I: Interceptor> StructureStore for Intercept<B, I> {
    async fn apply(&self, key: &str, op: Op<'_>) -> Result<Reply> {
        self.admit(Operation::Structure, &[key]).await?;
        let structures = self
            .inner
            .structures()
            .ok_or_else(|| missing("data structures"))?;
        structures.apply(key, op).await
    }
}

/// Reached only through [`CacheBackend::pubsub`], as above.
#[async_trait]
impl<B: CacheBackend, I: Interceptor> PubSubStore for Intercept<B, I> {
    async fn publish(&self, channel: &str, payload: Bytes) -> Result<u64> {
        self.admit(Operation::Publish, &[channel]).await?;
        let pubsub = self.inner.pubsub().ok_or_else(|| missing("pub/sub"))?;
        pubsub.publish(channel, payload).await
    }
    async fn subscribe(&self, channels: &[&str]) -> Result<Subscription> {
        self.admit(Operation::Subscribe, channels).await?;
        let pubsub = self.inner.pubsub().ok_or_else(|| missing("pub/sub"))?;
        pubsub.subscribe(channels).await
    }
}

/// Reached only through [`CacheBackend::key_scan`], as above.
#[async_trait]
impl<B: CacheBackend, I: Interceptor> KeyScan for Intercept<B, I> {
    async fn scan(&self, pattern: &str, cursor: ScanCursor, count: usize) -> Result<ScanPage> {
        self.admit(Operation::Scan, &[pattern]).await?;
        let scan = self.inner.key_scan().ok_or_else(|| missing("key scans"))?;
        scan.scan(pattern, cursor, count).await
    }
}
