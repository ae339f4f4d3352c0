//! `tags = [...]` and `cache_core::invalidate_tag`: one command makes a miss of every entry
//! carrying a tag, and of no other, on the memory backend, on a real Redis with and without
//! its near cache, and across two connections standing for two processes; an entry whose body
//! was running when its tag was invalidated is never served.
#![allow(clippy::unwrap_used, clippy::panic, missing_docs)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cache_core::testing::with_current_backend;
use cache_core::{CacheBackend, DynBackend, MemoryBackend, cached, invalidate_tag, with_backend};
use cache_redis::{RedisBackend, RedisConfig};
use cache_tests::redis_harness::{shared_server, unique_prefix};
use tokio::sync::{Notify, Semaphore};

/// Every body run gets a new number, so a result says which run made it: tests running in
/// parallel share the counter but not their results.
static RUNS: AtomicU64 = AtomicU64::new(0);

fn run() -> u64 {
    RUNS.fetch_add(1, Ordering::SeqCst)
}

#[cached(key = "member:<id>", ttl = 300, tags = ["user:<id>", "org:<org>"])]
async fn member(id: u64, org: u64) -> u64 {
    let _ = (id, org);
    run()
}

/// A body that says when it started and waits for its gate.
#[cached(key = "slow:<id>", ttl = 300, tags = ["slow:<id>"])]
async fn slow(id: u64, started: Arc<Notify>, gate: Arc<Semaphore>) -> u64 {
    let _ = id;
    let number = run();
    started.notify_one();
    drop(gate.acquire().await.unwrap());
    number
}

#[cached(key = "bulk:<id>", ttl = 300, tags = ["bulk"])]
async fn bulk(id: u64) -> u64 {
    let _ = id;
    run()
}

/// The results of 40 members, 10 in each of 4 orgs.
async fn members() -> Vec<u64> {
    let mut results = Vec::new();
    for id in 0..40 {
        results.push(member(id, id % 4).await);
    }
    results
}

/// Which of `before` and `after` differ: the members whose body ran again.
fn ran_again(before: &[u64], after: &[u64]) -> Vec<u64> {
    (0..40)
        .filter(|&id| before[id as usize] != after[id as usize])
        .collect()
}

async fn only_the_tagged_entries_miss(backend: DynBackend) {
    with_backend(backend.clone(), async {
        let first = members().await;
        assert_eq!(members().await, first, "a second round is all hits");

        invalidate_tag("org:1").await.unwrap();
        let second = members().await;
        let org_1: Vec<u64> = (0..40).filter(|id| id % 4 == 1).collect();
        assert_eq!(ran_again(&first, &second), org_1);
        assert_eq!(members().await, second, "recomputed entries are hits again");

        invalidate_tag("user:3").await.unwrap();
        let third = members().await;
        assert_eq!(ran_again(&second, &third), vec![3]);

        // A tag nothing carries leaves no key behind.
        invalidate_tag("org:99").await.unwrap();
        assert!(!backend.exists("__tag:org:99").await.unwrap());
        assert_eq!(members().await, third);
    })
    .await;
}

/// The body of the first call is still running when the tag is invalidated: what it stores
/// is not served to a call that starts after the invalidation, even one that joins its flight.
async fn a_load_overtaken_by_an_invalidation_is_not_served(backend: DynBackend) {
    with_backend(backend, async {
        let started = Arc::new(Notify::new());
        let gate = Arc::new(Semaphore::new(0));
        let first = tokio::spawn(with_current_backend(slow(
            1,
            Arc::clone(&started),
            Arc::clone(&gate),
        )));
        started.notified().await;
        invalidate_tag("slow:1").await.unwrap();
        let second = tokio::spawn(with_current_backend(slow(
            1,
            Arc::clone(&started),
            Arc::clone(&gate),
        )));
        tokio::time::sleep(Duration::from_millis(20)).await;
        gate.add_permits(2);
        let (first, second) = (first.await.unwrap(), second.await.unwrap());
        assert_ne!(first, second, "the second call ran the body itself");
        let third = slow(1, started, gate).await;
        assert_eq!(third, second, "and its value is the one served from now on");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_backend() {
    let backend: DynBackend = Arc::new(MemoryBackend::new());
    only_the_tagged_entries_miss(backend.clone()).await;
    a_load_overtaken_by_an_invalidation_is_not_served(backend).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_backend() {
    let Some(server) = shared_server() else {
        return;
    };
    let backend: DynBackend = Arc::new(server.backend(&unique_prefix("tags")).await);
    only_the_tagged_entries_miss(backend.clone()).await;
    a_load_overtaken_by_an_invalidation_is_not_served(backend).await;
}

async fn near_backend(config: RedisConfig) -> RedisBackend {
    let redis = RedisBackend::connect(config.near_cache(10_000))
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !redis.near_cache_stats().unwrap().serving {
        assert!(Instant::now() < deadline, "tracking never came on");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    redis
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_near_cache() {
    let Some(server) = shared_server() else {
        return;
    };
    let redis = Arc::new(near_backend(server.config(&unique_prefix("tags_near"))).await);
    let backend: DynBackend = redis.clone();
    only_the_tagged_entries_miss(backend.clone()).await;
    a_load_overtaken_by_an_invalidation_is_not_served(backend).await;

    // Hits take the entry and the versions from the near cache: no round trip.
    let hits = redis.near_cache_stats().unwrap().hits;
    with_backend(redis.clone(), members()).await;
    assert!(
        redis.near_cache_stats().unwrap().hits >= hits + 40 * 3,
        "each of the 40 hits read the entry and its two versions in process"
    );
}

/// Two connections to one server with their near caches on stand for two processes: an
/// invalidation through one reaches the other's near copies of the versions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalidation_reaches_another_process() {
    let Some(server) = shared_server() else {
        return;
    };
    let prefix = unique_prefix("tags_two");
    let reader: DynBackend = Arc::new(near_backend(server.config(&prefix)).await);
    let writer: DynBackend = Arc::new(near_backend(server.config(&prefix)).await);
    let before = with_backend(reader.clone(), members()).await;
    assert_eq!(with_backend(reader.clone(), members()).await, before);
    with_backend(writer, invalidate_tag("org:2")).await.unwrap();
    let org_2: Vec<u64> = (0..40).filter(|id| id % 4 == 2).collect();
    // The reader hears of the increment asynchronously, as of any write (see `near`).
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let after = with_backend(reader.clone(), members()).await;
        let again = ran_again(&before, &after);
        if again == org_2 {
            break;
        }
        assert!(again.is_empty(), "only org 2 may run again, got {again:?}");
        assert!(
            Instant::now() < deadline,
            "the invalidation never reached the reader"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Many entries, one tag: one command, then none of them is served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_command_for_twenty_thousand_entries() {
    let backend: DynBackend = Arc::new(MemoryBackend::new());
    with_backend(backend.clone(), async {
        let mut before = Vec::new();
        for id in 0..20_000 {
            before.push(bulk(id).await);
        }
        let runs = RUNS.load(Ordering::SeqCst);
        invalidate_tag("bulk").await.unwrap();
        for (id, old) in (0..20_000).zip(before) {
            assert_ne!(
                bulk(id).await,
                old,
                "entry {id} was served after its tag went"
            );
        }
        assert!(RUNS.load(Ordering::SeqCst) >= runs + 20_000);
    })
    .await;
}
