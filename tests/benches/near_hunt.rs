//! The long stale-read hunt: the near cache (`RedisConfig::near_cache`) against redis-rs's
//! client-side cache (`cache-aio`), with the same writer (a `redis-cli` process writing plain
//! values to 8 keys), two reader processes per kind, and the same bound (50 ms). See
//! `cache_tests::near_hunt` for how every read is judged.
//!
//! Starts its own `redis-server` (through `cache_tests::redis_harness`) and hunts for
//! `NEAR_HUNT_SECONDS` (default 60) per kind, `near` first, then `cache-aio`:
//!
//! ```text
//! NEAR_HUNT_SECONDS=60 cargo bench -p cache-tests --bench near_hunt
//! ```
//!
//! Prints one line per kind: reads, writes, reads stale within the bound, reads stale
//! beyond it, the age of the stalest read, and the reads each reader's in-process copy
//! served. It asserts nothing about
//! the counts (a bench reports; the short hunt in tests/redis_near.rs is the test), only
//! that each hunt ran.
#![allow(missing_docs, clippy::unwrap_used, clippy::panic, clippy::expect_used)]

use std::path::Path;
use std::time::Duration;

use cache_tests::near_hunt::{Hunt, ReaderKind};
use cache_tests::redis_harness::RedisServer;

const BOUND: Duration = Duration::from_millis(50);

fn main() {
    // `cargo bench` passes `--bench` (and any filter): ignored, there is one hunt to run.
    let seconds: u64 = std::env::var("NEAR_HUNT_SECONDS")
        .map(|s| s.parse().expect("NEAR_HUNT_SECONDS: whole seconds"))
        .unwrap_or(60);
    let Some(server) = RedisServer::start() else {
        eprintln!("near_hunt: no redis-server, nothing measured");
        return;
    };
    for kind in ReaderKind::ALL {
        let prefix = format!("near_hunt:{}:", kind.arg());
        let verdict = Hunt {
            reader_bin: Path::new(env!("CARGO_BIN_EXE_near_reader")),
            kind,
            prefix: &prefix,
            readers: 2,
            keys: 8,
            seconds,
            bound: BOUND,
        }
        .run(&server);
        println!(
            "{:>9}: {} reads, {} writes in {seconds} s; {} within the {BOUND:?} bound, {} beyond it (stale); stalest read {:?} old; in-process hits per reader {:?}",
            kind.arg(),
            verdict.reads,
            verdict.writes,
            verdict.within,
            verdict.beyond,
            verdict.worst,
            verdict.hits,
        );
        assert!(
            verdict.reads > 0 && verdict.writes > 0,
            "{} hunt did not run: {verdict:?}",
            kind.arg()
        );
    }
}
