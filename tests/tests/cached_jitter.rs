//! `#[cached(jitter = ...)]`: each key's TTL is spread within the fraction, the same for a key
//! every time, on the memory backend (paused clock) and on a real Redis (the fenced fill's
//! TTL).
#![allow(clippy::unwrap_used, clippy::panic, missing_docs)]

use std::time::Duration;

use cache_core::{CacheBackend, DynBackend, KeyTtl, MemoryBackend, cached, with_backend};
use cache_tests::redis_harness::{shared_server, unique_prefix};

const KEYS: u64 = 200;

#[cached(key = "jitter:<id>", ttl = 100, jitter = 0.2)]
async fn spread(id: u64) -> u64 {
    id
}

async fn ttl_of(backend: &DynBackend, id: u64) -> Duration {
    match backend.ttl(&format!("jitter:{id}")).await.unwrap() {
        KeyTtl::ExpiresIn(left) => left,
        other => panic!("jitter:{id} has {other:?}"),
    }
}

async fn spreads_within_the_jitter(backend: DynBackend) {
    with_backend(backend.clone(), async {
        for id in 0..KEYS {
            spread(id).await;
        }
    })
    .await;
    let mut ttls = Vec::new();
    for id in 0..KEYS {
        ttls.push(ttl_of(&backend, id).await);
    }
    // ±20% of 100 s, with a second of slack for Redis's own clock between the writes and now.
    let (low, high) = (Duration::from_secs(79), Duration::from_secs(120));
    assert!(
        ttls.iter().all(|ttl| (low..=high).contains(ttl)),
        "{ttls:?}"
    );
    let lowest = ttls.iter().min().unwrap();
    let highest = ttls.iter().max().unwrap();
    assert!(
        *lowest < Duration::from_secs(85) && *highest > Duration::from_secs(115),
        "spread over the range: {lowest:?}..{highest:?}"
    );
    let mut seconds: Vec<u64> = ttls.iter().map(Duration::as_secs).collect();
    seconds.sort_unstable();
    seconds.dedup();
    assert!(seconds.len() > 20, "not all together: {seconds:?}");

    // The same key gets the same TTL again.
    let before = ttl_of(&backend, 5).await;
    with_backend(backend.clone(), async {
        assert!(spread_invalidate(5).await.unwrap());
        spread(5).await;
    })
    .await;
    let again = ttl_of(&backend, 5).await;
    assert!(
        again.abs_diff(before) < Duration::from_secs(1),
        "{before:?} then {again:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn on_memory() {
    spreads_within_the_jitter(std::sync::Arc::new(MemoryBackend::new())).await;
}

#[tokio::test]
async fn on_redis() {
    let Some(server) = shared_server() else {
        return;
    };
    let redis = server.backend(&unique_prefix("jitter")).await;
    spreads_within_the_jitter(std::sync::Arc::new(redis)).await;
}
