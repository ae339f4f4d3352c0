//! `#[cached]` behaviour on the memory backend; the bodies live in `common::cached_suite` so
//! that other backends run the same tests.
#![allow(missing_docs)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use cache_core::testing::{Fault, Faults, Operation};
use cache_core::{CacheBackend, DynBackend, MemoryBackend, cached, with_backend};
use common::cached_suite as suite;

fn memory() -> DynBackend {
    Arc::new(MemoryBackend::new())
}

#[tokio::test]
async fn miss_then_hit() {
    suite::miss_then_hit(memory()).await;
}

#[tokio::test]
async fn err_not_cached() {
    suite::err_not_cached(memory()).await;
}

#[tokio::test]
async fn none_and_err_options() {
    suite::none_and_err_options(memory()).await;
}

#[tokio::test]
async fn unless_vetoes() {
    suite::unless_vetoes(memory()).await;
}

#[tokio::test]
async fn method_keys_use_self() {
    suite::method_keys_use_self(memory()).await;
}

#[tokio::test]
async fn generic_fn() {
    suite::generic_fn(memory()).await;
}

#[tokio::test]
async fn companions() {
    suite::companions(memory()).await;
}

#[tokio::test]
async fn refresh_overwrites() {
    suite::refresh_overwrites(memory()).await;
}

#[tokio::test(start_paused = true)]
async fn ttl_expiry() {
    suite::ttl_expiry(memory()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn single_flight() {
    suite::single_flight(memory()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_leader() {
    suite::cancelled_leader(memory()).await;
}

#[tokio::test]
async fn corrupt_bytes_are_recomputed() {
    suite::corrupt_bytes_are_recomputed(memory()).await;
}

static COMPUTED: AtomicU64 = AtomicU64::new(0);

#[cached(key = "fail_open:<id>", timeout = "50ms")]
async fn fail_open(id: u64) -> Result<u64, String> {
    Ok(id + COMPUTED.fetch_add(1, Ordering::SeqCst))
}

#[tokio::test]
async fn a_failing_backend_never_fails_the_call() {
    with_backend(Faults::down().wrap(MemoryBackend::new()), async {
        let before = COMPUTED.load(Ordering::SeqCst);
        for _ in 0..3 {
            assert!(fail_open(1).await.is_ok());
        }
        assert_eq!(
            COMPUTED.load(Ordering::SeqCst) - before,
            3,
            "every call ran the body"
        );
        assert!(
            fail_open_invalidate(1).await.is_err(),
            "invalidate reports the backend's error"
        );
        let stats = cache_core::stats::snapshot(concat!(module_path!(), "::fail_open"));
        assert!(
            stats.is_some_and(|stats| stats.errors >= 3),
            "backend errors are counted"
        );
    })
    .await;
}

static HANGING: AtomicU64 = AtomicU64::new(0);

#[cached(key = "hanging:<id>", timeout = "50ms")]
async fn over_hanging(id: u64) -> u64 {
    HANGING.fetch_add(1, Ordering::SeqCst);
    id
}

#[tokio::test(start_paused = true)]
async fn a_hanging_backend_is_bounded_by_the_timeout() {
    with_backend(
        Faults::new()
            .always(Operation::READS, Fault::Hang)
            .wrap(MemoryBackend::new()),
        async {
            let started = tokio::time::Instant::now();
            assert_eq!(over_hanging(2).await, 2);
            assert!(
                started.elapsed() < Duration::from_secs(1),
                "gave up after the 50 ms timeout"
            );
            assert_eq!(HANGING.load(Ordering::SeqCst), 1);
        },
    )
    .await;
}

static SCOPED: AtomicU64 = AtomicU64::new(0);

#[cached(key = "scoped")]
async fn scoped_value() -> u64 {
    SCOPED.fetch_add(1, Ordering::SeqCst)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backends_swapped_in_parallel_tasks_stay_apart() {
    let (a, b) = (MemoryBackend::new(), MemoryBackend::new());
    let task_a = tokio::spawn(with_backend(a.clone(), async {
        let first = scoped_value().await;
        tokio::time::sleep(Duration::from_millis(20)).await;
        (first, scoped_value().await)
    }));
    let (first_a, again_a) = task_a.await.unwrap_or_default();
    // B starts once A has stored its value: it must not see it.
    let task_b = tokio::spawn(with_backend(b.clone(), async {
        let first = scoped_value().await;
        (first, scoped_value().await)
    }));
    let (first_b, again_b) = task_b.await.unwrap_or_default();
    assert_eq!(first_a, again_a, "A hits its own entry");
    assert_eq!(first_b, again_b, "B hits its own entry");
    assert_ne!(first_a, first_b, "B did not see A's entry");
    assert!(a.exists("scoped").await.unwrap_or(false));
    assert!(b.exists("scoped").await.unwrap_or(false));
}

static SLOW_SCOPED: AtomicU64 = AtomicU64::new(0);

#[cached(key = "slow_scoped")]
async fn slow_scoped_value() -> u64 {
    let value = SLOW_SCOPED.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(50)).await;
    value
}

/// Two tests on one function, each with its own backend, missing at the same time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_misses_in_different_backend_scopes_stay_apart() {
    let (a, b) = (MemoryBackend::new(), MemoryBackend::new());
    let task_a = tokio::spawn(with_backend(a.clone(), slow_scoped_value()));
    tokio::time::sleep(Duration::from_millis(10)).await;
    let task_b = tokio::spawn(with_backend(b.clone(), slow_scoped_value()));
    let (value_a, value_b) = (task_a.await.ok(), task_b.await.ok());
    assert_ne!(value_a, value_b, "B ran its own body");
    assert!(
        b.exists("slow_scoped").await.unwrap_or(false),
        "and stored into its own backend"
    );
}

#[derive(Debug)]
pub struct Alpha;

#[derive(Debug)]
pub struct Beta;

impl Alpha {
    #[cached(key = "alpha:<id>")]
    pub async fn get(&self, id: u64) -> u64 {
        id
    }
}

impl Beta {
    #[cached(key = "beta:<id>")]
    pub async fn get(&self, id: u64) -> u64 {
        id + 1
    }
}

/// `Alpha::get` and `Beta::get` in one module are two functions, counted apart.
#[tokio::test]
async fn methods_of_two_types_count_apart() {
    with_backend(MemoryBackend::new(), async {
        assert_eq!(Alpha.get(1).await, 1);
        assert_eq!(Alpha.get(1).await, 1);
        assert_eq!(Beta.get(1).await, 2);
    })
    .await;
    let counts = |name: &str| cache_core::stats::snapshot(name).map(|s| (s.hits, s.misses));
    assert_eq!(counts("cached_behaviour::Alpha::get"), Some((1, 1)));
    assert_eq!(counts("cached_behaviour::Beta::get"), Some((0, 1)));
}

#[tokio::test]
async fn invalidate_during_load() {
    suite::invalidate_during_load(memory()).await;
}

#[tokio::test]
async fn refresh_during_load() {
    suite::refresh_during_load(memory()).await;
}
