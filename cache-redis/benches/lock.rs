//! Lock acquire + release cycles on Redis through the `LockStore` capability, against the
//! classic single-instance lock done by hand with redis-rs: `SET key token NX PX 30000`, then
//! a compare-and-delete `EVALSHA`. Same connection type (`ConnectionManager`), 64 tasks, each
//! on a key of its own (no contention: the cost of the protocol, not of waiting), a fresh
//! token per cycle on both sides.
//!
//! Starts its own `redis-server` on a free loopback port (or uses `REDIS_BENCH_URL`).
//!
//! ```text
//! CARGO_TARGET_DIR=/work/target-redis cargo bench -p cache-redis --bench lock -- \
//!     --warm-up-time 1 --measurement-time 3
//! ```
//!
//! Ours does more per cycle than the anchor, by design: the acquisition is a script (an
//! idempotent retry, and a fence from `TIME` and the fence key, which no plain command can
//! set atomically with the owner), and the release publishes a wake-up. So a cycle is two
//! `EVALSHA`s where the anchor sends one `SET` and one `EVALSHA`, and on Redis 7.0 a script
//! call costs several times a `SET` whatever it does (`INFO commandstats` after a run here:
//! `evalsha` 4.6 µs per call, inner `set` 0.57, `get`/`del` 0.23, `time`/`publish` 0.15): the
//! anchor's throughput is out of reach, and `raw_evalsha_lock_scripts` (the same two scripts
//! sent straight through redis-rs) is the ceiling to compare the backend with.
//!
//! After criterion, an interleaved pass (the variants take turns, median of rounds) prints
//! the throughput ratios, which resist noise on a shared machine.
#![allow(missing_docs, clippy::unwrap_used, clippy::panic, clippy::expect_used)]

mod common;

use std::hint::black_box;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use cache_core::CacheBackend;
use cache_core::lock::{Acquire, LockToken};
use cache_redis::RedisBackend;
use cache_redis::redis::{self, Script, aio::ConnectionManager};
use common::{Measured, backend, compare, raw, runtime, spread_tasks, start_server, task_keys};
use criterion::{Criterion, criterion_group, criterion_main};

/// The anchor's release: the compare-and-delete every single-instance Redis lock uses.
static COMPARE_AND_DELETE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("../src/scripts/delete_if_equals.lua")));

/// The backend's own scripts, called directly: separates their server-side cost from the
/// backend's plumbing.
static RAW_ACQUIRE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("../src/scripts/lock_acquire.lua")));
static RAW_RELEASE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("../src/scripts/lock_release.lua")));

const LEASE: Duration = Duration::from_secs(30);

#[derive(Clone)]
enum Variant {
    /// `SET NX PX` + `EVALSHA` compare-and-delete, straight through redis-rs.
    Anchor(ConnectionManager, Arc<[String]>),
    /// The backend's acquire and release scripts, straight through redis-rs.
    RawScripts(ConnectionManager, Arc<[String]>),
    /// `LockStore::acquire` + `LockStore::release` on the backend.
    Ours(Box<RedisBackend>, Arc<[String]>),
}

impl Variant {
    async fn once(&self, task: u64) {
        let token = LockToken::random().unwrap();
        match self {
            Self::Anchor(con, keys) => {
                let mut con = con.clone();
                let key = &keys[task as usize];
                let taken: Option<String> = redis::cmd("SET")
                    .arg(key)
                    .arg(token.as_str())
                    .arg("NX")
                    .arg("PX")
                    .arg(30_000)
                    .query_async(&mut con)
                    .await
                    .unwrap();
                assert!(taken.is_some(), "each task has its own key");
                let released: i64 = COMPARE_AND_DELETE
                    .key(key)
                    .arg(token.as_str())
                    .invoke_async(&mut con)
                    .await
                    .unwrap();
                black_box(released);
            }
            Self::RawScripts(con, keys) => {
                let mut con = con.clone();
                let key = &keys[task as usize];
                let (taken, _fence): (i64, i64) = RAW_ACQUIRE
                    .key(format!("{{{key}}}:lock"))
                    .key(format!("{{{key}}}:fence"))
                    .arg(token.as_str())
                    .arg(30_000)
                    .invoke_async(&mut con)
                    .await
                    .unwrap();
                assert_eq!(taken, 1, "each task has its own key");
                let released: i64 = RAW_RELEASE
                    .key(format!("{{{key}}}:lock"))
                    .arg(token.as_str())
                    .arg("raw:__cache_locks")
                    .arg(key)
                    .invoke_async(&mut con)
                    .await
                    .unwrap();
                black_box(released);
            }
            Self::Ours(backend, keys) => {
                let locks = backend.locks().unwrap();
                let key = &keys[task as usize];
                let taken = locks.acquire(key, &token, LEASE).await.unwrap();
                assert!(
                    matches!(taken, Acquire::Acquired { .. }),
                    "each task has its own key"
                );
                black_box(locks.release(key, &token).await.unwrap());
            }
        }
    }
}

impl Measured for Variant {
    fn name(&self) -> &'static str {
        match self {
            Self::Anchor(..) => "set_nx_px_and_compare_and_delete",
            Self::RawScripts(..) => "raw_evalsha_lock_scripts",
            Self::Ours(..) => "lock_store_acquire_release",
        }
    }

    async fn run(&self, iters: u64) -> Duration {
        let this = self.clone();
        spread_tasks(iters, move |task| {
            let this = this.clone();
            async move { this.once(task).await }
        })
        .await
    }
}

fn benches(c: &mut Criterion) {
    let rt = runtime();
    let (_server, url) = start_server();
    let variants = rt.block_on(async {
        let backend = backend(&url).await;
        let raw = raw(&url).await;
        let variants = vec![
            Variant::Anchor(raw.clone(), task_keys("raw", "job")),
            Variant::RawScripts(raw, task_keys("rawscripts", "job")),
            Variant::Ours(Box::new(backend), task_keys("ours", "job")),
        ];
        for variant in &variants {
            variant.once(0).await;
        }
        variants
    });

    let medians = compare(c, &rt, "lock_cycle_64_tasks", &variants, 10_000);
    report(&variants, &medians);
}

/// The variants take turns in rounds of 10,000 cycles; median throughput per variant and its
/// ratios to the anchor and to the raw scripts (the variants' first two).
fn report(variants: &[Variant], medians: &[f64]) {
    for (variant, rate) in variants.iter().zip(medians) {
        eprintln!(
            "64-task lock cycles {}: median {rate:.0} acquire+release/s ({:.3}x the anchor, \
             {:.3}x the raw scripts)",
            variant.name(),
            rate / medians[0],
            rate / medians[1]
        );
    }
}

criterion_group!(lock, benches);
criterion_main!(lock);
