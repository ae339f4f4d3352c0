//! A `#[cached]` miss with one execution per key across processes (the default: on Redis
//! `GET`, the claim script, the fenced fill script) against the same miss with `lock = false`
//! (`GET`, `SET`): on Redis, latency with one task and throughput with 64 tasks; on the memory
//! backend, latency. Every key is cold.
//!
//! ```text
//! CARGO_TARGET_DIR=/work/target-redis cargo bench -p cache-redis --bench miss -- \
//!     --warm-up-time 1 --measurement-time 3
//! ```
//!
//! The calls are the runtime call `#[cached(key = "user:<id>", ttl = 300)]` expands to
//! (`cache_core::__private::cached`), with `lock` on and off.
#![allow(missing_docs, clippy::unwrap_used, clippy::panic, clippy::expect_used)]

mod common;

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use cache_core::__private::{KeyBuf, Shape, Site, SiteConfig, cached};
use cache_redis::{RedisBackend, RedisConfig};
use common::{spread, start_server};
use criterion::{Criterion, criterion_group, criterion_main};

const fn site(name: &'static str, backend: Option<&'static str>, lock: bool) -> Site {
    Site::new(SiteConfig {
        name,
        key: None,
        options: "",
        backend,
        ttl: Some(Duration::from_secs(300)),
        timeout: None,
        lock,
        lock_lease: None,
        lock_wait: None,
        jitter: None,
        grace: None,
    })
}

static LOCKED: Site = site("bench::miss::redis_locked", None, true);
static UNLOCKED: Site = site("bench::miss::redis_unlocked", None, false);
static MEMORY_LOCKED: Site = site("bench::miss::memory_locked", Some("memory"), true);
static MEMORY_UNLOCKED: Site = site("bench::miss::memory_unlocked", Some("memory"), false);

/// Every call a key nobody asked for before.
static NEXT: AtomicU64 = AtomicU64::new(0);

async fn miss(site: &'static Site) {
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    let mut key = KeyBuf::new();
    key.push_literal("user:");
    key.push_part(&id);
    let value = cached(
        site,
        key.as_str(),
        Shape::new(|r: &u64| Some(*r), |s| s),
        move || async move { id },
    )
    .await;
    black_box(value);
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let (_server, url) = start_server();
    rt.block_on(async {
        let config = RedisConfig::from_url(&url).unwrap().key_prefix("bench:");
        cache_core::set_global_backend(RedisBackend::connect(config).await.expect("connect"));
        cache_core::register_backend("memory", cache_core::MemoryBackend::new());
        for site in [&LOCKED, &UNLOCKED, &MEMORY_LOCKED, &MEMORY_UNLOCKED] {
            miss(site).await;
            let stats = cache_core::stats::snapshot(site.name()).expect("counted");
            assert_eq!(
                (stats.hits, stats.misses),
                (0, 1),
                "{}: a miss",
                site.name()
            );
        }
    });

    let mut group = c.benchmark_group("memory_miss_latency");
    for (name, site) in [("locked", &MEMORY_LOCKED), ("unlocked", &MEMORY_UNLOCKED)] {
        group.bench_function(name, |b| b.to_async(&rt).iter(|| miss(site)));
    }
    group.finish();

    let mut group = c.benchmark_group("redis_miss_latency");
    for (name, site) in [("locked", &LOCKED), ("unlocked", &UNLOCKED)] {
        group.bench_function(name, |b| b.to_async(&rt).iter(|| miss(site)));
    }
    group.finish();

    let mut group = c.benchmark_group("redis_miss_throughput_64_tasks");
    for (name, site) in [("locked", &LOCKED), ("unlocked", &UNLOCKED)] {
        group.bench_function(name, |b| {
            b.to_async(&rt)
                .iter_custom(|iters| spread(iters, move || miss(site)));
        });
    }
    group.finish();
}

criterion_group!(misses, benches);
criterion_main!(misses);
