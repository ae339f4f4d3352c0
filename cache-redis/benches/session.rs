//! Session load on Redis (`cache_core::session::Sessions::load`) against what an app does by
//! hand with redis-rs: `GET session:<id>` on a `ConnectionManager` and a serde_json decode of
//! the same record. 64 tasks loading one session, throughput (issue 13: target >= 0.9x).
//!
//! Starts its own `redis-server` on a free loopback port (or uses `REDIS_BENCH_URL`).
//!
//! ```text
//! CARGO_TARGET_DIR=/work/target-redis cargo bench -p cache-redis --bench session -- \
//!     --warm-up-time 1 --measurement-time 3
//! ```
//!
//! After criterion, an interleaved pass (the variants take turns, median of rounds) prints
//! the throughput ratio, which resists noise on a shared machine.
#![allow(missing_docs, clippy::unwrap_used, clippy::panic, clippy::expect_used)]

mod common;

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use cache_core::session::{SessionId, Sessions};
use cache_redis::redis::{AsyncCommands, aio::ConnectionManager};
use common::{Measured, User, backend, compare, load_user, raw, runtime, spread, start_server};
use criterion::{Criterion, criterion_group, criterion_main};
use serde::Deserialize;

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
enum Variant {
    /// `GET` + `serde_json::from_slice`, straight through redis-rs.
    RawGetJson(ConnectionManager, Arc<str>),
    /// `Sessions::load` on the backend.
    Ours(Sessions<User>, SessionId),
}

impl Variant {
    async fn once(&self) -> User {
        match self {
            Self::RawGetJson(con, key) => {
                let mut con = con.clone();
                let bytes: Option<Vec<u8>> = con.get(&**key).await.unwrap();
                serde_json::from_slice::<Record>(&bytes.expect("stored"))
                    .unwrap()
                    .data
            }
            Self::Ours(sessions, id) => sessions.load(id).await.unwrap().expect("live"),
        }
    }
}

impl Measured for Variant {
    fn name(&self) -> &'static str {
        match self {
            Self::RawGetJson(..) => "raw_get_json_decode",
            Self::Ours(..) => "sessions_load",
        }
    }

    async fn run(&self, iters: u64) -> Duration {
        let this = self.clone();
        spread(iters, move || {
            let this = this.clone();
            async move {
                black_box(this.once().await);
            }
        })
        .await
    }
}

fn benches(c: &mut Criterion) {
    let rt = runtime();
    let (_server, url) = start_server();
    let variants = rt.block_on(async {
        let backend = backend(&url).await;
        let sessions: Sessions<User> = Sessions::new(backend);
        let id = sessions.create(Some("u-7"), &load_user(7)).await.unwrap();
        let raw = raw(&url).await;
        let key: Arc<str> = format!("bench:session:{}", id.expose()).into();
        let variants = vec![Variant::RawGetJson(raw, key), Variant::Ours(sessions, id)];
        for variant in &variants {
            assert_eq!(variant.once().await, load_user(7), "{}", variant.name());
        }
        variants
    });

    let medians = compare(c, &rt, "session_load_64_tasks", &variants, 10_000);
    report(&variants, &medians);
}

/// The variants take turns in rounds of 10,000 loads; median throughput per variant and its
/// ratio to the anchor (the first).
fn report(variants: &[Variant], medians: &[f64]) {
    for (variant, rate) in variants.iter().zip(medians) {
        eprintln!(
            "64-task session loads {}: median {rate:.0} loads/s ({:.3}x raw GET + JSON decode)",
            variant.name(),
            rate / medians[0],
        );
    }
}

criterion_group!(session, benches);
criterion_main!(session);
