//! The off switch. In its own test binary: `set_enabled` is process-wide.
#![allow(missing_docs)]

use std::sync::atomic::{AtomicUsize, Ordering};

use cache_core::{CacheBackend, MemoryBackend, cached, set_enabled, with_backend};

static CALLS: AtomicUsize = AtomicUsize::new(0);

#[cached(key = "switch:<id>")]
async fn switched(id: u64) -> u64 {
    CALLS.fetch_add(1, Ordering::SeqCst);
    id
}

#[tokio::test]
async fn disabled_caching_always_runs_the_body() {
    let backend = MemoryBackend::new();
    with_backend(backend.clone(), async {
        set_enabled(false);
        switched(1).await;
        switched(1).await;
        assert_eq!(CALLS.load(Ordering::SeqCst), 2, "every call ran the body");
        assert!(
            !backend.exists("switch:1").await.unwrap_or(true),
            "and nothing was stored"
        );

        set_enabled(true);
        switched(1).await;
        switched(1).await;
        assert_eq!(
            CALLS.load(Ordering::SeqCst),
            3,
            "enabled again: the second call is a hit"
        );
    })
    .await;
}
