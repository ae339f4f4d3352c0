//! A `#[cached]` hit served by the Redis backend's near cache against the same hit on the
//! embedded `MemoryBackend` (the target: at most 1.2x its latency, and its throughput with 64
//! tasks), against a plain Redis hit (one `GET`) for scale, and against the anchor of issue
//! #15: the `cached` crate's `AsyncRedisCache` with `.client_side_caching(true)`, i.e. redis-rs
//! `cache-aio` (RESP3 tracking, an in-process LRU in the connection). The targets against the
//! anchor: at most 0.15x its hit latency, at least 3x its hit throughput with 64 tasks.
//!
//! Starts its own `redis-server` on a free loopback port (or uses `REDIS_BENCH_URL`).
//!
//! ```text
//! cargo bench -p cache-redis --bench near_hit -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! Besides criterion's report (groups `near_hit_latency` and `near_hit_64_tasks`), it prints
//! on standard error, from rounds in which the variants take turns (so that a noisy
//! machine's drift stays out of the ratios): the median single-task latency of each variant
//! and the near cache's ratio to the anchor's, then the median 64-task throughput of each,
//! as a ratio to the memory backend's, and the near cache's ratio to the anchor's.
#![allow(missing_docs, clippy::unwrap_used, clippy::panic, clippy::expect_used)]

mod common;

use std::hint::black_box;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cache_core::__private::{KeyBuf, Shape, Site, SiteConfig, cached};
use cache_core::{MemoryBackend, register_backend};
use cache_redis::redis;
use cache_redis::{RedisBackend, RedisConfig};
use cached::{AsyncRedisCache, ConcurrentCachedAsync};
use common::{
    Measured, User, compare, interleaved_medians, load_user, runtime, spread, start_server,
};
use criterion::{Criterion, criterion_group, criterion_main};

static LOADS: AtomicU64 = AtomicU64::new(0);
const HOT: u64 = 7;

/// The site `#[cached(key = "user:<id>", ttl = 300, backend = "<name>")]` declares.
const fn site(name: &'static str, backend: &'static str) -> Site {
    Site::new(SiteConfig {
        name,
        key: None,
        options: "",
        backend: Some(backend),
        ttl: Some(Duration::from_secs(300)),
        timeout: None,
        lock: true,
        lock_lease: None,
        lock_wait: None,
        jitter: None,
        grace: None,
    })
}

static MEMORY: Site = site("bench::near_hit::memory", "memory");
static NEAR: Site = site("bench::near_hit::near", "near");
static REMOTE: Site = site("bench::near_hit::remote", "remote");

/// The anchor's cache, built once the server is up (a static so that `Variant` stays `Copy`).
static ANCHOR: OnceLock<AsyncRedisCache<u64, User>> = OnceLock::new();

/// Which backend a variant's hits are served by.
#[derive(Clone, Copy)]
enum Variant {
    Memory,
    Near,
    Remote,
    /// The `cached` crate's `AsyncRedisCache` over redis-rs `cache-aio`.
    Anchor,
}

impl Variant {
    /// What `#[cached]` expands to, on this variant's site.
    async fn get_user(self, id: u64) -> User {
        let site = match self {
            Self::Memory => &MEMORY,
            Self::Near => &NEAR,
            Self::Remote => &REMOTE,
            Self::Anchor => return anchor_get_user(id).await,
        };
        let mut key = KeyBuf::new();
        key.push_literal("user:");
        key.push_part(&id);
        cached(
            site,
            key.as_str(),
            Shape::new(|r: &User| Some(r.clone()), |s| s),
            move || async move {
                LOADS.fetch_add(1, Ordering::Relaxed);
                load_user(id)
            },
        )
        .await
    }
}

impl Measured for Variant {
    fn name(&self) -> &'static str {
        match self {
            Self::Memory => "memory_cached",
            Self::Near => "near_cached",
            Self::Remote => "redis_cached",
            Self::Anchor => "cached_crate_cache_aio",
        }
    }

    async fn run(&self, iters: u64) -> Duration {
        let this = *self;
        spread(iters, move || async move {
            black_box(this.get_user(HOT).await);
        })
        .await
    }
}

/// What the `cached` crate's `#[io_cached]` does around an `AsyncRedisCache`: a get, and on a
/// miss the body and a set. A hit is the get alone, which `cache-aio` answers from its
/// in-process copy once the key is tracked.
async fn anchor_get_user(id: u64) -> User {
    let anchor = ANCHOR.get().expect("anchor built");
    if let Some(user) = anchor.async_cache_get(&id).await.unwrap() {
        return user;
    }
    LOADS.fetch_add(1, Ordering::Relaxed);
    let user = load_user(id);
    anchor.async_cache_set(id, user.clone()).await.unwrap();
    user
}

/// `GET`s the server has executed (`INFO commandstats`), to tell a hit served in process from
/// one that went to the server.
async fn server_gets(con: &mut redis::aio::MultiplexedConnection) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(con)
        .await
        .unwrap();
    info.lines()
        .find_map(|line| line.strip_prefix("cmdstat_get:calls="))
        .and_then(|rest| rest.split(',').next())
        .map_or(0, |calls| calls.parse().unwrap())
}

/// Median single-task latency of each variant, in µs, from interleaved rounds: criterion
/// measures the variants one after another, minutes apart on a shared machine.
fn interleaved_latency(rt: &tokio::runtime::Runtime, variants: &[Variant]) -> Vec<f64> {
    const PER_ROUND: u64 = 5_000;
    let rates = rt.block_on(interleaved_medians(
        variants.len(),
        PER_ROUND,
        |i, n| async move {
            let started = Instant::now();
            for _ in 0..n {
                black_box(variants[i].get_user(black_box(HOT)).await);
            }
            started.elapsed()
        },
    ));
    rates.iter().map(|rate| 1e6 / rate).collect()
}

fn benches(c: &mut Criterion) {
    let rt = runtime();
    let (_server, url) = start_server();
    let variants = [
        Variant::Memory,
        Variant::Near,
        Variant::Remote,
        Variant::Anchor,
    ];
    rt.block_on(async {
        let config = RedisConfig::from_url(&url).unwrap().key_prefix("bench:");
        let near = RedisBackend::connect(config.clone().near_cache(10_000))
            .await
            .unwrap();
        while !near.near_cache_stats().unwrap().serving {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        register_backend("near", near);
        register_backend("remote", RedisBackend::connect(config).await.unwrap());
        register_backend("memory", MemoryBackend::new());
        // The builder switches its connection to RESP3 itself (and refuses a URL pinning
        // `protocol=resp2`), so the bench URL serves both. Its default multiplexed
        // connection, as in the crate's client-side-caching example.
        let anchor: AsyncRedisCache<u64, User> = AsyncRedisCache::builder("near_hit_anchor")
            .ttl(Duration::from_secs(300))
            .connection_string(&url)
            .client_side_caching(true)
            .build()
            .await
            .expect("cached AsyncRedisCache with client-side caching");
        assert!(ANCHOR.set(anchor).is_ok(), "anchor built twice");
        for variant in variants {
            // A miss (loads once per backend; near and remote share the server), then hits.
            for _ in 0..3 {
                assert_eq!(variant.get_user(HOT).await, load_user(HOT));
            }
        }
        // The anchor's hits must be served by cache-aio, not by the server: otherwise the
        // comparison would be against a plain Redis round trip.
        let mut stats = redis::Client::open(url.as_str())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap();
        let before = server_gets(&mut stats).await;
        for _ in 0..1_000 {
            assert_eq!(Variant::Anchor.get_user(HOT).await, load_user(HOT));
        }
        let sent = server_gets(&mut stats).await - before;
        assert!(sent < 10, "{sent} of 1000 anchor hits went to the server");
    });
    let loads = LOADS.load(Ordering::Relaxed);

    let mut group = c.benchmark_group("near_hit_latency");
    for variant in variants {
        group.bench_function(variant.name(), |b| {
            b.to_async(&rt).iter(|| variant.get_user(black_box(HOT)));
        });
    }
    group.finish();
    let latency = interleaved_latency(&rt, &variants);
    for (variant, micros) in variants.iter().zip(&latency) {
        eprintln!("single-task hit {}: median {micros:.3} µs", variant.name());
    }
    eprintln!(
        "near cache / cached crate (cache-aio) hit latency: {:.3}x (target at most 0.15x)",
        latency[1] / latency[3],
    );

    let medians = compare(c, &rt, "near_hit_64_tasks", &variants, 100_000);
    for (variant, rate) in variants.iter().zip(&medians) {
        eprintln!(
            "64-task hits {}: median {rate:.0} hits/s ({:.3}x the memory backend's)",
            variant.name(),
            rate / medians[0],
        );
    }
    eprintln!(
        "near cache / cached crate (cache-aio) 64-task hit throughput: {:.2}x (target at least 3x)",
        medians[1] / medians[3],
    );
    assert_eq!(
        LOADS.load(Ordering::Relaxed),
        loads,
        "a measured call ran the body"
    );
}

criterion_group!(near_hit, benches);
criterion_main!(near_hit);
