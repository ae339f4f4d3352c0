//! Macro hit path (issue 3): our `#[cached]` on the memory backend against the `cached` crate's
//! `#[cached]` and `#[concurrent_cached]` and against moka `future::Cache::get`, all returning
//! `Arc<User>` for one hot key, in one criterion group. Compare by ratio, not absolute time.
//!
//! ```text
//! CARGO_TARGET_DIR=/work/target-bench cargo bench -p cache-core --bench macro_hit -- \
//!     --warm-up-time 1 --measurement-time 3
//! ```
//!
//! "ours" is `#[cache_core::cached(key = "user:<id>", ttl = 300)]`; `ours_runtime_direct` is the
//! hand-written call into `cache_core::__private::cached` it expands to, as a cross-check;
//! `ours_cached_stale` adds `stale = "1h"` (issue 16: within 10% of `ours_cached`);
//! `ours_cached_tagged` adds `tags = ["user:<id>"]` (one in-process version read per hit).
//! After the criterion group, the same variants run interleaved (see `common`): quote those
//! `paired` ratios.

mod common;

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use cache_core::__private::{KeyBuf, Shape, Site, SiteConfig, cached};
use cache_core::MemoryBackend;
use common::{Unit, User, batch_on, load_user, paired, runtime};
use criterion::{Criterion, criterion_group, criterion_main};

/// Body runs, per variant: a hit must never run the body.
static OURS_LOADS: AtomicU64 = AtomicU64::new(0);
static DIRECT_LOADS: AtomicU64 = AtomicU64::new(0);
static CACHED_LOADS: AtomicU64 = AtomicU64::new(0);
static CONCURRENT_LOADS: AtomicU64 = AtomicU64::new(0);
static STALE_LOADS: AtomicU64 = AtomicU64::new(0);
static TAGGED_LOADS: AtomicU64 = AtomicU64::new(0);

/// Distinct keys pre-filled in every store.
const KEYS: u64 = 1024;
/// The key every variant hits while measured.
const HOT: u64 = 7;

static SITE: Site = Site::new(SiteConfig {
    name: "bench::macro_hit::direct_get_user",
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

/// The stats name the macro gives `ours_get_user` (`module::path::fn_name`).
const OURS_NAME: &str = "macro_hit::ours_get_user";

/// Ours, through the macro.
#[cache_core::cached(key = "user:<id>", ttl = 300)]
async fn ours_get_user(id: u64) -> Arc<User> {
    OURS_LOADS.fetch_add(1, Ordering::Relaxed);
    Arc::new(load_user(id))
}

/// Ours, serving past the TTL: the stamped value's freshness is checked on every hit.
#[cache_core::cached(key = "stale_user:<id>", ttl = 300, stale = "1h")]
async fn ours_stale_get_user(id: u64) -> Arc<User> {
    STALE_LOADS.fetch_add(1, Ordering::Relaxed);
    Arc::new(load_user(id))
}

/// Ours, with a tag: each hit also reads the tag's version in process.
#[cache_core::cached(key = "tagged_user:<id>", ttl = 300, tags = ["user:<id>"])]
async fn ours_tagged_get_user(id: u64) -> Arc<User> {
    TAGGED_LOADS.fetch_add(1, Ordering::Relaxed);
    Arc::new(load_user(id))
}

/// Ours, runtime-direct: what the macro expands to, written by hand (its own key prefix).
async fn ours_direct_get_user(id: u64) -> Arc<User> {
    let mut key = KeyBuf::new();
    key.push_literal("direct_user:");
    key.push_part(&id);
    cached(
        &SITE,
        key.as_str(),
        Shape::new(|r: &Arc<User>| Some(r.clone()), |s| s),
        move || async move {
            DIRECT_LOADS.fetch_add(1, Ordering::Relaxed);
            Arc::new(load_user(id))
        },
    )
    .await
}

/// `cached` 4.1 `#[cached]`: one global async `RwLock`, write-locked on every call.
#[cached::proc_macro::cached(ttl_secs = 300)]
async fn anchor_cached_get_user(id: u64) -> Arc<User> {
    CACHED_LOADS.fetch_add(1, Ordering::Relaxed);
    Arc::new(load_user(id))
}

/// `cached` 4.1 `#[concurrent_cached]`: sharded store, per-shard sync lock.
#[cached::proc_macro::concurrent_cached(ttl_secs = 300)]
async fn anchor_concurrent_get_user(id: u64) -> Arc<User> {
    CONCURRENT_LOADS.fetch_add(1, Ordering::Relaxed);
    Arc::new(load_user(id))
}

fn hits_and_misses(name: &str) -> (u64, u64) {
    cache_core::stats::snapshot(name).map_or((0, 0), |s| (s.hits, s.misses))
}

fn loads() -> [u64; 6] {
    [
        STALE_LOADS.load(Ordering::Relaxed),
        TAGGED_LOADS.load(Ordering::Relaxed),
        OURS_LOADS.load(Ordering::Relaxed),
        DIRECT_LOADS.load(Ordering::Relaxed),
        CACHED_LOADS.load(Ordering::Relaxed),
        CONCURRENT_LOADS.load(Ordering::Relaxed),
    ]
}

fn benches(c: &mut Criterion) {
    let rt = runtime();
    cache_core::set_global_backend(MemoryBackend::new());
    let moka: moka::future::Cache<u64, Arc<User>> = moka::future::Cache::builder()
        .max_capacity(100_000)
        .time_to_live(Duration::from_secs(300))
        .build();

    // Fill every store, then check each path returns the right user without running its body.
    rt.block_on(async {
        for id in 0..KEYS {
            assert_eq!(ours_get_user(id).await.id, id);
            assert_eq!(ours_stale_get_user(id).await.id, id);
            assert_eq!(ours_tagged_get_user(id).await.id, id);
            assert_eq!(ours_direct_get_user(id).await.id, id);
            assert_eq!(anchor_cached_get_user(id).await.id, id);
            assert_eq!(anchor_concurrent_get_user(id).await.id, id);
            moka.insert(id, Arc::new(load_user(id))).await;
        }
        assert_eq!(loads(), [KEYS; 6]);
        let names = [OURS_NAME, SITE.name()];
        let before = names.map(hits_and_misses);
        for id in 0..KEYS {
            let expected = load_user(id);
            assert_eq!(*ours_get_user(id).await, expected);
            assert_eq!(*ours_stale_get_user(id).await, expected);
            assert_eq!(*ours_tagged_get_user(id).await, expected);
            assert_eq!(*ours_direct_get_user(id).await, expected);
            assert_eq!(*anchor_cached_get_user(id).await, expected);
            assert_eq!(*anchor_concurrent_get_user(id).await, expected);
            assert_eq!(moka.get(&id).await.as_deref(), Some(&expected));
        }
        assert_eq!(loads(), [KEYS; 6], "a pre-filled key ran its body");
        for (name, before) in names.iter().zip(before) {
            assert_eq!(hits_and_misses(name), (before.0 + KEYS, before.1), "{name}");
        }
    });

    let names = [OURS_NAME, SITE.name()];
    let before = names.map(hits_and_misses);
    let mut group = c.benchmark_group("macro_hit");
    group.bench_function("ours_cached", |b| {
        b.to_async(&rt).iter(|| ours_get_user(black_box(HOT)));
    });
    group.bench_function("ours_cached_stale", |b| {
        b.to_async(&rt).iter(|| ours_stale_get_user(black_box(HOT)));
    });
    group.bench_function("ours_cached_tagged", |b| {
        b.to_async(&rt)
            .iter(|| ours_tagged_get_user(black_box(HOT)));
    });
    group.bench_function("ours_runtime_direct", |b| {
        b.to_async(&rt)
            .iter(|| ours_direct_get_user(black_box(HOT)));
    });
    group.bench_function("cached_concurrent_cached", |b| {
        b.to_async(&rt)
            .iter(|| anchor_concurrent_get_user(black_box(HOT)));
    });
    group.bench_function("cached_cached", |b| {
        b.to_async(&rt)
            .iter(|| anchor_cached_get_user(black_box(HOT)));
    });
    group.bench_function("moka_get", |b| {
        b.to_async(&rt).iter(|| moka.get(black_box(&HOT)));
    });
    group.finish();

    // The same variants interleaved, for ratios that a burst of load cannot skew.
    let moka = &moka;
    paired(
        "macro_hit (single task, one hot key)",
        Unit::NsPerCall,
        &["ours_cached", "cached_concurrent_cached", "moka_get"],
        vec![
            (
                "ours_cached",
                batch_on(&rt, || ours_get_user(black_box(HOT))),
            ),
            (
                "ours_cached_stale",
                batch_on(&rt, || ours_stale_get_user(black_box(HOT))),
            ),
            (
                "ours_cached_tagged",
                batch_on(&rt, || ours_tagged_get_user(black_box(HOT))),
            ),
            (
                "ours_runtime_direct",
                batch_on(&rt, || ours_direct_get_user(black_box(HOT))),
            ),
            (
                "cached_concurrent_cached",
                batch_on(&rt, || anchor_concurrent_get_user(black_box(HOT))),
            ),
            (
                "cached_cached",
                batch_on(&rt, || anchor_cached_get_user(black_box(HOT))),
            ),
            ("moka_get", batch_on(&rt, || moka.get(black_box(&HOT)))),
        ],
    );

    assert_eq!(loads(), [KEYS; 6], "a measured call ran its body");
    for (name, before) in names.iter().zip(before) {
        let after = hits_and_misses(name);
        assert!(after.0 > before.0, "{name}: no hits counted");
        assert_eq!(after.1, before.1, "{name}: the bench missed");
        eprintln!(
            "{name}: {} hits, {} misses while measuring",
            after.0 - before.0,
            after.1 - before.1
        );
    }
}

criterion_group!(macro_hit, benches);
criterion_main!(macro_hit);
