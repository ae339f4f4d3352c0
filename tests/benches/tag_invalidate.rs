//! Tag invalidation at scale: `TAG_BENCH_ENTRIES` entries (default one million) of a
//! `#[cached]` function all carrying one tag, on the memory backend and on a real
//! `redis-server` (started through `cache_tests::redis_harness`), then one
//! `cache_core::invalidate_tag`:
//!
//! ```text
//! cargo bench -p cache-tests --bench tag_invalidate
//! ```
//!
//! Prints, per backend, how long the invalidation took, how many commands the server ran for it
//! (`INFO commandstats`), and how many entries were served after it (each read after the
//! invalidation runs the body or it was served stale). It asserts only that nothing was served.
#![allow(missing_docs, clippy::unwrap_used, clippy::panic, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use cache_core::{DynBackend, MemoryBackend, cached, invalidate_tag, with_backend};
use cache_tests::redis_harness::RedisServer;

static RUNS: AtomicU64 = AtomicU64::new(0);

#[cached(key = "bulk:<id>", ttl = "1h", tags = ["bulk"])]
async fn bulk(id: u64) -> u64 {
    RUNS.fetch_add(1, Ordering::Relaxed);
    id
}

/// Calls `bulk` for every id from `tasks` tasks; returns the body runs it took.
async fn call_all(backend: &DynBackend, entries: u64, tasks: u64) -> u64 {
    let before = RUNS.load(Ordering::Relaxed);
    let mut handles = Vec::new();
    for task in 0..tasks {
        let backend = Arc::clone(backend);
        handles.push(tokio::spawn(with_backend(backend, async move {
            let mut id = task;
            while id < entries {
                assert_eq!(bulk(id).await, id);
                id += tasks;
            }
        })));
    }
    for handle in handles {
        handle.await.unwrap();
    }
    RUNS.load(Ordering::Relaxed) - before
}

/// Fills, invalidates, reads again; prints the figures.
/// `commands` counts the server's commands, where there is a server.
async fn measure(
    name: &str,
    backend: DynBackend,
    entries: u64,
    commands: Option<&dyn Fn() -> u64>,
) {
    let filled = Instant::now();
    let runs = call_all(&backend, entries, 64).await;
    assert_eq!(runs, entries, "{name}: the fill runs every body once");
    let fill = filled.elapsed();
    assert_eq!(call_all(&backend, entries, 64).await, 0, "{name}: all hits");

    let before = commands.map(|count| count());
    let started = Instant::now();
    with_backend(Arc::clone(&backend), invalidate_tag("bulk"))
        .await
        .unwrap();
    let took = started.elapsed();
    let ran = match (commands, before) {
        (Some(count), Some(before)) => format!("{} server command(s)", count() - before),
        _ => "in process".to_owned(),
    };

    let rerun = call_all(&backend, entries, 64).await;
    println!(
        "{name:>6}: {entries} tagged entries (filled in {fill:.1?}); invalidate_tag took {:.3} ms, {ran}; afterwards {} of {entries} served from cache",
        took.as_secs_f64() * 1e3,
        entries - rerun,
    );
    assert_eq!(
        rerun, entries,
        "{name}: no entry is served after its tag went"
    );
}

/// The commands the server has run, `INFO commandstats` summed (itself excluded).
fn server_commands(server: &RedisServer) -> u64 {
    server
        .cli(&["INFO", "commandstats"])
        .lines()
        .filter(|line| line.starts_with("cmdstat_") && !line.starts_with("cmdstat_info:"))
        .filter_map(|line| {
            let calls = line.split("calls=").nth(1)?;
            calls.split(',').next()?.parse::<u64>().ok()
        })
        .sum()
}

fn main() {
    let entries: u64 = std::env::var("TAG_BENCH_ENTRIES")
        .map(|n| n.parse().expect("TAG_BENCH_ENTRIES: a whole number"))
        .unwrap_or(1_000_000);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let memory: DynBackend =
            Arc::new(MemoryBackend::builder().max_entries(2 * entries).build());
        measure("memory", memory, entries, None).await;

        let Some(server) = RedisServer::start() else {
            eprintln!("tag_invalidate: no redis-server, Redis not measured");
            return;
        };
        let redis: DynBackend = Arc::new(server.backend("tag_bench:").await);
        let commands = || server_commands(&server);
        measure("redis", redis, entries, Some(&commands)).await;
    });
}
