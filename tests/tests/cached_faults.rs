//! `#[cached]` while the backend fails: one body run per key even then, the circuit breaker,
//! and a panicking body. On the memory backend and a backend that fails on purpose, on
//! tokio's paused clock.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use cache_core::health::{OPEN_AFTER, PROBE_EVERY};
use cache_core::testing::Faults;
use cache_core::{DynBackend, MemoryBackend, cached, stats, with_backend};
use common::cached_suite as suite;

#[tokio::test(start_paused = true)]
async fn panicking_body_releases_waiters() {
    suite::panicking_body_releases_waiters(Arc::new(MemoryBackend::new())).await;
}

static COLD: AtomicU64 = AtomicU64::new(0);

#[cached(key = "cold:<id>")]
async fn cold(id: u64) -> u64 {
    COLD.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(50)).await;
    id
}

/// 64 concurrent callers of a cold key while the backend is down share one body run, and all
/// get its value (which could not be stored).
#[tokio::test(start_paused = true)]
async fn one_body_run_per_key_while_the_backend_is_down() {
    let down: DynBackend = Arc::new(Faults::down().wrap(MemoryBackend::new()));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..64 {
        tasks.spawn(with_backend(Arc::clone(&down), cold(4)));
    }
    while let Some(result) = tasks.join_next().await {
        assert_eq!(result.unwrap(), 4);
    }
    assert_eq!(COLD.load(Ordering::SeqCst), 1, "64 callers, one body run");
}

static FLAKY: AtomicU64 = AtomicU64::new(0);

#[cached(key = "flaky:<id>", ttl = 60)]
async fn flaky(id: u64) -> u64 {
    FLAKY.fetch_add(1, Ordering::SeqCst);
    id
}

fn flaky_stats() -> stats::Stats {
    stats::snapshot("cached_faults::flaky").unwrap_or_default()
}

/// After `OPEN_AFTER` failed calls in a row the backend is skipped (no call, no timeout); a
/// background ping finds it healthy again and caching resumes by itself.
#[tokio::test(start_paused = true)]
async fn the_breaker_skips_a_failing_backend_until_a_ping_answers() {
    let faults = Faults::down();
    let backend: DynBackend = Arc::new(faults.wrap(MemoryBackend::new()));
    with_backend(backend, async {
        // Each call fails its lookup (the body runs, nothing is stored), until the breaker
        // opens.
        for id in 0..u64::from(OPEN_AFTER) {
            assert_eq!(flaky(id).await, id);
        }
        assert!(stats::backend_down(None), "marked down");
        let reached = flaky_stats().backend_calls;
        assert_eq!(reached, u64::from(OPEN_AFTER), "one failed lookup each");

        for id in 0..100 {
            assert_eq!(flaky(id).await, id);
        }
        let skipped = flaky_stats();
        assert_eq!(
            skipped.backend_calls, reached,
            "a down backend is not called"
        );
        assert_eq!(skipped.bypassed, 100);

        faults.heal();
        tokio::time::sleep(PROBE_EVERY * 2).await;
        assert!(!stats::backend_down(None), "a ping answered: up again");
        let runs = FLAKY.load(Ordering::SeqCst);
        assert_eq!(flaky(1).await, 1); // miss: stored
        assert_eq!(flaky(1).await, 1); // hit
        assert_eq!(FLAKY.load(Ordering::SeqCst) - runs, 1, "caching resumed");
    })
    .await;
}
