//! Rate limiting on Redis: [`RateLimitStore::rate_limit`](cache_core::RateLimitStore::rate_limit)
//! as one Lua script per decision.
//!
//! - **One key, one round trip.** `KEYS[1]` is the backend's prefix plus the limiter key, so a
//!   decision touches a single hash slot and works unchanged on a Cluster. The script is sent
//!   by SHA (`EVALSHA`) and reloaded transparently after `SCRIPT FLUSH`, a restart or a
//!   failover ([`RedisBackend::eval`]).
//! - **The server's clock.** Each script reads `TIME`, so every process sharing the server
//!   shares one clock; the client's clock is never used. The arithmetic mirrors
//!   [`cache_core::rate_limit`]'s pure `decide` functions exactly (integer µs), so the same
//!   arrival times give the same decisions as the in-memory backend.
//! - **Bounded, never retried.** A decision waits at most the backend's operation timeout
//!   (response timeout plus connect timeout), then fails with
//!   [`ErrorKind::Timeout`](cache_core::ErrorKind::Timeout). It is *not* retried after a
//!   connection error or a timeout: the script may have run and taken the cost before the
//!   reply was lost, and running it again would charge the call twice. The caller (for
//!   instance [`RateLimiter`](cache_core::rate_limit::RateLimiter)'s failure mode) decides
//!   what a failed decision means. The only re-send is after `NOSCRIPT`, which means nothing
//!   ran.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::Write as _;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use cache_core::rate_limit::{Algorithm, RateLimitDecision, RateLimitPolicy};
use cache_core::{Error, ErrorKind, RateLimitStore, Result};
use redis::{Script, ToRedisArgs};

use crate::backend::RedisBackend;
use crate::scripts;

impl RedisBackend {
    /// One rate-limit decision for `key` (prefixed like every other key), as
    /// [`RateLimitStore::rate_limit`](cache_core::RateLimitStore::rate_limit), together with the
    /// server time it was made at.
    ///
    /// The time is what the script read from `TIME`, in whole microseconds: use it to turn
    /// the decision's relative `reset_after` into an absolute instant on the server's clock
    /// (a GitHub-style `X-RateLimit-Reset`), or to replay the decision through
    /// [`cache_core::rate_limit`]'s pure functions.
    ///
    /// Bounded by the operation timeout, and *not* retried after a connection error or a
    /// timeout: the script may have run and taken the cost before the reply was lost, so a
    /// retry could charge the call twice. Only `NOSCRIPT` (nothing ran) is re-sent.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`] for an invalid policy and [`ErrorKind::InvalidInput`] for a cost
    /// over the policy's capacity (both before anything is sent); [`ErrorKind::Backend`] when
    /// the key holds something else than this algorithm's state; connection and timeout
    /// errors.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use cache_core::rate_limit::RateLimitPolicy;
    ///
    /// # async fn run(redis: &cache_redis::RedisBackend) -> cache_core::Result<()> {
    /// let policy = RateLimitPolicy::gcra(10, Duration::from_secs(60));
    /// let (decision, at) = redis.rate_limit_at_server_time("rl:gcra:alice", &policy, 1).await?;
    /// let resets_at = at + decision.reset_after();
    /// # let _ = resets_at; Ok(()) }
    /// ```
    pub async fn rate_limit_at_server_time(
        &self,
        key: &str,
        policy: &RateLimitPolicy,
        cost: u32,
    ) -> Result<(RateLimitDecision, SystemTime)> {
        let [a, b, c] = policy.script_args(cost)?;
        let (script, member): (&Script, Option<Member>) = match policy.algorithm() {
            Algorithm::Gcra => (&scripts::RATE_LIMIT_GCRA, None),
            Algorithm::FixedWindow => (&scripts::RATE_LIMIT_FIXED_WINDOW, None),
            Algorithm::SlidingLog => (&scripts::RATE_LIMIT_SLIDING_LOG, Some(Member::next())),
            other => {
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    format!("the Redis backend has no script for the `{other}` algorithm"),
                ));
            }
        };
        let args = ScriptArgs {
            numbers: [a, b, c],
            member,
        };
        let reply: Vec<i64> = self.eval(script, &[key], &[args]).await.map_err(|error| {
            Error::new(
                error.kind(),
                format!(
                    "rate limit ({}) on `{key}`: {}",
                    policy.algorithm(),
                    error.message()
                ),
            )
            .with_source(error)
        })?;
        let decision = RateLimitDecision::from_script_reply(policy, &reply)?;
        let now_us = reply
            .get(4)
            .and_then(|&now| u64::try_from(now).ok())
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::Backend,
                    format!("malformed rate-limit script reply {reply:?}: no server time"),
                )
            })?;
        Ok((decision, UNIX_EPOCH + Duration::from_micros(now_us)))
    }
}

/// One Lua script on the server's clock, by SHA; bounded by the operation timeout and never
/// retried, since a retry could charge the call twice
/// ([`rate_limit_at_server_time`](RedisBackend::rate_limit_at_server_time)).
#[async_trait]
impl RateLimitStore for RedisBackend {
    async fn rate_limit(
        &self,
        key: &str,
        policy: &RateLimitPolicy,
        cost: u32,
    ) -> Result<RateLimitDecision> {
        self.rate_limit_at_server_time(key, policy, cost)
            .await
            .map(|(decision, _)| decision)
    }
}

/// The `ARGV` of a rate-limit script: the three numbers of
/// [`RateLimitPolicy::script_args`], then for the sliding log the call's member prefix. Written
/// straight into the command, without intermediate strings.
struct ScriptArgs {
    numbers: [u64; 3],
    member: Option<Member>,
}

impl ToRedisArgs for ScriptArgs {
    fn write_redis_args<W>(&self, out: &mut W)
    where
        W: ?Sized + redis::RedisWrite,
    {
        for number in self.numbers {
            number.write_redis_args(out);
        }
        if let Some(Member { process, call }) = self.member {
            // Writing into the command's in-memory buffer cannot fail.
            let _ = write!(out.writer_for_next_arg(), "{process:016x}{call:x}");
        }
    }
}

/// A sliding-log member prefix unique to one call: a random id of this process and a
/// per-process counter. Two calls landing in the same microsecond (from this process or
/// another) must never write the same member, or the log would hold one entry for two.
#[derive(Clone, Copy)]
struct Member {
    process: u64,
    call: u64,
}

impl Member {
    fn next() -> Self {
        static PROCESS: LazyLock<u64> = LazyLock::new(|| {
            // `RandomState` is seeded from the OS's randomness; mix in the pid and the time in
            // case two processes ever got the same seed.
            let mut hasher = RandomState::new().build_hasher();
            hasher.write_u32(std::process::id());
            hasher.write_u128(
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_nanos(),
            );
            hasher.finish()
        });
        static CALLS: AtomicU64 = AtomicU64::new(0);
        Self {
            process: *PROCESS,
            call: CALLS.fetch_add(1, Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_are_unique_per_call() {
        let (a, b) = (Member::next(), Member::next());
        assert_eq!(a.process, b.process);
        assert_ne!(a.call, b.call);
    }

    #[test]
    fn args_are_the_policy_numbers_then_the_member() {
        let args = ScriptArgs {
            numbers: [10, 1_000_000, 1],
            member: Some(Member {
                process: 0xab,
                call: 0x1f,
            }),
        };
        let written = args.to_redis_args();
        assert_eq!(
            written,
            vec![
                b"10".to_vec(),
                b"1000000".to_vec(),
                b"1".to_vec(),
                b"00000000000000ab1f".to_vec(),
            ]
        );
        let no_member = ScriptArgs {
            numbers: [1, 2, 3],
            member: None,
        };
        assert_eq!(no_member.to_redis_args().len(), 3);
    }
}
