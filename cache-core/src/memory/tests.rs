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
        .set_shared("s", value, Bytes::from_static(b"[1,2,3]"), None)
        .await
        .expect("set_shared");
    let shared = cache.get_shared("s").expect("shared value");
    assert_eq!(shared.downcast_ref::<Vec<u32>>(), Some(&vec![1, 2, 3]));
    assert_eq!(
        cache.get("s").await.expect("get").as_deref(),
        Some(&b"[1,2,3]"[..])
    );
    // A plain write replaces the decoded value too.
    cache
        .set("s", Bytes::from_static(b"[4]"), None)
        .await
        .expect("set");
    assert!(cache.get_shared("s").is_none());
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
