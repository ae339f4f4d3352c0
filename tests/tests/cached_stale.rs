//! `#[cached(stale = .., refresh_ahead = .., fail_safe = .., soft_timeout = ..)]`: values served
//! past their `ttl` while one refresh per key runs, and old values standing in for a failing
//! source, throttled. Paused time on the memory backend; real time on a real Redis.
#![allow(clippy::unwrap_used, clippy::panic, missing_docs)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use cache_core::{
    DynBackend, Freshness, MemoryBackend, cached, stats, with_backend, with_freshness,
};
use cache_tests::redis_harness::{shared_server, unique_prefix};
use futures_util::future::join_all;
use tokio::time::{Instant, advance, sleep};

fn memory() -> DynBackend {
    Arc::new(MemoryBackend::new())
}

fn stats_of(name: &str) -> stats::Stats {
    stats::snapshot(&format!("cached_stale::{name}")).unwrap_or_default()
}

static PRICE: AtomicU64 = AtomicU64::new(100);
static PRICE_RUNS: AtomicU64 = AtomicU64::new(0);

#[cached(key = "stale:price:<sku>", ttl = 10, stale = "1h")]
async fn price(sku: u64) -> u64 {
    PRICE_RUNS.fetch_add(1, Ordering::SeqCst);
    sleep(Duration::from_millis(50)).await;
    PRICE.load(Ordering::SeqCst) + sku
}

#[tokio::test(start_paused = true)]
async fn a_stale_value_is_served_at_once_and_refreshed_once_behind_it() {
    with_backend(memory(), async {
        assert_eq!(price(1).await, 101);
        PRICE.store(200, Ordering::SeqCst);
        advance(Duration::from_secs(11)).await;

        // 50 callers in the stale window: each gets the old value without waiting, and one
        // refresh runs.
        let started = Instant::now();
        let answers = join_all((0..50).map(|_| with_freshness(price(1)))).await;
        assert_eq!(started.elapsed(), Duration::ZERO, "nobody waited");
        assert!(
            answers
                .iter()
                .all(|answer| *answer == (101, Freshness::Stale)),
            "{answers:?}"
        );
        sleep(Duration::from_millis(100)).await;
        assert_eq!(with_freshness(price(1)).await, (201, Freshness::Fresh));
        assert_eq!(
            PRICE_RUNS.load(Ordering::SeqCst),
            2,
            "one miss, one refresh"
        );
        let stats = stats_of("price");
        assert_eq!((stats.stale, stats.refreshes, stats.misses), (50, 1, 1));

        // Past the stale window too, the value is gone: a miss.
        PRICE.store(300, Ordering::SeqCst);
        advance(Duration::from_secs(10 + 3600 + 1)).await;
        assert_eq!(with_freshness(price(1)).await, (301, Freshness::Fresh));
    })
    .await;
}

static LABEL_RUNS: AtomicU64 = AtomicU64::new(0);

/// Borrowed arguments: its body cannot be spawned, so the caller that takes the refresh runs
/// it (and gets the new value) while the others get the old one.
#[cached(key = "stale:label:<name>", ttl = 10, stale = "1h")]
async fn label(name: &str) -> String {
    let run = LABEL_RUNS.fetch_add(1, Ordering::SeqCst);
    sleep(Duration::from_millis(50)).await;
    format!("{name}#{run}")
}

#[tokio::test(start_paused = true)]
async fn a_body_that_cannot_be_spawned_is_refreshed_by_its_caller() {
    with_backend(memory(), async {
        assert_eq!(label("a").await, "a#0");
        advance(Duration::from_secs(11)).await;
        let answers = join_all([label("a"), label("a")]).await;
        assert_eq!(answers, ["a#1", "a#0"]);
        assert_eq!(label("a").await, "a#1");
    })
    .await;
}

static RANK: AtomicU64 = AtomicU64::new(1);

#[cached(key = "stale:rank:<id>", ttl = 10, refresh_ahead = 0.5)]
async fn rank(id: u64) -> u64 {
    RANK.load(Ordering::SeqCst) * id
}

#[tokio::test(start_paused = true)]
async fn a_hit_past_refresh_ahead_renews_before_anyone_misses() {
    with_backend(memory(), async {
        assert_eq!(rank(3).await, 3);
        RANK.store(2, Ordering::SeqCst);
        advance(Duration::from_secs(4)).await;
        assert_eq!(rank(3).await, 3, "before the refresh point: a plain hit");
        advance(Duration::from_secs(2)).await;
        assert_eq!(with_freshness(rank(3)).await, (3, Freshness::Fresh));
        sleep(Duration::from_millis(1)).await;
        assert_eq!(rank(3).await, 6, "renewed behind the hit");
        let stats = stats_of("rank");
        assert_eq!((stats.misses, stats.refreshes, stats.stale), (1, 1, 0));
    })
    .await;
}

static QUOTE_DOWN: AtomicBool = AtomicBool::new(false);
static QUOTE_RUNS: AtomicU64 = AtomicU64::new(0);

#[cached(key = "stale:quote:<id>", ttl = 1, fail_safe = "10m")]
async fn quote(id: u64) -> Result<u64, String> {
    QUOTE_RUNS.fetch_add(1, Ordering::SeqCst);
    if QUOTE_DOWN.load(Ordering::SeqCst) {
        Err("source down".to_owned())
    } else {
        Ok(id + 1000)
    }
}

/// The outage: 60 s at 1,000 calls a second on one key whose source fails, with an
/// old value: the source is called at most 3 times, no call waits, every call gets the value.
#[tokio::test(start_paused = true)]
async fn a_sixty_second_outage_calls_the_source_three_times() {
    with_backend(memory(), async {
        assert_eq!(quote(7).await, Ok(1007));
        QUOTE_DOWN.store(true, Ordering::SeqCst);
        advance(Duration::from_secs(2)).await;
        let before = QUOTE_RUNS.load(Ordering::SeqCst);
        let mut slowest = Duration::ZERO;
        for _ in 0..60_000 {
            let (paused, real) = (Instant::now(), std::time::Instant::now());
            assert_eq!(quote(7).await, Ok(1007));
            assert_eq!(paused.elapsed(), Duration::ZERO, "a call waited");
            slowest = slowest.max(real.elapsed());
            advance(Duration::from_millis(1)).await;
        }
        let calls = QUOTE_RUNS.load(Ordering::SeqCst) - before;
        eprintln!(
            "60 s outage at 1k calls/s: the source was called {calls} times (cashews `soft`: ~60,000); slowest call {slowest:?} (debug build)"
        );
        assert!((1..=3).contains(&calls), "{calls} source calls");
        assert!(stats_of("quote").stale >= 59_990);

        // The source is back: the next try after the throttle renews the value.
        QUOTE_DOWN.store(false, Ordering::SeqCst);
        advance(Duration::from_secs(60)).await;
        assert_eq!(quote(7).await, Ok(1007));
        sleep(Duration::from_millis(1)).await;
        assert_eq!(with_freshness(quote(7)).await, (Ok(1007), Freshness::Fresh));
    })
    .await;
}

static FEED_PANICS: AtomicBool = AtomicBool::new(false);
static FEED_VERSION: AtomicU64 = AtomicU64::new(1);

#[cached(
    key = "stale:feed:<id>",
    ttl = 1,
    fail_safe = "1h",
    soft_timeout = "100ms"
)]
async fn feed(id: u64) -> u64 {
    assert!(
        !FEED_PANICS.load(Ordering::SeqCst),
        "the feed's source panicked"
    );
    let version = FEED_VERSION.load(Ordering::SeqCst);
    if version == 3 {
        sleep(Duration::from_secs(10)).await;
    }
    id * 10 + version
}

#[tokio::test(start_paused = true)]
async fn a_panic_or_a_soft_timeout_falls_back_to_the_old_value() {
    with_backend(memory(), async {
        assert_eq!(feed(1).await, 11);

        // A panicking body, past the TTL: the old value.
        FEED_PANICS.store(true, Ordering::SeqCst);
        advance(Duration::from_secs(2)).await;
        assert_eq!(with_freshness(feed(1)).await, (11, Freshness::Stale));
        FEED_PANICS.store(false, Ordering::SeqCst);

        // After the throttle, a body slower than `soft_timeout`: the old value after 100 ms,
        // and the new one once the body (left running) has finished.
        FEED_VERSION.store(3, Ordering::SeqCst);
        advance(Duration::from_secs(11)).await;
        let started = Instant::now();
        assert_eq!(with_freshness(feed(1)).await, (11, Freshness::Stale));
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(100) && waited < Duration::from_secs(1),
            "{waited:?}"
        );
        // The body ends 10 s after it began; its value is fresh for the next second.
        sleep(Duration::from_millis(9_950)).await;
        assert_eq!(with_freshness(feed(1)).await, (13, Freshness::Fresh));
    })
    .await;
}

static PROFILE_VERSION: AtomicU64 = AtomicU64::new(1);

#[cached(key = "stale:profile:<id>", ttl = 1, stale = "1h")]
async fn profile(id: u64) -> String {
    format!("profile {id} v{}", PROFILE_VERSION.load(Ordering::SeqCst))
}

/// On Redis the stamps travel with the value: a value past its `ttl` (on the server's clock
/// and ours) is served stale and renewed.
#[tokio::test]
async fn on_redis_a_stale_value_is_served_and_renewed() {
    let Some(server) = shared_server() else {
        return;
    };
    let redis: DynBackend = Arc::new(server.backend(&unique_prefix("stale")).await);
    with_backend(redis, async {
        assert_eq!(profile(5).await, "profile 5 v1");
        PROFILE_VERSION.store(2, Ordering::SeqCst);
        sleep(Duration::from_millis(1_200)).await;
        assert_eq!(
            with_freshness(profile(5)).await,
            ("profile 5 v1".to_owned(), Freshness::Stale)
        );
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let (value, freshness) = with_freshness(profile(5)).await;
            if value == "profile 5 v2" {
                assert_eq!(freshness, Freshness::Fresh);
                break;
            }
            assert!(Instant::now() < deadline, "never renewed: {value}");
            sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
}
