//! Outages and hostile states on a real Redis: a frozen or killed server costs a call at most
//! the timeout, then (breaker open) almost nothing; caching resumes after a restart on the
//! same port; concurrent callers share one body run while it is down; another type under a
//! key is overwritten; a miss is one `GET` and one `SET`. Each test has its own server.
//!
//! Every test here sets the process-wide default timeout to [`TIMEOUT`] and leaves each
//! function without a `timeout` option, so the default is what bounds the calls.
#![allow(missing_docs, clippy::unwrap_used, clippy::panic, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cache_core::{DynBackend, cached, set_default_timeout, stats, with_backend};
use cache_redis::RedisBackend;
use cache_tests::redis_harness::RedisServer;

const TIMEOUT: Duration = Duration::from_millis(100);

/// Generous against scheduling noise on a loaded 2-core machine, and far below the 3 s
/// response timeout of the harness's client config, which bounded calls before.
const SLACK: Duration = Duration::from_millis(300);

async fn start(prefix: &str) -> Option<(RedisServer, DynBackend)> {
    set_default_timeout(TIMEOUT);
    let server = RedisServer::start()?;
    let backend: DynBackend = Arc::new(server.backend(prefix).await);
    Some((server, backend))
}

static FROZEN: AtomicU64 = AtomicU64::new(0);

#[cached(key = "frozen:<id>", ttl = 60)]
async fn frozen(id: u64) -> u64 {
    FROZEN.fetch_add(1, Ordering::SeqCst);
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_server_costs_a_call_at_most_the_timeout() {
    let Some((server, backend)) = start("frozen:").await else {
        return;
    };
    with_backend(backend, async {
        assert_eq!(frozen(0).await, 0);
        server.freeze();
        let mut slowest = Duration::ZERO;
        for id in 1..=20 {
            let started = Instant::now();
            assert_eq!(frozen(id).await, id);
            slowest = slowest.max(started.elapsed());
        }
        server.thaw();
        eprintln!("frozen server: slowest call {slowest:?} (timeout {TIMEOUT:?})");
        assert!(slowest < TIMEOUT + SLACK, "a call took {slowest:?}");
        assert!(stats::snapshot("redis_outage::frozen").unwrap().bypassed > 0);
    })
    .await;
}

static KILLED: AtomicU64 = AtomicU64::new(0);

/// The body of `killed`, which the same load also calls uncached, for comparison.
async fn work(id: u64) -> u64 {
    tokio::time::sleep(Duration::from_millis(1)).await;
    id
}

#[cached(key = "killed:<id>", ttl = 60)]
async fn killed(id: u64) -> u64 {
    KILLED.fetch_add(1, Ordering::SeqCst);
    work(id).await
}

/// `rounds` calls of `call` by each of 64 tasks over 16 keys, on `backend`: the slowest call.
async fn under_load<F, Fut>(backend: &DynBackend, rounds: u64, call: F) -> Duration
where
    F: Fn(u64) -> Fut + Copy + Send + 'static,
    Fut: std::future::Future<Output = u64> + Send,
{
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..64_u64 {
        tasks.spawn(with_backend(Arc::clone(backend), async move {
            let mut slowest = Duration::ZERO;
            for round in 0..rounds {
                let id = (task + round) % 16;
                let started = Instant::now();
                assert_eq!(call(id).await, id);
                slowest = slowest.max(started.elapsed());
            }
            slowest
        }));
    }
    let mut slowest = Duration::ZERO;
    while let Some(task) = tasks.join_next().await {
        slowest = slowest.max(task.unwrap());
    }
    slowest
}

/// 64 tasks over 16 keys: the server is killed, then restarted on the same port. Prints the
/// outage's throughput against the same load uncached (not asserted: a speed, not a contract).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_is_skipped_and_caching_resumes_after_a_restart() {
    let Some((mut server, backend)) = start("killed:").await else {
        return;
    };
    let started = Instant::now();
    under_load(&backend, 50, work).await;
    let uncached = started.elapsed();
    under_load(&backend, 4, killed).await;
    server.kill();
    let started = Instant::now();
    let slowest = under_load(&backend, 50, killed).await;
    let outage = started.elapsed();
    // Once the breaker is open: the same load again.
    let reached = stats::snapshot("redis_outage::killed")
        .unwrap()
        .backend_calls;
    let started = Instant::now();
    under_load(&backend, 50, killed).await;
    let skipped = started.elapsed();
    let calls = stats::snapshot("redis_outage::killed")
        .unwrap()
        .backend_calls
        - reached;
    assert_eq!(
        calls, 0,
        "one breaker for the backend, in every task's scope"
    );
    eprintln!(
        "killed server: 3200 calls in {outage:?} (slowest {slowest:?}); then 3200 more in \
         {skipped:?}; uncached the same load takes {uncached:?}: {:.2} of its throughput",
        uncached.as_secs_f64() / skipped.as_secs_f64()
    );
    assert!(slowest < TIMEOUT + SLACK, "a call took {slowest:?}");

    // The harness waits for the server with blocking sleeps: off the runtime's workers.
    let server = tokio::task::spawn_blocking(move || {
        server.restart();
        server
    })
    .await
    .unwrap();
    let resumed = until_hits(&backend, "redis_outage::killed", || async {
        killed(1).await;
        killed(1).await;
    })
    .await;
    eprintln!("hits resumed {resumed:?} after the restart");
    drop(server);
}

/// Calls `call` (twice the same key) until it counts a hit under `name` with the backend up;
/// returns how long that took. Fails after 10 s.
async fn until_hits<F, Fut>(backend: &DynBackend, name: &str, call: F) -> Duration
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let started = Instant::now();
    let hits = || stats::snapshot(name).map_or(0, |stats| stats.hits);
    loop {
        let before = hits();
        with_backend(Arc::clone(backend), call()).await;
        if hits() > before && !stats::backend_down(None) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no hits 10 s after the server came back"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

static LAZY: AtomicU64 = AtomicU64::new(0);

#[cached(key = "lazy:<id>", ttl = 60)]
async fn lazy(id: u64) -> u64 {
    LAZY.fetch_add(1, Ordering::SeqCst);
    id
}

/// `connect_lazy` with nothing listening: the app starts at once and its cached calls run
/// their bodies; when a server appears on the port, caching starts by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lazy_backend_starts_without_a_server_and_caches_once_one_appears() {
    set_default_timeout(TIMEOUT);
    let Some(mut server) = RedisServer::start() else {
        return;
    };
    server.kill();
    let started = Instant::now();
    let backend: DynBackend = Arc::new(RedisBackend::connect_lazy(server.config("lazy:")).unwrap());
    let connect = started.elapsed();
    with_backend(Arc::clone(&backend), async {
        for id in 0..10 {
            assert_eq!(lazy(id).await, id);
        }
    })
    .await;
    assert_eq!(LAZY.load(Ordering::SeqCst), 10, "every call ran its body");
    let calls = started.elapsed();
    let server = tokio::task::spawn_blocking(move || {
        server.restart();
        server
    })
    .await
    .unwrap();
    let resumed = until_hits(&backend, "redis_outage::lazy", || async {
        lazy(1).await;
        lazy(1).await;
    })
    .await;
    eprintln!(
        "connect_lazy returned in {connect:?}; 10 calls without a server took {calls:?}; hits {resumed:?} after the server started"
    );
    assert!(connect < SLACK, "connect_lazy took {connect:?}");
    drop(server);
}

static DEAD: AtomicU64 = AtomicU64::new(0);

#[cached(key = "dead:<id>")]
async fn dead(id: u64) -> u64 {
    DEAD.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(200)).await;
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_of_a_cold_key_share_one_run_while_the_server_is_dead() {
    let Some((mut server, backend)) = start("dead:").await else {
        return;
    };
    server.kill();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..64 {
        tasks.spawn(with_backend(Arc::clone(&backend), dead(3)));
    }
    while let Some(result) = tasks.join_next().await {
        assert_eq!(result.unwrap(), 3);
    }
    assert_eq!(DEAD.load(Ordering::SeqCst), 1, "64 callers, one body run");
}

static TYPED: AtomicU64 = AtomicU64::new(0);

#[cached(key = "typed:<id>")]
async fn typed(id: u64) -> u64 {
    TYPED.fetch_add(1, Ordering::SeqCst);
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_holding_another_type_is_recomputed_and_overwritten() {
    let Some((server, backend)) = start("wt:").await else {
        return;
    };
    server.cli(&["RPUSH", "wt:typed:5", "a", "list"]);
    with_backend(backend, async {
        assert_eq!(typed(5).await, 5);
        assert_eq!(
            server.cli(&["TYPE", "wt:typed:5"]).trim(),
            "string",
            "overwritten"
        );
        assert_eq!(typed(5).await, 5);
        assert_eq!(
            TYPED.load(Ordering::SeqCst),
            1,
            "then served from the cache"
        );
        assert!(!stats::backend_down(None), "a wrong type is not an outage");
    })
    .await;
}

static COUNTED: AtomicU64 = AtomicU64::new(0);

#[cached(key = "counted:<id>", ttl = 60)]
async fn counted(id: u64) -> u64 {
    COUNTED.fetch_add(1, Ordering::SeqCst);
    id
}

/// `calls=` of `cmdstat_<command>` in `INFO commandstats`, 0 when it never ran.
fn command_calls(server: &RedisServer, command: &str) -> u64 {
    let info = server.cli(&["INFO", "commandstats"]);
    info.lines()
        .find_map(|line| line.strip_prefix(&format!("cmdstat_{command}:calls=")))
        .and_then(|rest| rest.split(',').next())
        .map_or(0, |calls| calls.parse().unwrap())
}

#[cached(key = "unlocked:<id>", ttl = 60, lock = false)]
async fn counted_unlocked(id: u64) -> u64 {
    COUNTED.fetch_add(1, Ordering::SeqCst);
    id
}

/// Round trips of a miss and a hit, read from `INFO commandstats`. Commands that scripts run
/// are counted there too, so a miss with the fleet's lock is counted by its scripts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_miss_is_a_get_a_claim_and_a_fill_and_a_hit_one_get() {
    let Some((server, backend)) = start("count:").await else {
        return;
    };
    let calls = |command| command_calls(&server, command);
    with_backend(backend, async {
        // Loads the scripts (the first `EVALSHA` of each is answered `NOSCRIPT`).
        assert_eq!(counted(0).await, 0);
        server.cli(&["CONFIG", "RESETSTAT"]);
        assert_eq!(counted(1).await, 1);
        assert_eq!(
            calls("evalsha"),
            2,
            "a miss: GET, the claim and the fill scripts"
        );
        let (gets, sets) = (calls("get"), calls("set"));
        assert_eq!(counted(1).await, 1);
        assert_eq!(
            (calls("get"), calls("set"), calls("evalsha")),
            (gets + 1, sets, 2),
            "a hit: one GET, no lock"
        );

        server.cli(&["CONFIG", "RESETSTAT"]);
        assert_eq!(counted_unlocked(1).await, 1);
        assert_eq!(
            (calls("get"), calls("set"), calls("evalsha")),
            (1, 1, 0),
            "a miss with `lock = false`: GET, SET"
        );
    })
    .await;
}
