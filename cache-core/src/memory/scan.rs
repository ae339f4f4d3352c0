//! The memory backend's [`KeyScan`]: a walk over the shards of the value store, then of the
//! structure table, then of the rate limiters, whole shards at a time.

use async_trait::async_trait;

use super::MemoryBackend;
use crate::Result;
use crate::key::glob_match;
use crate::structures::{KeyScan, ScanCursor, ScanPage};
use crate::util::clock::Instant;

/// A cursor's part is the index of a shard among all three tables' shards, in that order;
/// its position is always 0, as a page never ends inside a shard. A page takes whole shards
/// until it has examined `count` keys, so it may hold more than `count` (as Redis's may), and
/// every key present in its shard for the whole scan is listed.
///
/// Cost: O(keys in the shards walked) per page, each shard under its own read lock only.
#[async_trait]
impl KeyScan for MemoryBackend {
    async fn scan(&self, pattern: &str, cursor: ScanCursor, count: usize) -> Result<ScanPage> {
        let values = self.inner.store.shard_count();
        let structures = self.inner.structures.shard_count();
        let parts = values + structures + self.inner.limiters.shard_count();
        let now = Instant::now();
        let mut keys = Vec::new();
        let mut matching = |key: &str| {
            if glob_match(pattern, key) {
                keys.push(key.to_owned());
            }
        };
        let mut part = cursor.part() as usize;
        let mut examined = 0;
        while part < parts && examined < count.max(1) {
            examined += if part < values {
                self.inner.store.visit_shard(part, |key, entry| {
                    if entry.is_live(now) {
                        matching(key);
                    }
                })
            } else if part < values + structures {
                self.inner
                    .structures
                    .visit_shard(part - values, &mut matching)
            } else {
                self.inner
                    .limiters
                    .visit_shard(part - values - structures, &mut matching)
            };
            part += 1;
        }
        let next = (part < parts).then(|| ScanCursor::new(part as u32, 0));
        Ok(ScanPage::new(keys, next))
    }
}
