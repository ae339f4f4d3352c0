//! Faults on a real Redis: the server killed and restarted under load, frozen with `SIGSTOP`.
//! Each test has its own dedicated `redis-server` (never the shared one) and real time.
//!
//! Without `redis-server` the tests fail, saying how to install it; with
//! `CACHE_TESTS_SKIP_REDIS=1` they skip with a notice (see `cache_tests::redis_harness`).
#![allow(missing_docs, clippy::unwrap_used, clippy::panic, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cache_core::{CacheBackend, ErrorKind, cached, with_backend};
use cache_redis::{RedisBackend, RetryPolicy};
use cache_tests::redis_harness::RedisServer;

static BODY_RUNS: AtomicU64 = AtomicU64::new(0);

#[cached(key = "double:<id>", ttl = 60, timeout = "800ms")]
async fn double(id: u64) -> u64 {
    BODY_RUNS.fetch_add(1, Ordering::SeqCst);
    id * 2
}

/// Fast-failing settings, as an application would use.
fn fault_config(server: &RedisServer, prefix: &str) -> cache_redis::RedisConfig {
    server
        .config(prefix)
        .connect_timeout(Duration::from_millis(300))
        .response_timeout(Duration::from_millis(400))
        .retry(RetryPolicy::new(
            1,
            Duration::from_millis(20),
            Duration::from_millis(50),
        ))
}

/// The server is killed while 64 tasks call a cached function: every call still returns the
/// body's value, nothing panics; after a restart on the same port caching resumes by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_killed_under_load_fails_open_and_recovers() {
    let Some(mut server) = RedisServer::start() else {
        return;
    };
    let backend = RedisBackend::connect(fault_config(&server, "kill:"))
        .await
        .unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let calls = Arc::new(AtomicU64::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..64u64 {
        let backend = backend.clone();
        let stop = Arc::clone(&stop);
        let calls = Arc::clone(&calls);
        tasks.spawn(with_backend(backend, async move {
            let mut round = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let id = (task + round) % 16;
                let started = Instant::now();
                assert_eq!(
                    double(id).await,
                    id * 2,
                    "every call returns the body's value"
                );
                assert!(started.elapsed() < Duration::from_secs(5), "a call hung");
                calls.fetch_add(1, Ordering::Relaxed);
                round += 1;
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }));
    }

    tokio::time::sleep(Duration::from_millis(500)).await;
    tokio::task::block_in_place(|| server.kill());
    let during_outage = calls.load(Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        calls.load(Ordering::Relaxed) > during_outage,
        "calls keep completing while the server is down"
    );
    tokio::task::block_in_place(|| server.restart());
    let restarted = Instant::now();

    // Caching resumes by itself: a value written through the cached function shows up in
    // the restarted (empty) server, and then a call is a hit.
    let probe = 1_000_000u64;
    let resumed = loop {
        let runs = BODY_RUNS.load(Ordering::SeqCst);
        with_backend(backend.clone(), double(probe)).await;
        let stored = server.cli(&["EXISTS", "kill:double:1000000"]).trim() == "1";
        if stored {
            let before = BODY_RUNS.load(Ordering::SeqCst);
            with_backend(backend.clone(), double(probe)).await;
            if BODY_RUNS.load(Ordering::SeqCst) == before {
                break restarted.elapsed();
            }
        }
        assert!(
            restarted.elapsed() < Duration::from_secs(10),
            "caching did not resume within 10 s (body runs {runs})"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    eprintln!("caching resumed {resumed:?} after the restart");
    assert!(
        resumed < Duration::from_secs(5),
        "resumed after {resumed:?}"
    );

    stop.store(true, Ordering::Relaxed);
    while let Some(joined) = tasks.join_next().await {
        joined.expect("no task panicked");
    }
    backend.ping().await.expect("the backend works again");
}

/// A server frozen with `SIGSTOP` keeps its socket open but answers nothing: backend calls
/// fail with a timeout within the configured time and cached calls return the body's value
/// within their `timeout`, for 64 concurrent callers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frozen_server_calls_return_within_the_timeout() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let backend = RedisBackend::connect(fault_config(&server, "stop:"))
        .await
        .unwrap();
    with_backend(backend.clone(), double(1)).await; // warm the connection

    server.freeze();
    let started = Instant::now();
    let err = backend
        .get("anything")
        .await
        .expect_err("a frozen server cannot answer");
    let elapsed = started.elapsed();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    // response timeout 400 ms (+ connect 300 ms at most); timeouts are not retried.
    assert!(
        elapsed < Duration::from_millis(1200),
        "backend call took {elapsed:?}"
    );

    let mut tasks = tokio::task::JoinSet::new();
    for id in 0..64u64 {
        tasks.spawn(with_backend(backend.clone(), async move {
            let started = Instant::now();
            let value = double(10_000 + id).await;
            (id, value, started.elapsed())
        }));
    }
    while let Some(joined) = tasks.join_next().await {
        let (id, value, elapsed) = joined.expect("no panic");
        assert_eq!(value, (10_000 + id) * 2);
        // The site timeout is 800 ms per backend call (a miss makes a GET, then a SET).
        assert!(
            elapsed < Duration::from_millis(2500),
            "cached call took {elapsed:?}"
        );
    }
    server.thaw();

    // Thawed, the same connection serves again.
    let deadline = Instant::now() + Duration::from_secs(5);
    while backend.ping().await.is_err() {
        assert!(Instant::now() < deadline, "no recovery after SIGCONT");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
