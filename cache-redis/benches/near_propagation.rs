//! How soon a write made elsewhere reaches a near cache: another connection (as another
//! process or `redis-cli` would) writes a key 10,000 times; after each write returns, the near
//! cache's backend reads the key until it sees the new value. Prints the distribution of that
//! delay. Every read before the invalidation arrives is a stale read the bound allows.
//!
//! ```text
//! cargo bench -p cache-redis --bench near_propagation
//! ```
#![allow(missing_docs, clippy::unwrap_used, clippy::panic, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use cache_core::{Bytes, CacheBackend};
use cache_redis::{RedisBackend, RedisConfig};
use common::{runtime, start_server};

const WRITES: u64 = 10_000;

fn main() {
    let rt = runtime();
    let (_server, url) = start_server();
    rt.block_on(async {
        let config = RedisConfig::from_url(&url).unwrap().key_prefix("bench:");
        let writer = RedisBackend::connect(config.clone()).await.unwrap();
        let reader = RedisBackend::connect(config.near_cache(10_000)).await.unwrap();
        while !reader.near_cache_stats().unwrap().serving {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let mut delays = Vec::with_capacity(WRITES as usize);
        let mut stale_reads = 0_u64;
        for version in 0..WRITES {
            let value = Bytes::from(version.to_string());
            writer.set("propagation", value.clone(), None).await.unwrap();
            let written = Instant::now();
            while reader.get("propagation").await.unwrap().as_ref() != Some(&value) {
                stale_reads += 1;
            }
            delays.push(written.elapsed());
            // The next write finds a near copy to invalidate.
            assert_eq!(reader.get("propagation").await.unwrap(), Some(value));
        }
        delays.sort();
        let at = |q: f64| delays[((delays.len() - 1) as f64 * q) as usize];
        let stats = reader.near_cache_stats().unwrap();
        println!(
            "near propagation over {WRITES} writes: p50 {:?}, p99 {:?}, p99.9 {:?}, max {:?}; {stale_reads} stale reads in all; {stats:?}",
            at(0.5),
            at(0.99),
            at(0.999),
            delays[delays.len() - 1],
        );
    });
}
