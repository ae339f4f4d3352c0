//! [`KeyScan`] on Redis: `SCAN MATCH <escaped prefix><pattern>`, on one primary of a Cluster
//! after another.

use async_trait::async_trait;
use cache_core::key::glob_escape;
use cache_core::structures::{KeyScan, ScanCursor, ScanPage};
use cache_core::{Error, ErrorKind, Result};

use crate::backend::{RedisBackend, by_address};

/// One `SCAN cursor MATCH <prefix><pattern> COUNT n` per page; the prefix is glob-escaped, so
/// it matches itself only, and removed from the keys returned.
///
/// On a Cluster the scan walks the primaries one after another (sorted by address, so every
/// page agrees on their order): the cursor's [`part`](ScanCursor::part) is the primary's index
/// and its [`position`](ScanCursor::position) that node's `SCAN` cursor. Each page first reads
/// `CLUSTER NODES`; if the primaries change during a scan (a failover, a node added), keys of
/// the moved slots may be missed or listed twice. A key that is not UTF-8 (written by another
/// client) cannot be named by this API and is left out, with a debug log.
#[async_trait]
impl KeyScan for RedisBackend {
    async fn scan(&self, pattern: &str, cursor: ScanCursor, count: usize) -> Result<ScanPage> {
        let full = format!("{}{pattern}", glob_escape(self.config().prefix()));
        let mut scan = redis::cmd("SCAN");
        scan.arg(cursor.position())
            .arg("MATCH")
            .arg(&full)
            .arg("COUNT")
            .arg(count.max(1));
        let (part, next, keys): (u32, u64, Vec<Vec<u8>>) = if self.connection.is_cluster() {
            let mut primaries = self.cluster_primaries().await?;
            primaries.sort_unstable();
            let part = cursor.part();
            let Some((host, port)) = usize::try_from(part).ok().and_then(|i| primaries.get(i))
            else {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    format!(
                        "the scan cursor names primary {part}, but the Cluster has {} \
                         (it changed during the scan; start again)",
                        primaries.len()
                    ),
                ));
            };
            let (next, keys) = self
                .query_routed("scan", &scan, by_address(host, *port))
                .await?;
            let last = usize::try_from(part).is_ok_and(|i| i + 1 == primaries.len());
            match (next, last) {
                (0, true) => (part, 0, keys),
                // This primary is done: the next page starts on the next one.
                (0, false) => return Ok(page(self, keys, Some(ScanCursor::new(part + 1, 0)))),
                (next, _) => (part, next, keys),
            }
        } else {
            let (next, keys) = self.query("scan", true, &scan).await?;
            (0, next, keys)
        };
        let next = (next != 0).then(|| ScanCursor::new(part, next));
        Ok(page(self, keys, next))
    }
}

/// The page of `keys` (prefixed, as Redis returns them) followed by `next`.
fn page(backend: &RedisBackend, keys: Vec<Vec<u8>>, next: Option<ScanCursor>) -> ScanPage {
    let prefix = backend.config().prefix();
    let found = keys.len();
    let keys: Vec<String> = keys
        .into_iter()
        .filter_map(|key| {
            let mut key = String::from_utf8(key).ok()?;
            key.starts_with(prefix).then(|| {
                key.replace_range(..prefix.len(), "");
                key
            })
        })
        .collect();
    if keys.len() < found {
        tracing::debug!(
            skipped = found - keys.len(),
            "key scan: keys that are not UTF-8 left out"
        );
    }
    ScanPage::new(keys, next)
}
