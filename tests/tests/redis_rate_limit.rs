//! Rate limiting on a real Redis (standalone and Cluster): exactness under concurrency, real
//! windows rolling over, the Lua scripts against the pure Rust algorithms, two OS processes
//! sharing one budget, `SCRIPT FLUSH` mid-run, and the `#[rate_limited]` suite.
//!
//! Without `redis-server` the tests fail, saying how to install it; with
//! `CACHE_TESTS_SKIP_REDIS=1` they skip with a notice (see `cache_tests::redis_harness`).
#![allow(missing_docs, clippy::unwrap_used, clippy::panic, clippy::expect_used)]

mod common;

use std::collections::VecDeque;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use cache_core::rate_limit::{
    Algorithm, FailureMode, RateLimitDecision, RateLimitPolicy, RateLimiter, WindowParams,
    fixed_window, gcra, sliding_log,
};
use cache_core::{Bytes, CacheBackend, ErrorKind, RateLimitStore};
use cache_redis::{RedisBackend, RedisConfig};
use cache_tests::redis_harness::{shared_cluster, shared_server, unique_prefix};
use common::rate_limited_suite as suite;
use common::suite_on_redis;

/// Long enough that no budget comes back while a test runs.
const HOUR: Duration = Duration::from_secs(3600);

fn policies(limit: u32, window: Duration) -> [RateLimitPolicy; 3] {
    [
        RateLimitPolicy::gcra(limit, window),
        RateLimitPolicy::fixed_window(limit, window),
        RateLimitPolicy::sliding_log(limit, window),
    ]
}

fn limiter(policy: RateLimitPolicy, backend: &RedisBackend) -> RateLimiter {
    // Closed: a Redis error must fail the test, not pass as "allowed".
    RateLimiter::new(policy)
        .backend(backend.clone())
        .failure_mode(FailureMode::Closed)
        .timeout(Duration::from_secs(10))
}

// ------------------------------------------------------------------ the #[rate_limited] suite

// The `#[rate_limited]` behaviour suite, unchanged, on Redis (real time: a few seconds).
suite_on_redis!(
    exactly_limit_under_concurrency,
    windows_roll_over,
    wait_for_a_slot,
    method_keys_use_self,
    composes_with_cached,
);

// ------------------------------------------------------------------ exactness

async fn two_hundred_concurrent_checks_admit_exactly_ten(backend: &RedisBackend) {
    for policy in policies(10, HOUR) {
        let limiter = Arc::new(limiter(policy, backend));
        let barrier = Arc::new(tokio::sync::Barrier::new(200));
        let calls: Vec<_> = (0..200)
            .map(|_| {
                let limiter = Arc::clone(&limiter);
                let barrier = Arc::clone(&barrier);
                tokio::spawn(async move {
                    barrier.wait().await;
                    limiter.check("search:7").await.expect("a decision")
                })
            })
            .collect();
        let mut allowed = 0;
        for call in calls {
            let decision = call.await.unwrap();
            assert_eq!(decision.limit(), 10);
            if decision.allowed() {
                allowed += 1;
            } else {
                assert_eq!(decision.remaining(), 0, "{policy:?}");
                assert!(decision.retry_after() > Duration::ZERO, "{policy:?}");
            }
        }
        assert_eq!(allowed, 10, "{policy:?}");
        // Another key (on a Cluster, most likely another slot) has its own budget.
        assert!(limiter.check("search:8").await.unwrap().allowed());
        let peek = limiter.check_n("search:7", 0).await.unwrap();
        assert_eq!((peek.allowed(), peek.remaining()), (true, 0), "{policy:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_ten_of_two_hundred_standalone() {
    let Some(server) = shared_server() else {
        return;
    };
    let backend = server.backend(&unique_prefix("rl_exact")).await;
    two_hundred_concurrent_checks_admit_exactly_ten(&backend).await;
    backend.clear().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_ten_of_two_hundred_cluster() {
    let Some(cluster) = shared_cluster() else {
        return;
    };
    let backend = cluster.backend(&unique_prefix("rl_exact")).await;
    two_hundred_concurrent_checks_admit_exactly_ten(&backend).await;
    backend.clear().await.unwrap();
}

/// Concurrent calls of different costs never take more than the budget, and what was taken
/// plus what a peek reports is the budget.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_costs_never_overdraw() {
    let Some(server) = shared_server() else {
        return;
    };
    let backend = server.backend(&unique_prefix("rl_costs")).await;
    for policy in policies(100, HOUR) {
        let calls: Vec<_> = (0..150_u32)
            .map(|i| {
                let backend = backend.clone();
                tokio::spawn(async move {
                    let cost = 1 + i % 7;
                    let key = format!("k:{}", policy.algorithm());
                    let decision = backend.rate_limit(&key, &policy, cost).await.unwrap();
                    if decision.allowed() { cost } else { 0 }
                })
            })
            .collect();
        let mut taken = 0;
        for call in calls {
            taken += call.await.unwrap();
        }
        let key = format!("k:{}", policy.algorithm());
        let left = backend
            .rate_limit(&key, &policy, 0)
            .await
            .unwrap()
            .remaining();
        assert!(taken <= 100, "{policy:?}: {taken} taken");
        assert_eq!(taken + left, 100, "{policy:?}");
    }
    backend.clear().await.unwrap();
}

// ------------------------------------------------------------------ windows

/// A full budget at once, a denial, then after `reset_after` (300 ms of real time on the
/// server's clock) the full budget again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_windows_roll_over() {
    let Some(server) = shared_server() else {
        return;
    };
    let backend = server.backend(&unique_prefix("rl_roll")).await;
    let window = Duration::from_millis(300);
    let runs = policies(3, window).map(|policy| {
        let limiter = limiter(policy, &backend);
        tokio::spawn(async move {
            for round in 0..2 {
                let full = limiter.check_n("roll", 3).await.unwrap();
                assert!(full.allowed(), "{policy:?} round {round}");
                assert_eq!(full.remaining(), 0);
                assert!(
                    full.reset_after() > Duration::ZERO && full.reset_after() <= window,
                    "{policy:?}: {:?}",
                    full.reset_after()
                );
                let denied = limiter.check("roll").await.unwrap();
                assert!(!denied.allowed(), "{policy:?} round {round}: budget spent");
                assert!(
                    denied.retry_after() > Duration::ZERO && denied.retry_after() <= window,
                    "{policy:?}: {:?}",
                    denied.retry_after()
                );
                tokio::time::sleep(full.reset_after() + Duration::from_millis(20)).await;
            }
            let fresh = limiter.check_n("roll", 0).await.unwrap();
            assert_eq!(fresh.remaining(), 3, "{policy:?}: full again");
            assert_eq!(fresh.reset_after(), Duration::ZERO, "{policy:?}");
        })
    });
    for run in runs {
        run.await.unwrap();
    }
    // Idle state is gone once the window has passed (TTL in whole ms, rounded up).
    tokio::time::sleep(Duration::from_millis(50)).await;
    for algorithm in ["gcra", "fixed_window", "sliding_log"] {
        let key = format!("rl:{algorithm}:roll");
        assert!(!backend.exists(&key).await.unwrap(), "{key} expired");
    }
}

// ------------------------------------------------------------------ scripts == Rust

/// A small seeded PRNG (xorshift64), so a failing sequence can be replayed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound
    }
}

/// The pure Rust algorithm with its own state, fed the server's arrival times.
enum Model {
    Gcra(gcra::Gcra, Option<u64>),
    FixedWindow(WindowParams, Option<fixed_window::WindowState>),
    SlidingLog(WindowParams, VecDeque<u64>),
}

impl Model {
    fn new(policy: &RateLimitPolicy) -> Self {
        match policy.algorithm() {
            Algorithm::Gcra => Self::Gcra(gcra::Gcra::from_policy(policy).unwrap(), None),
            Algorithm::FixedWindow => {
                Self::FixedWindow(WindowParams::from_policy(policy).unwrap(), None)
            }
            _ => Self::SlidingLog(WindowParams::from_policy(policy).unwrap(), VecDeque::new()),
        }
    }

    fn decide(&mut self, now_us: u64, cost: u32) -> RateLimitDecision {
        match self {
            Self::Gcra(params, tat) => {
                let outcome = gcra::decide(*tat, now_us, params, cost).unwrap();
                if let Some((new_tat, _)) = outcome.write {
                    *tat = Some(new_tat);
                }
                outcome.decision
            }
            Self::FixedWindow(params, state) => {
                let outcome = fixed_window::decide(*state, now_us, params, cost).unwrap();
                if let Some((new_state, _)) = outcome.write {
                    *state = Some(new_state);
                }
                outcome.decision
            }
            Self::SlidingLog(params, log) => {
                sliding_log::decide(log, now_us, params, cost)
                    .unwrap()
                    .decision
            }
        }
    }
}

/// Random arrival sequences (random policies, costs including 0-cost peeks, random gaps)
/// decided by Redis, each replayed into the pure Rust `decide` with Rust-side state: every
/// decision must be identical.
///
/// Why replay: the scripts read the *server's* clock (`TIME`) inside the script, and that is
/// the only arrival time that counts. A client-side timestamp taken before or after the round
/// trip would differ from it by the network and scheduling delay, enough to flip decisions
/// near a boundary. Each reply carries the server's `now_us`, so feeding exactly that instant
/// to the Rust function gives both implementations the identical arrival sequence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripts_decide_like_the_rust_algorithms() {
    let Some(server) = shared_server() else {
        return;
    };
    let backend = server.backend(&unique_prefix("rl_replay")).await;
    let runs = [Algorithm::Gcra, Algorithm::FixedWindow, Algorithm::SlidingLog]
        .into_iter()
        .enumerate()
        .map(|(index, algorithm)| {
            let backend = backend.clone();
            tokio::spawn(async move {
                let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (index as u64 + 1));
                let (mut decisions, mut allowed, mut denied, mut peeks) = (0, 0, 0, 0);
                for round in 0..4 {
                    let limit = 1 + rng.below(6) as u32;
                    let window = Duration::from_millis(20 + rng.below(60));
                    let policy = match algorithm {
                        Algorithm::Gcra => RateLimitPolicy::gcra(limit, window)
                            .burst(1 + rng.below(5) as u32),
                        Algorithm::FixedWindow => RateLimitPolicy::fixed_window(limit, window),
                        _ => RateLimitPolicy::sliding_log(limit, window),
                    };
                    let key = format!("replay:{algorithm}:{round}");
                    let mut model = Model::new(&policy);
                    for call in 0..90 {
                        let cost = match rng.below(10) {
                            0 => 0,
                            1 | 2 => rng.below(u64::from(policy.capacity()) + 1) as u32,
                            _ => 1,
                        };
                        let (got, at) = backend
                            .rate_limit_at_server_time(&key, &policy, cost)
                            .await
                            .unwrap();
                        let now_us =
                            u64::try_from(at.duration_since(UNIX_EPOCH).unwrap().as_micros())
                                .unwrap();
                        let want = model.decide(now_us, cost);
                        assert_eq!(
                            got, want,
                            "{policy:?} call {call} cost {cost} at {now_us} µs"
                        );
                        decisions += 1;
                        peeks += u32::from(cost == 0);
                        if got.allowed() {
                            allowed += 1;
                        } else {
                            denied += 1;
                        }
                        if rng.below(4) > 0 {
                            let gap = rng.below(window.as_micros() as u64 / 2);
                            tokio::time::sleep(Duration::from_micros(gap)).await;
                        }
                    }
                }
                assert!(
                    allowed > 0 && denied > 0 && peeks > 0,
                    "{algorithm}: {allowed} allowed, {denied} denied, {peeks} peeks"
                );
                eprintln!(
                    "{algorithm}: {decisions} decisions identical ({allowed} allowed, {denied} denied, {peeks} peeks)"
                );
                decisions
            })
        })
        .collect::<Vec<_>>();
    let mut total = 0;
    for run in runs {
        total += run.await.unwrap();
    }
    assert_eq!(total, 3 * 4 * 90);
    backend.clear().await.unwrap();
}

// ------------------------------------------------------------------ two processes

const WORKER_URL: &str = "CACHE_RL_WORKER_URL";
const WORKER_PREFIX: &str = "CACHE_RL_WORKER_PREFIX";
const WORKER_LINE: &str = "rl-worker allowed";
const SHARED_LIMIT: u32 = 30;
const CHECKS_PER_PROCESS: usize = 100;

/// Both processes arrive at the Redis counter `name`, then wait until the other has too.
async fn barrier(backend: &RedisBackend, name: &str) {
    let ttl = Duration::from_secs(60);
    let mut seen = backend.increment_with_ttl(name, 1, ttl).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while seen < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the other process never reached {name}"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
        seen = backend.increment_with_ttl(name, 0, ttl).await.unwrap();
    }
}

/// The work both processes do: for each algorithm, meet the other process at a barrier, then
/// run [`CHECKS_PER_PROCESS`] checks (4 tasks at a time) against one shared key. Returns the
/// allowed count per algorithm.
async fn share_one_budget(backend: &RedisBackend) -> [u32; 3] {
    let mut counts = [0; 3];
    for (count, policy) in counts.iter_mut().zip(policies(SHARED_LIMIT, HOUR)) {
        barrier(backend, &format!("barrier:{}", policy.algorithm())).await;
        let limiter = Arc::new(limiter(policy, backend));
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let limiter = Arc::clone(&limiter);
                tokio::spawn(async move {
                    let mut allowed = 0;
                    for _ in 0..CHECKS_PER_PROCESS / 4 {
                        allowed += u32::from(limiter.check("shared").await.unwrap().allowed());
                    }
                    allowed
                })
            })
            .collect();
        for task in tasks {
            *count += task.await.unwrap();
        }
    }
    counts
}

/// Two OS processes sharing one Redis never admit more than the limit together. The child is
/// this test binary again, running this same test in worker mode (selected by an environment
/// variable); it prints its allowed counts on one line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_one_budget() {
    if let (Some(url), Some(prefix)) = (
        std::env::var_os(WORKER_URL),
        std::env::var_os(WORKER_PREFIX),
    ) {
        let config = RedisConfig::from_url(url.to_str().unwrap())
            .unwrap()
            .key_prefix(prefix.to_str().unwrap())
            .response_timeout(Duration::from_secs(3));
        let backend = RedisBackend::connect(config).await.unwrap();
        let [a, b, c] = share_one_budget(&backend).await;
        println!("{WORKER_LINE} {a} {b} {c}");
        return;
    }
    let Some(server) = shared_server() else {
        return;
    };
    let prefix = unique_prefix("rl_two_procs");
    let backend = server.backend(&prefix).await;
    let child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "two_processes_share_one_budget",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(WORKER_URL, server.url())
        .env(WORKER_PREFIX, &prefix)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn the worker process");
    let child_pid = child.id();
    let ours = share_one_budget(&backend).await;
    let output = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "worker {child_pid} failed:\n{stdout}"
    );
    let theirs: Vec<u32> = stdout
        .lines()
        .find_map(|line| line.split_once(WORKER_LINE).map(|(_, counts)| counts))
        .unwrap_or_else(|| panic!("no `{WORKER_LINE}` line from the worker:\n{stdout}"))
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    for (index, algorithm) in ["gcra", "fixed_window", "sliding_log"].iter().enumerate() {
        assert_eq!(
            ours[index] + theirs[index],
            SHARED_LIMIT,
            "{algorithm}: parent {} + child {}",
            ours[index],
            theirs[index]
        );
        // Both really competed (with 100 checks each, the first to arrive could in principle
        // take all 30; it is the total that must hold).
        eprintln!(
            "{algorithm}: parent {} + child {} = {SHARED_LIMIT}",
            ours[index], theirs[index]
        );
    }
    backend.clear().await.unwrap();
}

// ------------------------------------------------------------------ SCRIPT FLUSH

/// Checks from 8 tasks while the script cache is flushed 10 times: every decision still comes
/// back, and the budget is still exact (`NOSCRIPT` means nothing ran, so the reload never
/// charges twice).
async fn survives_script_flush(backend: RedisBackend, flush: impl Fn() + Send + Sync + 'static) {
    let flush = Arc::new(flush);
    for policy in policies(50, HOUR) {
        let limiter = Arc::new(limiter(policy, &backend));
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let limiter = Arc::clone(&limiter);
                tokio::spawn(async move {
                    let mut allowed = 0;
                    for _ in 0..30 {
                        allowed += u32::from(limiter.check("flushed").await.unwrap().allowed());
                    }
                    allowed
                })
            })
            .collect();
        for _ in 0..10 {
            let flush = Arc::clone(&flush);
            tokio::task::spawn_blocking(move || flush()).await.unwrap();
            tokio::time::sleep(Duration::from_millis(3)).await;
        }
        let mut allowed = 0;
        for task in tasks {
            allowed += task
                .await
                .expect("decisions kept working across SCRIPT FLUSH");
        }
        assert_eq!(allowed, 50, "{policy:?}");
    }
    backend.clear().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn script_flush_mid_run_standalone() {
    let Some(server) = shared_server() else {
        return;
    };
    let backend = server.backend(&unique_prefix("rl_flush")).await;
    survives_script_flush(backend, move || {
        server.cli(&["SCRIPT", "FLUSH"]);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn script_flush_mid_run_cluster() {
    let Some(cluster) = shared_cluster() else {
        return;
    };
    let backend = cluster.backend(&unique_prefix("rl_flush")).await;
    survives_script_flush(backend, move || {
        for node in cluster.nodes() {
            node.cli(&["SCRIPT", "FLUSH"]);
        }
    })
    .await;
}

// ------------------------------------------------------------------ errors and storage

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_and_stored_state() {
    let Some(server) = shared_server() else {
        return;
    };
    let prefix = unique_prefix("rl_errors");
    let backend = server.backend(&prefix).await;
    let policy = RateLimitPolicy::gcra(10, Duration::from_secs(60)).burst(3);

    // Refused before anything is sent.
    let too_costly = backend.rate_limit("k", &policy, 4).await.unwrap_err();
    assert_eq!(too_costly.kind(), ErrorKind::InvalidInput);
    let invalid = RateLimitPolicy::fixed_window(0, Duration::from_secs(1));
    assert_eq!(
        backend
            .rate_limit("k", &invalid, 1)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Config
    );
    assert!(!backend.exists("k").await.unwrap());

    // The state: one prefixed key with a TTL no longer than the time it matters.
    let decision = backend.rate_limit("k", &policy, 2).await.unwrap();
    assert!(decision.allowed());
    assert_eq!((decision.limit(), decision.remaining()), (3, 1));
    let pttl: i64 = server
        .cli(&["PTTL", &format!("{prefix}k")])
        .trim()
        .parse()
        .unwrap();
    assert!((1..=12_000).contains(&pttl), "PTTL {pttl}");

    // A key holding something else is a backend error, not a decision.
    backend
        .set("text", Bytes::from_static(b"hello"), None)
        .await
        .unwrap();
    let wrong = backend.rate_limit("text", &policy, 1).await.unwrap_err();
    assert_eq!(wrong.kind(), ErrorKind::Backend, "{wrong}");
    assert!(wrong.to_string().contains("gcra"), "{wrong}");
    let wrong_type = backend
        .rate_limit("text", &RateLimitPolicy::sliding_log(3, HOUR), 1)
        .await
        .unwrap_err();
    assert_eq!(wrong_type.kind(), ErrorKind::WrongType, "{wrong_type}");
    backend.clear().await.unwrap();
}
