//! Data structures on every backend: queues, hash records, leaderboards, sets, counters with
//! expiry, pub/sub channels and key scans, the same on the embedded
//! [`MemoryBackend`](crate::MemoryBackend) as on Redis (standalone or Cluster).
//!
//! Each is a small typed handle on a key (values as plain JSON, like the cache), built on a
//! backend capability: [`StructureStore`] ([`CacheBackend::structures`](crate::CacheBackend::structures)),
//! [`PubSubStore`] ([`CacheBackend::pubsub`](crate::CacheBackend::pubsub)) and [`KeyScan`]
//! ([`CacheBackend::key_scan`](crate::CacheBackend::key_scan)). A structure is a key like any
//! other: `expire`, `ttl`, `delete`, pattern deletes and scans see it, and a backend's prefix
//! applies to it.
//!
//! Every call is bounded by [`default_timeout`](crate::default_timeout) (or the handle's own
//! `timeout`), so a dead server is an error within that time, never a hang.

mod channel;
mod counter;
mod handle;
mod hash;
mod keys;
mod leaderboard;
mod pubsub;
mod queue;
mod scan;
mod set;
mod store;

pub use channel::{Channel, ChannelSubscription};
pub use counter::Counter;
pub use hash::HashRecord;
pub use leaderboard::Leaderboard;
pub use queue::Queue;
pub use set::Set;

pub use keys::{DEFAULT_PAGE_SIZE, KeyScanner, scan_keys};
pub use pubsub::{Message, PubSubStore, Subscription};
pub use scan::{KeyScan, ScanCursor, ScanPage};
pub use store::{Op, Order, Reply, StructureStore};
