//! Session load on the memory backend (`cache_core::session::Sessions::load`) against a raw
//! `MemoryBackend::get` of the same key and a serde_json decode of the same record: what the
//! typed store adds (key building, the `dyn` backend, the timeout, the record's envelope).
//!
//! Issue 13. Every variant runs in the same criterion group, so compare them by ratio
//! (`ours / raw`), never by absolute time: the machine is shared.
//!
//! ```text
//! CARGO_TARGET_DIR=/work/target-bench cargo bench -p cache-core --bench session_memory -- \
//!     --warm-up-time 1 --measurement-time 3
//! ```
//!
//! - `single/*`: one task, one session, ns per load.
//! - `tasks64/*`: 64 tokio tasks on a 2-worker runtime, each loading `PER_TASK` times;
//!   throughput in loads/s.
//!
//! After the criterion groups, the same variants run interleaved (see `common`): quote those
//! `paired` ratios.

mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use cache_core::session::{SessionId, Sessions};
use cache_core::{CacheBackend, MemoryBackend};
use common::{Batch, Unit, User, batch_on, load_user, paired, runtime};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde::Deserialize;

/// Tasks in the concurrent variants.
const TASKS: u64 = 64;
/// Loads per task per round in the concurrent variants.
const PER_TASK: u64 = 2_000;

/// The stored record as the hand-written anchor decodes it (the same JSON fields).
#[derive(Deserialize)]
struct Record {
    #[allow(dead_code)]
    user: Option<String>,
    #[allow(dead_code)]
    created_ms: u64,
    data: User,
}

#[derive(Clone)]
struct Fixture {
    memory: MemoryBackend,
    sessions: Sessions<User>,
    id: SessionId,
    key: String,
}

impl Fixture {
    async fn ours(&self) -> User {
        self.sessions
            .load(&self.id)
            .await
            .expect("load")
            .expect("live")
    }

    async fn raw(&self) -> User {
        let bytes = self
            .memory
            .get(&self.key)
            .await
            .expect("get")
            .expect("stored");
        serde_json::from_slice::<Record>(&bytes)
            .expect("decode")
            .data
    }
}

fn fixture(rt: &tokio::runtime::Runtime) -> Fixture {
    rt.block_on(async {
        let memory = MemoryBackend::new();
        let sessions: Sessions<User> = Sessions::new(memory.clone()).ttl(Duration::from_secs(3600));
        let id = sessions
            .create(Some("u-7"), &load_user(7))
            .await
            .expect("create");
        let key = format!("session:{}", id.expose());
        let fx = Fixture {
            memory,
            sessions,
            id,
            key,
        };
        assert_eq!(fx.ours().await, load_user(7));
        assert_eq!(fx.raw().await, load_user(7));
        fx
    })
}

fn single(c: &mut Criterion, rt: &tokio::runtime::Runtime, fx: &Fixture) {
    let mut group = c.benchmark_group("session_memory/single");
    group.bench_function("sessions_load", |b| {
        b.to_async(rt).iter(|| fx.ours());
    });
    group.bench_function("raw_get_json_decode", |b| {
        b.to_async(rt).iter(|| fx.raw());
    });
    group.finish();
    paired(
        "session_memory/single (one task, one session)",
        Unit::NsPerCall,
        &["raw_get_json_decode"],
        vec![
            ("sessions_load", batch_on(rt, || black_box(fx).ours())),
            ("raw_get_json_decode", batch_on(rt, || black_box(fx).raw())),
        ],
    );
}

/// `rounds` rounds of: spawn `TASKS` tasks, each loading `PER_TASK` times, wait for all.
async fn fan_out(fx: &Fixture, rounds: u64, ours: bool) -> Duration {
    let start = Instant::now();
    for _ in 0..rounds {
        let tasks: Vec<_> = (0..TASKS)
            .map(|_| {
                let fx = fx.clone();
                tokio::spawn(async move {
                    for _ in 0..PER_TASK {
                        let user = if ours {
                            fx.ours().await
                        } else {
                            fx.raw().await
                        };
                        black_box(user);
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("bench task");
        }
    }
    start.elapsed()
}

fn tasks64(c: &mut Criterion, rt: &tokio::runtime::Runtime, fx: &Fixture) {
    let mut group = c.benchmark_group("session_memory/tasks64");
    group.throughput(Throughput::Elements(TASKS * PER_TASK));
    group.sample_size(20);
    for (name, ours) in [("sessions_load", true), ("raw_get_json_decode", false)] {
        group.bench_function(name, |b| {
            b.to_async(rt).iter_custom(|iters| fan_out(fx, iters, ours));
        });
    }
    group.finish();

    const ROUNDS_PER_BATCH: u64 = 2;
    let batch = |ours| -> Batch<'_> {
        Box::new(move || {
            let elapsed = rt.block_on(fan_out(fx, ROUNDS_PER_BATCH, ours));
            (elapsed, ROUNDS_PER_BATCH * TASKS * PER_TASK)
        })
    };
    paired(
        "session_memory/tasks64 (64 tasks x 2000 loads of one session, 2 workers)",
        Unit::MopsPerSec,
        &["raw_get_json_decode"],
        vec![
            ("sessions_load", batch(true)),
            ("raw_get_json_decode", batch(false)),
        ],
    );
}

fn benches(c: &mut Criterion) {
    let rt = runtime();
    let fx = fixture(&rt);
    single(c, &rt, &fx);
    tasks64(c, &rt, &fx);
}

criterion_group!(session_memory, benches);
criterion_main!(session_memory);
