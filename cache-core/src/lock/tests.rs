#![allow(clippy::panic)] // let-else arms in tests: a store that refuses a free lock is a failed test
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;

use super::*;
use crate::{CacheBackend, MemoryBackend};

const SECOND: Duration = Duration::from_secs(1);

fn token() -> LockToken {
    LockToken::random().expect("randomness")
}

#[tokio::test(start_paused = true)]
async fn a_held_lock_refuses_others_until_released_and_fences_grow() {
    let lock = Lock::new(MemoryBackend::new(), "gateway");
    let first = lock.acquire().await.expect("free");
    let busy = lock.acquire().await.expect_err("held");
    assert!(busy.is_held() && busy.waited().is_zero(), "{busy}");
    assert!(lock.try_acquire().await.expect("answered").is_none());
    let fence = first.fence();
    assert!(first.release().await.expect("answered"));
    let second = lock.acquire().await.expect("released");
    assert!(second.fence() > fence);
}

#[tokio::test(start_paused = true)]
async fn waiters_run_one_at_a_time_woken_by_each_release() {
    let lock = Lock::new(MemoryBackend::new(), "queue").wait(60 * SECOND);
    let inside = Arc::new(AtomicUsize::new(0));
    let ran = Arc::new(AtomicUsize::new(0));
    let started = tokio::time::Instant::now();
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (lock, inside, ran) = (lock.clone(), inside.clone(), ran.clone());
            tokio::spawn(async move {
                let guard = lock.acquire().await.expect("within the wait");
                assert_eq!(
                    inside.fetch_add(1, Ordering::SeqCst),
                    0,
                    "two holders at once"
                );
                tokio::time::sleep(Duration::from_millis(10)).await;
                inside.fetch_sub(1, Ordering::SeqCst);
                ran.fetch_add(1, Ordering::SeqCst);
                drop(guard);
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("no panic");
    }
    assert_eq!(ran.load(Ordering::SeqCst), 20);
    // Woken by releases, not by the 30 s lease running out.
    assert!(started.elapsed() < SECOND, "took {:?}", started.elapsed());
}

#[tokio::test(start_paused = true)]
async fn a_waiter_gives_up_after_its_wait() {
    let lock = Lock::new(MemoryBackend::new(), "slow");
    let _held = lock.acquire().await.expect("free");
    let busy = lock
        .clone()
        .wait(2 * SECOND)
        .acquire()
        .await
        .expect_err("held throughout");
    assert!(busy.is_held());
    assert_eq!(busy.waited(), 2 * SECOND);
}

#[tokio::test(start_paused = true)]
async fn only_the_owner_extends_or_releases() {
    let memory = MemoryBackend::new();
    let store = memory.locks().expect("memory locks");
    let owner = token();
    let stranger = token();
    assert!(matches!(
        store.acquire("k", &owner, SECOND).await,
        Ok(Acquire::Acquired { .. })
    ));
    assert!(
        !store
            .extend("k", &stranger, SECOND)
            .await
            .expect("answered")
    );
    assert!(!store.release("k", &stranger).await.expect("answered"));
    assert!(store.extend("k", &owner, SECOND).await.expect("answered"));
    assert!(store.release("k", &owner).await.expect("answered"));
    assert!(
        !store.release("k", &owner).await.expect("answered"),
        "released twice"
    );
    assert!(store.acquire("k", &owner, Duration::ZERO).await.is_err());
}

#[tokio::test(start_paused = true)]
async fn a_crashed_holder_frees_the_lock_after_its_lease_and_a_waiter_takes_over() {
    let memory = MemoryBackend::new();
    let store = memory.locks().expect("memory locks");
    // Taken without a guard, so nothing renews or releases it: a holder that died.
    let Ok(Acquire::Acquired { fence: dead }) = store.acquire("job", &token(), SECOND).await else {
        panic!("free");
    };
    let started = tokio::time::Instant::now();
    let guard = Lock::new(memory.clone(), "job")
        .wait(10 * SECOND)
        .acquire()
        .await
        .expect("freed by the lease");
    let waited = started.elapsed();
    assert!(
        waited >= SECOND && waited < SECOND + Duration::from_millis(50),
        "{waited:?}"
    );
    assert!(guard.fence() > dead);
}

#[tokio::test(start_paused = true)]
async fn the_guard_renews_its_lease_and_stops_when_released() {
    let memory = MemoryBackend::new();
    let lock = Lock::new(memory.clone(), "long").lease(SECOND);
    let guard = lock.acquire().await.expect("free");
    tokio::time::sleep(5 * SECOND).await;
    assert!(!guard.is_lost());
    assert!(
        lock.try_acquire().await.expect("answered").is_none(),
        "renewed"
    );
    assert!(guard.release().await.expect("answered"));
    assert!(lock.try_acquire().await.expect("answered").is_some());
}

#[tokio::test(start_paused = true)]
async fn a_holder_learns_when_the_store_lost_its_lock() {
    let memory = MemoryBackend::new();
    let guard = Lock::new(memory.clone(), "fragile")
        .lease(SECOND)
        .acquire()
        .await
        .expect("free");
    memory.clear().await.expect("cleared"); // the store forgets every lock
    tokio::time::timeout(2 * SECOND, guard.lost())
        .await
        .expect("the next renewal finds the lock gone");
    assert!(guard.is_lost());
    let error = guard.extend(SECOND).await.expect_err("not ours");
    assert_eq!(error.kind(), crate::ErrorKind::LockLost);
    assert!(!guard.release().await.expect("answered"));
}

fn fill(text: &'static str) -> Fill {
    Fill::new(Bytes::from_static(text.as_bytes()), None, None)
}

#[tokio::test(start_paused = true)]
async fn a_stalled_holder_s_write_is_refused_once_another_took_over() {
    let memory = MemoryBackend::new();
    let store = memory.locks().expect("memory locks");
    let (stalled, next) = (token(), token());
    let Ok(Acquire::Acquired { fence: old }) = store.acquire("v", &stalled, SECOND).await else {
        panic!("free");
    };
    tokio::time::sleep(2 * SECOND).await; // past the lease, never renewed
    let Ok(Acquire::Acquired { fence: new }) = store.acquire("v", &next, SECOND).await else {
        panic!("freed by the lease");
    };
    assert!(
        store
            .fill("v", &next, new, fill("new"))
            .await
            .expect("answered")
    );
    assert!(
        !store
            .fill("v", &stalled, old, fill("old"))
            .await
            .expect("answered")
    );
    assert_eq!(
        memory.get("v").await.expect("answered").as_deref(),
        Some(&b"new"[..])
    );
}

#[tokio::test(start_paused = true)]
async fn a_write_fenced_before_an_invalidation_is_refused() {
    let memory = MemoryBackend::new();
    let store = memory.locks().expect("memory locks");
    let loader = token();
    let Ok(Acquire::Acquired { fence }) = store.acquire("v", &loader, SECOND).await else {
        panic!("free");
    };
    memory
        .set("v", Bytes::from_static(b"before"), None)
        .await
        .expect("stored");
    assert!(
        store.supersede("v", None).await.expect("answered"),
        "a value was there"
    );
    assert!(
        !store
            .fill("v", &loader, fence, fill("stale"))
            .await
            .expect("answered")
    );
    assert_eq!(memory.get("v").await.expect("answered"), None);
    // The refused fill still released the lock.
    assert!(matches!(
        store.acquire("v", &token(), SECOND).await,
        Ok(Acquire::Acquired { .. })
    ));
}
