//! `<fn>_invalidate_all()`: every cached result of one function removed in one backend call,
//! no other function's, on the memory backend and on a real Redis.
#![allow(clippy::unwrap_used, clippy::panic, missing_docs)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use cache_core::{CacheBackend, DynBackend, MemoryBackend, cached, with_backend};
use cache_tests::redis_harness::{shared_server, unique_prefix};

static STAR_RUNS: AtomicU64 = AtomicU64::new(0);
static PLAIN_RUNS: AtomicU64 = AtomicU64::new(0);
static DEFAULT_RUNS: AtomicU64 = AtomicU64::new(0);

/// Glob characters in the template are literal: its pattern must not match `plain`'s keys.
#[cached(key = "all:a*[b]:<id>", ttl = 300)]
async fn star(id: u64) -> u64 {
    STAR_RUNS.fetch_add(1, Ordering::SeqCst);
    id
}

#[cached(key = "all:ab]:<id>", ttl = 300)]
async fn plain(id: u64) -> u64 {
    PLAIN_RUNS.fetch_add(1, Ordering::SeqCst);
    id
}

/// The default key: `module::path::fn:<args>`.
#[cached(ttl = 300)]
async fn defaulted(id: u64, name: String) -> String {
    DEFAULT_RUNS.fetch_add(1, Ordering::SeqCst);
    format!("{id}:{name}")
}

fn runs() -> [u64; 3] {
    [&STAR_RUNS, &PLAIN_RUNS, &DEFAULT_RUNS].map(|runs| runs.load(Ordering::SeqCst))
}

async fn removes_one_function(backend: DynBackend) {
    with_backend(backend.clone(), async {
        let before = runs();
        for id in 0..50 {
            star(id).await;
            plain(id).await;
            defaulted(id, format!("n*{id}")).await;
        }
        assert_eq!(runs(), before.map(|runs| runs + 50));

        assert_eq!(star_invalidate_all().await.unwrap(), 50);
        assert_eq!(defaulted_invalidate_all().await.unwrap(), 50);
        for id in 0..50 {
            star(id).await;
            plain(id).await;
            defaulted(id, format!("n*{id}")).await;
        }
        let [star_runs, plain_runs, default_runs] = before;
        assert_eq!(
            runs(),
            [star_runs + 100, plain_runs + 50, default_runs + 100],
            "the invalidated functions ran again, the other one hit"
        );
        assert_eq!(plain_invalidate_all().await.unwrap(), 50);
        assert_eq!(star_invalidate_all().await.unwrap(), 50);
    })
    .await;
}

/// One test, the backends in turn: the run counters are shared.
#[tokio::test]
async fn removes_every_key_of_one_function_only() {
    removes_one_function(Arc::new(MemoryBackend::new())).await;
    let Some(server) = shared_server() else {
        return;
    };
    let redis = server.backend(&unique_prefix("invalidate_all")).await;
    let backend: DynBackend = Arc::new(redis);
    removes_one_function(backend.clone()).await;
    assert!(!backend.exists("all:ab]:7").await.unwrap());
}
