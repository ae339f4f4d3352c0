//! [`StructureStore`]: the data-structure capability a backend implements, as one operation
//! enum and one reply enum, so that a wrapper forwards it in a single method.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

use crate::Result;

/// Which end of a sorted set comes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Order {
    /// Lowest score first (Redis `ZRANGE`).
    #[default]
    Ascending,
    /// Highest score first (Redis `ZRANGE ... REV`): a leaderboard's order.
    Descending,
}

/// One operation on the structure stored under a key, as
/// [`StructureStore::apply`] takes it. Values and members are opaque bytes (the typed
/// handles of [`structures`](crate::structures) store JSON); hash fields are text.
///
/// Each operation is atomic on its key. An operation on a key that holds another kind of
/// value (a hash where a queue was expected, a plain value where a set was) is
/// [`ErrorKind::WrongType`](crate::ErrorKind::WrongType). A structure left empty is removed,
/// as Redis removes it, and an absent key reads as an empty structure.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Op<'a> {
    /// Appends `values` at the back of the queue (Redis `RPUSH`). Replies [`Reply::Count`]:
    /// the queue's new length.
    QueuePush {
        /// What to append, first to last.
        values: &'a [Bytes],
    },
    /// Removes up to `count` values from the front (Redis `LPOP count`). Replies
    /// [`Reply::Values`], oldest first; empty when the queue is.
    QueuePop {
        /// At most this many values; zero is [`InvalidInput`](crate::ErrorKind::InvalidInput).
        count: usize,
    },
    /// Removes the front value, waiting up to `timeout` for one to be pushed if the queue is
    /// empty (Redis `BLPOP`). The waiter is woken by the push, never polls. Replies
    /// [`Reply::Value`], `None` when nothing came in time. A zero timeout is
    /// [`InvalidInput`](crate::ErrorKind::InvalidInput).
    QueuePopWait {
        /// How long to wait for a value.
        timeout: Duration,
    },
    /// The values from position `start` to `stop` inclusive, without removing them (Redis
    /// `LRANGE`: 0 is the front, negative positions count from the back). Replies
    /// [`Reply::Values`].
    QueueRange {
        /// The first position.
        start: i64,
        /// The last position, inclusive.
        stop: i64,
    },
    /// The queue's length (Redis `LLEN`). Replies [`Reply::Count`].
    QueueLen,

    /// Sets each field to its value (Redis `HSET`). Replies [`Reply::Count`]: how many fields
    /// are new.
    HashSet {
        /// `(field, value)` pairs; a field given twice gets its last value.
        fields: &'a [(&'a str, Bytes)],
    },
    /// The values of `fields`, in order (Redis `HMGET`). Replies [`Reply::MaybeValues`],
    /// `None` for each absent field.
    HashGet {
        /// The fields to read.
        fields: &'a [&'a str],
    },
    /// Every field and value (Redis `HGETALL`), in no particular order. Replies
    /// [`Reply::Fields`].
    HashGetAll,
    /// Removes `fields` (Redis `HDEL`). Replies [`Reply::Count`]: how many existed.
    HashDelete {
        /// The fields to remove.
        fields: &'a [&'a str],
    },
    /// How many fields the hash has (Redis `HLEN`). Replies [`Reply::Count`].
    HashLen,

    /// Adds members with scores, or moves existing ones to the new score (Redis `ZADD`).
    /// Replies [`Reply::Count`]: how many members are new. A NaN score is
    /// [`InvalidInput`](crate::ErrorKind::InvalidInput).
    SortedAdd {
        /// `(member, score)` pairs.
        members: &'a [(Bytes, f64)],
    },
    /// Adds `by` to the member's score, adding the member at `by` if it is absent (Redis
    /// `ZINCRBY`). Replies [`Reply::Score`] with the new score.
    SortedIncrement {
        /// The member.
        member: &'a Bytes,
        /// What to add.
        by: f64,
    },
    /// Members by rank, from `start` to `stop` inclusive in `order` (Redis `ZRANGE
    /// WITHSCORES`, negative ranks count from the end). Equal scores are ordered by member
    /// bytes (reversed in [`Order::Descending`]). Replies [`Reply::Scored`].
    SortedRange {
        /// The first rank.
        start: i64,
        /// The last rank, inclusive.
        stop: i64,
        /// Which end is rank 0.
        order: Order,
    },
    /// Members with `min <= score <= max`, in `order`, at most `limit` of them (Redis
    /// `ZRANGE BYSCORE ... LIMIT`). Replies [`Reply::Scored`].
    SortedRangeByScore {
        /// The lowest score included (`f64::NEG_INFINITY` for no bound).
        min: f64,
        /// The highest score included (`f64::INFINITY` for no bound).
        max: f64,
        /// Which end comes first.
        order: Order,
        /// At most this many members (`None`: all).
        limit: Option<usize>,
    },
    /// The member's rank in `order`, 0 first (Redis `ZRANK` / `ZREVRANK`). Replies
    /// [`Reply::Rank`], `None` for an absent member.
    SortedRank {
        /// The member.
        member: &'a Bytes,
        /// Which end is rank 0.
        order: Order,
    },
    /// The member's score (Redis `ZSCORE`). Replies [`Reply::Score`], `None` for an absent
    /// member.
    SortedScore {
        /// The member.
        member: &'a Bytes,
    },
    /// Removes members (Redis `ZREM`). Replies [`Reply::Count`]: how many were there.
    SortedRemove {
        /// The members to remove.
        members: &'a [Bytes],
    },
    /// How many members there are (Redis `ZCARD`). Replies [`Reply::Count`].
    SortedLen,

    /// Adds members (Redis `SADD`). Replies [`Reply::Count`]: how many are new.
    SetAdd {
        /// The members to add.
        members: &'a [Bytes],
    },
    /// Removes members (Redis `SREM`). Replies [`Reply::Count`]: how many were there.
    SetRemove {
        /// The members to remove.
        members: &'a [Bytes],
    },
    /// Whether `member` is in the set (Redis `SISMEMBER`). Replies [`Reply::Flag`].
    SetContains {
        /// The member.
        member: &'a Bytes,
    },
    /// Every member, in no particular order (Redis `SMEMBERS`). Replies [`Reply::Values`].
    SetMembers,
    /// How many members there are (Redis `SCARD`). Replies [`Reply::Count`].
    SetLen,

    /// Adds `delta` to the integer under the key, creating it at `delta` with a TTL of `ttl`
    /// if it is absent; an existing counter keeps its TTL. Replies [`Reply::Integer`]. The
    /// key is a plain value (`get` reads its digits), as with
    /// [`CacheBackend::increment`](crate::CacheBackend::increment).
    CounterIncrement {
        /// What to add.
        delta: i64,
        /// The counter's lifetime, counted from its creation; zero is
        /// [`InvalidInput`](crate::ErrorKind::InvalidInput).
        ttl: Duration,
    },
    /// Reads and removes the plain value under the key in one step (Redis `GETDEL`): of many
    /// concurrent takers, one gets it. Replies [`Reply::Value`].
    Take,
    /// Stores `value` only if the key holds a plain value already (Redis `SET ... XX`),
    /// replacing its TTL with `ttl`. Never brings back a key that expired or was deleted.
    /// Replies [`Reply::Flag`]: whether it was stored.
    Replace {
        /// The new bytes.
        value: &'a Bytes,
        /// The new lifetime (`None`: none); zero is
        /// [`InvalidInput`](crate::ErrorKind::InvalidInput).
        ttl: Option<Duration>,
    },
}

impl Op<'_> {
    /// A short name for logs and errors (`"queue push"`, `"hash get"`, ...).
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::QueuePush { .. } => "queue push",
            Self::QueuePop { .. } => "queue pop",
            Self::QueuePopWait { .. } => "queue pop with a deadline",
            Self::QueueRange { .. } => "queue range",
            Self::QueueLen => "queue length",
            Self::HashSet { .. } => "hash set",
            Self::HashGet { .. } => "hash get",
            Self::HashGetAll => "hash get all",
            Self::HashDelete { .. } => "hash delete",
            Self::HashLen => "hash length",
            Self::SortedAdd { .. } => "sorted-set add",
            Self::SortedIncrement { .. } => "sorted-set increment",
            Self::SortedRange { .. } => "sorted-set range",
            Self::SortedRangeByScore { .. } => "sorted-set range by score",
            Self::SortedRank { .. } => "sorted-set rank",
            Self::SortedScore { .. } => "sorted-set score",
            Self::SortedRemove { .. } => "sorted-set remove",
            Self::SortedLen => "sorted-set length",
            Self::SetAdd { .. } => "set add",
            Self::SetRemove { .. } => "set remove",
            Self::SetContains { .. } => "set contains",
            Self::SetMembers => "set members",
            Self::SetLen => "set length",
            Self::CounterIncrement { .. } => "counter increment",
            Self::Take => "take",
            Self::Replace { .. } => "replace",
        }
    }
}

/// What an [`Op`] answers; each operation documents which variant it replies.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Reply {
    /// A count or a length.
    Count(u64),
    /// A counter's value.
    Integer(i64),
    /// Yes or no.
    Flag(bool),
    /// A score, or `None` for an absent member.
    Score(Option<f64>),
    /// A rank, or `None` for an absent member.
    Rank(Option<u64>),
    /// One value, or none.
    Value(Option<Bytes>),
    /// Values, in the operation's order.
    Values(Vec<Bytes>),
    /// One entry per requested field, `None` where it is absent.
    MaybeValues(Vec<Option<Bytes>>),
    /// Fields and their values.
    Fields(Vec<(String, Bytes)>),
    /// Members and their scores, in the operation's order.
    Scored(Vec<(Bytes, f64)>),
}

/// The data-structure capability: queues, hash records, sorted sets, sets, counters with
/// expiry and read-and-delete, on keys of the backend's key space. Offered by
/// [`MemoryBackend`](crate::MemoryBackend) and the Redis backend through
/// [`CacheBackend::structures`](crate::CacheBackend::structures); the typed handles of
/// [`structures`](crate::structures) are built on it.
///
/// # Contract
///
/// - A structure lives under a key like any value: [`exists`](crate::CacheBackend::exists),
///   [`ttl`](crate::CacheBackend::ttl), [`expire`](crate::CacheBackend::expire),
///   [`delete`](crate::CacheBackend::delete), the pattern deletes, key scans and
///   [`clear`](crate::CacheBackend::clear) see it; writing a plain value over it with
///   [`set`](crate::CacheBackend::set) replaces it.
/// - Each [`Op`] is atomic on its key: 64 tasks popping one queue each get distinct values,
///   and every value pushed is popped exactly once.
/// - The wrong kind of value under the key is [`ErrorKind::WrongType`](crate::ErrorKind),
///   naming the key; the structure is left as it was.
///
/// ```
/// use cache_core::{Bytes, CacheBackend, MemoryBackend};
/// use cache_core::structures::{Op, Reply};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> cache_core::Result<()> {
/// let memory = MemoryBackend::new();
/// let store = memory.structures().expect("the memory backend has data structures");
/// let jobs = [Bytes::from_static(b"\"a\""), Bytes::from_static(b"\"b\"")];
/// assert_eq!(store.apply("jobs", Op::QueuePush { values: &jobs }).await?, Reply::Count(2));
/// assert_eq!(
///     store.apply("jobs", Op::QueuePop { count: 1 }).await?,
///     Reply::Values(vec![Bytes::from_static(b"\"a\"")]),
/// );
/// # Ok(()) }
/// ```
#[async_trait]
pub trait StructureStore: Send + Sync {
    /// Runs `op` on the structure under `key`, atomically, and replies as the operation
    /// documents.
    async fn apply(&self, key: &str, op: Op<'_>) -> Result<Reply>;
}
