//! [`KeyScan`]: listing the keys that match a glob, a page at a time.

use async_trait::async_trait;

use crate::Result;

/// Where a key scan stands: [`ScanCursor::START`] to begin, then each page's
/// [`next`](ScanPage::next). Opaque to callers; a backend stores a part (a shard, a Cluster
/// primary) and a position within it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ScanCursor {
    part: u32,
    position: u64,
}

impl ScanCursor {
    /// The start of a scan.
    pub const START: Self = Self {
        part: 0,
        position: 0,
    };

    /// Position `position` within part `part`. For [`KeyScan`] implementors.
    #[must_use]
    pub const fn new(part: u32, position: u64) -> Self {
        Self { part, position }
    }

    /// The part of the key space (shard, primary) the scan is in. For implementors.
    #[must_use]
    pub const fn part(self) -> u32 {
        self.part
    }

    /// The position within that part. For implementors.
    #[must_use]
    pub const fn position(self) -> u64 {
        self.position
    }
}

/// One page of a key scan.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ScanPage {
    /// Keys matching the pattern, as the caller names them (a backend's prefix removed). A
    /// page may be empty while the scan goes on.
    pub keys: Vec<String>,
    /// Where the next page starts, or `None` when the scan is complete.
    pub next: Option<ScanCursor>,
}

impl ScanPage {
    /// A page of `keys`, followed by `next`.
    #[must_use]
    pub fn new(keys: Vec<String>, next: Option<ScanCursor>) -> Self {
        Self { keys, next }
    }
}

/// The key-listing capability: an incremental walk of the keys matching a glob (Redis `MATCH`
/// syntax: `*`, `?`, `[...]`, `\` escapes), never one unbounded `KEYS`. Offered by
/// [`MemoryBackend`](crate::MemoryBackend) and the Redis backend (`SCAN`, on every primary of
/// a Cluster) through [`CacheBackend::key_scan`](crate::CacheBackend::key_scan); walked by
/// [`structures::scan_keys`](crate::structures::scan_keys).
///
/// # Contract
///
/// As Redis `SCAN` promises: a key that matches and exists for the whole scan is listed (at
/// least once: a key may appear twice if the store was resized meanwhile); a key written or
/// removed during the scan may or may not be. Values, structures and rate-limit state are all
/// keys. Build patterns from [`KeyBuf`](crate::KeyBuf)-escaped values so a value cannot widen
/// the pattern.
#[async_trait]
pub trait KeyScan: Send + Sync {
    /// One page of keys matching `pattern`, from `cursor`, of roughly `count` keys examined
    /// (a hint, as Redis `COUNT` is).
    async fn scan(&self, pattern: &str, cursor: ScanCursor, count: usize) -> Result<ScanPage>;
}
