//! Refreshes of values served past their TTL across the fleet: one refresh per key where the
//! backend has locks (a process that finds the key held by another's refresh serves the old
//! value and does not refresh), and fenced refresh writes (an invalidation while a refresh runs
//! is not undone by its write). Paused time on the memory backend, whose locks are the same
//! contract as Redis's; a second process is stood for by a `Lock` on the key, as another
//! process's refresh holds it.
#![allow(clippy::unwrap_used, clippy::panic, missing_docs)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use cache_core::lock::Lock;
use cache_core::testing::with_current_backend;
use cache_core::{
    CacheBackend, DynBackend, Freshness, MemoryBackend, cached, with_backend, with_freshness,
};
use tokio::sync::Semaphore;
use tokio::time::{advance, sleep};

static VERSION: AtomicU64 = AtomicU64::new(1);
static RUNS: AtomicU64 = AtomicU64::new(0);

#[cached(key = "fleet:stock:<id>", ttl = 10, stale = "1h")]
async fn stock(id: u64) -> u64 {
    RUNS.fetch_add(1, Ordering::SeqCst);
    id * 100 + VERSION.load(Ordering::SeqCst)
}

#[tokio::test(start_paused = true)]
async fn a_key_another_process_refreshes_is_not_refreshed_here() {
    let backend: DynBackend = Arc::new(MemoryBackend::new());
    with_backend(backend.clone(), async {
        assert_eq!(stock(1).await, 101);
        VERSION.store(2, Ordering::SeqCst);
        advance(Duration::from_secs(11)).await;

        // Another process's refresh holds the key.
        let other = Lock::new(backend.clone(), "fleet:stock:1")
            .lease(Duration::from_secs(30))
            .acquire()
            .await
            .unwrap();
        let runs = RUNS.load(Ordering::SeqCst);
        for _ in 0..100 {
            assert_eq!(with_freshness(stock(1)).await, (101, Freshness::Stale));
        }
        sleep(Duration::from_millis(10)).await;
        assert_eq!(RUNS.load(Ordering::SeqCst), runs, "no refresh ran here");

        // Once it is gone (and this process's deferral has passed), this process refreshes.
        drop(other);
        advance(Duration::from_secs(11)).await;
        assert_eq!(
            stock(1).await,
            101,
            "still stale: the refresh starts behind it"
        );
        sleep(Duration::from_millis(10)).await;
        assert_eq!(with_freshness(stock(1)).await, (102, Freshness::Fresh));
        assert_eq!(RUNS.load(Ordering::SeqCst), runs + 1);
    })
    .await;
}

static GATE: Semaphore = Semaphore::const_new(0);
static PRICE_VERSION: AtomicU64 = AtomicU64::new(1);

/// Borrowed argument: the caller runs the refresh, so the test controls when it ends.
#[cached(key = "fleet:price:<name>", ttl = 10, stale = "1h")]
async fn price(name: &str) -> String {
    let version = PRICE_VERSION.load(Ordering::SeqCst);
    if version == 2 {
        drop(GATE.acquire().await.unwrap());
    }
    format!("{name}:{version}")
}

#[tokio::test(start_paused = true)]
async fn an_invalidation_during_a_refresh_is_not_undone_by_its_write() {
    with_backend(MemoryBackend::new(), async {
        assert_eq!(price("a").await, "a:1");
        PRICE_VERSION.store(2, Ordering::SeqCst);
        advance(Duration::from_secs(11)).await;

        // The refresh (version 2) waits at the gate while the key is invalidated.
        let refreshing = tokio::spawn(with_current_backend(async { price("a").await }));
        sleep(Duration::from_millis(10)).await;
        assert!(price_invalidate("a").await.unwrap());
        PRICE_VERSION.store(3, Ordering::SeqCst);
        GATE.add_permits(1);
        assert_eq!(
            refreshing.await.unwrap(),
            "a:2",
            "its caller gets what it computed"
        );

        // Its write was refused: the next call computes the value after the invalidation.
        assert_eq!(price("a").await, "a:3");
    })
    .await;
}

static REPORT_VERSION: AtomicU64 = AtomicU64::new(1);

/// Borrowed argument (the caller runs the refresh), past its TTL only within `fail_safe`: the
/// caller waits for the refresh at most `soft_timeout`. Version 2 never answers.
#[cached(
    key = "fleet:report:<name>",
    ttl = 10,
    fail_safe = "1h",
    soft_timeout = "100ms"
)]
async fn report(name: &str) -> String {
    let version = REPORT_VERSION.load(Ordering::SeqCst);
    if version == 2 {
        std::future::pending::<()>().await;
    }
    format!("{name}:{version}")
}

#[tokio::test(start_paused = true)]
async fn an_invalidation_during_a_refresh_cut_short_by_soft_timeout_is_not_undone() {
    let backend = MemoryBackend::new();
    with_backend(backend.clone(), async {
        assert_eq!(report("a").await, "a:1");
        REPORT_VERSION.store(2, Ordering::SeqCst);
        advance(Duration::from_secs(11)).await;

        // The refresh hangs; the key is invalidated while it does.
        let waiting = tokio::spawn(with_current_backend(async {
            with_freshness(report("a")).await
        }));
        sleep(Duration::from_millis(10)).await;
        assert!(report_invalidate("a").await.unwrap());
        assert_eq!(
            waiting.await.unwrap(),
            ("a:1".to_owned(), Freshness::Stale),
            "after `soft_timeout`, the old value"
        );

        // The old value was not written back over the invalidation for `fail_safe`.
        assert!(!backend.exists("fleet:report:a").await.unwrap());
        REPORT_VERSION.store(3, Ordering::SeqCst);
        assert_eq!(
            with_freshness(report("a")).await,
            ("a:3".to_owned(), Freshness::Fresh)
        );
    })
    .await;
}
