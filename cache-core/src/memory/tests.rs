use std::sync::Arc;
use std::time::Duration;

use super::*;

#[tokio::test(start_paused = true)]
async fn evicts_down_to_the_entry_bound() {
    let cache = MemoryBackend::builder().max_entries(100).build();
    for i in 0..1_000 {
        cache
            .set(&format!("k{i}"), Bytes::from_static(b"v"), None)
            .await
            .expect("set");
    }
    assert!(
        cache.len() <= 100,
        "{} entries above a bound of 100",
        cache.len()
    );
    assert!(
        cache.len() >= 50,
        "evicted far below the bound: {}",
        cache.len()
    );
}

#[tokio::test(start_paused = true)]
async fn evicts_down_to_the_byte_bound() {
    let cache = MemoryBackend::builder().max_bytes(64 * 1024).build();
    let value = Bytes::from(vec![b'x'; 1024]);
    for i in 0..1_000 {
        cache
            .set(&format!("k{i}"), value.clone(), None)
            .await
            .expect("set");
    }
    let stored = cache.len() as u64 * (1024 + ENTRY_OVERHEAD);
    assert!(
        stored <= 64 * 1024 + 4 * 1024,
        "{stored} bytes above a 64 KiB bound"
    );
}

#[tokio::test(start_paused = true)]
async fn writes_reclaim_expired_entries_without_a_scan() {
    let cache = MemoryBackend::new();
    for i in 0..100 {
        cache
            .set(
                &format!("old{i}"),
                Bytes::from_static(b"v"),
                Some(Duration::from_secs(1)),
            )
            .await
            .expect("set");
    }
    tokio::time::advance(Duration::from_secs(2)).await;
    // Each write reaps a few due entries from the writing thread's queue.
    for i in 0..20 {
        cache
            .set(&format!("new{i}"), Bytes::from_static(b"v"), None)
            .await
            .expect("set");
    }
    assert!(
        cache.len() < 120,
        "no expired entry was reclaimed: {}",
        cache.len()
    );
    cache.purge_expired();
    assert_eq!(cache.len(), 20);
}

#[tokio::test(start_paused = true)]
async fn rewritten_keys_keep_their_new_expiry() {
    let cache = MemoryBackend::new();
    cache
        .set("k", Bytes::from_static(b"1"), Some(Duration::from_secs(1)))
        .await
        .expect("set");
    cache
        .set("k", Bytes::from_static(b"2"), Some(Duration::from_secs(10)))
        .await
        .expect("set");
    tokio::time::advance(Duration::from_secs(2)).await;
    assert_eq!(
        cache.purge_expired(),
        0,
        "reaped a key whose expiry was extended"
    );
    assert_eq!(
        cache.get("k").await.expect("get").as_deref(),
        Some(&b"2"[..])
    );
}

#[tokio::test]
async fn shared_values_are_returned_without_decoding() {
    let cache = MemoryBackend::new();
    let value: SharedValue = Arc::new(vec![1_u32, 2, 3]);
    cache
        .store("s", value, Bytes::from_static(b"[1,2,3]"), None)
        .expect("store");
    assert_eq!(shared::<Vec<u32>>(&cache, "s"), Some(vec![1, 2, 3]));
    assert_eq!(
        cache.get("s").await.expect("get").as_deref(),
        Some(&b"[1,2,3]"[..])
    );
    // A plain write replaces the decoded value too.
    cache
        .set("s", Bytes::from_static(b"[4]"), None)
        .await
        .expect("set");
    assert_eq!(shared::<Vec<u32>>(&cache, "s"), None);
}

/// The decoded value under `key`, as the macro runtime's hit path reads it.
fn shared<T: Clone + 'static>(cache: &MemoryBackend, key: &str) -> Option<T> {
    let mut found = None;
    cache.visit(key, &mut |entry| {
        found = entry
            .value
            .and_then(|value| value.downcast_ref::<T>())
            .cloned();
    });
    found
}

#[tokio::test]
async fn clones_share_one_store() {
    let cache = MemoryBackend::new();
    let other = cache.clone();
    cache
        .set("k", Bytes::from_static(b"v"), None)
        .await
        .expect("set");
    assert!(other.exists("k").await.expect("exists"));
}

// ------------------------------------------------------------------ rate-limit state

/// The decision of an in-process backend, which always decides at once.
fn ready(decision: Option<Result<RateLimitDecision>>) -> RateLimitDecision {
    decision
        .expect("the memory backend decides in process")
        .expect("a decision")
}

fn per_minute(limit: u32) -> RateLimitPolicy {
    RateLimitPolicy::gcra(limit, Duration::from_secs(60))
}

#[tokio::test(start_paused = true)]
async fn rate_limit_keys_are_bounded_dropping_the_nearest_to_expiry() {
    // 64 shards of one cell each.
    let cache = MemoryBackend::builder().max_rate_limit_keys(64).build();
    let policy = per_minute(10);
    for i in 0..1_000 {
        let decision = cache.try_rate_limit(&format!("k{i}"), &policy, 1);
        assert!(ready(decision).allowed());
    }
    assert!(
        cache.len() <= 64,
        "{} limiters above a bound of 64",
        cache.len()
    );
    // The newest limiter was kept: its budget is still partly taken.
    let last = ready(cache.try_rate_limit("k999", &policy, 0));
    assert_eq!(last.remaining(), 9);
}

#[tokio::test(start_paused = true)]
async fn a_flood_of_new_keys_keeps_the_limiter_that_lasts_longest() {
    // 64 shards of 1 000 cells: a new key on a full shard drops the limiter nearest to expiry
    // among a sample, which is never the one lasting longest.
    let cache = MemoryBackend::builder().max_rate_limit_keys(64_000).build();
    let policy = per_minute(10);
    // 9 of 10 taken: this state lasts 54 s, each flooding key's 6 s.
    assert!(ready(cache.try_rate_limit("heavy", &policy, 9)).allowed());
    for i in 0..100_000 {
        let decision = cache.try_rate_limit(&format!("k{i}"), &policy, 1);
        assert!(ready(decision).allowed());
    }
    assert!(
        cache.len() <= 64_000,
        "{} limiters above a bound of 64 000",
        cache.len()
    );
    assert_eq!(
        ready(cache.try_rate_limit("heavy", &policy, 0)).remaining(),
        1
    );
}

#[tokio::test(start_paused = true)]
async fn expired_limiters_are_swept_as_shards_grow() {
    let cache = MemoryBackend::new();
    let policy = RateLimitPolicy::fixed_window(5, Duration::from_secs(1));
    for i in 0..10_000 {
        cache
            .rate_limit(&format!("old{i}"), &policy, 1)
            .await
            .expect("decision");
    }
    tokio::time::advance(Duration::from_secs(2)).await;
    for i in 0..20_000 {
        cache
            .rate_limit(&format!("new{i}"), &policy, 1)
            .await
            .expect("decision");
    }
    // A shard sweeps once it has doubled since its last sweep, which every shard has.
    assert!(
        cache.len() < 25_000,
        "{} cells: the old ones were not swept",
        cache.len()
    );
    assert_eq!(cache.purge_expired(), cache.len() - 20_000);
    assert_eq!(cache.len(), 20_000);
}

#[tokio::test(start_paused = true)]
async fn pattern_delete_and_clear_reset_limiters() {
    let cache = MemoryBackend::new();
    let policy = per_minute(1);
    for key in ["rl:a", "rl:b", "other"] {
        cache.rate_limit(key, &policy, 1).await.expect("decision");
    }
    cache
        .set("rl:value", Bytes::from_static(b"v"), None)
        .await
        .expect("set");
    assert_eq!(cache.delete_pattern("rl:*").await.expect("delete"), 3);
    assert!(
        cache
            .rate_limit("rl:a", &policy, 1)
            .await
            .expect("decision")
            .allowed()
    );
    assert!(
        !cache
            .rate_limit("other", &policy, 1)
            .await
            .expect("decision")
            .allowed()
    );
    cache.clear().await.expect("clear");
    assert!(cache.is_empty());
    assert!(
        cache
            .rate_limit("other", &policy, 1)
            .await
            .expect("decision")
            .allowed()
    );
}

#[tokio::test(start_paused = true)]
async fn limiter_state_is_not_a_cached_value() {
    let cache = MemoryBackend::new();
    cache
        .rate_limit("k", &per_minute(5), 1)
        .await
        .expect("decision");
    assert!(cache.exists("k").await.expect("exists"));
    assert_eq!(cache.get("k").await.expect("get"), None);
    assert!(matches!(
        cache.ttl("k").await.expect("ttl"),
        KeyTtl::ExpiresIn(_)
    ));
    assert!(cache.delete("k").await.expect("delete"));
    assert!(!cache.exists("k").await.expect("exists"));
}
