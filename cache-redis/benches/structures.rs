//! Queue push + pop pairs on Redis through the `StructureStore` capability
//! (`apply(QueuePush)` then `apply(QueuePop { count: 1 })`), against a raw redis-rs `RPUSH` +
//! `LPOP` on the same connection type (`ConnectionManager`). 64 tasks, each on a queue of its
//! own; the same JSON item on both sides, decoded after the pop on both sides.
//!
//! Starts its own `redis-server` on a free loopback port (or uses `REDIS_BENCH_URL`).
//!
//! ```text
//! CARGO_TARGET_DIR=/work/target-redis cargo bench -p cache-redis --bench structures -- \
//!     --warm-up-time 1 --measurement-time 3
//! ```
//!
//! After criterion, an interleaved pass (the variants take turns, median of rounds) prints
//! the throughput of each and ours as a ratio of the raw pair, which resists noise on a
//! shared machine. Target: at least 0.9x.
#![allow(missing_docs, clippy::unwrap_used, clippy::panic, clippy::expect_used)]

mod common;

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use cache_core::Bytes;
use cache_core::CacheBackend;
use cache_core::structures::{Op, Reply};
use cache_redis::RedisBackend;
use cache_redis::redis::{self, AsyncCommands, aio::ConnectionManager};
use common::{Measured, backend, compare, runtime, spread_tasks, start_server, task_keys};
use criterion::{Criterion, criterion_group, criterion_main};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
struct Job {
    id: u64,
    kind: String,
    payload: Vec<u32>,
}

fn item() -> Bytes {
    let job = Job {
        id: 7,
        kind: "resize-image".into(),
        payload: vec![1, 2, 3, 4, 5, 6, 7, 8],
    };
    Bytes::from(serde_json::to_vec(&job).unwrap())
}

#[derive(Clone)]
enum Variant {
    /// `RPUSH` + `LPOP` straight through redis-rs (`timed`: with the backend's response
    /// timeout on the connection, the bound every call of ours has).
    Raw(ConnectionManager, Arc<[String]>, Bytes, bool),
    /// `StructureStore::apply` with `QueuePush` then `QueuePop { count: 1 }`.
    Ours(Box<RedisBackend>, Arc<[String]>, Bytes),
}

impl Variant {
    async fn once(&self, task: u64) {
        match self {
            Self::Raw(con, keys, item, _) => {
                let mut con = con.clone();
                let key = &keys[task as usize];
                let _: u64 = con.rpush(key, &item[..]).await.unwrap();
                let popped: Option<Vec<u8>> = con.lpop(key, None).await.unwrap();
                let job: Job = serde_json::from_slice(&popped.expect("just pushed")).unwrap();
                black_box(job);
            }
            Self::Ours(backend, keys, item) => {
                let store = backend.structures().unwrap();
                let key = &keys[task as usize];
                let pushed = store
                    .apply(
                        key,
                        Op::QueuePush {
                            values: std::slice::from_ref(item),
                        },
                    )
                    .await
                    .unwrap();
                black_box(pushed);
                let Reply::Values(popped) =
                    store.apply(key, Op::QueuePop { count: 1 }).await.unwrap()
                else {
                    panic!("a pop replies values");
                };
                let job: Job = serde_json::from_slice(&popped[0]).unwrap();
                black_box(job);
            }
        }
    }
}

impl Measured for Variant {
    fn name(&self) -> &'static str {
        match self {
            Self::Raw(.., false) => "raw_rpush_lpop",
            Self::Raw(.., true) => "raw_rpush_lpop_timed",
            Self::Ours(..) => "structure_store_push_pop",
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
        let client = redis::Client::open(url.as_str()).unwrap();
        let raw = client.get_connection_manager().await.unwrap();
        let timed = redis::aio::ConnectionManagerConfig::new()
            .set_response_timeout(Some(Duration::from_secs(1)));
        let timed = client
            .get_connection_manager_with_config(timed)
            .await
            .unwrap();
        let variants = vec![
            Variant::Raw(raw, task_keys("raw", "queue"), item(), false),
            Variant::Raw(timed, task_keys("timed", "queue"), item(), true),
            Variant::Ours(Box::new(backend), task_keys("ours", "queue"), item()),
        ];
        for variant in &variants {
            variant.once(0).await;
        }
        variants
    });

    let medians = compare(c, &rt, "queue_push_pop_64_tasks", &variants, 10_000);
    report(&variants, &medians);
}

/// The variants take turns in rounds of 10,000 pairs; median throughput per variant and its
/// ratio to the raw pair (the first variant).
fn report(variants: &[Variant], medians: &[f64]) {
    for (variant, rate) in variants.iter().zip(medians) {
        eprintln!(
            "64-task queue {}: median {rate:.0} push+pop pairs/s ({:.3}x raw RPUSH+LPOP)",
            variant.name(),
            rate / medians[0]
        );
    }
}

criterion_group!(structures, benches);
criterion_main!(structures);
