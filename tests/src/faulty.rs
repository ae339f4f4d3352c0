//! A backend that fails on purpose, for fail-open and fail-closed tests.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use cache_core::rate_limit::{RateLimitDecision, RateLimitPolicy};
use cache_core::structures::{Op, Reply, StructureStore};
use cache_core::{
    Bytes, CacheBackend, Error, ErrorKind, KeyTtl, MemoryBackend, RateLimitStore, Result,
    async_trait,
};

/// Which operations misbehave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Affected {
    /// Every operation.
    All,
    /// Only `get` (reads of cached values).
    Get,
    /// Only `rate_limit`.
    RateLimit,
}

/// How they misbehave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Fail at once, as an unreachable server does.
    Down,
    /// Never answer, as a frozen server does.
    Hang,
}

/// A [`MemoryBackend`] whose [`Affected`] operations [`Fault`]; the others work normally.
///
/// It has no in-process values (a remote store's shape: every read goes through `get`), and
/// rate-limits and applies structure operations through the memory backend's, behind the same
/// gate (structure operations count as [`Affected::All`]).
#[derive(Debug)]
pub struct Faulty {
    inner: MemoryBackend,
    affected: Affected,
    fault: Fault,
    /// Set by [`set_healthy`](Self::set_healthy): the fault is gone until cleared again.
    healthy: AtomicBool,
}

impl Faulty {
    /// Every operation fails with a connection error.
    #[must_use]
    pub fn down() -> Self {
        Self::new(Affected::All, Fault::Down)
    }

    /// `affected` operations show `fault`.
    #[must_use]
    pub fn new(affected: Affected, fault: Fault) -> Self {
        Self {
            inner: MemoryBackend::new(),
            affected,
            fault,
            healthy: AtomicBool::new(false),
        }
    }

    /// Ends the fault (`true`: every operation works) or brings it back (`false`).
    pub fn set_healthy(&self, healthy: bool) {
        self.healthy.store(healthy, Ordering::SeqCst);
    }

    async fn gate(&self, op: Affected) -> Result<()> {
        if self.healthy.load(Ordering::SeqCst)
            || (self.affected != Affected::All && self.affected != op)
        {
            return Ok(());
        }
        match self.fault {
            Fault::Down => Err(Error::new(
                ErrorKind::Connection,
                "connection refused (injected)",
            )),
            Fault::Hang => std::future::pending().await,
        }
    }
}

#[async_trait]
impl CacheBackend for Faulty {
    async fn get(&self, key: &str) -> Result<Option<Bytes>> {
        self.gate(Affected::Get).await?;
        self.inner.get(key).await
    }
    async fn set(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> Result<()> {
        self.gate(Affected::All).await?;
        self.inner.set(key, value, ttl).await
    }
    async fn set_if_absent(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> Result<bool> {
        self.gate(Affected::All).await?;
        self.inner.set_if_absent(key, value, ttl).await
    }
    async fn delete(&self, key: &str) -> Result<bool> {
        self.gate(Affected::All).await?;
        self.inner.delete(key).await
    }
    async fn exists(&self, key: &str) -> Result<bool> {
        self.gate(Affected::All).await?;
        self.inner.exists(key).await
    }
    async fn ttl(&self, key: &str) -> Result<KeyTtl> {
        self.gate(Affected::All).await?;
        self.inner.ttl(key).await
    }
    async fn expire(&self, key: &str, ttl: Duration) -> Result<bool> {
        self.gate(Affected::All).await?;
        self.inner.expire(key, ttl).await
    }
    async fn increment(&self, key: &str, delta: i64) -> Result<i64> {
        self.gate(Affected::All).await?;
        self.inner.increment(key, delta).await
    }
    async fn delete_pattern(&self, pattern: &str) -> Result<u64> {
        self.gate(Affected::All).await?;
        self.inner.delete_pattern(pattern).await
    }
    async fn clear(&self) -> Result<()> {
        self.gate(Affected::All).await?;
        self.inner.clear().await
    }
    async fn ping(&self) -> Result<()> {
        self.gate(Affected::All).await?;
        self.inner.ping().await
    }
    fn rate_limits(&self) -> Option<&dyn RateLimitStore> {
        Some(self)
    }
    fn structures(&self) -> Option<&dyn StructureStore> {
        Some(self)
    }
}

#[async_trait]
impl StructureStore for Faulty {
    async fn apply(&self, key: &str, op: Op<'_>) -> Result<Reply> {
        self.gate(Affected::All).await?;
        let Some(inner) = self.inner.structures() else {
            return Err(Error::new(
                ErrorKind::Unsupported,
                "the memory backend has no data structures",
            ));
        };
        inner.apply(key, op).await
    }
}

#[async_trait]
impl RateLimitStore for Faulty {
    async fn rate_limit(
        &self,
        key: &str,
        policy: &RateLimitPolicy,
        cost: u32,
    ) -> Result<RateLimitDecision> {
        self.gate(Affected::RateLimit).await?;
        RateLimitStore::rate_limit(&self.inner, key, policy, cost).await
    }
}
