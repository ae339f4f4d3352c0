//! A failing source is not stampeded: concurrent callers of a key whose body fails share the
//! leader's `Err` when it can be cloned, on the memory backend and on a real Redis. An error
//! type that cannot be cloned leaves each waiting caller to run the body itself (documented).
#![allow(clippy::unwrap_used, clippy::panic, missing_docs)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use cache_core::{DynBackend, MemoryBackend, cached, with_backend};
use cache_tests::redis_harness::{shared_server, unique_prefix};

const CALLERS: usize = 50;

static RUNS: AtomicU64 = AtomicU64::new(0);
static OPAQUE_RUNS: AtomicU64 = AtomicU64::new(0);

#[cached(key = "failing:<id>", ttl = 60)]
async fn failing(id: u64) -> Result<u64, String> {
    RUNS.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(100)).await;
    Err(format!("source down for {id}"))
}

/// An error without `Clone`.
#[derive(Debug)]
struct Opaque;

#[cached(key = "opaque:<id>", ttl = 60)]
async fn opaque(id: u64) -> Result<u64, Opaque> {
    OPAQUE_RUNS.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let _ = id;
    Err(Opaque)
}

async fn concurrently<F, Fut, T>(backend: &DynBackend, call: F) -> Vec<T>
where
    F: Fn() -> Fut,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let mut tasks = Vec::new();
    for _ in 0..CALLERS {
        tasks.push(tokio::spawn(with_backend(backend.clone(), call())));
    }
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }
    results
}

async fn failing_source_runs_once(backend: DynBackend, id: u64) {
    let before = RUNS.load(Ordering::SeqCst);
    let results = concurrently(&backend, move || failing(id)).await;
    let runs = RUNS.load(Ordering::SeqCst) - before;
    assert!(runs <= 2, "{runs} body runs for {CALLERS} callers");
    let expected = format!("source down for {id}");
    assert!(
        results
            .iter()
            .all(|result| result.as_ref().unwrap_err() == &expected)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_memory() {
    failing_source_runs_once(Arc::new(MemoryBackend::new()), 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_redis() {
    let Some(server) = shared_server() else {
        return;
    };
    let redis = server.backend(&unique_prefix("failing")).await;
    failing_source_runs_once(Arc::new(redis), 2).await;
}

/// What the rustdoc says of errors without `Clone`: nothing to share, each caller runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_without_clone_is_not_shared() {
    let backend: DynBackend = Arc::new(MemoryBackend::new());
    let results = concurrently(&backend, || opaque(3)).await;
    assert!(results.iter().all(Result::is_err));
    assert_eq!(OPAQUE_RUNS.load(Ordering::SeqCst), CALLERS as u64);
}
