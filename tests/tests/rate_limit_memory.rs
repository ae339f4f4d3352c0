//! Rate limiting on the in-memory backend: exactness under concurrency, windows rolling over on
//! tokio's paused clock, the strict mode on random arrivals, `until_ready`, failure modes.
#![allow(clippy::unwrap_used, clippy::panic, missing_docs)]

use std::sync::Arc;
use std::time::Duration;

use cache_core::layer::Prefix;
use cache_core::rate_limit::{
    Algorithm, FailureMode, RateLimitDecision, RateLimitPolicy, RateLimiter,
};
use cache_core::testing::{Fault, Faults, Operation};
use cache_core::{
    Bytes, CacheBackend, ErrorKind, KeyTtl, MemoryBackend, RateLimitStore, with_backend,
};
use cache_tests::bare::Bare;
use tokio::time::{Instant, advance};

const MINUTE: Duration = Duration::from_secs(60);
/// Long enough that no cell comes back while a real-time test runs.
const HOUR: Duration = Duration::from_secs(3600);

fn policies(limit: u32, window: Duration) -> [RateLimitPolicy; 3] {
    [
        RateLimitPolicy::gcra(limit, window),
        RateLimitPolicy::fixed_window(limit, window),
        RateLimitPolicy::sliding_log(limit, window),
    ]
}

// ------------------------------------------------------------------ exactness

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_calls_limit_ten_admit_exactly_ten() {
    for policy in policies(10, HOUR) {
        let backend = MemoryBackend::new();
        let limiter = Arc::new(RateLimiter::new(policy).backend(backend.clone()));
        let barrier = Arc::new(tokio::sync::Barrier::new(200));
        let calls: Vec<_> = (0..200)
            .map(|_| {
                let limiter = Arc::clone(&limiter);
                let barrier = Arc::clone(&barrier);
                tokio::spawn(async move {
                    barrier.wait().await;
                    limiter.check("search:7").await.unwrap()
                })
            })
            .collect();
        let mut allowed = 0;
        for call in calls {
            let decision = call.await.unwrap();
            assert_eq!(decision.limit(), 10);
            allowed += u32::from(decision.allowed());
        }
        assert_eq!(allowed, 10, "{policy:?}");
        // Another key has its own budget.
        assert!(limiter.check("search:8").await.unwrap().allowed());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_costs_never_overdraw() {
    for policy in policies(100, HOUR) {
        let backend = MemoryBackend::new();
        let calls: Vec<_> = (0..200_u32)
            .map(|i| {
                let backend = backend.clone();
                tokio::spawn(async move {
                    let cost = 1 + i % 7;
                    let decision = backend.rate_limit("k", &policy, cost).await.unwrap();
                    if decision.allowed() { cost } else { 0 }
                })
            })
            .collect();
        let mut taken = 0;
        for call in calls {
            taken += call.await.unwrap();
        }
        let left = backend
            .rate_limit("k", &policy, 0)
            .await
            .unwrap()
            .remaining();
        assert!(taken <= 100, "{policy:?}: {taken} taken");
        assert_eq!(taken + left, 100, "{policy:?}: taken and remaining add up");
    }
}

// ------------------------------------------------------------------ windows on paused time

#[tokio::test(start_paused = true)]
async fn fixed_window_rolls_over() {
    let limiter =
        RateLimiter::new(RateLimitPolicy::fixed_window(10, MINUTE)).backend(MemoryBackend::new());
    for remaining in (0..10).rev() {
        assert_eq!(limiter.check("u").await.unwrap().remaining(), remaining);
    }
    advance(Duration::from_secs(45)).await;
    let denied = limiter.check("u").await.unwrap();
    assert!(!denied.allowed());
    assert_eq!(denied.retry_after(), Duration::from_secs(15));
    assert_eq!(denied.reset_after(), Duration::from_secs(15));
    advance(Duration::from_secs(15) - Duration::from_micros(1)).await;
    assert!(
        !limiter.check("u").await.unwrap().allowed(),
        "1 µs before the window ends"
    );
    advance(Duration::from_micros(1)).await;
    let next = limiter.check("u").await.unwrap();
    assert!(next.allowed(), "the next window starts at the window's end");
    assert_eq!((next.remaining(), next.reset_after()), (9, MINUTE));
}

#[tokio::test(start_paused = true)]
async fn sliding_log_rolls_over_entry_by_entry() {
    let limiter =
        RateLimiter::new(RateLimitPolicy::sliding_log(3, MINUTE)).backend(MemoryBackend::new());
    for _ in 0..2 {
        assert!(limiter.check("u").await.unwrap().allowed());
    }
    advance(Duration::from_secs(20)).await;
    assert!(limiter.check("u").await.unwrap().allowed());
    let denied = limiter.check("u").await.unwrap();
    assert_eq!(
        denied,
        RateLimitDecision::denied(3, 0, Duration::from_secs(40), MINUTE)
    );
    advance(Duration::from_secs(40)).await;
    // The two entries from t = 0 have left, the one from t = 20 s has not.
    assert_eq!(limiter.check_n("u", 0).await.unwrap().remaining(), 2);
    assert!(limiter.check_n("u", 2).await.unwrap().allowed());
    assert!(!limiter.check("u").await.unwrap().allowed());
}

#[tokio::test(start_paused = true)]
async fn gcra_remaining_and_retry_after_numbers() {
    // 10 per minute: one cell every 6 s; burst 4.
    let limiter =
        RateLimiter::new(RateLimitPolicy::gcra(10, MINUTE).burst(4)).backend(MemoryBackend::new());
    for (remaining, reset) in [(3, 6), (2, 12), (1, 18), (0, 24)] {
        let decision = limiter.check("u").await.unwrap();
        assert!(decision.allowed());
        assert_eq!(decision.remaining(), remaining);
        assert_eq!(decision.reset_after(), Duration::from_secs(reset));
    }
    let denied = limiter.check("u").await.unwrap();
    assert_eq!(
        denied,
        RateLimitDecision::denied(4, 0, Duration::from_secs(6), Duration::from_secs(24))
    );
    advance(Duration::from_secs(13)).await;
    // Two cells are back (at 6 s and 12 s); a cost of 3 waits for the third, at 18 s.
    let three = limiter.check_n("u", 3).await.unwrap();
    assert_eq!(
        (three.allowed(), three.remaining(), three.retry_after()),
        (false, 2, Duration::from_secs(5))
    );
    assert!(limiter.check_n("u", 2).await.unwrap().allowed());
    assert_eq!(
        limiter.check_n("u", 5).await.unwrap_err().kind(),
        ErrorKind::InvalidInput,
        "a cost over the burst can never pass"
    );
}

#[tokio::test(start_paused = true)]
async fn idle_state_expires_and_is_reclaimed() {
    let backend = MemoryBackend::new();
    for policy in policies(5, Duration::from_secs(10)) {
        let limiter = RateLimiter::new(policy).backend(backend.clone());
        let decision = limiter.check_n("idle", 3).await.unwrap();
        let key = limiter.key("idle");
        assert_eq!(
            backend.ttl(key.as_str()).await.unwrap(),
            KeyTtl::ExpiresIn(decision.reset_after()),
            "{policy:?}: the state lives exactly until the limiter is full again"
        );
    }
    assert_eq!(backend.len(), 3);
    advance(Duration::from_secs(10)).await;
    assert_eq!(backend.purge_expired(), 3);
    assert!(backend.is_empty());
    // A stale limiter and a fresh one decide alike.
    let limiter = RateLimiter::new(RateLimitPolicy::gcra(5, Duration::from_secs(10)))
        .backend(backend.clone());
    assert_eq!(limiter.check("idle").await.unwrap().remaining(), 4);
}

// ------------------------------------------------------------------ strict mode, random arrivals

/// SplitMix64, so a failure can be replayed from its seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % bound
    }
}

#[tokio::test(start_paused = true)]
async fn strict_mode_never_admits_more_than_limit_in_any_window() {
    let start = Instant::now();
    for seed in 0..40 {
        let mut rng = Rng(seed);
        let limit = 1 + u32::try_from(rng.below(8)).unwrap();
        let window = Duration::from_micros(1_000 + rng.below(100_000));
        let limiter = RateLimiter::new(RateLimitPolicy::sliding_log(limit, window))
            .backend(MemoryBackend::new())
            .failure_mode(FailureMode::Closed);
        let mut admitted: Vec<Instant> = Vec::new();
        for _ in 0..300 {
            let gap = match rng.below(4) {
                0 => 0,
                1 => rng.below(50),
                _ => rng.below(u64::try_from(window.as_micros()).unwrap() / 2),
            };
            advance(Duration::from_micros(gap)).await;
            let now = Instant::now();
            let decision = limiter.check("k").await.unwrap();
            // Independently of the limiter: admissions in (now − window, now].
            let in_window = admitted.iter().filter(|&&at| at + window > now).count();
            assert_eq!(
                decision.allowed(),
                in_window < limit as usize,
                "seed {seed} at {:?}: {in_window} in window, limit {limit}",
                now - start
            );
            if decision.allowed() {
                admitted.push(now);
            }
        }
        let n = limit as usize;
        for span in admitted.windows(n + 1) {
            assert!(
                span[n] - span[0] >= window,
                "seed {seed}: {} admitted within {:?} (limit {limit} per {window:?})",
                n + 1,
                span[n] - span[0]
            );
        }
    }
}

// ------------------------------------------------------------------ until_ready

#[tokio::test(start_paused = true)]
async fn until_ready_waits_for_the_slot_within_the_bound() {
    let limiter = RateLimiter::new(RateLimitPolicy::fixed_window(2, Duration::from_secs(1)))
        .backend(MemoryBackend::new());
    limiter.check_n("job", 2).await.unwrap();
    advance(Duration::from_millis(300)).await;

    // Too short a bound: gives up at once, without sleeping.
    let before = Instant::now();
    let gave_up = limiter
        .until_ready("job", Duration::from_millis(500))
        .await
        .unwrap();
    assert!(!gave_up.allowed());
    assert_eq!(gave_up.retry_after(), Duration::from_millis(700));
    assert_eq!(Instant::now(), before);

    // A long enough bound: waits exactly until the window ends, then passes.
    let decision = limiter
        .until_ready("job", Duration::from_secs(5))
        .await
        .unwrap();
    assert!(decision.allowed());
    assert_eq!(Instant::now() - before, Duration::from_millis(700));
}

#[tokio::test(start_paused = true)]
async fn until_ready_serves_waiters_one_cell_at_a_time() {
    // GCRA, one cell per 100 ms, burst 1: five waiters pass 100 ms apart.
    let limiter = Arc::new(
        RateLimiter::new(RateLimitPolicy::gcra(10, Duration::from_secs(1)).burst(1))
            .backend(MemoryBackend::new()),
    );
    let start = Instant::now();
    let waiters: Vec<_> = (0..5)
        .map(|_| {
            let limiter = Arc::clone(&limiter);
            tokio::spawn(async move {
                let decision = limiter
                    .until_ready("q", Duration::from_secs(10))
                    .await
                    .unwrap();
                assert!(decision.allowed());
                Instant::now() - start
            })
        })
        .collect();
    let mut passed = Vec::new();
    for waiter in waiters {
        passed.push(waiter.await.unwrap());
    }
    passed.sort();
    let expected: Vec<_> = (0..5).map(|i| Duration::from_millis(100 * i)).collect();
    assert_eq!(passed, expected);
}

// ------------------------------------------------------------------ failure modes

#[tokio::test]
async fn fails_open_by_default_and_closed_on_request() {
    let policy = RateLimitPolicy::sliding_log(5, MINUTE);
    let open = RateLimiter::new(policy).backend(Faults::down().wrap(MemoryBackend::new()));
    for _ in 0..20 {
        let decision = open.check_n("k", 2).await.unwrap();
        assert_eq!(decision, RateLimitDecision::admitted(5, 3, Duration::ZERO));
    }
    let closed = RateLimiter::new(policy)
        .backend(Faults::down().wrap(MemoryBackend::new()))
        .failure_mode(FailureMode::Closed);
    assert_eq!(
        closed.check("k").await.unwrap_err().kind(),
        ErrorKind::Connection
    );
    assert_eq!(
        closed.until_ready("k", MINUTE).await.unwrap_err().kind(),
        ErrorKind::Connection,
        "until_ready does not wait on a failing backend"
    );
}

#[tokio::test]
async fn bad_policy_and_cost_are_errors_in_every_mode() {
    for mode in [FailureMode::Open, FailureMode::Closed] {
        let zero = RateLimiter::new(RateLimitPolicy::gcra(0, MINUTE))
            .backend(Faults::down().wrap(MemoryBackend::new()))
            .failure_mode(mode);
        assert_eq!(zero.check("k").await.unwrap_err().kind(), ErrorKind::Config);
        let fine = RateLimiter::new(RateLimitPolicy::gcra(3, MINUTE))
            .backend(Faults::down().wrap(MemoryBackend::new()))
            .failure_mode(mode);
        assert_eq!(
            fine.check_n("k", 4).await.unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    }
    // The backend validates too, for callers that bypass the limiter.
    let memory = MemoryBackend::new();
    let bad = RateLimitPolicy::fixed_window(3, Duration::ZERO);
    assert_eq!(
        memory.rate_limit("k", &bad, 1).await.unwrap_err().kind(),
        ErrorKind::Config
    );
    let fine = RateLimitPolicy::fixed_window(3, MINUTE);
    assert_eq!(
        memory.rate_limit("k", &fine, 4).await.unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
}

#[tokio::test(start_paused = true)]
async fn a_slow_backend_times_out_into_the_failure_mode() {
    let policy = RateLimitPolicy::gcra(1, MINUTE);
    let open = RateLimiter::new(policy)
        .backend(
            Faults::new()
                .always(&[Operation::RateLimit], Fault::Hang)
                .wrap(MemoryBackend::new()),
        )
        .timeout(Duration::from_millis(50));
    let before = Instant::now();
    assert!(open.check("k").await.unwrap().allowed());
    assert_eq!(Instant::now() - before, Duration::from_millis(50));
    let closed = open.clone().failure_mode(FailureMode::Closed);
    assert_eq!(
        closed.check("k").await.unwrap_err().kind(),
        ErrorKind::Timeout
    );
}

#[tokio::test]
async fn a_backend_without_rate_limiting_is_unsupported() {
    let backend = Bare(MemoryBackend::new());
    let policy = RateLimitPolicy::gcra(1, MINUTE);
    assert!(backend.rate_limits().is_none());
    let closed = RateLimiter::new(policy)
        .backend(backend)
        .failure_mode(FailureMode::Closed);
    assert_eq!(
        closed.check("k").await.unwrap_err().kind(),
        ErrorKind::Unsupported
    );
}

#[tokio::test]
async fn a_check_polled_after_it_completed_takes_no_second_decision() {
    let policy = RateLimitPolicy::gcra(5, MINUTE);
    let in_process = RateLimiter::new(policy).backend(MemoryBackend::new());
    // Answers through the awaited `rate_limit`, not `try_rate_limit`.
    let awaited = RateLimiter::new(policy).backend(
        Faults::new()
            .always(Operation::READS, Fault::Error(ErrorKind::Connection))
            .wrap(MemoryBackend::new()),
    );
    for limiter in [in_process, awaited] {
        let mut check = std::pin::pin!(limiter.check("k"));
        let first = std::future::poll_fn(|cx| check.as_mut().poll(cx)).await;
        assert_eq!(first.unwrap().remaining(), 4);
        // A completed `async fn` refuses to run again (it panics): no second decision.
        let waker = std::task::Waker::noop();
        let again = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = check
                .as_mut()
                .poll(&mut std::task::Context::from_waker(waker));
        }));
        assert!(again.is_err());
        assert_eq!(limiter.check_n("k", 0).await.unwrap().remaining(), 4);
    }
}

// ------------------------------------------------------------------ keys and backends

#[tokio::test]
async fn keys_are_namespaced_escaped_and_prefixed() {
    let store = MemoryBackend::new();
    let limiter = RateLimiter::new(RateLimitPolicy::gcra(5, MINUTE))
        .backend(Prefix::new("app:", store.clone()));
    assert_eq!(limiter.key("a:b*").as_str(), "rl:gcra:a%3Ab%2A");
    assert_eq!(limiter.key(&7_u64).as_str(), "rl:gcra:7");
    limiter.check("a:b*").await.unwrap();
    assert!(store.exists("app:rl:gcra:a%3Ab%2A").await.unwrap());
    // Injective: ("x:y") and ("x", then ":y" literal) never share a budget.
    let custom = RateLimiter::new(RateLimitPolicy::sliding_log(5, MINUTE))
        .backend(store.clone())
        .namespace("limits/");
    assert_eq!(custom.key("x:y").as_str(), "limits/sliding_log:x%3Ay");
    // `delete` resets a limiter.
    limiter.check_n("reset", 5).await.unwrap();
    assert!(!limiter.check("reset").await.unwrap().allowed());
    store.delete("app:rl:gcra:reset").await.unwrap();
    assert!(limiter.check("reset").await.unwrap().allowed());
}

#[tokio::test]
async fn the_default_backend_follows_with_backend() {
    let scoped = MemoryBackend::new();
    let limiter = RateLimiter::new(RateLimitPolicy::fixed_window(1, MINUTE));
    let key = limiter.key("scoped").into_string();
    let first = with_backend(scoped.clone(), limiter.check("scoped"))
        .await
        .unwrap();
    assert!(first.allowed());
    assert!(scoped.exists(&key).await.unwrap());
    let second = with_backend(scoped.clone(), limiter.check("scoped"))
        .await
        .unwrap();
    assert!(!second.allowed());
}

#[tokio::test]
async fn foreign_state_is_a_backend_error() {
    let memory = MemoryBackend::new();
    memory
        .set("taken", Bytes::from_static(b"{}"), None)
        .await
        .unwrap();
    let policy = RateLimitPolicy::gcra(1, MINUTE);
    let err = memory.rate_limit("taken", &policy, 1).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Backend);
    // The same key under two algorithms, as Redis would answer WRONGTYPE.
    memory.rate_limit("k", &policy, 1).await.unwrap();
    let other = RateLimitPolicy::new(Algorithm::SlidingLog, 1, MINUTE);
    assert_eq!(
        memory.rate_limit("k", &other, 1).await.unwrap_err().kind(),
        ErrorKind::WrongType
    );
    // And the stored value is untouched.
    assert_eq!(
        memory.get("taken").await.unwrap().as_deref(),
        Some(&b"{}"[..])
    );
}
