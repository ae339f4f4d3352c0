//! [`Prefix`]: a namespace in front of every key.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

use crate::key::glob_escape;
use crate::lock::{Acquire, Fill, LockStore, LockToken, Wakeup};
use crate::rate_limit::{RateLimitDecision, RateLimitPolicy};
use crate::structures::{
    KeyScan, Op, PubSubStore, Reply, ScanCursor, ScanPage, StructureStore, Subscription,
};
use crate::{
    CacheBackend, KeyBuf, KeyTtl, LocalEntry, LocalValues, NearValues, RateLimitStore, Result,
    SharedValue,
};

/// Puts `prefix` in front of every key, so several apps or tenants share one store without
/// seeing each other's keys. [`clear`](CacheBackend::clear) removes only the prefixed keys and
/// [`delete_pattern`](CacheBackend::delete_pattern) matches only within them. Every capability
/// of the wrapped backend is kept, on prefixed keys too.
///
/// ```
/// use cache_core::{layer::Prefix, Bytes, CacheBackend, MemoryBackend};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> cache_core::Result<()> {
/// let store = MemoryBackend::new();
/// let app = Prefix::new("app:", store.clone());
/// app.set("user:7", Bytes::from_static(b"{}"), None).await?;
/// assert!(store.exists("app:user:7").await?);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Prefix<B> {
    prefix: String,
    inner: B,
}

impl<B> Prefix<B> {
    /// Wraps `inner` so every key is stored as `prefix` + key.
    pub fn new(prefix: impl Into<String>, inner: B) -> Self {
        Self {
            prefix: prefix.into(),
            inner,
        }
    }

    /// The prefix.
    #[must_use]
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The wrapped backend.
    pub fn get_ref(&self) -> &B {
        &self.inner
    }

    /// The wrapped backend, mutably.
    pub fn get_mut(&mut self) -> &mut B {
        &mut self.inner
    }

    /// Unwraps the backend.
    pub fn into_inner(self) -> B {
        self.inner
    }

    /// The stored key: inline for short keys, so a hit through the prefix allocates nothing.
    #[inline]
    fn key(&self, key: &str) -> KeyBuf {
        let mut full = KeyBuf::new();
        full.push_literal(&self.prefix);
        full.push_literal(key);
        full
    }

    /// The stored forms of `keys`.
    fn keys(&self, keys: &[&str]) -> Vec<KeyBuf> {
        keys.iter().map(|key| self.key(key)).collect()
    }
}

#[async_trait]
impl<B: CacheBackend> CacheBackend for Prefix<B> {
    async fn get(&self, key: &str) -> Result<Option<Bytes>> {
        self.inner.get(self.key(key).as_str()).await
    }
    async fn set(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> Result<()> {
        self.inner.set(self.key(key).as_str(), value, ttl).await
    }
    async fn set_if_absent(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> Result<bool> {
        self.inner
            .set_if_absent(self.key(key).as_str(), value, ttl)
            .await
    }
    async fn delete(&self, key: &str) -> Result<bool> {
        self.inner.delete(self.key(key).as_str()).await
    }
    async fn delete_many(&self, keys: &[&str]) -> Result<u64> {
        let full = self.keys(keys);
        self.inner.delete_many(&as_strs(&full)).await
    }
    async fn exists(&self, key: &str) -> Result<bool> {
        self.inner.exists(self.key(key).as_str()).await
    }
    async fn ttl(&self, key: &str) -> Result<KeyTtl> {
        self.inner.ttl(self.key(key).as_str()).await
    }
    async fn expire(&self, key: &str, ttl: Duration) -> Result<bool> {
        self.inner.expire(self.key(key).as_str(), ttl).await
    }
    async fn increment(&self, key: &str, delta: i64) -> Result<i64> {
        self.inner.increment(self.key(key).as_str(), delta).await
    }
    async fn get_many(&self, keys: &[&str]) -> Result<Vec<Option<Bytes>>> {
        let full = self.keys(keys);
        self.inner.get_many(&as_strs(&full)).await
    }
    async fn set_many(&self, entries: &[(&str, Bytes)], ttl: Option<Duration>) -> Result<()> {
        let full: Vec<KeyBuf> = entries.iter().map(|(key, _)| self.key(key)).collect();
        let refs: Vec<(&str, Bytes)> = full
            .iter()
            .zip(entries)
            .map(|(key, (_, value))| (key.as_str(), value.clone()))
            .collect();
        self.inner.set_many(&refs, ttl).await
    }
    async fn delete_pattern(&self, pattern: &str) -> Result<u64> {
        let full = format!("{}{pattern}", glob_escape(&self.prefix));
        self.inner.delete_pattern(&full).await
    }
    async fn clear(&self) -> Result<()> {
        self.delete_pattern("*").await.map(drop)
    }
    async fn ping(&self) -> Result<()> {
        self.inner.ping().await
    }
    // Each capability the inner backend has, on prefixed keys.
    fn local(&self) -> Option<&dyn LocalValues> {
        self.inner.local().map(|_| self as &dyn LocalValues)
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
    fn near(&self) -> Option<&dyn NearValues> {
        self.inner.near().map(|_| self as &dyn NearValues)
    }
}

/// Reached only through [`CacheBackend::local`], which offers it only when the inner backend
/// has the capability.
impl<B: CacheBackend> LocalValues for Prefix<B> {
    #[inline]
    fn visit(&self, key: &str, visit: &mut dyn FnMut(LocalEntry<'_>)) {
        if let Some(local) = self.inner.local() {
            local.visit(self.key(key).as_str(), visit);
        }
    }
    fn store(
        &self,
        key: &str,
        value: SharedValue,
        encoded: Bytes,
        ttl: Option<Duration>,
    ) -> Result<()> {
        match self.inner.local() {
            Some(local) => local.store(self.key(key).as_str(), value, encoded, ttl),
            None => Err(unsupported("in-process values")),
        }
    }
}

/// Reached only through [`CacheBackend::near`], as above.
impl<B: CacheBackend> NearValues for Prefix<B> {
    fn visit(&self, key: &str, visit: &mut dyn FnMut(LocalEntry<'_>)) {
        if let Some(near) = self.inner.near() {
            near.visit(self.key(key).as_str(), visit);
        }
    }
    fn remember(&self, key: &str, bytes: &Bytes, value: SharedValue) {
        if let Some(near) = self.inner.near() {
            near.remember(self.key(key).as_str(), bytes, value);
        }
    }
}

/// Reached only through [`CacheBackend::rate_limits`], as above.
#[async_trait]
impl<B: CacheBackend> RateLimitStore for Prefix<B> {
    async fn rate_limit(
        &self,
        key: &str,
        policy: &RateLimitPolicy,
        cost: u32,
    ) -> Result<RateLimitDecision> {
        match self.inner.rate_limits() {
            Some(limits) => {
                limits
                    .rate_limit(self.key(key).as_str(), policy, cost)
                    .await
            }
            None => Err(unsupported("rate limiting")),
        }
    }
    fn try_rate_limit(
        &self,
        key: &str,
        policy: &RateLimitPolicy,
        cost: u32,
    ) -> Option<Result<RateLimitDecision>> {
        self.inner
            .rate_limits()?
            .try_rate_limit(self.key(key).as_str(), policy, cost)
    }
}

/// Reached only through [`CacheBackend::locks`], as above.
#[async_trait]
impl<B: CacheBackend> LockStore for Prefix<B> {
    async fn acquire(&self, name: &str, token: &LockToken, lease: Duration) -> Result<Acquire> {
        self.inner_locks()?
            .acquire(self.key(name).as_str(), token, lease)
            .await
    }
    async fn claim(&self, name: &str, token: &LockToken, lease: Duration) -> Result<Acquire> {
        self.inner_locks()?
            .claim(self.key(name).as_str(), token, lease)
            .await
    }
    async fn extend(&self, name: &str, token: &LockToken, lease: Duration) -> Result<bool> {
        self.inner_locks()?
            .extend(self.key(name).as_str(), token, lease)
            .await
    }
    async fn release(&self, name: &str, token: &LockToken) -> Result<bool> {
        self.inner_locks()?
            .release(self.key(name).as_str(), token)
            .await
    }
    fn watch(&self, name: &str) -> Wakeup {
        self.inner
            .locks()
            .map_or_else(Wakeup::never, |locks| locks.watch(self.key(name).as_str()))
    }
    async fn fill(&self, name: &str, token: &LockToken, fence: u64, fill: Fill) -> Result<bool> {
        self.inner_locks()?
            .fill(self.key(name).as_str(), token, fence, fill)
            .await
    }
    async fn supersede(&self, name: &str, value: Option<Fill>) -> Result<bool> {
        self.inner_locks()?
            .supersede(self.key(name).as_str(), value)
            .await
    }
}

/// Reached only through [`CacheBackend::structures`], as above.
#[async_trait]
impl<B: CacheBackend> StructureStore for Prefix<B> {
    async fn apply(&self, key: &str, op: Op<'_>) -> Result<Reply> {
        let structures = self
            .inner
            .structures()
            .ok_or_else(|| unsupported("data structures"))?;
        structures.apply(self.key(key).as_str(), op).await
    }
}

/// Reached only through [`CacheBackend::pubsub`], as above: channels are prefixed like keys,
/// and the prefix is taken off again on what subscribers receive.
#[async_trait]
impl<B: CacheBackend> PubSubStore for Prefix<B> {
    async fn publish(&self, channel: &str, payload: Bytes) -> Result<u64> {
        let pubsub = self.inner.pubsub().ok_or_else(|| unsupported("pub/sub"))?;
        pubsub.publish(self.key(channel).as_str(), payload).await
    }
    async fn subscribe(&self, channels: &[&str]) -> Result<Subscription> {
        let pubsub = self.inner.pubsub().ok_or_else(|| unsupported("pub/sub"))?;
        let full = self.keys(channels);
        let subscription = pubsub.subscribe(&as_strs(&full)).await?;
        let prefix = self.prefix.clone();
        Ok(subscription.map_channels(move |mut channel| {
            if channel.starts_with(prefix.as_str()) {
                channel.drain(..prefix.len());
            }
            channel
        }))
    }
}

/// Reached only through [`CacheBackend::key_scan`], as above: the pattern matches within
/// the prefix, and keys come back without it.
#[async_trait]
impl<B: CacheBackend> KeyScan for Prefix<B> {
    async fn scan(&self, pattern: &str, cursor: ScanCursor, count: usize) -> Result<ScanPage> {
        let scan = self
            .inner
            .key_scan()
            .ok_or_else(|| unsupported("key listing"))?;
        let full = format!("{}{pattern}", glob_escape(&self.prefix));
        let mut page = scan.scan(&full, cursor, count).await?;
        for key in &mut page.keys {
            key.drain(..self.prefix.len().min(key.len()));
        }
        Ok(page)
    }
}

impl<B: CacheBackend> Prefix<B> {
    fn inner_locks(&self) -> Result<&dyn LockStore> {
        self.inner.locks().ok_or_else(|| unsupported("locks"))
    }
}

fn as_strs(keys: &[KeyBuf]) -> Vec<&str> {
    keys.iter().map(KeyBuf::as_str).collect()
}

fn unsupported(capability: &str) -> crate::Error {
    crate::Error::new(
        crate::ErrorKind::Unsupported,
        format!("the backend inside this prefix has no {capability}"),
    )
}
