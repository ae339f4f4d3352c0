//! A `#[cached]` function over the interface: the slow lookup the cache is there for.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use cache_core::cached;

/// A slow profile store, counting its loads.
#[derive(Default)]
pub(super) struct Profiles {
    loads: AtomicU64,
}

impl Profiles {
    /// One profile, kept a minute.
    #[cached(key = "profile:<id>", ttl = 60)]
    pub(super) async fn get(&self, id: u64) -> String {
        self.loads.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(20)).await;
        format!("{{\"id\": {id}, \"name\": \"user {id}\"}}")
    }

    /// How many times the store was read.
    pub(super) fn loads(&self) -> u64 {
        self.loads.load(Ordering::Relaxed)
    }
}
