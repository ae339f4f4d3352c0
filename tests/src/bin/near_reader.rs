//! One reader process of the near-cache stale-read hunt (tests/redis_near.rs): reads
//! `<prefix>k0..k<keys>` through a `RedisBackend` with its near cache on, for `seconds`, and
//! reports every read on stdout as `read <key> <version> <unix ns when the read began>`, then
//! `stats <near-cache hits>`.
//!
//! `near_reader <redis-url> <key-prefix> <keys> <seconds>`
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cache_core::CacheBackendExt;
use cache_redis::{RedisBackend, RedisConfig};

// Two workers: the reading loop pauses its thread, the connection drivers run on the other.
#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, prefix, keys, seconds] = args.as_slice() else {
        panic!("usage: near_reader <redis-url> <key-prefix> <keys> <seconds>");
    };
    let keys: usize = keys.parse().expect("keys");
    let until = Instant::now() + Duration::from_secs(seconds.parse().expect("seconds"));
    let config = RedisConfig::from_url(url)
        .expect("url")
        .key_prefix(prefix.as_str())
        .near_cache(1_000);
    let reader = RedisBackend::connect(config).await.expect("connect");
    while !reader.near_cache_stats().expect("near cache").serving {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    writeln!(out, "ready").unwrap();
    out.flush().unwrap();
    let mut round = std::process::id() as usize;
    while Instant::now() < until {
        round = round.wrapping_add(3);
        let key = round % keys;
        let started = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let version: u64 = reader
            .get_value(&format!("k{key}"))
            .await
            .unwrap()
            .expect("seeded");
        writeln!(out, "read {key} {version} {started}").unwrap();
        // Bounds the report's size (tokio's timer would round this up to a millisecond).
        std::thread::sleep(Duration::from_micros(20));
    }
    writeln!(out, "stats {}", reader.near_cache_stats().unwrap().hits).unwrap();
    out.flush().unwrap();
}
