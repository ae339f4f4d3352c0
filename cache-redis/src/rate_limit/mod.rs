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

mod wire;

use std::time::SystemTime;

use async_trait::async_trait;
use cache_core::rate_limit::{RateLimitDecision, RateLimitPolicy};
use cache_core::{Error, RateLimitStore, Result};

use crate::backend::RedisBackend;

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
    /// [`ErrorKind::Config`]: cache_core::ErrorKind::Config
    /// [`ErrorKind::InvalidInput`]: cache_core::ErrorKind::InvalidInput
    /// [`ErrorKind::Backend`]: cache_core::ErrorKind::Backend
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
        let (script, args) = wire::request(policy, cost)?;
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
        wire::reply(policy, &reply)
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
