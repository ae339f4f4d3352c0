//! One reader process of the stale-read hunt (`cache_tests::near_hunt`): reads
//! `<prefix>k0..k<keys>` for `seconds` through an in-process copy of the given kind, and
//! reports every read on stdout as `read <key> <version> <unix ns when the read began>`, then
//! `stats <reads served by the in-process copy>`.
//!
//! `near_reader <near|cache-aio> <redis-url> <key-prefix> <keys> <seconds>`
//!
//! - `near`: a `RedisBackend` with its near cache on.
//! - `cache-aio`: a redis-rs `MultiplexedConnection` with client-side caching on, reading
//!   plain `GET`s; the URL must ask for RESP3 (`?protocol=resp3`).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::time::{Duration, Instant};

use cache_core::CacheBackendExt;
use cache_redis::{RedisBackend, RedisConfig};
use cache_tests::near_hunt::{ReaderKind, unix_nanos};

/// A reader of either kind, connected and serving.
enum Reader {
    // Boxed: the backend is several times the size of the other variant (clippy's
    // `large_enum_variant`); one reader per process, so the indirection costs nothing.
    Near(Box<RedisBackend>),
    CacheAio {
        connection: redis::aio::MultiplexedConnection,
        prefix: String,
    },
}

impl Reader {
    async fn connect(kind: ReaderKind, url: &str, prefix: &str) -> Self {
        match kind {
            ReaderKind::Near => {
                let config = RedisConfig::from_url(url)
                    .expect("url")
                    .key_prefix(prefix)
                    .near_cache(1_000);
                let reader = RedisBackend::connect(config).await.expect("connect");
                while !reader.near_cache_stats().expect("near cache").serving {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Self::Near(Box::new(reader))
            }
            ReaderKind::CacheAio => {
                let config = redis::AsyncConnectionConfig::new()
                    .set_cache_config(redis::caching::CacheConfig::new());
                // Tracking is on once the connection is: redis-rs sends `CLIENT TRACKING ON`
                // while connecting.
                let connection = redis::Client::open(url)
                    .expect("url")
                    .get_multiplexed_async_connection_with_config(&config)
                    .await
                    .expect("connect");
                Self::CacheAio {
                    connection,
                    prefix: prefix.to_owned(),
                }
            }
        }
    }

    async fn version(&mut self, key: usize) -> u64 {
        match self {
            Self::Near(reader) => reader
                .get_value(&format!("k{key}"))
                .await
                .unwrap()
                .expect("seeded"),
            Self::CacheAio { connection, prefix } => {
                let value: Option<String> = redis::cmd("GET")
                    .arg(format!("{prefix}k{key}"))
                    .query_async(connection)
                    .await
                    .unwrap();
                value.expect("seeded").parse().expect("a version")
            }
        }
    }

    fn hits(&self) -> u64 {
        match self {
            Self::Near(reader) => reader.near_cache_stats().unwrap().hits,
            Self::CacheAio { connection, .. } => {
                connection
                    .get_cache_statistics()
                    .expect("client-side caching on")
                    .hit as u64
            }
        }
    }
}

// Two workers: the reading loop pauses its thread, the connection drivers run on the other.
#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, kind, url, prefix, keys, seconds] = args.as_slice() else {
        panic!("usage: near_reader <near|cache-aio> <redis-url> <key-prefix> <keys> <seconds>");
    };
    let kind = ReaderKind::from_arg(kind).expect("reader kind: near or cache-aio");
    let keys: usize = keys.parse().expect("keys");
    let until = Instant::now() + Duration::from_secs(seconds.parse().expect("seconds"));
    let mut reader = Reader::connect(kind, url, prefix).await;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    writeln!(out, "ready").unwrap();
    out.flush().unwrap();
    let mut round = std::process::id() as usize;
    while Instant::now() < until {
        round = round.wrapping_add(3);
        let key = round % keys;
        let started = unix_nanos();
        let version = reader.version(key).await;
        writeln!(out, "read {key} {version} {started}").unwrap();
        // Bounds the report's size (tokio's timer would round this up to a millisecond).
        std::thread::sleep(Duration::from_micros(20));
    }
    writeln!(out, "stats {}", reader.hits()).unwrap();
    out.flush().unwrap();
}
