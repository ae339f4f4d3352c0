//! The `metrics` feature: a scripted run against a `metrics-util` debugging recorder, installed
//! for this test binary alone, shows exactly the counts of the table in `cache_core::metrics`:
//! hits, misses, stale answers and errors per function and level (memory and a real Redis),
//! rate-limit outcomes, lock acquisitions, backend call and load durations; never a key.
#![allow(clippy::unwrap_used, clippy::panic, missing_docs)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use cache_core::lock::Lock;
use cache_core::metrics::names;
use cache_core::rate_limit::FailureMode;
use cache_core::testing::Faults;
use cache_core::{DynBackend, MemoryBackend, RateLimitPolicy, RateLimiter, cached, with_backend};
use cache_tests::redis_harness::{shared_server, unique_prefix};
use metrics_util::CompositeKey;
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};

#[cached(key = "metrics:memory:<id>", ttl = 60)]
async fn on_memory(id: u64) -> u64 {
    id
}

#[cached(key = "metrics:redis:<id>", ttl = 60)]
async fn on_redis(id: u64) -> u64 {
    id
}

static DOWN: AtomicBool = AtomicBool::new(false);

#[cached(key = "metrics:quote:<id>", ttl = 1, fail_safe = "1h")]
async fn quote(id: u64) -> Result<u64, String> {
    if DOWN.load(Ordering::SeqCst) {
        return Err("down".to_owned());
    }
    Ok(id)
}

#[cached(key = "metrics:failing:<id>", ttl = 60)]
async fn on_failing(id: u64) -> u64 {
    id
}

/// Labels as `(key, value)`, sorted.
type Labels = Vec<(String, String)>;

/// One recorded metric: name, labels, value.
type Recorded = (String, Labels, DebugValue);

/// Every metric recorded.
fn recorded(snapshotter: &Snapshotter) -> Vec<Recorded> {
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value): (CompositeKey, _, _, _)| {
            let mut labels: Labels = key
                .key()
                .labels()
                .map(|label| (label.key().to_owned(), label.value().to_owned()))
                .collect();
            labels.sort();
            (key.key().name().to_owned(), labels, value)
        })
        .collect()
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    let mut labels: Labels = pairs
        .iter()
        .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
        .collect();
    labels.sort();
    labels
}

/// The counter `name` with exactly `pairs` as labels (0 if absent).
fn counter(all: &[Recorded], name: &str, pairs: &[(&str, &str)]) -> u64 {
    let wanted = labels(pairs);
    all.iter()
        .find(|(found, labels, _)| found == name && *labels == wanted)
        .map_or(0, |(_, _, value)| match value {
            DebugValue::Counter(count) => *count,
            other => panic!("{name} is not a counter: {other:?}"),
        })
}

/// How many samples the histogram `name` with exactly `pairs` as labels holds (0 if absent).
fn samples(all: &[Recorded], name: &str, pairs: &[(&str, &str)]) -> usize {
    let wanted = labels(pairs);
    all.iter()
        .find(|(found, labels, _)| found == name && *labels == wanted)
        .map_or(0, |(_, _, value)| match value {
            DebugValue::Histogram(samples) => samples.len(),
            other => panic!("{name} is not a histogram: {other:?}"),
        })
}

/// The loads of `function` with `result`.
fn loads(all: &[Recorded], function: &str, result: &str) -> usize {
    let name = format!("metrics::{function}");
    samples(
        all,
        names::LOAD_DURATION,
        &[(names::NAME, &name), (names::LOAD_RESULT, result)],
    )
}

fn requests(all: &[Recorded], function: &str, level: &str, result: &str) -> u64 {
    let name = format!("metrics::{function}");
    counter(
        all,
        names::REQUESTS,
        &[
            (names::NAME, &name),
            (names::LEVEL, level),
            (names::RESULT, result),
        ],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scripted_run_is_counted_exactly() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install().unwrap();

    // Memory: 3 misses, then 10 hits.
    let memory: DynBackend = Arc::new(MemoryBackend::new());
    with_backend(memory.clone(), async {
        for id in 0..3 {
            on_memory(id).await;
        }
        for round in 0..10 {
            on_memory(round % 3).await;
        }
        // One fail-safe answer: the value is past its 1 s TTL and the source is down.
        quote(1).await.unwrap();
        DOWN.store(true, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert_eq!(quote(1).await, Ok(1));
    })
    .await;

    // A backend that fails every call: each call an error, run uncached.
    let failing: DynBackend = Arc::new(Faults::down().wrap(MemoryBackend::new()));
    with_backend(failing.clone(), async {
        on_failing(1).await;
        on_failing(1).await;
    })
    .await;

    // Rate limits: 2 allowed, 1 limited in process; 1 failed open on the failing backend.
    let limiter = RateLimiter::new(RateLimitPolicy::fixed_window(2, Duration::from_secs(60)))
        .backend(memory.clone())
        .namespace("metrics:");
    for _ in 0..3 {
        limiter.check("user").await.unwrap();
    }
    let failing_open = RateLimiter::new(RateLimitPolicy::fixed_window(2, Duration::from_secs(60)))
        .backend(failing)
        .namespace("metrics_open:")
        .failure_mode(FailureMode::Open);
    assert!(failing_open.check("user").await.unwrap().allowed());

    // Locks: one acquired, one busy.
    let held = Lock::new(memory.clone(), "metrics:lock")
        .acquire()
        .await
        .unwrap();
    assert!(
        Lock::new(memory, "metrics:lock")
            .try_acquire()
            .await
            .unwrap()
            .is_none()
    );
    drop(held);

    // Redis: 2 misses, 5 hits, each miss a GET and a claim and a fill on the server.
    let redis_run = match shared_server() {
        Some(server) => {
            let redis: DynBackend = Arc::new(server.backend(&unique_prefix("metrics")).await);
            with_backend(redis, async {
                for id in 0..2 {
                    on_redis(id).await;
                }
                for round in 0..5 {
                    on_redis(round % 2).await;
                }
            })
            .await;
            true
        }
        None => false,
    };

    cache_core::metrics::publish();
    let all = recorded(&snapshotter);
    assert_eq!(requests(&all, "on_memory", "memory", "miss"), 3);
    assert_eq!(requests(&all, "on_memory", "memory", "hit"), 10);
    assert_eq!(requests(&all, "on_memory", "memory", "error"), 0);
    assert_eq!(requests(&all, "quote", "memory", "stale"), 1);
    assert!(
        requests(&all, "on_failing", "redis", "error") >= 2,
        "{all:?}"
    );
    assert_eq!(requests(&all, "on_failing", "redis", "miss"), 2);

    // A load per body run: the 3 misses; the quote's fill and its failed refresh; the failing
    // backend's 2 uncached runs (results that could have been cached: `ok`).
    assert_eq!(
        (
            loads(&all, "on_memory", "ok"),
            loads(&all, "on_memory", "error")
        ),
        (3, 0)
    );
    assert_eq!(
        (loads(&all, "quote", "ok"), loads(&all, "quote", "error")),
        (1, 1),
        "{all:?}"
    );
    assert_eq!(loads(&all, "on_failing", "ok"), 2);

    let decisions = |name: &str, result: &str| {
        counter(
            &all,
            names::RATE_LIMIT_DECISIONS,
            &[
                (names::RATE_LIMIT_NAME, name),
                (names::RATE_LIMIT_RESULT, result),
            ],
        )
    };
    assert_eq!(decisions("metrics:fixed_window:", "allowed"), 2, "{all:?}");
    assert_eq!(decisions("metrics:fixed_window:", "limited"), 1);
    assert_eq!(decisions("metrics_open:fixed_window:", "failed_open"), 1);

    let locks = |result: &str| {
        counter(
            &all,
            names::LOCK_ACQUISITIONS,
            &[(names::LOCK_RESULT, result)],
        )
    };
    assert_eq!((locks("acquired"), locks("busy")), (1, 1));

    if redis_run {
        assert_eq!(requests(&all, "on_redis", "redis", "miss"), 2);
        assert_eq!(requests(&all, "on_redis", "redis", "hit"), 5);
        let gets = samples(
            &all,
            names::BACKEND_DURATION,
            &[
                (names::NAME, "metrics::on_redis"),
                (names::OPERATION, "get"),
            ],
        );
        assert_eq!(gets, 7, "one GET per call");
        assert_eq!(loads(&all, "on_redis", "ok"), 2);
    } else {
        eprintln!("metrics: SKIPPED the Redis part (no redis-server)");
    }

    // No key is ever an attribute.
    for (name, labels, _) in &all {
        assert!(
            labels
                .iter()
                .all(|(_, value)| !value.contains("metrics:memory:")),
            "{name} carries a key: {labels:?}"
        );
    }
}
