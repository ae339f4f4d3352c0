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
use cache_redis::redis::{self, AsyncCommands, aio::ConnectionManager};
use cache_redis::{RedisBackend, RedisConfig};
use common::{TASKS, interleaved_medians, spread_tasks, start_server};
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
    fn name(&self) -> &'static str {
        match self {
            Self::Raw(.., false) => "raw_rpush_lpop",
            Self::Raw(.., true) => "raw_rpush_lpop_timed",
            Self::Ours(..) => "structure_store_push_pop",
        }
    }

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

    async fn run(&self, iters: u64) -> Duration {
        let this = self.clone();
        spread_tasks(iters, move |task| {
            let this = this.clone();
            async move { this.once(task).await }
        })
        .await
    }
}

fn keys(kind: &str) -> Arc<[String]> {
    (0..TASKS)
        .map(|task| format!("{kind}:queue:{task}"))
        .collect()
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
        let client = redis::Client::open(url.as_str()).unwrap();
        let raw = client.get_connection_manager().await.unwrap();
        let timed = redis::aio::ConnectionManagerConfig::new()
            .set_response_timeout(Some(Duration::from_secs(1)));
        let timed = client
            .get_connection_manager_with_config(timed)
            .await
            .unwrap();
        let variants = vec![
            Variant::Raw(raw, keys("raw"), item(), false),
            Variant::Raw(timed, keys("timed"), item(), true),
            Variant::Ours(Box::new(backend), keys("ours"), item()),
        ];
        for variant in &variants {
            variant.once(0).await;
        }
        variants
    });

    let mut group = c.benchmark_group("queue_push_pop_64_tasks");
    for variant in &variants {
        group.bench_function(variant.name(), |b| {
            b.to_async(&rt).iter_custom(|iters| variant.run(iters));
        });
    }
    group.finish();

    rt.block_on(interleaved(&variants));
}

/// The variants take turns in rounds of 10,000 pairs; median throughput per variant and its
/// ratio to the raw pair (the first variant).
async fn interleaved(variants: &[Variant]) {
    let medians =
        interleaved_medians(variants.len(), 10_000, |i, iters| variants[i].run(iters)).await;
    for (variant, rate) in variants.iter().zip(&medians) {
        eprintln!(
            "64-task queue {}: median {rate:.0} push+pop pairs/s ({:.3}x raw RPUSH+LPOP)",
            variant.name(),
            rate / medians[0]
        );
    }
}

criterion_group!(structures, benches);
criterion_main!(structures);
