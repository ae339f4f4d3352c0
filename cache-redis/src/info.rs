//! [`ServerInfo`]: a summary of `INFO`, for health endpoints and dashboards.

use std::collections::BTreeMap;
use std::time::Duration;

/// What `INFO` says about the server, summed over every primary of a Cluster.
///
/// ```no_run
/// # async fn run(backend: &cache_redis::RedisBackend) -> cache_core::Result<()> {
/// let info = backend.info().await?;
/// println!(
///     "redis {} up {:?}, {} clients, {} bytes, hit ratio {:.2}",
///     info.version,
///     info.uptime,
///     info.connected_clients,
///     info.used_memory,
///     info.hit_ratio().unwrap_or(0.0),
/// );
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerInfo {
    /// `redis_version` (of the first node asked).
    pub version: String,
    /// `uptime_in_seconds` (the smallest over the nodes).
    pub uptime: Duration,
    /// `connected_clients`, summed.
    pub connected_clients: u64,
    /// `used_memory` in bytes, summed.
    pub used_memory: u64,
    /// `keyspace_hits`, summed.
    pub keyspace_hits: u64,
    /// `keyspace_misses`, summed.
    pub keyspace_misses: u64,
    /// `total_commands_processed`, summed.
    pub total_commands_processed: u64,
    /// How many servers answered (1, or the number of Cluster primaries).
    pub nodes: usize,
    /// Every `field:value` line of the first node's `INFO`, for anything not summarised here.
    pub fields: BTreeMap<String, String>,
}

impl ServerInfo {
    /// `hits / (hits + misses)`, or `None` before the first lookup.
    #[must_use]
    pub fn hit_ratio(&self) -> Option<f64> {
        let total = self.keyspace_hits + self.keyspace_misses;
        (total > 0).then(|| self.keyspace_hits as f64 / total as f64)
    }

    /// Adds one node's `INFO` text.
    pub(crate) fn add_node(&mut self, text: &str) {
        let fields = parse(text);
        let number = |name: &str| {
            fields
                .get(name)
                .and_then(|value| value.trim().parse::<u64>().ok())
                .unwrap_or(0)
        };
        let uptime = Duration::from_secs(number("uptime_in_seconds"));
        self.connected_clients += number("connected_clients");
        self.used_memory += number("used_memory");
        self.keyspace_hits += number("keyspace_hits");
        self.keyspace_misses += number("keyspace_misses");
        self.total_commands_processed += number("total_commands_processed");
        if self.nodes == 0 {
            self.version = fields.get("redis_version").cloned().unwrap_or_default();
            self.uptime = uptime;
            self.fields = fields;
        } else {
            self.uptime = self.uptime.min(uptime);
        }
        self.nodes += 1;
    }
}

fn parse(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_nodes() {
        let mut info = ServerInfo::default();
        info.add_node("# Server\r\nredis_version:7.0.15\r\nuptime_in_seconds:50\r\n# Clients\r\nconnected_clients:3\r\nkeyspace_hits:3\r\nkeyspace_misses:1\r\n");
        info.add_node("redis_version:7.0.15\r\nuptime_in_seconds:40\r\nconnected_clients:2\r\nkeyspace_hits:1\r\n");
        assert_eq!(info.version, "7.0.15");
        assert_eq!(info.uptime, Duration::from_secs(40));
        assert_eq!(info.connected_clients, 5);
        assert_eq!(info.nodes, 2);
        assert_eq!(info.hit_ratio(), Some(0.8));
    }
}
