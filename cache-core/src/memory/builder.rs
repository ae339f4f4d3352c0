//! [`MemoryBackendBuilder`].

use super::store::Store;
use super::{EntryWeighter, MemoryBackend};

const DEFAULT_MAX_ENTRIES: u64 = 100_000;
const DEFAULT_MAX_RATE_LIMIT_KEYS: usize = 100_000;
/// Assumed average entry size when only a byte bound is given, to size the table.
const ASSUMED_ENTRY_BYTES: u64 = 256;

/// Configures a [`MemoryBackend`]: its bounds and eviction sizing.
///
/// ```
/// use cache_core::MemoryBackend;
///
/// let by_count = MemoryBackend::builder().max_entries(10_000).build();
/// let by_size = MemoryBackend::builder().max_bytes(64 * 1024 * 1024).build();
/// # let _ = (by_count, by_size);
/// ```
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct MemoryBackendBuilder {
    max_entries: Option<u64>,
    max_bytes: Option<u64>,
    max_rate_limit_keys: Option<usize>,
}

impl MemoryBackendBuilder {
    /// Bounds the number of entries (default 100 000). Ignored when
    /// [`max_bytes`](Self::max_bytes) is set, except to size the table.
    pub fn max_entries(mut self, max_entries: u64) -> Self {
        self.max_entries = Some(max_entries.max(1));
        self
    }

    /// Bounds the total size of keys and values (plus a small per-entry overhead) instead of
    /// the number of entries.
    pub fn max_bytes(mut self, max_bytes: u64) -> Self {
        self.max_bytes = Some(max_bytes.max(1));
        self
    }

    /// Bounds how many keys hold [rate-limit](crate::rate_limit) state at once (default
    /// 100 000), apart from the bound on cached values. The bound is split evenly over 64
    /// shards, a key's shard picked by its hash. When a new key needs state and its shard is
    /// full, one limiter there is dropped, which resets it: the one nearest to its expiry
    /// among 8 of the shard taken at random (all of them in a shard that small). So the
    /// limiter dropped is nearly always one of the earliest to expire, and a new key costs the
    /// same whatever the bound.
    ///
    /// ```
    /// use cache_core::MemoryBackend;
    ///
    /// // One limiter per client IP; a flood of new addresses stays within 1M limiters.
    /// let limits = MemoryBackend::builder().max_rate_limit_keys(1_000_000).build();
    /// # let _ = limits;
    /// ```
    pub fn max_rate_limit_keys(mut self, max: usize) -> Self {
        self.max_rate_limit_keys = Some(max.max(1));
        self
    }

    /// Builds the backend.
    pub fn build(self) -> MemoryBackend {
        let (capacity, items, by_bytes) = match self.max_bytes {
            Some(bytes) => (
                bytes,
                self.max_entries
                    .unwrap_or((bytes / ASSUMED_ENTRY_BYTES).max(1)),
                true,
            ),
            None => {
                let entries = self.max_entries.unwrap_or(DEFAULT_MAX_ENTRIES);
                (entries, entries, false)
            }
        };
        let store = Store::new(items, capacity, EntryWeighter { by_bytes });
        let items = usize::try_from(items).unwrap_or(usize::MAX);
        MemoryBackend::from_store(
            store,
            items.saturating_mul(2),
            self.max_rate_limit_keys
                .unwrap_or(DEFAULT_MAX_RATE_LIMIT_KEYS),
        )
    }
}
