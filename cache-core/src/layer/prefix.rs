//! [`Prefix`]: a namespace in front of every key.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

use crate::backend::SharedValue;
use crate::key::glob_escape;
use crate::rate_limit::{RateLimitDecision, RateLimitPolicy};
use crate::{CacheBackend, KeyTtl, Result};

/// Puts `prefix` in front of every key, so several apps or tenants share one store without
/// seeing each other's keys. [`clear`](CacheBackend::clear) removes only the prefixed keys and
/// [`delete_pattern`](CacheBackend::delete_pattern) matches only within them.
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

    fn key(&self, key: &str) -> String {
        let mut full = String::with_capacity(self.prefix.len() + key.len());
        full.push_str(&self.prefix);
        full.push_str(key);
        full
    }
}

#[async_trait]
impl<B: CacheBackend> CacheBackend for Prefix<B> {
    async fn get(&self, key: &str) -> Result<Option<Bytes>> {
        self.inner.get(&self.key(key)).await
    }
    async fn set(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> Result<()> {
        self.inner.set(&self.key(key), value, ttl).await
    }
    async fn set_if_absent(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> Result<bool> {
        self.inner.set_if_absent(&self.key(key), value, ttl).await
    }
    async fn delete(&self, key: &str) -> Result<bool> {
        self.inner.delete(&self.key(key)).await
    }
    async fn delete_many(&self, keys: &[&str]) -> Result<u64> {
        let full: Vec<String> = keys.iter().map(|key| self.key(key)).collect();
        let refs: Vec<&str> = full.iter().map(String::as_str).collect();
        self.inner.delete_many(&refs).await
    }
    async fn exists(&self, key: &str) -> Result<bool> {
        self.inner.exists(&self.key(key)).await
    }
    async fn ttl(&self, key: &str) -> Result<KeyTtl> {
        self.inner.ttl(&self.key(key)).await
    }
    async fn expire(&self, key: &str, ttl: Duration) -> Result<bool> {
        self.inner.expire(&self.key(key), ttl).await
    }
    async fn increment(&self, key: &str, delta: i64) -> Result<i64> {
        self.inner.increment(&self.key(key), delta).await
    }
    async fn get_many(&self, keys: &[&str]) -> Result<Vec<Option<Bytes>>> {
        let full: Vec<String> = keys.iter().map(|key| self.key(key)).collect();
        let refs: Vec<&str> = full.iter().map(String::as_str).collect();
        self.inner.get_many(&refs).await
    }
    async fn set_many(&self, entries: &[(&str, Bytes)], ttl: Option<Duration>) -> Result<()> {
        let full: Vec<(String, Bytes)> = entries
            .iter()
            .map(|(key, value)| (self.key(key), value.clone()))
            .collect();
        let refs: Vec<(&str, Bytes)> = full
            .iter()
            .map(|(key, value)| (key.as_str(), value.clone()))
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
    fn enforces_timeouts(&self) -> bool {
        self.inner.enforces_timeouts()
    }
    fn get_shared(&self, key: &str) -> Option<SharedValue> {
        self.inner.get_shared(&self.key(key))
    }
    fn visit_shared(&self, key: &str, visit: &mut dyn FnMut(&(dyn std::any::Any + Send + Sync))) {
        self.inner.visit_shared(&self.key(key), visit);
    }
    async fn set_shared(
        &self,
        key: &str,
        value: SharedValue,
        encoded: Bytes,
        ttl: Option<Duration>,
    ) -> Result<()> {
        self.inner
            .set_shared(&self.key(key), value, encoded, ttl)
            .await
    }
    async fn rate_limit(
        &self,
        key: &str,
        policy: &RateLimitPolicy,
        cost: u32,
    ) -> Result<RateLimitDecision> {
        self.inner.rate_limit(&self.key(key), policy, cost).await
    }
    fn rate_limit_now(
        &self,
        key: &str,
        policy: &RateLimitPolicy,
        cost: u32,
    ) -> std::task::Poll<Result<RateLimitDecision>> {
        self.inner.rate_limit_now(&self.key(key), policy, cost)
    }
}
