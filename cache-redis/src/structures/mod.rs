//! Data structures on Redis: [`StructureStore`] (one Redis command per [`Op`], on the
//! backend's prefixed key), [`PubSubStore`](cache_core::structures::PubSubStore)
//! ([`pubsub`]) and [`KeyScan`](cache_core::structures::KeyScan) ([`scan`]), with the blocking
//! pop on dedicated connections ([`blocking`]).

mod blocking;
mod pubsub;
mod scan;
mod wire;

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use cache_core::structures::{Op, Order, Reply, StructureStore};
use cache_core::{Error, ErrorKind, Result, check_ttl};
use redis::{Cmd, FromRedisValue, Value};

pub(crate) use blocking::BlockingPool;

use crate::backend::{RedisBackend, ttl_millis};
use crate::near::Written;

/// What kind of value `op` works on, for the `WRONGTYPE` message.
fn kind(op: &Op<'_>) -> &'static str {
    match op {
        Op::QueuePush { .. }
        | Op::QueuePop { .. }
        | Op::QueuePopWait { .. }
        | Op::QueueRange { .. }
        | Op::QueueLen => "queue (list)",
        Op::HashSet { .. }
        | Op::HashGet { .. }
        | Op::HashGetAll
        | Op::HashDelete { .. }
        | Op::HashLen => "hash",
        Op::SortedAdd { .. }
        | Op::SortedIncrement { .. }
        | Op::SortedRange { .. }
        | Op::SortedRangeByScore { .. }
        | Op::SortedRank { .. }
        | Op::SortedScore { .. }
        | Op::SortedRemove { .. }
        | Op::SortedLen => "sorted set",
        Op::SetAdd { .. }
        | Op::SetRemove { .. }
        | Op::SetContains { .. }
        | Op::SetMembers
        | Op::SetLen => "set",
        _ => "plain value",
    }
}

/// `error` from `op` on `key`, with the key as the caller named it, keeping its kind.
fn about(key: &str, op: &Op<'_>, error: Error) -> Error {
    let message = if error.kind() == ErrorKind::WrongType {
        format!(
            "`{key}` holds another kind of value than a {} ({}): {}",
            kind(op),
            op.name(),
            error.message()
        )
    } else {
        format!("{} on `{key}`: {}", op.name(), error.message())
    };
    Error::new(error.kind(), message).with_source(error)
}

fn invalid(message: &str) -> Error {
    Error::new(ErrorKind::InvalidInput, message)
}

/// The error for a reply that is not what the command answers.
fn unexpected(expected: &str) -> Error {
    Error::new(
        ErrorKind::Backend,
        format!("redis answered with something other than {expected}"),
    )
}

/// A count or position as a Redis integer argument (saturating: Redis caps them anyway).
fn int_arg(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl RedisBackend {
    /// `name` with the prefixed `key` as its first argument.
    fn on_key(&self, name: &str, key: &str) -> Cmd {
        let mut cmd = redis::cmd(name);
        cmd.arg(self.key_arg(key));
        cmd
    }

    async fn ask<T: FromRedisValue>(&self, op: &Op<'_>, idempotent: bool, cmd: &Cmd) -> Result<T> {
        self.query(op.name(), idempotent, cmd).await
    }

    async fn count(&self, op: &Op<'_>, idempotent: bool, cmd: &Cmd) -> Result<Reply> {
        self.ask(op, idempotent, cmd).await.map(Reply::Count)
    }

    async fn values(&self, op: &Op<'_>, idempotent: bool, cmd: &Cmd) -> Result<Reply> {
        let value: Value = self.ask(op, idempotent, cmd).await?;
        wire::values(value)
            .map(Reply::Values)
            .ok_or_else(|| unexpected("a list of values"))
    }

    async fn score(&self, op: &Op<'_>, idempotent: bool, cmd: &Cmd) -> Result<Reply> {
        let value: Value = self.ask(op, idempotent, cmd).await?;
        match value {
            Value::Nil => Ok(Reply::Score(None)),
            value => wire::score(&value)
                .map(|score| Reply::Score(Some(score)))
                .ok_or_else(|| unexpected("a score")),
        }
    }

    async fn scored(&self, op: &Op<'_>, cmd: &Cmd) -> Result<Reply> {
        let value: Value = self.ask(op, true, cmd).await?;
        wire::scored(value)
            .map(Reply::Scored)
            .ok_or_else(|| unexpected("members with scores"))
    }

    /// `key` with `members` (bytes) after it, for `SADD` / `SREM` / `ZREM`; nothing to send
    /// for no members, which changes nothing.
    async fn members(
        &self,
        op: &Op<'_>,
        name: &str,
        key: &str,
        members: &[Bytes],
    ) -> Result<Reply> {
        if members.is_empty() {
            return Ok(Reply::Count(0));
        }
        let mut cmd = self.on_key(name, key);
        for member in members {
            cmd.arg(&member[..]);
        }
        self.count(op, true, &cmd).await
    }

    /// `key` with `fields` after it, for `HMGET` / `HDEL`.
    fn with_fields(&self, name: &str, key: &str, fields: &[&str]) -> Cmd {
        let mut cmd = self.on_key(name, key);
        for field in fields {
            cmd.arg(*field);
        }
        cmd
    }

    async fn run_op(&self, key: &str, op: &Op<'_>) -> Result<Reply> {
        match *op {
            Op::QueuePush { values } => {
                // Pushing nothing leaves the queue as it is: its length is the answer.
                if values.is_empty() {
                    return self.count(op, true, &self.on_key("LLEN", key)).await;
                }
                let mut cmd = self.on_key("RPUSH", key);
                for value in values {
                    cmd.arg(&value[..]);
                }
                self.count(op, false, &cmd).await
            }
            Op::QueuePop { count } => {
                if count == 0 {
                    return Err(invalid("a pop of zero values is not allowed"));
                }
                let mut cmd = self.on_key("LPOP", key);
                // One value is `LPOP key`, a bare bulk string, rather than the one-element
                // array of `LPOP key 1` (benches/structures.rs).
                if count > 1 {
                    cmd.arg(int_arg(count));
                }
                self.values(op, false, &cmd).await
            }
            Op::QueuePopWait { timeout } => {
                if timeout.is_zero() {
                    return Err(invalid(
                        "a wait of zero is not allowed (Redis would wait forever); use a pop without a wait",
                    ));
                }
                self.pop_wait(key, timeout).await.map(Reply::Value)
            }
            Op::QueueRange { start, stop } => {
                let mut cmd = self.on_key("LRANGE", key);
                cmd.arg(start).arg(stop);
                self.values(op, true, &cmd).await
            }
            Op::QueueLen => self.count(op, true, &self.on_key("LLEN", key)).await,

            Op::HashSet { fields } => {
                if fields.is_empty() {
                    return Ok(Reply::Count(0));
                }
                let mut cmd = self.on_key("HSET", key);
                for (field, value) in fields {
                    cmd.arg(*field).arg(&value[..]);
                }
                self.count(op, true, &cmd).await
            }
            Op::HashGet { fields } => {
                if fields.is_empty() {
                    return Ok(Reply::MaybeValues(Vec::new()));
                }
                let values: Vec<Option<Vec<u8>>> = self
                    .ask(op, true, &self.with_fields("HMGET", key, fields))
                    .await?;
                Ok(Reply::MaybeValues(
                    values.into_iter().map(|v| v.map(Bytes::from)).collect(),
                ))
            }
            Op::HashGetAll => {
                let value: Value = self.ask(op, true, &self.on_key("HGETALL", key)).await?;
                match wire::fields(value) {
                    Some(Ok(fields)) => Ok(Reply::Fields(fields)),
                    Some(Err(field)) => Err(Error::new(
                        ErrorKind::Codec,
                        format!(
                            "the hash has a field that is not UTF-8 text: {:?}",
                            String::from_utf8_lossy(&field)
                        ),
                    )),
                    None => Err(unexpected("fields and values")),
                }
            }
            Op::HashDelete { fields } => {
                if fields.is_empty() {
                    return Ok(Reply::Count(0));
                }
                self.count(op, true, &self.with_fields("HDEL", key, fields))
                    .await
            }
            Op::HashLen => self.count(op, true, &self.on_key("HLEN", key)).await,

            Op::SortedAdd { members } => {
                if members.is_empty() {
                    return Ok(Reply::Count(0));
                }
                let mut cmd = self.on_key("ZADD", key);
                for (member, score) in members {
                    cmd.arg(wire::score_arg(*score)?).arg(&member[..]);
                }
                self.count(op, true, &cmd).await
            }
            Op::SortedIncrement { member, by } => {
                let mut cmd = self.on_key("ZINCRBY", key);
                cmd.arg(wire::score_arg(by)?).arg(&member[..]);
                self.score(op, false, &cmd).await
            }
            Op::SortedRange { start, stop, order } => {
                let mut cmd = self.on_key("ZRANGE", key);
                cmd.arg(start).arg(stop);
                if order == Order::Descending {
                    cmd.arg("REV");
                }
                cmd.arg("WITHSCORES");
                self.scored(op, &cmd).await
            }
            Op::SortedRangeByScore {
                min,
                max,
                order,
                limit,
            } => {
                let (min, max) = (wire::score_arg(min)?, wire::score_arg(max)?);
                let mut cmd = self.on_key("ZRANGE", key);
                // With REV, ZRANGE takes the range from its high end: max first.
                match order {
                    Order::Ascending => cmd.arg(min).arg(max).arg("BYSCORE"),
                    Order::Descending => cmd.arg(max).arg(min).arg("BYSCORE").arg("REV"),
                };
                if let Some(limit) = limit {
                    if limit == 0 {
                        return Ok(Reply::Scored(Vec::new()));
                    }
                    cmd.arg("LIMIT").arg(0).arg(int_arg(limit));
                }
                cmd.arg("WITHSCORES");
                self.scored(op, &cmd).await
            }
            Op::SortedRank { member, order } => {
                let name = match order {
                    Order::Ascending => "ZRANK",
                    Order::Descending => "ZREVRANK",
                };
                let mut cmd = self.on_key(name, key);
                cmd.arg(&member[..]);
                self.ask(op, true, &cmd).await.map(Reply::Rank)
            }
            Op::SortedScore { member } => {
                let mut cmd = self.on_key("ZSCORE", key);
                cmd.arg(&member[..]);
                self.score(op, true, &cmd).await
            }
            Op::SortedRemove { members } => self.members(op, "ZREM", key, members).await,
            Op::SortedLen => self.count(op, true, &self.on_key("ZCARD", key)).await,

            Op::SetAdd { members } => self.members(op, "SADD", key, members).await,
            Op::SetRemove { members } => self.members(op, "SREM", key, members).await,
            Op::SetContains { member } => {
                let mut cmd = self.on_key("SISMEMBER", key);
                cmd.arg(&member[..]);
                self.ask(op, true, &cmd).await.map(Reply::Flag)
            }
            Op::SetMembers => self.values(op, true, &self.on_key("SMEMBERS", key)).await,
            Op::SetLen => self.count(op, true, &self.on_key("SCARD", key)).await,

            Op::CounterIncrement { delta, ttl } => self
                .increment_with_ttl(key, delta, ttl)
                .await
                .map(Reply::Integer),
            Op::Take => {
                let value: Option<Vec<u8>> =
                    self.ask(op, false, &self.on_key("GETDEL", key)).await?;
                Ok(Reply::Value(value.map(Bytes::from)))
            }
            Op::Replace { value, ttl } => {
                check_ttl(ttl)?;
                let mut cmd = self.on_key("SET", key);
                cmd.arg(&value[..]).arg("XX");
                // `GET` makes Redis refuse (WRONGTYPE, nothing written) a key that holds a
                // structure, which a bare `SET XX` would overwrite; its nil means "absent".
                cmd.arg("GET");
                if let Some(ttl) = ttl {
                    cmd.arg("PX").arg(ttl_millis(ttl));
                }
                let old: Value = self.ask(op, true, &cmd).await?;
                Ok(Reply::Flag(!matches!(old, Value::Nil)))
            }
            _ => Err(Error::new(
                ErrorKind::Unsupported,
                "this operation is not supported by the Redis backend",
            )),
        }
    }
}

/// Queues, hashes, sorted sets, sets, counters, `GETDEL` and `SET XX`, one Redis command per
/// [`Op`] on the prefixed key (the command each runs is named on the [`Op`]).
///
/// - **Values** are stored as the bytes given (the typed handles write JSON), so `redis-cli
///   LRANGE app:jobs 0 -1` shows what was pushed, and what another client writes is read.
/// - **Retries**: reads and the operations that may run twice without harm (`HSET`, `HDEL`,
///   `SADD`, `SREM`, `ZADD`, `ZREM`, `SET XX`) are retried after connection errors; pushes,
///   pops, `ZINCRBY`, the counter and `GETDEL` are not (a retry could run them twice).
/// - **Empty input** sends nothing: adding, setting or removing no members or fields replies
///   `Count(0)`, reading no fields or a by-score range limited to 0 members an empty list,
///   without a round trip (so without checking the key's type); pushing nothing replies the
///   queue's length (`LLEN`).
/// - **Redis 6.2 or later** is needed (`LPOP` with a count, `GETDEL`, `SET ... XX GET`,
///   `ZRANGE ... BYSCORE REV`, fractional `BLPOP` timeouts).
/// - **Scores** are sent in Rust's shortest round-trip form (`inf` / `-inf` for the
///   infinities) and read back exactly; a NaN score is [`ErrorKind::InvalidInput`] before
///   anything is sent.
/// - **`QueuePopWait`** is a `BLPOP` on a dedicated connection (never the shared one, which it
///   would stall), from a small pool of idle ones: to the server, the current Sentinel primary,
///   or the Cluster node owning the key's slot (found by following `MOVED`). It is bounded by
///   the wait plus the backend's response and connect timeouts, so a dead or frozen server
///   answers within that; a connection whose call failed or timed out is dropped, not pooled.
/// - **`Replace`** is `SET key value XX GET [PX ms]`: `GET` makes Redis refuse a key holding a
///   structure with `WRONGTYPE` where a bare `SET` would overwrite it.
/// - **Errors** name the key as the caller gave it; `WRONGTYPE` is
///   [`ErrorKind::WrongType`], and the key is left as it was.
/// - On a **Cluster** every operation is on one key, routed by it.
#[async_trait]
impl StructureStore for RedisBackend {
    async fn apply(&self, key: &str, op: Op<'_>) -> Result<Reply> {
        // The operations that change a plain value, the only kind the near cache holds.
        let writes_value = matches!(
            op,
            Op::Take | Op::Replace { .. } | Op::CounterIncrement { .. }
        );
        let _written = writes_value.then(|| self.near_write(|| Written::Key(key)));
        self.run_op(key, &op)
            .await
            .map_err(|error| about(key, &op, error))
    }
}

/// The wait of a blocking pop as `BLPOP`'s timeout: seconds with millisecond precision,
/// rounded up (so never `0`, which would wait forever).
fn blpop_timeout(wait: Duration) -> String {
    let millis = ttl_millis(wait);
    format!("{}.{:03}", millis / 1000, millis % 1000)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn blpop_timeouts_are_never_zero() {
        assert_eq!(blpop_timeout(Duration::from_nanos(1)), "0.001");
        assert_eq!(blpop_timeout(Duration::from_millis(2500)), "2.500");
        assert_eq!(blpop_timeout(Duration::from_secs(3)), "3.000");
        assert_eq!(blpop_timeout(Duration::from_micros(1_000_001)), "1.001");
    }

    #[test]
    fn wrong_type_names_the_key_and_the_structure() {
        let error = about(
            "jobs",
            &Op::QueueLen,
            Error::new(ErrorKind::WrongType, "redis queue length: WRONGTYPE"),
        );
        assert_eq!(error.kind(), ErrorKind::WrongType);
        assert!(
            error
                .to_string()
                .contains("`jobs` holds another kind of value than a queue"),
            "{error}"
        );
        let error = about("jobs", &Op::QueueLen, invalid("nope"));
        assert_eq!(error.kind(), ErrorKind::InvalidInput);
        assert!(
            error.to_string().contains("queue length on `jobs`: nope"),
            "{error}"
        );
    }
}
