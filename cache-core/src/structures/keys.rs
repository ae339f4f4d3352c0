//! [`scan_keys`]: walking the keys that match a glob, one bounded page at a time.

use std::fmt;
use std::time::Duration;

use super::{KeyScan, ScanCursor};
use crate::runtime::backend_call::within;
use crate::runtime::registry::{DynBackend, shared};
use crate::runtime::settings;
use crate::{CacheBackend, Error, ErrorKind, Result};

/// How many keys each page examines unless told otherwise (Redis `SCAN`'s `COUNT`).
pub const DEFAULT_PAGE_SIZE: usize = 100;

/// The keys of `backend` matching the glob `pattern`, walked a page at a time (Redis `SCAN`,
/// on every primary of a Cluster; never one unbounded `KEYS`). Keys come back as the caller
/// names them: a backend's or [`Prefix`](crate::layer::Prefix)'s prefix is neither matched
/// against nor shown.
///
/// ```
/// use cache_core::{Bytes, CacheBackend, MemoryBackend, structures::scan_keys};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> cache_core::Result<()> {
/// let memory = MemoryBackend::new();
/// for id in 1..=3 {
///     memory.set(&format!("user:{id}"), Bytes::from_static(b"{}"), None).await?;
/// }
/// memory.set("order:1", Bytes::from_static(b"{}"), None).await?;
///
/// let mut users = scan_keys(memory, "user:*");
/// let mut found = Vec::new();
/// while let Some(page) = users.next_page().await? {
///     found.extend(page);
/// }
/// found.sort();
/// assert_eq!(found, ["user:1", "user:2", "user:3"]);
/// # Ok(()) }
/// ```
pub fn scan_keys(backend: impl CacheBackend, pattern: impl Into<String>) -> KeyScanner {
    KeyScanner {
        backend: shared(backend),
        pattern: pattern.into(),
        cursor: Some(ScanCursor::START),
        page_size: DEFAULT_PAGE_SIZE,
        timeout: None,
    }
}

/// A key scan in progress, made by [`scan_keys`].
pub struct KeyScanner {
    backend: DynBackend,
    pattern: String,
    cursor: Option<ScanCursor>,
    page_size: usize,
    timeout: Option<Duration>,
}

impl fmt::Debug for KeyScanner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyScanner")
            .field("pattern", &self.pattern)
            .field("done", &self.cursor.is_none())
            .finish_non_exhaustive()
    }
}

impl KeyScanner {
    /// How many keys each page examines (a hint; default [`DEFAULT_PAGE_SIZE`]).
    #[must_use]
    pub fn page_size(mut self, keys: usize) -> Self {
        self.page_size = keys.max(1);
        self
    }

    /// The bound on each page's backend call, instead of
    /// [`default_timeout`](crate::default_timeout).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The next page of matching keys (possibly empty), or `None` once the scan is complete.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Unsupported`] for a backend that cannot list keys; the backend's error,
    /// or [`ErrorKind::Timeout`], for a page that failed (call again to retry it).
    pub async fn next_page(&mut self) -> Result<Option<Vec<String>>> {
        let Some(cursor) = self.cursor else {
            return Ok(None);
        };
        let scan: &dyn KeyScan = self.backend.key_scan().ok_or_else(|| {
            Error::new(
                ErrorKind::Unsupported,
                format!(
                    "the backend cannot list keys (scanning for `{}`)",
                    self.pattern
                ),
            )
        })?;
        let timeout = self.timeout.unwrap_or_else(settings::default_timeout);
        let page = within(
            timeout,
            || format!("a key scan for `{}`", self.pattern),
            scan.scan(&self.pattern, cursor, self.page_size),
        )
        .await?;
        self.cursor = page.next;
        Ok(Some(page.keys))
    }

    /// Every remaining matching key, each once, in no particular order. For scans known to
    /// be small; walk [`next_page`](Self::next_page) otherwise.
    ///
    /// # Errors
    ///
    /// As [`next_page`](Self::next_page).
    pub async fn collect(mut self) -> Result<Vec<String>> {
        let mut keys = Vec::new();
        while let Some(page) = self.next_page().await? {
            keys.extend(page);
        }
        keys.sort_unstable();
        keys.dedup();
        Ok(keys)
    }
}
