//! `CacheAside`: `#[cached]`'s runtime for keys built at run time, on the memory backend and on
//! a real Redis: one run per key for concurrent callers, hits, `invalidate`, and `Err`s never
//! stored.
#![allow(clippy::unwrap_used, clippy::panic, missing_docs)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use cache_core::{CacheAside, DynBackend, MemoryBackend, with_backend};
use cache_tests::redis_harness::{shared_server, unique_prefix};

static PROFILES: CacheAside =
    CacheAside::new("cache_aside::profiles", Some(Duration::from_secs(60)));

async fn behaves_like_cached(backend: DynBackend) {
    let runs = Arc::new(AtomicU64::new(0));
    let key = "profile:7".to_owned();
    let compute = |runs: Arc<AtomicU64>| async move {
        runs.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(50)).await;
        "Ada".to_owned()
    };
    let mut callers = Vec::new();
    for _ in 0..50 {
        let (runs, key) = (Arc::clone(&runs), key.clone());
        let call = async move { PROFILES.get_or_compute(&key, || compute(runs)).await };
        callers.push(tokio::spawn(with_backend(backend.clone(), call)));
    }
    for caller in callers {
        assert_eq!(caller.await.unwrap(), "Ada");
    }
    assert_eq!(
        runs.load(Ordering::SeqCst),
        1,
        "one run for 50 concurrent callers"
    );
    with_backend(backend.clone(), async {
        let hit: String = PROFILES
            .get_or_compute(&key, || async { panic!("a hit runs nothing") })
            .await;
        assert_eq!(hit, "Ada");
        assert!(PROFILES.invalidate(&key).await.unwrap());
        assert_eq!(
            PROFILES
                .get_or_compute(&key, || compute(Arc::clone(&runs)))
                .await,
            "Ada"
        );
        assert_eq!(
            runs.load(Ordering::SeqCst),
            2,
            "recomputed after the invalidation"
        );

        let failed: Result<String, String> = PROFILES
            .try_get_or_compute("profile:8", || async { Err("down".to_owned()) })
            .await;
        assert_eq!(failed.unwrap_err(), "down");
        let ok: Result<String, String> = PROFILES
            .try_get_or_compute("profile:8", || async { Ok("Bob".to_owned()) })
            .await;
        assert_eq!(ok.unwrap(), "Bob", "the Err was not stored");
        let hit: Result<String, String> = PROFILES
            .try_get_or_compute("profile:8", || async { panic!("a hit runs nothing") })
            .await;
        assert_eq!(hit.unwrap(), "Bob");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_memory() {
    behaves_like_cached(Arc::new(MemoryBackend::new())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_redis() {
    let Some(server) = shared_server() else {
        return;
    };
    behaves_like_cached(Arc::new(server.backend(&unique_prefix("aside")).await)).await;
}
