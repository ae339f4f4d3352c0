//! Rate-limit decisions on Redis against a raw `EVALSHA` of a trivial script (`return 1`) on
//! the same connection type (`ConnectionManager`), 64 tasks: the script's arithmetic and the
//! backend's plumbing against the floor of "one script round trip".
//!
//! Starts its own `redis-server` on a free loopback port (or uses `REDIS_BENCH_URL`).
//!
//! ```text
//! CARGO_TARGET_DIR=/work/target-redis cargo bench -p cache-redis --bench rate_limit -- \
//!     --warm-up-time 1 --measurement-time 3
//! ```
//!
//! `raw_evalsha_gcra_script` sends the backend's own GCRA script straight through redis-rs:
//! the gap between it and `return 1` is the script's server-side work (`TIME`, `GET`, `SET`
//! in Lua on a single-threaded server), the gap between it and `gcra` is the backend's.
//!
//! Every decision goes to one of 1,000 keys at 100 per second each, so the mix of allowed and
//! denied calls is realistic. After criterion, an interleaved pass (the variants take turns,
//! median of rounds) prints the throughput ratios, which resist noise on a shared machine.
#![allow(missing_docs, clippy::unwrap_used, clippy::panic, clippy::expect_used)]

mod common;

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use cache_core::RateLimitStore;
use cache_core::rate_limit::RateLimitPolicy;
use cache_redis::redis::{self, Script, aio::ConnectionManager};
use cache_redis::{RedisBackend, RedisConfig};
use common::{interleaved_medians, spread, start_server};
use criterion::{Criterion, criterion_group, criterion_main};

const KEYS: u64 = 1_000;

static TRIVIAL: LazyLock<Script> = LazyLock::new(|| Script::new("return 1"));
/// The backend's GCRA script, called directly: separates the backend's plumbing from the
/// script's own server-side cost.
static RAW_GCRA: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("../src/scripts/gcra.lua")));
static NEXT: AtomicU64 = AtomicU64::new(0);
/// The keys of one algorithm (each stores a different kind of state), built once so the
/// measured loop does not format strings.
fn key_names(policy: &RateLimitPolicy) -> Arc<[String]> {
    (0..KEYS)
        .map(|i| format!("rl:{}:user:{i}", policy.algorithm()))
        .collect()
}

fn next_key(keys: &[String]) -> &str {
    &keys[(NEXT.fetch_add(1, Ordering::Relaxed) % KEYS) as usize]
}

#[derive(Clone)]
enum Variant {
    RawEvalsha(ConnectionManager),
    RawGcraScript(ConnectionManager, Arc<[String]>),
    Ours(Box<RedisBackend>, RateLimitPolicy, Arc<[String]>),
}

impl Variant {
    fn name(&self) -> String {
        match self {
            Self::RawEvalsha(_) => "raw_evalsha_return_1".to_owned(),
            Self::RawGcraScript(..) => "raw_evalsha_gcra_script".to_owned(),
            Self::Ours(_, policy, _) => policy.algorithm().as_str().to_owned(),
        }
    }

    async fn once(&self) {
        match self {
            Self::RawEvalsha(con) => {
                let mut con = con.clone();
                let one: i64 = TRIVIAL.invoke_async(&mut con).await.unwrap();
                black_box(one);
            }
            Self::RawGcraScript(con, keys) => {
                let mut con = con.clone();
                // gcra(100, 1s): T = 10,000 µs, burst 100, cost 1.
                let reply: Vec<i64> = RAW_GCRA
                    .key(next_key(keys))
                    .arg(10_000)
                    .arg(100)
                    .arg(1)
                    .invoke_async(&mut con)
                    .await
                    .unwrap();
                black_box(reply);
            }
            Self::Ours(backend, policy, keys) => {
                let decision = backend.rate_limit(next_key(keys), policy, 1).await.unwrap();
                black_box(decision);
            }
        }
    }

    async fn run(&self, iters: u64) -> Duration {
        let this = self.clone();
        spread(iters, move || {
            let this = this.clone();
            async move { this.once().await }
        })
        .await
    }
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let (_server, url) = start_server();
    let variants = rt.block_on(async {
        let backend =
            RedisBackend::connect(RedisConfig::from_url(&url).unwrap().key_prefix("bench:"))
                .await
                .expect("connect");
        let raw = redis::Client::open(url.as_str())
            .unwrap()
            .get_connection_manager()
            .await
            .unwrap();
        let second = Duration::from_secs(1);
        let raw_keys: Arc<[String]> = (0..KEYS).map(|i| format!("raw:gcra:user:{i}")).collect();
        let mut variants = vec![
            Variant::RawEvalsha(raw.clone()),
            Variant::RawGcraScript(raw, raw_keys),
        ];
        for policy in [
            RateLimitPolicy::gcra(100, second),
            RateLimitPolicy::fixed_window(100, second),
            RateLimitPolicy::sliding_log(100, second),
        ] {
            variants.push(Variant::Ours(
                Box::new(backend.clone()),
                policy,
                key_names(&policy),
            ));
        }
        for variant in &variants {
            variant.once().await;
        }
        variants
    });

    let mut group = c.benchmark_group("rate_limit_64_tasks");
    for variant in &variants {
        group.bench_function(variant.name(), |b| {
            b.to_async(&rt).iter_custom(|iters| variant.run(iters));
        });
    }
    group.finish();

    rt.block_on(interleaved(&variants));
}

/// The variants take turns in rounds of 10,000 decisions; median throughput per variant and
/// its ratio to the raw `EVALSHA`.
async fn interleaved(variants: &[Variant]) {
    let medians =
        interleaved_medians(variants.len(), 10_000, |i, iters| variants[i].run(iters)).await;
    for (variant, rate) in variants.iter().zip(&medians) {
        eprintln!(
            "64-task throughput {}: median {rate:.0} checks/s ({:.3}x raw EVALSHA)",
            variant.name(),
            rate / medians[0]
        );
    }
}

criterion_group!(rate_limit, benches);
criterion_main!(rate_limit);
