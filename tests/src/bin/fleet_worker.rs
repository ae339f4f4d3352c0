//! One process of a fleet, for the cross-process `#[cached]` tests (tests/redis_fleet.rs):
//! it runs concurrent callers of a cached function on Redis and reports what they got on
//! stdout, one line per fact, so the test can count body runs and values across processes.
//!
//! `fleet_worker <redis-url | cluster:host:port,...> <key-prefix> <mode> <callers>`; modes:
//!
//! - `once`: `callers` calls of `shared(1)`, whose body counts its runs in Redis, takes 300 ms
//!   and returns a value naming this process; prints `value <v> <how many callers got it>`.
//! - `kill`: `callers` calls of `crashing(1)` (lease 1 s). The first body in the fleet prints
//!   `leader` and hangs (the test kills the process); any later one prints
//!   `took-over <unix ms>`. Prints `value` lines as `once` does.
//! - `stall`: one call each of `stalling(0..callers)` (lease 500 ms), whose bodies print
//!   `started <n>` as each starts and return `old` after 1.5 s (the test stops the process in
//!   between); prints `done` when every call returned.
//! - `stale`: `callers` calls of `refreshed(1)` (`ttl` 1 s, `stale` 1 h), whose body counts
//!   its runs in Redis and takes 300 ms; waits 1 s for refreshes running behind the calls,
//!   then prints `value` lines as `once` does.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cache_core::{CacheBackend, backend, cached, set_global_backend};
use cache_redis::{RedisBackend, RedisConfig};

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}").expect("stdout");
    out.flush().expect("stdout");
}

fn unix_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_millis())
}

async fn count_run(name: &str) -> i64 {
    backend(None)
        .increment(&format!("runs:{name}"), 1)
        .await
        .expect("the run counter")
}

#[cached(key = "shared:<id>", ttl = 60)]
async fn shared(id: u64) -> String {
    count_run("shared").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    format!("{id} from {}", std::process::id())
}

#[cached(key = "crashing:<id>", ttl = 60, lock_lease = "1s", lock_wait = "30s")]
async fn crashing(id: u64) -> String {
    if count_run("crashing").await == 1 {
        say("leader");
        std::future::pending::<()>().await;
    }
    say(&format!("took-over {}", unix_ms()));
    format!("{id} from {}", std::process::id())
}

static STARTED: AtomicUsize = AtomicUsize::new(0);

#[cached(key = "stalling:<id>", ttl = 60, lock_lease = "500ms")]
async fn stalling(id: u64) -> String {
    say(&format!(
        "started {}",
        STARTED.fetch_add(1, Ordering::SeqCst) + 1
    ));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let _ = id;
    "old".to_owned()
}

#[cached(key = "refreshed:<id>", ttl = 1, stale = "1h")]
async fn refreshed(id: u64) -> String {
    let run = count_run("refreshed").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    format!("{id} run {run}")
}

fn report(values: Vec<String>) {
    let mut counts = BTreeMap::new();
    for value in values {
        *counts.entry(value).or_insert(0_usize) += 1;
    }
    for (value, count) in counts {
        say(&format!("value {value} {count}"));
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, prefix, mode, callers] = args.as_slice() else {
        panic!("usage: fleet_worker <redis-url> <key-prefix> <once|kill|stall|stale> <callers>");
    };
    let callers: u64 = callers.parse().expect("a number of callers");
    let config = match url.strip_prefix("cluster:") {
        Some(nodes) => RedisConfig::cluster(nodes.split(',')),
        None => RedisConfig::from_url(url),
    };
    let config = config.expect("a Redis address").key_prefix(prefix.as_str());
    set_global_backend(RedisBackend::connect(config).await.expect("Redis answers"));
    let mut calls = tokio::task::JoinSet::new();
    for id in 0..callers {
        match mode.as_str() {
            "once" => calls.spawn(shared(1)),
            "kill" => calls.spawn(crashing(1)),
            "stall" => calls.spawn(stalling(id)),
            "stale" => calls.spawn(refreshed(1)),
            other => panic!("unknown mode `{other}`"),
        };
    }
    let values = calls.join_all().await;
    if mode == "stale" {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    if mode == "stall" {
        say("done");
    } else {
        report(values);
    }
}
