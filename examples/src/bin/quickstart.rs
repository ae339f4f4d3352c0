//! The quickstart: a cached async function on the embedded in-memory backend (no Redis).
//!
//! Run with `cargo run -p examples --bin quickstart`. The first call misses and runs the body,
//! the second is answered from the cache.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use cache_core::cached;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct User {
    id: u64,
    name: String,
}

static DATABASE_CALLS: AtomicUsize = AtomicUsize::new(0);

/// Pretends to be a slow database lookup; the cache keeps each user for five minutes.
#[cached(key = "user:<id>", ttl = 300)]
async fn get_user(id: u64) -> Result<User, String> {
    DATABASE_CALLS.fetch_add(1, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(50)).await;
    Ok(User {
        id,
        name: format!("user #{id}"),
    })
}

#[tokio::main]
async fn main() -> Result<(), String> {
    for attempt in ["first", "second"] {
        let calls_before = DATABASE_CALLS.load(Ordering::Relaxed);
        let started = std::time::Instant::now();
        let user = get_user(7).await?;
        let ran_body = DATABASE_CALLS.load(Ordering::Relaxed) > calls_before;
        let outcome = if ran_body {
            "miss: the body ran"
        } else {
            "hit: served from the cache"
        };
        println!(
            "{attempt} call: {user:?} in {:?} ({outcome})",
            started.elapsed()
        );
    }
    let stats = cache_core::stats::all();
    for (name, stats) in stats {
        println!("{name}: {} hit(s), {} miss(es)", stats.hits, stats.misses);
    }
    Ok(())
}
