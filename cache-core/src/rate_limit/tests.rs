#![allow(clippy::unwrap_used, clippy::panic)]

use std::collections::VecDeque;
use std::time::Duration;

use super::fixed_window::{self, WindowState};
use super::gcra::{self, Gcra};
use super::sliding_log;
use super::{
    Algorithm, DEFAULT_NAMESPACE, RateLimitDecision, RateLimitPolicy, RateLimiter, WindowParams,
};
use crate::ErrorKind;

/// SplitMix64: a tiny seeded PRNG, so a failing sequence can be replayed from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }
}

fn us(decision_part: Duration) -> u64 {
    u64::try_from(decision_part.as_micros()).unwrap()
}

/// The three algorithms behind one interface, with their state, for the shared properties.
#[derive(Clone)]
enum Limiter {
    Gcra(Gcra, Option<u64>),
    Window(WindowParams, Option<WindowState>),
    Log(WindowParams, VecDeque<u64>),
}

impl Limiter {
    fn new(policy: &RateLimitPolicy) -> Self {
        match policy.algorithm() {
            Algorithm::Gcra => Self::Gcra(Gcra::from_policy(policy).unwrap(), None),
            Algorithm::FixedWindow => {
                Self::Window(WindowParams::from_policy(policy).unwrap(), None)
            }
            Algorithm::SlidingLog => {
                Self::Log(WindowParams::from_policy(policy).unwrap(), VecDeque::new())
            }
        }
    }

    /// Decides and applies the outcome, as a backend would.
    fn decide(&mut self, now: u64, cost: u32) -> RateLimitDecision {
        match self {
            Self::Gcra(params, tat) => {
                let outcome = gcra::decide(*tat, now, params, cost).unwrap();
                if let Some((next, ttl)) = outcome.write {
                    assert_eq!(ttl, next - now, "GCRA keeps its state until the TAT");
                    *tat = Some(next);
                }
                outcome.decision
            }
            Self::Window(params, state) => {
                let outcome = fixed_window::decide(*state, now, params, cost).unwrap();
                if let Some((next, ttl)) = outcome.write {
                    assert_eq!(ttl, next.start_us + params.window_us() - now);
                    *state = Some(next);
                }
                outcome.decision
            }
            Self::Log(params, log) => {
                let outcome = sliding_log::decide(log, now, params, cost).unwrap();
                if let Some(((), ttl)) = outcome.write {
                    assert_eq!(ttl, log.back().unwrap() + params.window_us() - now);
                }
                outcome.decision
            }
        }
    }
}

// ---------------------------------------------------------------- GCRA

#[test]
fn gcra_burst_then_one_cell_per_interval() {
    // T = 100 ms, B = 5: the verified Redis scenario of the research note, in exact numbers.
    let params = Gcra::new(100_000, 5).unwrap();
    let mut tat = None;
    for remaining in (0..5).rev() {
        let outcome = gcra::decide(tat, 0, &params, 1).unwrap();
        assert_eq!(
            outcome.decision,
            RateLimitDecision::admitted(
                5,
                remaining,
                Duration::from_micros(u64::from(5 - remaining) * 100_000),
            )
        );
        tat = outcome.write.map(|(next, _)| next);
    }
    assert_eq!(tat, Some(500_000));
    let denied = gcra::decide(tat, 0, &params, 1).unwrap();
    assert!(!denied.decision.allowed());
    assert_eq!(denied.decision.remaining(), 0);
    assert_eq!(us(denied.decision.retry_after()), 100_000);
    assert_eq!(us(denied.decision.reset_after()), 500_000);
    assert_eq!(denied.write, None, "denied calls change nothing");

    // 210 ms later two cells have come back; one is used.
    let later = gcra::decide(tat, 210_000, &params, 1).unwrap();
    assert!(later.decision.allowed());
    assert_eq!(later.decision.remaining(), 1);
    assert_eq!(us(later.decision.reset_after()), 390_000);
    assert_eq!(later.write, Some((600_000, 390_000)));
}

#[test]
fn gcra_cost_peek_and_capacity() {
    let params = Gcra::new(10, 4).unwrap();
    // A peek on no state: full, writes nothing.
    let peek = gcra::decide(None, 1_000, &params, 0).unwrap();
    assert!(peek.decision.allowed());
    assert_eq!(peek.decision.remaining(), 4);
    assert_eq!(peek.decision.reset_after(), Duration::ZERO);
    assert_eq!(peek.write, None);
    // The whole burst at once.
    let all = gcra::decide(None, 1_000, &params, 4).unwrap();
    assert!(all.decision.allowed());
    assert_eq!(all.decision.remaining(), 0);
    assert_eq!(all.write, Some((1_040, 40)));
    // Cost 3 with 1 cell back (15 µs later): denied, passes once 2 more cells are back.
    let denied = gcra::decide(Some(1_040), 1_015, &params, 3).unwrap();
    assert!(!denied.decision.allowed());
    assert_eq!(denied.decision.remaining(), 1);
    assert_eq!(us(denied.decision.retry_after()), 15);
    // More than the burst can never pass.
    let err = gcra::decide(None, 0, &params, 5).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    // A stale TAT decides like no state.
    assert_eq!(
        gcra::decide(Some(3), 1_000, &params, 2).unwrap(),
        gcra::decide(None, 1_000, &params, 2).unwrap()
    );
}

#[test]
fn gcra_never_panics_on_extreme_input() {
    let params = Gcra::new(u64::MAX, u32::MAX).unwrap();
    let _ = gcra::decide(Some(u64::MAX), u64::MAX, &params, u32::MAX).unwrap();
    let _ = gcra::decide(None, 0, &params, 1).unwrap();
    assert!(Gcra::new(0, 1).is_err());
    assert!(Gcra::new(1, 0).is_err());
}

// ---------------------------------------------------------------- fixed window

#[test]
fn fixed_window_counts_and_rolls_over() {
    let params = WindowParams::new(3, 1_000).unwrap();
    let mut limiter = Limiter::Window(params, None);
    let d = limiter.decide(100, 1);
    assert_eq!(
        (d.allowed(), d.remaining(), us(d.reset_after())),
        (true, 2, 1_000)
    );
    let d = limiter.decide(600, 2);
    assert_eq!(
        (d.allowed(), d.remaining(), us(d.reset_after())),
        (true, 0, 500)
    );
    let d = limiter.decide(1_099, 1);
    assert_eq!(
        (
            d.allowed(),
            d.remaining(),
            us(d.retry_after()),
            us(d.reset_after())
        ),
        (false, 0, 1, 1)
    );
    // The window started at the first call (100) and ends at 1 100.
    let d = limiter.decide(1_100, 3);
    assert_eq!(
        (d.allowed(), d.remaining(), us(d.reset_after())),
        (true, 0, 1_000)
    );
}

#[test]
fn fixed_window_does_not_count_denied_calls() {
    let params = WindowParams::new(10, 1_000).unwrap();
    let mut limiter = Limiter::Window(params, None);
    assert!(limiter.decide(0, 8).allowed());
    let d = limiter.decide(1, 3);
    assert!(!d.allowed());
    assert_eq!(d.remaining(), 2);
    assert!(
        limiter.decide(2, 2).allowed(),
        "the denied cost of 3 was not counted"
    );
    assert!(!limiter.decide(3, 1).allowed());
}

#[test]
fn fixed_window_admits_2n_across_a_boundary() {
    // The documented weakness, pinned: N at the end of a window and N at the start of the next.
    let params = WindowParams::new(5, 1_000).unwrap();
    let mut limiter = Limiter::Window(params, None);
    assert!(limiter.decide(0, 1).allowed());
    let mut admitted = 0;
    for now in [999, 999, 999, 999, 1_000, 1_000, 1_000, 1_000, 1_000] {
        admitted += u32::from(limiter.decide(now, 1).allowed());
    }
    assert_eq!(
        admitted, 9,
        "4 at 999 µs and 5 at 1 000 µs: 9 within 2 µs, 10 within one window"
    );
}

#[test]
fn fixed_window_peek_and_capacity() {
    let params = WindowParams::new(2, 50).unwrap();
    let peek = fixed_window::decide(None, 7, &params, 0).unwrap();
    assert_eq!(
        (
            peek.decision.remaining(),
            peek.decision.reset_after(),
            peek.write
        ),
        (2, Duration::ZERO, None)
    );
    let err = fixed_window::decide(None, 7, &params, 3).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let _ = fixed_window::decide(
        Some(WindowState {
            start_us: u64::MAX,
            count: u64::MAX,
        }),
        u64::MAX,
        &params,
        2,
    )
    .unwrap();
}

// ---------------------------------------------------------------- sliding log

#[test]
fn sliding_log_exact_numbers() {
    let params = WindowParams::new(3, 1_000).unwrap();
    let mut log = VecDeque::new();
    for (now, remaining) in [(0, 2), (100, 1), (200, 0)] {
        let d = sliding_log::decide(&mut log, now, &params, 1)
            .unwrap()
            .decision;
        assert_eq!((d.allowed(), d.remaining()), (true, remaining));
    }
    // Cost 2 at 500: the first two entries (0 and 100) must leave: at 1 100.
    let d = sliding_log::decide(&mut log, 500, &params, 2)
        .unwrap()
        .decision;
    assert_eq!(
        (
            d.allowed(),
            d.remaining(),
            us(d.retry_after()),
            us(d.reset_after())
        ),
        (false, 0, 600, 700)
    );
    assert_eq!(log, [0, 100, 200], "denied calls are not logged");
    // At 1 000 the entry at 0 has left: one unit fits, two do not.
    let d = sliding_log::decide(&mut log, 1_000, &params, 2)
        .unwrap()
        .decision;
    assert_eq!((d.allowed(), us(d.retry_after())), (false, 100));
    assert_eq!(
        log,
        [100, 200],
        "expired entries are pruned even when denied"
    );
    let d = sliding_log::decide(&mut log, 1_100, &params, 2)
        .unwrap()
        .decision;
    assert_eq!(
        (d.allowed(), d.remaining(), us(d.reset_after())),
        (true, 0, 1_000)
    );
    assert_eq!(log, [200, 1_100, 1_100]);
}

#[test]
fn sliding_log_peek_capacity_and_unordered_time() {
    let params = WindowParams::new(2, 100).unwrap();
    let mut log = VecDeque::from([50]);
    let peek = sliding_log::decide(&mut log, 60, &params, 0).unwrap();
    assert_eq!(
        (
            peek.decision.remaining(),
            us(peek.decision.reset_after()),
            peek.write
        ),
        (1, 90, None)
    );
    assert_eq!(
        sliding_log::decide(&mut log, 60, &params, 3)
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidInput
    );
    // A clock that steps back still keeps the log sorted, as a sorted set would.
    assert!(
        sliding_log::decide(&mut log, 40, &params, 1)
            .unwrap()
            .decision
            .allowed()
    );
    assert_eq!(log, [40, 50]);
    let _ = sliding_log::decide(&mut VecDeque::from([u64::MAX]), u64::MAX, &params, 2).unwrap();
}

// ---------------------------------------------------------------- properties

/// A random arrival sequence: mostly bursts of calls at the same µs, random gaps on the scale
/// of the window, random costs.
fn arrivals(rng: &mut Rng, window: u64, max_cost: u32, calls: usize) -> Vec<(u64, u32)> {
    let mut now = rng.below(window);
    (0..calls)
        .map(|_| {
            now += match rng.below(4) {
                0 => 0,
                1 => rng.below(window / 8 + 1),
                2 => rng.below(window),
                _ => rng.below(3),
            };
            let cost = if rng.below(5) == 0 {
                1 + rng.below(u64::from(max_cost))
            } else {
                1
            };
            (now, u32::try_from(cost).unwrap())
        })
        .collect()
}

const SEEDS: u64 = 200;

#[test]
fn sliding_log_never_admits_more_than_limit_in_any_window() {
    for seed in 0..SEEDS {
        let mut rng = Rng(seed);
        let limit = 1 + u32::try_from(rng.below(12)).unwrap();
        let window = 1 + rng.below(5_000);
        let policy =
            RateLimitPolicy::new(Algorithm::SlidingLog, limit, Duration::from_micros(window));
        let mut limiter = Limiter::new(&policy);
        let mut admitted: Vec<u64> = Vec::new(); // one entry per admitted unit, sorted
        for (now, cost) in arrivals(&mut rng, window, limit, 400) {
            let decision = limiter.decide(now, cost);
            // Computed independently of the algorithm: units admitted in (now − W, now].
            let in_window = admitted.iter().filter(|&&at| at + window > now).count() as u64;
            let fits = in_window + u64::from(cost) <= u64::from(limit);
            assert_eq!(
                decision.allowed(),
                fits,
                "seed {seed}: at {now} cost {cost}, {in_window} in window"
            );
            if decision.allowed() {
                admitted.extend(std::iter::repeat_n(now, cost as usize));
            }
        }
        let n = limit as usize;
        for pair in admitted.windows(n + 1) {
            assert!(
                pair[n] - pair[0] >= window,
                "seed {seed}: {} admitted within {} µs (limit {limit} per {window} µs)",
                n + 1,
                pair[n] - pair[0]
            );
        }
    }
}

#[test]
fn gcra_admits_at_most_burst_plus_w_over_t_in_any_interval() {
    for seed in 0..SEEDS {
        let mut rng = Rng(seed);
        let burst = 1 + u32::try_from(rng.below(8)).unwrap();
        let t = 1 + rng.below(500);
        let params = Gcra::new(t, burst).unwrap();
        let mut limiter = Limiter::Gcra(params, None);
        let mut admitted: Vec<(u64, u64)> = Vec::new();
        for (now, cost) in arrivals(&mut rng, t * u64::from(burst), burst, 300) {
            if limiter.decide(now, cost).allowed() {
                admitted.push((now, u64::from(cost)));
            }
        }
        for i in 0..admitted.len() {
            let mut total = 0;
            for j in i..admitted.len() {
                total += admitted[j].1;
                let span = admitted[j].0 - admitted[i].0;
                assert!(
                    total <= u64::from(burst) + span / t,
                    "seed {seed}: {total} admitted within [{}, {}] (B {burst}, T {t})",
                    admitted[i].0,
                    admitted[j].0
                );
            }
        }
    }
}

#[test]
fn fixed_window_never_admits_more_than_limit_per_window() {
    for seed in 0..SEEDS {
        let mut rng = Rng(seed);
        let limit = 1 + u32::try_from(rng.below(12)).unwrap();
        let window = 1 + rng.below(5_000);
        let policy = RateLimitPolicy::fixed_window(limit, Duration::from_micros(window));
        let mut limiter = Limiter::new(&policy);
        let (mut start, mut count) = (None::<u64>, 0u64);
        for (now, cost) in arrivals(&mut rng, window, limit, 400) {
            if start.is_none_or(|start| now >= start + window) {
                (start, count) = (Some(now), 0);
            }
            let decision = limiter.decide(now, cost);
            let fits = count + u64::from(cost) <= u64::from(limit);
            assert_eq!(decision.allowed(), fits, "seed {seed}: at {now}");
            if fits {
                count += u64::from(cost);
            }
            assert_eq!(u64::from(decision.remaining()), u64::from(limit) - count);
        }
    }
}

/// For every algorithm: `retry_after` is exactly when the denied call would pass, and
/// `reset_after` exactly when the limiter is full again (if nothing else happens meanwhile).
#[test]
fn retry_after_and_reset_after_are_exact() {
    for seed in 0..SEEDS {
        let mut rng = Rng(seed);
        let limit = 1 + u32::try_from(rng.below(6)).unwrap();
        let window = 2 + rng.below(3_000);
        let window_d = Duration::from_micros(window);
        let policies = [
            RateLimitPolicy::gcra(limit, window_d).burst(1 + u32::try_from(rng.below(6)).unwrap()),
            RateLimitPolicy::fixed_window(limit, window_d),
            RateLimitPolicy::sliding_log(limit, window_d),
        ];
        for policy in policies {
            let capacity = policy.capacity();
            let mut limiter = Limiter::new(&policy);
            for (now, cost) in arrivals(&mut rng, window, capacity, 200) {
                let before = limiter.clone();
                let decision = limiter.decide(now, cost);
                assert_eq!(decision.limit(), capacity);
                let at = |offset: u64, cost: u32| before.clone().decide(now + offset, cost);
                if !decision.allowed() {
                    let retry = us(decision.retry_after());
                    assert!(retry > 0, "seed {seed} {policy:?}: denied with no wait");
                    assert!(
                        at(retry, cost).allowed(),
                        "seed {seed} {policy:?}: not allowed after retry_after"
                    );
                    assert!(
                        !at(retry - 1, cost).allowed(),
                        "seed {seed} {policy:?}: retry_after too long"
                    );
                }
                let after = limiter.clone();
                let reset = us(decision.reset_after());
                let full =
                    |offset: u64| after.clone().decide(now + offset, 0).remaining() == capacity;
                assert!(
                    full(reset),
                    "seed {seed} {policy:?}: not full after reset_after"
                );
                if reset > 0 {
                    assert!(
                        !full(reset - 1),
                        "seed {seed} {policy:?}: reset_after too long"
                    );
                }
            }
        }
    }
}

// ---------------------------------------------------------------- policy

#[test]
fn policy_validation() {
    let second = Duration::from_secs(1);
    let config = |policy: RateLimitPolicy| policy.validate().unwrap_err().kind();
    assert_eq!(config(RateLimitPolicy::gcra(0, second)), ErrorKind::Config);
    assert_eq!(
        config(RateLimitPolicy::gcra(1, Duration::ZERO)),
        ErrorKind::Config
    );
    assert_eq!(
        config(RateLimitPolicy::gcra(1, Duration::from_nanos(999))),
        ErrorKind::Config
    );
    assert_eq!(
        config(RateLimitPolicy::gcra(1, second).burst(0)),
        ErrorKind::Config
    );
    assert_eq!(
        config(RateLimitPolicy::fixed_window(1, second).burst(2)),
        ErrorKind::Config
    );
    assert_eq!(
        config(RateLimitPolicy::sliding_log(1, second).burst(2)),
        ErrorKind::Config
    );
    assert_eq!(
        config(RateLimitPolicy::sliding_log(100_001, second)),
        ErrorKind::Config
    );
    assert_eq!(
        config(RateLimitPolicy::gcra(1, super::MAX_SPAN + second)),
        ErrorKind::Config
    );
    assert_eq!(
        config(RateLimitPolicy::gcra(1, Duration::from_secs(86_400 * 365)).burst(10)),
        ErrorKind::Config,
        "refilling 10 cells at 1 per year exceeds MAX_SPAN"
    );
    RateLimitPolicy::gcra(u32::MAX, second)
        .burst(u32::MAX)
        .validate()
        .unwrap();
    RateLimitPolicy::sliding_log(100_000, second)
        .validate()
        .unwrap();
    RateLimitPolicy::fixed_window(1, super::MAX_SPAN)
        .validate()
        .unwrap();
    assert_eq!(
        RateLimitPolicy::sliding_log(1, second)
            .check_cost(2)
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidInput
    );
}

#[test]
fn policy_numbers() {
    let policy = RateLimitPolicy::gcra(3, Duration::from_secs(1));
    assert_eq!(
        policy.emission_interval(),
        Duration::from_micros(333_334),
        "rounded up"
    );
    assert_eq!(policy.capacity(), 3);
    assert_eq!(policy.burst(7).capacity(), 7);
    assert_eq!(Algorithm::default(), Algorithm::Gcra);
    for algorithm in [
        Algorithm::Gcra,
        Algorithm::FixedWindow,
        Algorithm::SlidingLog,
    ] {
        assert_eq!(algorithm.as_str().parse::<Algorithm>().unwrap(), algorithm);
    }
    assert_eq!(
        "leaky".parse::<Algorithm>().unwrap_err().kind(),
        ErrorKind::Config
    );
}

#[test]
fn rate_limited_error() {
    let decision = RateLimitDecision::denied(
        1,
        0,
        Duration::from_micros(99_138),
        Duration::from_micros(499_138),
    );
    let err = decision.into_result().unwrap_err();
    assert_eq!(err.to_string(), "rate limit exceeded, retry after 99.138ms");
    assert_eq!(err.decision(), &decision);
    assert_eq!(decision.retry_after_secs(), 1);
    assert_eq!(decision.reset_after_secs(), 1);
    let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(err);
    assert!(boxed.source().is_none());
    let allowed = RateLimitDecision::admitted(1, 0, Duration::from_micros(499_138));
    assert_eq!(allowed.into_result().unwrap(), allowed);
}

#[test]
fn default_prefixes_are_the_namespace_and_the_algorithm() {
    for algorithm in [
        Algorithm::Gcra,
        Algorithm::FixedWindow,
        Algorithm::SlidingLog,
    ] {
        let limiter = RateLimiter::new(RateLimitPolicy::new(algorithm, 1, Duration::from_secs(1)));
        assert_eq!(
            limiter.key("k").as_str(),
            format!("{DEFAULT_NAMESPACE}{algorithm}:k")
        );
        let renamed = limiter.namespace(DEFAULT_NAMESPACE);
        assert_eq!(
            renamed.key("k").as_str(),
            format!("{DEFAULT_NAMESPACE}{algorithm}:k")
        );
    }
}
