//! In-memory hit path: the typed `MemoryBackend` fast path against moka `future::Cache::get`.
//!
//! Issue 2, item 10. Every variant runs in the same criterion group, so compare them by ratio
//! (`ours / moka`), never by absolute time: the machine is shared.
//!
//! ```text
//! CARGO_TARGET_DIR=/work/target-bench cargo bench -p cache-core --bench memory_hit -- \
//!     --warm-up-time 1 --measurement-time 3
//! ```
//!
//! - `single/*`: one task, one hot key, ns per hit.
//!   - `ours_runtime_arc`: what a `#[cached]` function returning `Arc<User>` runs on a hit
//!     (key build + `__private::cached`).
//!   - `ours_runtime_owned`: the same, caching `User` itself (a deep clone per hit).
//!   - `ours_local_visit_dyn`: `backend(None).local().visit(key)` + downcast + clone, through the
//!     registry's `Arc<dyn CacheBackend>` (store cost without the runtime).
//!   - `ours_local_visit_concrete`: the same on the concrete `MemoryBackend` (no dyn call).
//!   - `ours_key_build`: building the key alone.
//!   - `clock_tokio_instant_now`: one `tokio::time::Instant::now()` (the TTL check's clock).
//!   - `moka_get`: `moka::future::Cache<u64, Arc<User>>::get`.
//! - `tasks64/*`: 64 tokio tasks on a 2-worker runtime, each doing `PER_TASK` hits over
//!   `KEYS` keys; throughput in hits/s.
//!
//! After the criterion groups, the same variants run interleaved (see `common`): quote those
//! `paired` ratios, they are what a burst of load on the shared machine cannot skew.

mod common;

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cache_core::__private::{KeyBuf, Shape, Site, SiteConfig, cached};
use cache_core::{CacheBackend, MemoryBackend};
use common::{Batch, CALLS, Unit, User, batch_on, load_user, paired, runtime};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// Distinct keys pre-filled in every store.
const KEYS: u64 = 1024;
/// The key the single-task variants hit.
const HOT: u64 = 7;
/// Tasks in the concurrent variants.
const TASKS: u64 = 64;
/// Hits per task per criterion iteration in the concurrent variants.
const PER_TASK: u64 = 2_000;

static SITE_ARC: Site = Site::new(SiteConfig {
    name: "bench::memory_hit::get_user",
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

static SITE_OWNED: Site = Site::new(SiteConfig {
    name: "bench::memory_hit::get_user_owned",
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

fn user_key(id: u64) -> KeyBuf {
    let mut key = KeyBuf::new();
    key.push_literal("user:");
    key.push_part(&id);
    key
}

fn owned_key(id: u64) -> KeyBuf {
    let mut key = KeyBuf::new();
    key.push_literal("user_owned:");
    key.push_part(&id);
    key
}

/// Exactly what `#[cached(key = "user:<id>", ttl = 300)] async fn get_user(id: u64) -> Arc<User>`
/// expands to (the runtime-direct form, while the macro is being written).
async fn get_user(id: u64) -> Arc<User> {
    let key = user_key(id);
    cached(
        &SITE_ARC,
        key.as_str(),
        Shape::new(|r: &Arc<User>| Some(r.clone()), |s| s),
        move || async move { Arc::new(load_user(id)) },
    )
    .await
}

/// The same, caching `User` by value: every hit deep-clones it.
async fn get_user_owned(id: u64) -> User {
    let key = owned_key(id);
    cached(
        &SITE_OWNED,
        key.as_str(),
        Shape::new(|r: &User| Some(r.clone()), |s| s),
        move || async move { load_user(id) },
    )
    .await
}

/// The store alone: `local().visit` + downcast + clone, as `runtime::cached::local_hit` does.
fn shared_hit<B: CacheBackend + ?Sized>(backend: &B, key: &str) -> Option<Arc<User>> {
    let mut hit = None;
    backend.local()?.visit(key, &mut |entry| {
        hit = entry
            .value
            .and_then(|value| value.downcast_ref::<Arc<User>>())
            .cloned();
    });
    hit
}

fn hits_and_misses(name: &str) -> (u64, u64) {
    cache_core::stats::snapshot(name).map_or((0, 0), |s| (s.hits, s.misses))
}

struct Fixture {
    rt: tokio::runtime::Runtime,
    memory: MemoryBackend,
    moka: moka::future::Cache<u64, Arc<User>>,
}

/// Installs a fresh `MemoryBackend` as the global default, fills it and moka with `KEYS`
/// users, and checks that every path returns the right user and that hits are hits.
fn fixture() -> Fixture {
    let rt = runtime();
    let memory = MemoryBackend::new();
    cache_core::set_global_backend(memory.clone());
    let moka = moka::future::Cache::builder()
        .max_capacity(100_000)
        .time_to_live(Duration::from_secs(300))
        .build();
    rt.block_on(async {
        for id in 0..KEYS {
            assert_eq!(get_user(id).await.id, id);
            assert_eq!(get_user_owned(id).await.id, id);
            moka.insert(id, Arc::new(load_user(id))).await;
        }
        let before = (
            hits_and_misses(SITE_ARC.name()),
            hits_and_misses(SITE_OWNED.name()),
        );
        for id in 0..KEYS {
            assert_eq!(*get_user(id).await, load_user(id));
            assert_eq!(get_user_owned(id).await, load_user(id));
            let key = user_key(id);
            assert_eq!(shared_hit(&memory, key.as_str()).map(|u| u.id), Some(id));
            let dyn_backend = cache_core::backend(None);
            assert_eq!(
                shared_hit(&*dyn_backend, key.as_str()).map(|u| u.id),
                Some(id)
            );
            assert_eq!(moka.get(&id).await.map(|u| u.id), Some(id));
        }
        let after = (
            hits_and_misses(SITE_ARC.name()),
            hits_and_misses(SITE_OWNED.name()),
        );
        assert_eq!(
            after.0,
            (before.0.0 + KEYS, before.0.1),
            "Arc<User> site: all hits"
        );
        assert_eq!(
            after.1,
            (before.1.0 + KEYS, before.1.1),
            "User site: all hits"
        );
    });
    Fixture { rt, memory, moka }
}

/// Asserts that everything measured since `before` was a hit.
fn assert_only_hits(name: &str, before: (u64, u64)) {
    let after = hits_and_misses(name);
    assert!(after.0 > before.0, "{name}: no hits counted");
    assert_eq!(after.1, before.1, "{name}: the bench missed");
    eprintln!(
        "{name}: {} hits, {} misses while measuring",
        after.0 - before.0,
        after.1 - before.1
    );
}

fn single(c: &mut Criterion, fx: &Fixture) {
    let before_arc = hits_and_misses(SITE_ARC.name());
    let before_owned = hits_and_misses(SITE_OWNED.name());
    let hot_key = user_key(HOT);
    let dyn_backend = cache_core::backend(None);

    let mut group = c.benchmark_group("memory_hit/single");
    group.bench_function("ours_runtime_arc", |b| {
        b.to_async(&fx.rt).iter(|| get_user(black_box(HOT)));
    });
    group.bench_function("moka_get", |b| {
        b.to_async(&fx.rt).iter(|| fx.moka.get(black_box(&HOT)));
    });
    group.bench_function("ours_runtime_owned", |b| {
        b.to_async(&fx.rt).iter(|| get_user_owned(black_box(HOT)));
    });
    group.bench_function("ours_local_visit_dyn", |b| {
        b.iter(|| shared_hit(&*dyn_backend, black_box(hot_key.as_str())));
    });
    group.bench_function("ours_local_visit_concrete", |b| {
        b.iter(|| shared_hit(&fx.memory, black_box(hot_key.as_str())));
    });
    group.bench_function("ours_key_build", |b| {
        b.iter(|| user_key(black_box(HOT)));
    });
    // Calibration: the clock read every TTL'd hit pays (ours, moka and `cached` alike).
    group.bench_function("clock_tokio_instant_now", |b| {
        b.iter(tokio::time::Instant::now);
    });
    group.finish();

    fn sync_batch<'a, R>(call: impl Fn() -> R + 'a) -> Batch<'a> {
        Box::new(move || {
            let start = Instant::now();
            for _ in 0..CALLS {
                black_box(call());
            }
            (start.elapsed(), CALLS)
        })
    }
    let (rt, moka, memory, dyn_backend, hot_key) =
        (&fx.rt, &fx.moka, &fx.memory, &dyn_backend, &hot_key);
    paired(
        "memory_hit/single (one task, one hot key)",
        Unit::NsPerCall,
        &["moka_get"],
        vec![
            (
                "ours_runtime_arc",
                batch_on(rt, || get_user(black_box(HOT))),
            ),
            ("moka_get", batch_on(rt, || moka.get(black_box(&HOT)))),
            (
                "ours_runtime_owned",
                batch_on(rt, || get_user_owned(black_box(HOT))),
            ),
            (
                "ours_local_visit_dyn",
                sync_batch(|| shared_hit(&**dyn_backend, black_box(hot_key.as_str()))),
            ),
            (
                "ours_local_visit_concrete",
                sync_batch(|| shared_hit(memory, black_box(hot_key.as_str()))),
            ),
            ("ours_key_build", sync_batch(|| user_key(black_box(HOT)))),
            (
                "clock_tokio_instant_now",
                sync_batch(tokio::time::Instant::now),
            ),
        ],
    );

    assert_only_hits(SITE_ARC.name(), before_arc);
    assert_only_hits(SITE_OWNED.name(), before_owned);
}

/// `iters` rounds of: spawn `TASKS` tasks, each doing `PER_TASK` hits, wait for all.
async fn fan_out<F, Fut>(iters: u64, hit: F) -> Duration
where
    F: Fn(u64) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = u64> + Send,
{
    let start = Instant::now();
    for _ in 0..iters {
        let tasks: Vec<_> = (0..TASKS)
            .map(|task| {
                let hit = hit.clone();
                tokio::spawn(async move {
                    let mut sum = 0u64;
                    for i in 0..PER_TASK {
                        let id = (task * 97 + i * 31) % KEYS;
                        sum = sum.wrapping_add(hit(id).await);
                    }
                    sum
                })
            })
            .collect();
        for task in tasks {
            black_box(task.await.expect("bench task"));
        }
    }
    start.elapsed()
}

fn tasks64(c: &mut Criterion, fx: &Fixture) {
    let before = hits_and_misses(SITE_ARC.name());
    let mut group = c.benchmark_group("memory_hit/tasks64");
    group.throughput(Throughput::Elements(TASKS * PER_TASK));
    group.sample_size(20);
    group.bench_function("ours_runtime_arc", |b| {
        b.to_async(&fx.rt)
            .iter_custom(|iters| fan_out(iters, |id| async move { get_user(id).await.id }));
    });
    // A `'static` handle, so that a hit costs no extra `Arc` clone of the cache.
    let moka: &'static moka::future::Cache<u64, Arc<User>> = Box::leak(Box::new(fx.moka.clone()));
    group.bench_function("moka_get", |b| {
        b.to_async(&fx.rt).iter_custom(|iters| {
            fan_out(iters, move |id| async move {
                moka.get(&id).await.map_or(u64::MAX, |u| u.id)
            })
        });
    });
    group.finish();

    const ROUNDS_PER_BATCH: u64 = 2;
    let rt = &fx.rt;
    paired(
        "memory_hit/tasks64 (64 tasks x 2000 hits over 1024 keys, 2 workers)",
        Unit::MopsPerSec,
        &["moka_get"],
        vec![
            (
                "ours_runtime_arc",
                Box::new(|| {
                    let elapsed = rt.block_on(fan_out(ROUNDS_PER_BATCH, |id| async move {
                        get_user(id).await.id
                    }));
                    (elapsed, ROUNDS_PER_BATCH * TASKS * PER_TASK)
                }) as Batch<'_>,
            ),
            (
                "moka_get",
                Box::new(|| {
                    let elapsed = rt.block_on(fan_out(ROUNDS_PER_BATCH, move |id| async move {
                        moka.get(&id).await.map_or(u64::MAX, |u| u.id)
                    }));
                    (elapsed, ROUNDS_PER_BATCH * TASKS * PER_TASK)
                }),
            ),
        ],
    );
    assert_only_hits(SITE_ARC.name(), before);
}

fn benches(c: &mut Criterion) {
    let fx = fixture();
    eprintln!(
        "future sizes: ours get_user {} B, moka get {} B",
        std::mem::size_of_val(&get_user(HOT)),
        std::mem::size_of_val(&fx.moka.get(&HOT)),
    );
    single(c, &fx);
    tasks64(c, &fx);
}

criterion_group!(memory_hit, benches);
criterion_main!(memory_hit);
