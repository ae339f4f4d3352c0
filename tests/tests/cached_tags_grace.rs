//! `tags` with `stale` / `fail_safe`: a value whose tag was invalidated is no value, neither
//! fresh nor stale, so the invalidation ends its grace; a refresh that an invalidation overtook
//! stores a value that is never served. Paused time on the memory backend; a real Redis with
//! real sleeps (the server's clock keeps the TTL), where a hit is one `MGET`.
#![allow(clippy::unwrap_used, clippy::panic, missing_docs)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use cache_core::testing::{Operation, Recorder, with_current_backend};
use cache_core::{
    DynBackend, Freshness, MemoryBackend, cached, invalidate_tag, with_backend, with_freshness,
};
use cache_tests::redis_harness::{shared_server, unique_prefix};
use tokio::sync::Semaphore;
use tokio::time::{advance, sleep};

/// Every body run gets a new number, so a result says which run made it.
static RUNS: AtomicU64 = AtomicU64::new(0);

#[cached(key = "grace:doc:<id>", ttl = 10, stale = "1h", tags = ["doc:<id>"])]
async fn doc(id: u64) -> u64 {
    let _ = id;
    RUNS.fetch_add(1, Ordering::SeqCst)
}

#[tokio::test(start_paused = true)]
async fn an_invalidated_tag_ends_the_stale_window() {
    with_backend(MemoryBackend::new(), async {
        let first = doc(1).await;
        advance(Duration::from_secs(11)).await;
        assert_eq!(
            with_freshness(doc(1)).await,
            (first, Freshness::Stale),
            "past the TTL, within `stale`: the old value"
        );
        sleep(Duration::from_millis(10)).await; // the refresh behind it
        let refreshed = doc(1).await;
        assert_ne!(refreshed, first);

        advance(Duration::from_secs(11)).await;
        invalidate_tag("doc:1").await.unwrap();
        let (after, freshness) = with_freshness(doc(1)).await;
        assert_eq!(freshness, Freshness::Fresh, "a miss, not a stale answer");
        assert!(after > refreshed, "the body ran again");
        assert_eq!(doc(1).await, after, "and its value is a hit");
    })
    .await;
}

static QUOTE_DOWN: AtomicBool = AtomicBool::new(false);

#[cached(
    key = "grace:quote:<id>",
    ttl = 10,
    fail_safe = "1h",
    tags = ["quote:<id>"]
)]
async fn quote(id: u64) -> Result<u64, String> {
    if QUOTE_DOWN.load(Ordering::SeqCst) {
        return Err(format!("quote {id}: source down"));
    }
    Ok(RUNS.fetch_add(1, Ordering::SeqCst))
}

#[tokio::test(start_paused = true)]
async fn an_invalidated_tag_has_no_fail_safe_value() {
    with_backend(MemoryBackend::new(), async {
        let first = quote(1).await.unwrap();
        QUOTE_DOWN.store(true, Ordering::SeqCst);
        advance(Duration::from_secs(11)).await;
        assert_eq!(
            with_freshness(quote(1)).await,
            (Ok(first), Freshness::Stale),
            "the source fails: the fail-safe value"
        );

        invalidate_tag("quote:1").await.unwrap();
        assert_eq!(
            quote(1).await,
            Err("quote 1: source down".to_owned()),
            "invalidated: no old value to fall back on"
        );
        QUOTE_DOWN.store(false, Ordering::SeqCst);
        let (after, freshness) = with_freshness(quote(1)).await;
        assert!(after.unwrap() > first);
        assert_eq!(freshness, Freshness::Fresh);
    })
    .await;
}

static GATE: Semaphore = Semaphore::const_new(0);
static GATED: AtomicBool = AtomicBool::new(false);

#[cached(key = "grace:report:<id>", ttl = 10, stale = "1h", tags = ["report:<id>"])]
async fn report(id: u64) -> u64 {
    let _ = id;
    if GATED.load(Ordering::SeqCst) {
        drop(GATE.acquire().await.unwrap());
    }
    RUNS.fetch_add(1, Ordering::SeqCst)
}

#[tokio::test(start_paused = true)]
async fn a_refresh_overtaken_by_an_invalidation_is_not_served() {
    with_backend(MemoryBackend::new(), async {
        let first = report(1).await;
        GATED.store(true, Ordering::SeqCst);
        advance(Duration::from_secs(11)).await;
        // Stale: served at once, refreshed behind it; the refresh waits at the gate.
        assert_eq!(report(1).await, first);
        sleep(Duration::from_millis(10)).await;
        invalidate_tag("report:1").await.unwrap();
        GATE.add_permits(1);
        sleep(Duration::from_millis(10)).await;
        let refreshed_during = RUNS.load(Ordering::SeqCst) - 1;

        // The refresh stored the versions it read before the invalidation: never served.
        GATED.store(false, Ordering::SeqCst);
        let after = tokio::spawn(with_current_backend(with_freshness(report(1))))
            .await
            .unwrap();
        assert_eq!(after.1, Freshness::Fresh);
        assert!(
            after.0 > refreshed_during,
            "{} is the overtaken refresh's value",
            after.0
        );
    })
    .await;
}

#[cached(key = "grace:page:<id>", ttl = 1, stale = "1h", tags = ["page:<id>"])]
async fn page(id: u64) -> u64 {
    let _ = id;
    RUNS.fetch_add(1, Ordering::SeqCst)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_redis_an_invalidated_tag_ends_the_stale_window() {
    let Some(server) = shared_server() else {
        return;
    };
    let recorder = Recorder::new();
    let redis = recorder.wrap(server.backend(&unique_prefix("tags_grace")).await);
    let redis: DynBackend = Arc::new(redis);
    with_backend(redis, async {
        let first = page(1).await;
        recorder.take();
        assert_eq!(page(1).await, first, "a hit");
        assert_eq!(
            recorder.operations(),
            [Operation::GetMany],
            "a remote hit reads the versions and the entry in one MGET"
        );
        sleep(Duration::from_millis(1_200)).await;
        assert_eq!(with_freshness(page(1)).await, (first, Freshness::Stale));

        // Once the refresh behind it stored, invalidate: the next call runs the body.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        let refreshed = loop {
            let (value, freshness) = with_freshness(page(1)).await;
            if freshness == Freshness::Fresh && value != first {
                break value;
            }
            assert!(tokio::time::Instant::now() < deadline, "never refreshed");
            sleep(Duration::from_millis(10)).await;
        };
        sleep(Duration::from_millis(1_200)).await;
        invalidate_tag("page:1").await.unwrap();
        let (after, freshness) = with_freshness(page(1)).await;
        assert_eq!(freshness, Freshness::Fresh, "a miss, not a stale answer");
        assert!(after > refreshed);
    })
    .await;
}
