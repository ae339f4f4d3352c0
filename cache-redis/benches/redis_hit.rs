//! `#[cached]` hit on Redis against a raw redis-rs `GET` on the same connection type
//! (`ConnectionManager`), and against the `cached` crate's `AsyncRedisCache` (in its
//! `ConnectionManager` mode): latency with one task, throughput with 64 tasks.
//!
//! Starts its own `redis-server` on a free loopback port (or uses `REDIS_BENCH_URL`).
//!
//! ```text
//! CARGO_TARGET_DIR=/work/target-redis cargo bench -p cache-redis --bench redis_hit -- \
//!     --warm-up-time 1 --measurement-time 3
//! ```
//!
//! "ours" is the runtime call `#[cached(key = "user:<id>", ttl = 300)]` expands to
//! (`cache_core::__private::cached` with the same key building), so the bench does not depend
//! on the macro crate's state.
#![allow(missing_docs, clippy::unwrap_used, clippy::panic, clippy::expect_used)]

mod common;

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cache_core::__private::{KeyBuf, Shape, Site, SiteConfig, cached};
use cache_redis::redis::{self, AsyncCommands};
use cache_redis::{RedisBackend, RedisConfig};
use cached::{AsyncRedisCache, ConcurrentCachedAsync};
use common::{User, load_user, spread, start_server};
use criterion::{Criterion, criterion_group, criterion_main};

static LOADS: AtomicU64 = AtomicU64::new(0);
const HOT: u64 = 7;

static SITE: Site = Site::new(SiteConfig {
    name: "bench::redis_hit::get_user",
    key: None,
    options: "",
    backend: None,
    ttl: Some(Duration::from_secs(300)),
    timeout: None,
    lock: true,
    lock_lease: None,
    lock_wait: None,
    jitter: None,
    grace: None,
});

/// What `#[cached(key = "user:<id>", ttl = 300)]` expands to.
async fn ours_get_user(id: u64) -> User {
    let mut key = KeyBuf::new();
    key.push_literal("user:");
    key.push_part(&id);
    cached(
        &SITE,
        key.as_str(),
        Shape::new(|r: &User| Some(r.clone()), |s| s),
        move || async move {
            LOADS.fetch_add(1, Ordering::Relaxed);
            load_user(id)
        },
    )
    .await
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let (_server, url) = start_server();
    let _ = URL.set(url.clone());

    let (raw, theirs) = rt.block_on(async {
        let backend =
            RedisBackend::connect(RedisConfig::from_url(&url).unwrap().key_prefix("bench:"))
                .await
                .expect("connect");
        cache_core::set_global_backend(backend);
        let raw = redis::Client::open(url.as_str())
            .unwrap()
            .get_connection_manager()
            .await
            .unwrap();
        let theirs: AsyncRedisCache<u64, User> = AsyncRedisCache::builder("get_user")
            .ttl(Duration::from_secs(300))
            .connection_string(&url)
            .connection_manager(true)
            .build()
            .await
            .expect("cached AsyncRedisCache");
        // Fill, then check every path hits without running a body.
        assert_eq!(ours_get_user(HOT).await, load_user(HOT));
        theirs.async_cache_set(HOT, load_user(HOT)).await.unwrap();
        assert_eq!(LOADS.load(Ordering::Relaxed), 1);
        assert_eq!(ours_get_user(HOT).await, load_user(HOT));
        assert_eq!(LOADS.load(Ordering::Relaxed), 1, "ours must hit");
        let mut con = raw.clone();
        let bytes: Option<Vec<u8>> = con.get("bench:user:7").await.unwrap();
        let decoded: User = serde_json::from_slice(&bytes.expect("stored")).unwrap();
        assert_eq!(decoded, load_user(HOT));
        assert_eq!(
            theirs.async_cache_get(&HOT).await.unwrap(),
            Some(load_user(HOT))
        );
        (raw, Arc::new(theirs))
    });

    if std::env::var_os("REDIS_HIT_AB").is_some() {
        rt.block_on(interleaved(raw.clone(), Arc::clone(&theirs)));
    }

    let mut group = c.benchmark_group("redis_hit_latency");
    group.bench_function("raw_get", |b| {
        b.to_async(&rt).iter(|| {
            let mut con = raw.clone();
            async move {
                let bytes: Option<Vec<u8>> = con.get(black_box("bench:user:7")).await.unwrap();
                bytes
            }
        });
    });
    group.bench_function("raw_get_json", |b| {
        b.to_async(&rt).iter(|| {
            let mut con = raw.clone();
            async move {
                let bytes: Option<Vec<u8>> = con.get(black_box("bench:user:7")).await.unwrap();
                serde_json::from_slice::<User>(&bytes.unwrap_or_default()).unwrap()
            }
        });
    });
    group.bench_function("ours_cached", |b| {
        b.to_async(&rt).iter(|| ours_get_user(black_box(HOT)));
    });
    group.bench_function("cached_async_redis_cache", |b| {
        b.to_async(&rt).iter(|| {
            let theirs = Arc::clone(&theirs);
            async move { theirs.async_cache_get(black_box(&HOT)).await.unwrap() }
        });
    });
    group.finish();

    let mut group = c.benchmark_group("redis_hit_64_tasks");
    group.bench_function("raw_get", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let raw = raw.clone();
            spread(iters, move || {
                let mut con = raw.clone();
                async move {
                    let _: Option<Vec<u8>> = con.get("bench:user:7").await.unwrap();
                }
            })
        });
    });
    group.bench_function("ours_cached", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            spread(iters, || async {
                black_box(ours_get_user(HOT).await);
            })
        });
    });
    group.bench_function("cached_async_redis_cache", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let theirs = Arc::clone(&theirs);
            spread(iters, move || {
                let theirs = Arc::clone(&theirs);
                async move {
                    black_box(theirs.async_cache_get(&HOT).await.unwrap());
                }
            })
        });
    });
    group.finish();
    assert_eq!(
        LOADS.load(Ordering::Relaxed),
        1,
        "a measured call ran the body"
    );
}

/// A noise-resistant cross-check for a shared machine: the variants take turns in short
/// rounds, and the medians of the per-round means are compared (`REDIS_HIT_AB=1`).
async fn interleaved(raw: redis::aio::ConnectionManager, theirs: Arc<AsyncRedisCache<u64, User>>) {
    const ROUNDS: usize = 60;
    const PER_ROUND: u32 = 200;
    let mut samples: [Vec<f64>; 4] = Default::default();
    for _ in 0..ROUNDS {
        for (variant, sample) in samples.iter_mut().enumerate() {
            let started = Instant::now();
            for _ in 0..PER_ROUND {
                match variant {
                    0 => {
                        let mut con = raw.clone();
                        let _: Option<Vec<u8>> = con.get("bench:user:7").await.unwrap();
                    }
                    1 => {
                        black_box(ours_get_user(HOT).await);
                    }
                    2 => {
                        black_box(theirs.async_cache_get(&HOT).await.unwrap());
                    }
                    _ => {
                        let mut con = raw.clone();
                        let bytes: Option<Vec<u8>> = con.get("bench:user:7").await.unwrap();
                        black_box(
                            serde_json::from_slice::<User>(&bytes.unwrap_or_default()).unwrap(),
                        );
                    }
                }
            }
            sample.push(started.elapsed().as_secs_f64() * 1e6 / f64::from(PER_ROUND));
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let [raw_us, ours_us, theirs_us, json_us] = samples.map(|mut v| median(&mut v));
    eprintln!(
        "interleaved latency (median of {ROUNDS} rounds): raw GET {raw_us:.1} µs, raw GET+JSON {json_us:.1} µs, \
         ours {ours_us:.1} µs ({:.3}x raw), cached AsyncRedisCache {theirs_us:.1} µs ({:.3}x raw)",
        ours_us / raw_us,
        theirs_us / raw_us
    );
    let backend = RedisBackend::connect(
        RedisConfig::from_url(&URL.get().cloned().unwrap_or_default())
            .unwrap()
            .key_prefix("bench:"),
    )
    .await
    .unwrap();
    let names = [
        "raw GET",
        "ours #[cached]",
        "cached AsyncRedisCache",
        "RedisBackend::get",
        "raw GET + JSON decode",
    ];
    let mut rates: [Vec<f64>; 5] = Default::default();
    for _ in 0..7 {
        for (run, rate) in rates.iter_mut().enumerate() {
            let elapsed = match run {
                0 => {
                    let raw = raw.clone();
                    spread(10_000, move || {
                        let mut con = raw.clone();
                        async move {
                            let _: Option<Vec<u8>> = con.get("bench:user:7").await.unwrap();
                        }
                    })
                    .await
                }
                1 => {
                    spread(10_000, || async {
                        black_box(ours_get_user(HOT).await);
                    })
                    .await
                }
                2 => {
                    let theirs = Arc::clone(&theirs);
                    spread(10_000, move || {
                        let theirs = Arc::clone(&theirs);
                        async move {
                            black_box(theirs.async_cache_get(&HOT).await.unwrap());
                        }
                    })
                    .await
                }
                4 => {
                    let raw = raw.clone();
                    spread(10_000, move || {
                        let mut con = raw.clone();
                        async move {
                            let bytes: Option<Vec<u8>> = con.get("bench:user:7").await.unwrap();
                            black_box(
                                serde_json::from_slice::<User>(&bytes.unwrap_or_default()).unwrap(),
                            );
                        }
                    })
                    .await
                }
                _ => {
                    let backend = backend.clone();
                    spread(10_000, move || {
                        let backend = backend.clone();
                        async move {
                            use cache_core::CacheBackend as _;
                            black_box(backend.get("user:7").await.unwrap());
                        }
                    })
                    .await
                }
            };
            rate.push(10_000.0 / elapsed.as_secs_f64());
        }
    }
    let medians = rates.map(|mut v| median(&mut v));
    let raw_rate = medians[0];
    for (name, rate) in names.iter().zip(medians) {
        eprintln!(
            "64-task throughput {name}: median {rate:.0} ops/s ({:.3}x raw)",
            rate / raw_rate
        );
    }
}

static URL: std::sync::OnceLock<String> = std::sync::OnceLock::new();

criterion_group!(redis_hit, benches);
criterion_main!(redis_hit);
