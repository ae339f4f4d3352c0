//! A function with owned arguments has its refreshes spawned, so its body must be `Send`.
use std::rc::Rc;

use cache_core::cached;

#[cached(key = "grace:local:<id>", ttl = 60, stale = "1h")]
async fn not_send(id: u64) -> u64 {
    let held = Rc::new(id);
    std::future::ready(()).await;
    *held
}

fn main() {}
