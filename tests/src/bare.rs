//! [`Bare`]: the byte store of a memory backend and nothing else, for checking what code does
//! on a backend that lacks every capability.

use std::time::Duration;

use cache_core::{Bytes, CacheBackend, KeyTtl, MemoryBackend, Result, async_trait};

/// A [`MemoryBackend`] behind a wrapper that forwards only the byte store: every capability
/// accessor answers `None`.
#[derive(Debug, Default)]
pub struct Bare(pub MemoryBackend);

#[async_trait]
impl CacheBackend for Bare {
    async fn get(&self, key: &str) -> Result<Option<Bytes>> {
        self.0.get(key).await
    }
    async fn set(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> Result<()> {
        self.0.set(key, value, ttl).await
    }
    async fn set_if_absent(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> Result<bool> {
        self.0.set_if_absent(key, value, ttl).await
    }
    async fn delete(&self, key: &str) -> Result<bool> {
        self.0.delete(key).await
    }
    async fn exists(&self, key: &str) -> Result<bool> {
        self.0.exists(key).await
    }
    async fn ttl(&self, key: &str) -> Result<KeyTtl> {
        self.0.ttl(key).await
    }
    async fn expire(&self, key: &str, ttl: Duration) -> Result<bool> {
        self.0.expire(key, ttl).await
    }
    async fn increment(&self, key: &str, delta: i64) -> Result<i64> {
        self.0.increment(key, delta).await
    }
    async fn delete_pattern(&self, pattern: &str) -> Result<u64> {
        self.0.delete_pattern(pattern).await
    }
    async fn clear(&self) -> Result<()> {
        self.0.clear().await
    }
    async fn ping(&self) -> Result<()> {
        self.0.ping().await
    }
}
