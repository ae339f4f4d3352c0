//! A `#[cached]` hit served by the Redis backend's near cache against the same hit on the
//! embedded `MemoryBackend` (the target: at most 1.2x its latency, and its throughput with 64
//! tasks), and against a plain Redis hit (one `GET`) for scale.
//!
//! Starts its own `redis-server` on a free loopback port (or uses `REDIS_BENCH_URL`).
//!
//! ```text
//! cargo bench -p cache-redis --bench near_hit -- --warm-up-time 1 --measurement-time 3
//! ```
#![allow(missing_docs, clippy::unwrap_used, clippy::panic, clippy::expect_used)]

mod common;

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use cache_core::__private::{KeyBuf, Shape, Site, SiteConfig, cached};
use cache_core::{MemoryBackend, register_backend};
use cache_redis::{RedisBackend, RedisConfig};
use common::{Measured, User, compare, load_user, runtime, spread, start_server};
use criterion::{Criterion, criterion_group, criterion_main};

static LOADS: AtomicU64 = AtomicU64::new(0);
const HOT: u64 = 7;

/// The site `#[cached(key = "user:<id>", ttl = 300, backend = "<name>")]` declares.
const fn site(name: &'static str, backend: &'static str) -> Site {
    Site::new(SiteConfig {
        name,
        backend: Some(backend),
        ttl: Some(Duration::from_secs(300)),
        timeout: None,
        lock: true,
        lock_lease: None,
        lock_wait: None,
        jitter: None,
    })
}

static MEMORY: Site = site("bench::near_hit::memory", "memory");
static NEAR: Site = site("bench::near_hit::near", "near");
static REMOTE: Site = site("bench::near_hit::remote", "remote");

/// Which backend a variant's hits are served by.
#[derive(Clone, Copy)]
enum Variant {
    Memory,
    Near,
    Remote,
}

impl Variant {
    /// What `#[cached]` expands to, on this variant's site.
    async fn get_user(self, id: u64) -> User {
        let site = match self {
            Self::Memory => &MEMORY,
            Self::Near => &NEAR,
            Self::Remote => &REMOTE,
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

fn benches(c: &mut Criterion) {
    let rt = runtime();
    let (_server, url) = start_server();
    let variants = [Variant::Memory, Variant::Near, Variant::Remote];
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
        for variant in variants {
            // A miss (loads once per backend; near and remote share the server), then hits.
            for _ in 0..3 {
                assert_eq!(variant.get_user(HOT).await, load_user(HOT));
            }
        }
    });
    let loads = LOADS.load(Ordering::Relaxed);

    let mut group = c.benchmark_group("near_hit_latency");
    for variant in variants {
        group.bench_function(variant.name(), |b| {
            b.to_async(&rt).iter(|| variant.get_user(black_box(HOT)));
        });
    }
    group.finish();

    let medians = compare(c, &rt, "near_hit_64_tasks", &variants, 100_000);
    for (variant, rate) in variants.iter().zip(&medians) {
        eprintln!(
            "64-task hits {}: median {rate:.0} hits/s ({:.3}x the memory backend's)",
            variant.name(),
            rate / medians[0],
        );
    }
    assert_eq!(
        LOADS.load(Ordering::Relaxed),
        loads,
        "a measured call ran the body"
    );
}

criterion_group!(near_hit, benches);
criterion_main!(near_hit);
