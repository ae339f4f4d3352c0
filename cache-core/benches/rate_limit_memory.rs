//! Rate limiting on the in-memory backend against `governor`'s keyed limiter, one task, over
//! 10,000 keys: ns per check.
//!
//! ```text
//! cargo bench -p cache-core --bench rate_limit_memory -- \
//!     --warm-up-time 1 --measurement-time 3
//! ```
//!
//! Same GCRA policy on both sides (100 per second per key, burst 100), keys visited round
//! robin, so each sees the same mix of admitted and denied calls.
//!
//! - `ours_backend_rate_limit`: `MemoryBackend::try_rate_limit` with a pre-built key string
//!   (the store and the algorithm alone), for each algorithm.
//! - `ours_rate_limiter_check`: `RateLimiter::check(&u64)` on an explicit `MemoryBackend`: key
//!   building, the `dyn` backend and the timeout included, what application code calls.
//! - `governor_check_key`: `governor::RateLimiter::keyed(quota).check_key(&u64)` (DashMap
//!   store, quanta clock): the anchor for `ours_rate_limiter_check`, both taking a `u64`.
//! - `governor_string_keys`: the same keyed by the same pre-built `String`s as
//!   `ours_backend_rate_limit`: the anchor for the store and the algorithm alone.
//!
//!
//! New keys, each checked once, on a backend bounded at 1M limiters (`new_key_1m_bound`): the
//! cost of a flood of distinct keys (spoofed client addresses, say).
//!
//! - `full`: the table is full, so every new key drops a limiter first.
//! - `filling`: the table is below its bound (a fresh one whenever half of it is used, the
//!   set-up not timed): the anchor, a new key that drops nothing.
//!
//! After criterion, the variants run interleaved (see `common`); quote those ratios.

mod common;

use std::fmt::Write as _;
use std::hint::black_box;
use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use cache_core::rate_limit::{RateLimitPolicy, RateLimiter};
use cache_core::{MemoryBackend, RateLimitStore};
use common::{Batch, Unit, paired};
use criterion::{Criterion, criterion_group, criterion_main};
use governor::Quota;

const KEYS: u64 = 10_000;
const PER_SECOND: u32 = 100;
/// Calls per interleaved batch.
const BATCH: u64 = 200_000;

fn policies() -> [RateLimitPolicy; 3] {
    let second = Duration::from_secs(1);
    [
        RateLimitPolicy::gcra(PER_SECOND, second),
        RateLimitPolicy::fixed_window(PER_SECOND, second),
        RateLimitPolicy::sliding_log(PER_SECOND, second),
    ]
}

/// The limiter bound of the new-key cases.
const BOUND: u64 = 1_000_000;
/// New keys per interleaved batch of the new-key cases.
const NEW_KEY_BATCH: u64 = 100_000;

type Governor<K = u64> = governor::DefaultKeyedRateLimiter<K>;

fn governor<K: std::hash::Hash + Eq + Clone>() -> Governor<K> {
    governor::RateLimiter::keyed(Quota::per_second(
        NonZeroU32::new(PER_SECOND).expect("non-zero"),
    ))
}

struct Ours {
    backend: MemoryBackend,
    policy: RateLimitPolicy,
    keys: Vec<String>,
}

impl Ours {
    fn new(policy: RateLimitPolicy) -> Self {
        let keys = (0..KEYS)
            .map(|i| format!("rl:{}:{i}", policy.algorithm()))
            .collect();
        Self {
            backend: MemoryBackend::new(),
            policy,
            keys,
        }
    }

    /// `n` checks from key `start` on, round robin.
    fn run(&self, start: u64, n: u64) {
        for i in start..start + n {
            let key = &self.keys[(i % KEYS) as usize];
            let decision = self.backend.try_rate_limit(key, &self.policy, 1);
            black_box(decision.expect("decided in process").expect("a decision"));
        }
    }
}

/// A backend bounded at [`BOUND`] limiters, checked with keys it has never seen.
struct NewKeys {
    backend: MemoryBackend,
    /// A day-long window: no limiter expires during the bench, so no sweep makes room.
    policy: RateLimitPolicy,
    /// Keys used so far.
    used: u64,
    key: String,
}

impl NewKeys {
    fn new() -> Self {
        Self {
            backend: MemoryBackend::builder()
                .max_rate_limit_keys(BOUND as usize)
                .build(),
            policy: RateLimitPolicy::gcra(PER_SECOND, Duration::from_secs(86_400)),
            used: 0,
            key: String::new(),
        }
    }

    /// Full: the bound and a quarter more keys leave every shard at its bound.
    fn full() -> Self {
        let mut table = Self::new();
        table.run(BOUND + BOUND / 4);
        table
    }

    /// `n` checks, each of a new key.
    fn run(&mut self, n: u64) {
        for _ in 0..n {
            self.key.clear();
            let _ = write!(self.key, "rl:new:{}", self.used);
            self.used += 1;
            let decision = self.backend.try_rate_limit(&self.key, &self.policy, 1);
            black_box(decision.expect("decided in process").expect("a decision"));
        }
    }

    /// `n` checks of new keys, on a table kept below its bound: replaced by a fresh one (not
    /// timed) once half of it is used. Returns the time the checks took.
    fn run_filling(&mut self, n: u64) -> Duration {
        let mut elapsed = Duration::ZERO;
        let mut left = n;
        while left > 0 {
            if self.used >= BOUND / 2 {
                *self = Self::new();
            }
            let chunk = left.min(BOUND / 2 - self.used);
            let started = Instant::now();
            self.run(chunk);
            elapsed += started.elapsed();
            left -= chunk;
        }
        elapsed
    }
}

async fn limiter_run(limiter: &RateLimiter, start: u64, n: u64) {
    for i in start..start + n {
        black_box(limiter.check(&(i % KEYS)).await.expect("a decision"));
    }
}

fn governor_run(limiter: &Governor, start: u64, n: u64) {
    for i in start..start + n {
        let _ = black_box(limiter.check_key(&(i % KEYS)));
    }
}

fn governor_string_run(limiter: &Governor<String>, keys: &[String], start: u64, n: u64) {
    for i in start..start + n {
        let _ = black_box(limiter.check_key(&keys[(i % KEYS) as usize]));
    }
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let ours: Vec<Ours> = policies().into_iter().map(Ours::new).collect();
    let limiter = RateLimiter::new(policies()[0]).backend(MemoryBackend::new());
    let theirs = governor();
    let theirs_by_string = governor::<String>();
    let string_keys = &ours[0].keys;
    // Fill every store with all keys first, so no variant measures inserts.
    for store in &ours {
        store.run(0, KEYS);
    }
    rt.block_on(limiter_run(&limiter, 0, KEYS));
    governor_run(&theirs, 0, KEYS);
    governor_string_run(&theirs_by_string, string_keys, 0, KEYS);

    let mut group = c.benchmark_group("rate_limit_memory_10k_keys");
    for store in &ours {
        let name = format!("ours_backend_rate_limit/{}", store.policy.algorithm());
        group.bench_function(name, |b| {
            let mut at = 0;
            b.iter_custom(|iters| {
                at += iters;
                let started = Instant::now();
                store.run(at - iters, iters);
                started.elapsed()
            });
        });
    }
    group.bench_function("ours_rate_limiter_check/gcra", |b| {
        let mut at = 0;
        b.to_async(&rt).iter_custom(|iters| {
            at += iters;
            let start = at - iters;
            let limiter = &limiter;
            async move {
                let started = Instant::now();
                limiter_run(limiter, start, iters).await;
                started.elapsed()
            }
        });
    });
    group.bench_function("governor_check_key", |b| {
        let mut at = 0;
        b.iter_custom(|iters| {
            at += iters;
            let started = Instant::now();
            governor_run(&theirs, at - iters, iters);
            started.elapsed()
        });
    });
    group.bench_function("governor_string_keys", |b| {
        let mut at = 0;
        b.iter_custom(|iters| {
            at += iters;
            let started = Instant::now();
            governor_string_run(&theirs_by_string, string_keys, at - iters, iters);
            started.elapsed()
        });
    });
    group.finish();

    let mut at = [0_u64; 6];
    let [a0, a1, a2, a3, a4, a5] = &mut at;
    let ours_batch = |store: &'_ Ours, at: &'_ mut u64| -> (Duration, u64) {
        let started = Instant::now();
        store.run(*at, BATCH);
        *at += BATCH;
        (started.elapsed(), BATCH)
    };
    let variants: Vec<(&'static str, Batch<'_>)> = vec![
        (
            "governor_check_key",
            Box::new(|| {
                let started = Instant::now();
                governor_run(&theirs, *a0, BATCH);
                *a0 += BATCH;
                (started.elapsed(), BATCH)
            }),
        ),
        (
            "governor_string_keys",
            Box::new(|| {
                let started = Instant::now();
                governor_string_run(&theirs_by_string, string_keys, *a5, BATCH);
                *a5 += BATCH;
                (started.elapsed(), BATCH)
            }),
        ),
        ("ours_backend/gcra", Box::new(|| ours_batch(&ours[0], a1))),
        (
            "ours_backend/fixed_window",
            Box::new(|| ours_batch(&ours[1], a2)),
        ),
        (
            "ours_backend/sliding_log",
            Box::new(|| ours_batch(&ours[2], a3)),
        ),
        (
            "ours_rate_limiter/gcra",
            Box::new(|| {
                let started = Instant::now();
                rt.block_on(limiter_run(&limiter, *a4, BATCH));
                *a4 += BATCH;
                (started.elapsed(), BATCH)
            }),
        ),
    ];
    paired(
        "rate limit, memory, 1 task, 10k keys",
        Unit::NsPerCall,
        &["governor_check_key", "governor_string_keys"],
        variants,
    );
}

fn new_key_benches(c: &mut Criterion) {
    let mut full = NewKeys::full();
    let mut filling = NewKeys::new();
    let mut group = c.benchmark_group("new_key_1m_bound");
    group.bench_function("full", |b| {
        b.iter_custom(|iters| {
            let started = Instant::now();
            full.run(iters);
            started.elapsed()
        });
    });
    group.bench_function("filling", |b| {
        b.iter_custom(|iters| filling.run_filling(iters));
    });
    group.finish();

    let variants: Vec<(&'static str, Batch<'_>)> = vec![
        (
            "new_key_1m_bound/filling",
            Box::new(|| (filling.run_filling(NEW_KEY_BATCH), NEW_KEY_BATCH)),
        ),
        (
            "new_key_1m_bound/full",
            Box::new(|| {
                let started = Instant::now();
                full.run(NEW_KEY_BATCH);
                (started.elapsed(), NEW_KEY_BATCH)
            }),
        ),
    ];
    paired(
        "rate limit, memory, new keys, bound 1M",
        Unit::NsPerCall,
        &["new_key_1m_bound/filling"],
        variants,
    );
}

criterion_group!(rate_limit_memory, benches, new_key_benches);
criterion_main!(rate_limit_memory);
