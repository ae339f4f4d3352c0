//! `#[rate_limited]` behaviour on the memory backend; the bodies live in
//! `common::rate_limited_suite` so that other backends run the same tests. The failure modes
//! use a backend that is always down, and the key format a backend that records keys.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cache_core::rate_limit::{RateLimitDecision, RateLimitPolicy};
use cache_core::testing::Faults;
use cache_core::{
    Bytes, CacheBackend, DynBackend, KeyTtl, MemoryBackend, RateLimitStore, RateLimited, Result,
    async_trait, rate_limited, with_backend,
};
use common::rate_limited_suite::{self as suite, ApiError};

fn memory() -> DynBackend {
    Arc::new(MemoryBackend::new())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn exactly_limit_under_concurrency() {
    suite::exactly_limit_under_concurrency(memory()).await;
}

#[tokio::test(start_paused = true)]
async fn windows_roll_over() {
    suite::windows_roll_over(memory()).await;
}

#[tokio::test(start_paused = true)]
async fn wait_for_a_slot() {
    suite::wait_for_a_slot(memory()).await;
}

#[tokio::test]
async fn method_keys_use_self() {
    suite::method_keys_use_self(memory()).await;
}

#[tokio::test]
async fn composes_with_cached() {
    suite::composes_with_cached(memory()).await;
}

// ------------------------------------------------------------------ failure modes

#[rate_limited(key = "open:<id>", limit = 1, window = "1h")]
async fn fails_open(id: u64) -> std::result::Result<u64, ApiError> {
    Ok(id)
}

#[rate_limited(key = "closed:<id>", limit = 1, window = "1h", fail = closed)]
async fn fails_closed(id: u64) -> std::result::Result<u64, ApiError> {
    Ok(id)
}

#[rate_limited(key = "closed:<id>", limit = 4, window = "1h", fail = closed, wait = "1s")]
async fn fails_closed_waiting(id: u64) -> std::result::Result<u64, ApiError> {
    Ok(id)
}

#[tokio::test]
async fn backend_down_fails_open_by_default() {
    with_backend(Faults::down().wrap(MemoryBackend::new()), async {
        for _ in 0..5 {
            assert_eq!(fails_open(1).await, Ok(1), "every call runs");
        }
    })
    .await;
}

#[tokio::test]
async fn backend_down_fails_closed_when_asked() {
    with_backend(Faults::down().wrap(MemoryBackend::new()), async {
        let denied = fails_closed(1).await.unwrap_err();
        let limited = denied.limited();
        assert_eq!(limited.decision().remaining(), 0);
        assert_eq!(limited.decision().limit(), 1);
        assert_eq!(limited.retry_after(), Duration::from_secs(3600));
        let denied = fails_closed_waiting(1).await.unwrap_err();
        assert_eq!(
            denied.limited().retry_after(),
            Duration::from_secs(900),
            "one emission interval: 1 h / 4"
        );
    })
    .await;
}

// ------------------------------------------------------------------ keys

/// Memory, recording the key of every rate-limit decision.
#[derive(Default)]
struct Recording {
    inner: MemoryBackend,
    keys: Mutex<Vec<String>>,
}

#[async_trait]
impl CacheBackend for Recording {
    async fn get(&self, key: &str) -> Result<Option<Bytes>> {
        self.inner.get(key).await
    }
    async fn set(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> Result<()> {
        self.inner.set(key, value, ttl).await
    }
    async fn set_if_absent(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> Result<bool> {
        self.inner.set_if_absent(key, value, ttl).await
    }
    async fn delete(&self, key: &str) -> Result<bool> {
        self.inner.delete(key).await
    }
    async fn exists(&self, key: &str) -> Result<bool> {
        self.inner.exists(key).await
    }
    async fn ttl(&self, key: &str) -> Result<KeyTtl> {
        self.inner.ttl(key).await
    }
    async fn expire(&self, key: &str, ttl: Duration) -> Result<bool> {
        self.inner.expire(key, ttl).await
    }
    async fn increment(&self, key: &str, delta: i64) -> Result<i64> {
        self.inner.increment(key, delta).await
    }
    async fn delete_pattern(&self, pattern: &str) -> Result<u64> {
        self.inner.delete_pattern(pattern).await
    }
    async fn clear(&self) -> Result<()> {
        self.inner.clear().await
    }
    async fn ping(&self) -> Result<()> {
        self.inner.ping().await
    }
    fn rate_limits(&self) -> Option<&dyn RateLimitStore> {
        Some(self)
    }
}

#[async_trait]
impl RateLimitStore for Recording {
    async fn rate_limit(
        &self,
        key: &str,
        policy: &RateLimitPolicy,
        cost: u32,
    ) -> Result<RateLimitDecision> {
        self.keys.lock().unwrap().push(key.to_owned());
        self.inner.rate_limit(key, policy, cost).await
    }
}

#[rate_limited(key = "search:<tenant>:<user.id>", limit = 5, window = 60)]
async fn templated(tenant: &str, user: &User) -> std::result::Result<(), ApiError> {
    let _ = (tenant, user);
    Ok(())
}

#[rate_limited(limit = 5, window = 60, algorithm = sliding_log)]
async fn defaulted(id: u64, name: String) -> std::result::Result<String, ApiError> {
    Ok(format!("{id}{name}"))
}

struct User {
    id: u64,
}

/// The key format is public: `rl:<algorithm>:` then the template filled in with escaped values
/// (or the default key: `module::path::fn_name:arg1:arg2`).
#[tokio::test]
async fn key_format() {
    let recording = Arc::new(Recording::default());
    with_backend(Arc::clone(&recording), async {
        templated("a:b", &User { id: 7 }).await.unwrap();
        defaulted(7, "x y".to_owned()).await.unwrap();
    })
    .await;
    assert_eq!(
        *recording.keys.lock().unwrap(),
        [
            "rl:gcra:search:a%3Ab:7",
            "rl:sliding_log:rate_limited_behaviour::defaulted:7:x%20y",
        ]
    );
}

/// The error type can be anything with `From<RateLimited>`: a boxed error, here.
#[rate_limited(key = "boxed", limit = 1, window = "1h")]
async fn boxed() -> std::result::Result<(), Box<dyn std::error::Error + Send + Sync>> {
    Ok(())
}

#[tokio::test]
async fn boxed_error() {
    with_backend(MemoryBackend::new(), async {
        boxed().await.unwrap();
        let error = boxed().await.unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("rate limit exceeded, retry after")
        );
        assert!(error.downcast_ref::<RateLimited>().is_some());
    })
    .await;
}
