//! Sentinel: a local primary, a replica and a sentinel; after `SENTINEL FAILOVER` cached calls
//! keep working and writes reach the new primary.
//!
//! Without `redis-server` the tests fail, saying how to install it; with
//! `CACHE_TESTS_SKIP_REDIS=1` they skip with a notice (see `cache_tests::redis_harness`).
#![allow(missing_docs, clippy::unwrap_used, clippy::panic, clippy::expect_used)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cache_core::{Bytes, CacheBackend, cached, with_backend};
use cache_redis::RedisBackend;
use cache_tests::redis_harness::{MASTER_NAME, SentinelSetup};

static RUNS: AtomicU64 = AtomicU64::new(0);

#[cached(key = "triple:<id>", ttl = 60)]
async fn triple(id: u64) -> u64 {
    RUNS.fetch_add(1, Ordering::SeqCst);
    id * 3
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follows_a_failover() {
    let Some(setup) = tokio::task::block_in_place(SentinelSetup::start) else {
        return;
    };
    let backend = RedisBackend::connect(setup.config("s:"))
        .await
        .expect("connect via sentinel");
    assert_eq!(setup.current_master_port(), Some(setup.master.port()));

    assert_eq!(with_backend(backend.clone(), triple(1)).await, 3);
    assert_eq!(
        setup.master.cli(&["GET", "s:triple:1"]).trim(),
        "3",
        "written to the primary"
    );

    // The sentinel accepts a failover once it has a fresh link to the replica.
    let asked = Instant::now();
    loop {
        let reply = setup.sentinel.cli(&["SENTINEL", "FAILOVER", MASTER_NAME]);
        if reply.contains("OK") {
            break;
        }
        assert!(
            asked.elapsed() < Duration::from_secs(20),
            "SENTINEL FAILOVER: {reply}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let started = Instant::now();
    while setup.current_master_port() != Some(setup.replica.port()) {
        assert!(started.elapsed() < Duration::from_secs(20), "no failover");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("sentinel switched primaries after {:?}", started.elapsed());

    // Cached calls keep returning the right value throughout.
    for id in 0..20 {
        assert_eq!(with_backend(backend.clone(), triple(id)).await, id * 3);
    }

    // Writes reach the new primary (the old replica) once the backend has followed.
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut attempt = 0u32;
    let followed = loop {
        attempt += 1;
        let key = format!("after:{attempt}");
        let written = backend.set(&key, Bytes::from_static(b"new"), None).await;
        if written.is_ok() && setup.replica.cli(&["GET", &format!("s:{key}")]).trim() == "new" {
            break Instant::now();
        }
        assert!(
            Instant::now() < deadline,
            "writes never reached the new primary: {written:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    eprintln!(
        "writes reached the new primary {:?} after the switch",
        followed - started
    );
    assert!(setup.replica.cli(&["ROLE"]).starts_with("master"));

    // And cached writes land there too.
    assert_eq!(with_backend(backend.clone(), triple(1000)).await, 3000);
    assert_eq!(setup.replica.cli(&["GET", "s:triple:1000"]).trim(), "3000");
}
