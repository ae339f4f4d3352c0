//! [`RateLimiter`]: rate limiting from ordinary code.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::{RateLimitDecision, RateLimitPolicy};
use crate::runtime::backend_call::within;
use crate::runtime::registry::{DynBackend, with_resolved};
use crate::{CacheBackend, Error, ErrorKind, KeyBuf, KeyPart, Result};

/// The namespace [`RateLimiter`] puts in front of its keys unless told otherwise.
pub const DEFAULT_NAMESPACE: &str = "rl:";

/// What a [`RateLimiter`] does when the backend cannot decide (down, slow past the timeout,
/// or without rate-limit support).
///
/// New modes may be added in minor releases, so a `match` needs a wildcard arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum FailureMode {
    /// Allow the call and log a warning (the default): an outage of the limiter's store does
    /// not become an outage of the service. The decision is the one a fresh limiter would give.
    #[default]
    Open,
    /// Return the backend's error; callers treat it as a denial.
    Closed,
}

#[derive(Clone)]
enum Target {
    Default,
    Named(Cow<'static, str>),
    Explicit(DynBackend),
}

/// A rate limiter for code that is not a function boundary (`#[rate_limited]` covers those).
///
/// Each distinct key gets its own budget under the [`RateLimitPolicy`]. Decisions are made by
/// the backend ([`RateLimitStore::rate_limit`](crate::RateLimitStore::rate_limit)), atomically per key, so every process sharing a
/// Redis shares the budget. Cloning a limiter is cheap.
///
/// # Keys
///
/// The backend key is the namespace (default [`DEFAULT_NAMESPACE`], `rl:`), the algorithm's
/// name and `:`, then the caller's key in its escaped [key form](crate::key): user `7` under
/// GCRA is `rl:gcra:7`, and `"a:b"` is `rl:gcra:a%3Ab`. The algorithm is part of the key
/// because each algorithm stores a different kind of state. A backend's own prefix (such as
/// [`Prefix`](crate::layer::Prefix)) still goes in front.
///
/// # Backend
///
/// By default each decision uses the backend [`cache_core::backend(None)`](crate::backend)
/// resolves at that moment (the global default, or a [`with_backend`](crate::with_backend)
/// override); [`backend_name`](Self::backend_name) and [`backend`](Self::backend) choose
/// another. Each decision waits at most [`timeout`](Self::timeout) (default:
/// [`default_timeout`](crate::default_timeout)); then the [`FailureMode`] applies.
///
/// ```
/// use std::time::Duration;
/// use cache_core::MemoryBackend;
/// use cache_core::rate_limit::{FailureMode, RateLimitPolicy, RateLimiter};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> cache_core::Result<()> {
/// let logins = RateLimiter::new(RateLimitPolicy::sliding_log(3, Duration::from_secs(60)))
///     .backend(MemoryBackend::new())
///     .failure_mode(FailureMode::Closed);
///
/// for _ in 0..3 {
///     assert!(logins.check("alice").await?.allowed());
/// }
/// let denied = logins.check("alice").await?;
/// assert!(!denied.allowed());
/// assert_eq!(denied.retry_after_secs(), 60);
/// assert!(logins.check("bob").await?.allowed()); // another key, another budget
/// assert_eq!(logins.key("alice").as_str(), "rl:sliding_log:alice");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RateLimiter {
    policy: RateLimitPolicy,
    target: Target,
    /// The namespace, the algorithm's name and `:`, put in front of every key.
    prefix: Cow<'static, str>,
    failure_mode: FailureMode,
    timeout: Option<Duration>,
}

/// [`DEFAULT_NAMESPACE`], the algorithm's name and `:`.
const fn default_prefix(algorithm: super::Algorithm) -> &'static str {
    match algorithm {
        super::Algorithm::Gcra => "rl:gcra:",
        super::Algorithm::FixedWindow => "rl:fixed_window:",
        super::Algorithm::SlidingLog => "rl:sliding_log:",
    }
}

/// The shortest sleep between two attempts of [`RateLimiter::until_ready`].
const MIN_WAIT: Duration = Duration::from_millis(1);

impl RateLimiter {
    /// A limiter applying `policy` on the default backend, failing open. An invalid policy is
    /// reported by every decision as [`ErrorKind::Config`].
    ///
    /// `const`, so a limiter can live in a `static`:
    ///
    /// ```
    /// use std::time::Duration;
    /// use cache_core::rate_limit::{RateLimitPolicy, RateLimiter};
    ///
    /// static EXPORTS: RateLimiter =
    ///     RateLimiter::new(RateLimitPolicy::fixed_window(5, Duration::from_secs(3600)));
    /// # let _ = &EXPORTS;
    /// ```
    #[must_use]
    pub const fn new(policy: RateLimitPolicy) -> Self {
        Self {
            policy,
            target: Target::Default,
            prefix: Cow::Borrowed(default_prefix(policy.algorithm())),
            failure_mode: FailureMode::Open,
            timeout: None,
        }
    }

    /// A limiter applying `policy` on the backend registered under `name` (see
    /// [`register_backend`](crate::register_backend)): the `const` form of
    /// `RateLimiter::new(policy).backend_name(name)`, so it can live in a `static`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use cache_core::rate_limit::{RateLimitPolicy, RateLimiter};
    ///
    /// static LOGINS: RateLimiter =
    ///     RateLimiter::on_backend(RateLimitPolicy::sliding_log(5, Duration::from_secs(60)), "sessions");
    /// assert!(format!("{LOGINS:?}").contains("sessions"));
    /// ```
    #[must_use]
    pub const fn on_backend(policy: RateLimitPolicy, name: &'static str) -> Self {
        Self {
            policy,
            target: Target::Named(Cow::Borrowed(name)),
            prefix: Cow::Borrowed(default_prefix(policy.algorithm())),
            failure_mode: FailureMode::Open,
            timeout: None,
        }
    }

    /// Decides on `backend` instead of the registry's.
    #[must_use]
    pub fn backend(mut self, backend: impl CacheBackend) -> Self {
        self.target = Target::Explicit(Arc::new(backend));
        self
    }

    /// Decides on the backend registered under `name` (see
    /// [`register_backend`](crate::register_backend)).
    #[must_use]
    pub fn backend_name(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.target = Target::Named(name.into());
        self
    }

    /// What to do when the backend fails (default [`FailureMode::Open`]).
    #[must_use]
    pub const fn failure_mode(mut self, mode: FailureMode) -> Self {
        self.failure_mode = mode;
        self
    }

    /// Replaces the key namespace (default [`DEFAULT_NAMESPACE`]). It is used as written.
    #[must_use]
    pub fn namespace(mut self, namespace: impl Into<Cow<'static, str>>) -> Self {
        self.prefix = Cow::Owned(format!("{}{}:", namespace.into(), self.policy.algorithm()));
        self
    }

    /// How long one decision may take before it counts as a backend failure (default:
    /// [`default_timeout`](crate::default_timeout)).
    #[must_use]
    pub const fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The policy.
    #[must_use]
    pub const fn policy(&self) -> &RateLimitPolicy {
        &self.policy
    }

    /// The backend key for the caller's `key` (see [Keys](Self#keys)).
    #[must_use]
    pub fn key<K: KeyPart + ?Sized>(&self, key: &K) -> KeyBuf {
        self.full(&|full| full.push_part(key))
    }

    /// The prefix followed by what `rest` writes.
    fn full(&self, rest: &impl Fn(&mut KeyBuf)) -> KeyBuf {
        let mut full = KeyBuf::new();
        self.write_full(rest, &mut full);
        full
    }

    /// Writes the prefix and then what `rest` writes into `full`.
    #[inline]
    fn write_full(&self, rest: &impl Fn(&mut KeyBuf), full: &mut KeyBuf) {
        full.push_literal(&self.prefix);
        rest(full);
    }

    /// Decides one call for `key`: takes a unit of its budget if there is one.
    ///
    /// Returns the decision, allowed or not; an error only for an invalid policy, or for a
    /// backend failure under [`FailureMode::Closed`].
    pub async fn check<K: KeyPart + ?Sized>(&self, key: &K) -> Result<RateLimitDecision> {
        self.check_n(key, 1).await
    }

    /// Decides a call costing `cost` units for `key`. A cost of 0 only reports the budget.
    /// A cost over the policy's [`capacity`](RateLimitPolicy::capacity) can never pass and is
    /// [`ErrorKind::InvalidInput`].
    pub async fn check_n<K: KeyPart + ?Sized>(
        &self,
        key: &K,
        cost: u32,
    ) -> Result<RateLimitDecision> {
        self.decide(|full| full.push_part(key), cost).await
    }

    /// [`check_n`](Self::check_n) for a key already in key form: `key` follows the namespace
    /// as written, not escaped again. Build it with [`KeyBuf`], escaping every value with
    /// [`push_part`](KeyBuf::push_part), e.g. for keys of several parts.
    ///
    /// ```
    /// use std::time::Duration;
    /// use cache_core::{KeyBuf, MemoryBackend};
    /// use cache_core::rate_limit::{RateLimitPolicy, RateLimiter};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> cache_core::Result<()> {
    /// let limiter = RateLimiter::new(RateLimitPolicy::gcra(10, Duration::from_secs(60)))
    ///     .backend(MemoryBackend::new());
    /// let mut key = KeyBuf::new();
    /// key.push_literal("search:");
    /// key.push_part(&"tenant:1");
    /// key.push_literal(":");
    /// key.push_part(&7_u64);
    /// assert_eq!(limiter.full_key(&key).as_str(), "rl:gcra:search:tenant%3A1:7");
    /// assert!(limiter.check_key(&key, 1).await?.allowed());
    /// # Ok(()) }
    /// ```
    pub async fn check_key(&self, key: &KeyBuf, cost: u32) -> Result<RateLimitDecision> {
        self.decide(|full| full.push_literal(key.as_str()), cost)
            .await
    }

    /// The backend key for a key already in key form (see [`check_key`](Self::check_key)).
    #[must_use]
    pub fn full_key(&self, key: &KeyBuf) -> KeyBuf {
        self.full(&|full| full.push_literal(key.as_str()))
    }

    /// Waits until one call for `key` is admitted, or until admitting it would take longer
    /// than `max_wait`, whichever comes first. Returns the last decision: allowed, or denied
    /// when the wait would have exceeded the bound (it gives up at once, rather than sleeping
    /// for nothing, when `retry_after` is already past the bound).
    ///
    /// ```
    /// use std::time::Duration;
    /// use cache_core::MemoryBackend;
    /// use cache_core::rate_limit::{RateLimitPolicy, RateLimiter};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> cache_core::Result<()> {
    /// let limiter = RateLimiter::new(RateLimitPolicy::gcra(100, Duration::from_secs(1)).burst(1))
    ///     .backend(MemoryBackend::new());
    /// assert!(limiter.check("job").await?.allowed());
    /// // The next cell is 10 ms away.
    /// assert!(limiter.until_ready("job", Duration::from_secs(1)).await?.allowed());
    /// # Ok(()) }
    /// ```
    pub async fn until_ready<K: KeyPart + ?Sized>(
        &self,
        key: &K,
        max_wait: Duration,
    ) -> Result<RateLimitDecision> {
        self.until_n_ready(key, 1, max_wait).await
    }

    /// [`until_ready`](Self::until_ready) for a call costing `cost` units.
    pub async fn until_n_ready<K: KeyPart + ?Sized>(
        &self,
        key: &K,
        cost: u32,
        max_wait: Duration,
    ) -> Result<RateLimitDecision> {
        self.wait_for(|full| full.push_part(key), cost, max_wait)
            .await
    }

    /// [`until_n_ready`](Self::until_n_ready) for a key already in key form (see
    /// [`check_key`](Self::check_key)): waits until a call costing `cost` is admitted, or until
    /// admitting it would take longer than `max_wait`, and returns the last decision.
    ///
    /// ```
    /// use std::time::Duration;
    /// use cache_core::{KeyBuf, MemoryBackend};
    /// use cache_core::rate_limit::{RateLimitPolicy, RateLimiter};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> cache_core::Result<()> {
    /// let limiter = RateLimiter::new(RateLimitPolicy::gcra(100, Duration::from_secs(1)).burst(1))
    ///     .backend(MemoryBackend::new());
    /// let mut key = KeyBuf::new();
    /// key.push_literal("export:");
    /// key.push_part(&7_u64);
    /// assert!(limiter.check_key(&key, 1).await?.allowed());
    /// // The next cell is 10 ms away: well within the bound.
    /// assert!(limiter.until_ready_key(&key, 1, Duration::from_secs(1)).await?.allowed());
    /// // A bound shorter than the next cell gives up at once.
    /// assert!(!limiter.until_ready_key(&key, 1, Duration::from_micros(1)).await?.allowed());
    /// # Ok(()) }
    /// ```
    pub async fn until_ready_key(
        &self,
        key: &KeyBuf,
        cost: u32,
        max_wait: Duration,
    ) -> Result<RateLimitDecision> {
        self.wait_for(|full| full.push_literal(key.as_str()), cost, max_wait)
            .await
    }

    /// The waiting loop of [`until_n_ready`](Self::until_n_ready) and
    /// [`until_ready_key`](Self::until_ready_key), on a full backend key.
    async fn wait_for(
        &self,
        key: impl Fn(&mut KeyBuf),
        cost: u32,
        max_wait: Duration,
    ) -> Result<RateLimitDecision> {
        let deadline = Instant::now().checked_add(max_wait);
        loop {
            let decision = self.decide(&key, cost).await?;
            if decision.allowed() {
                return Ok(decision);
            }
            let wait = decision.retry_after().max(MIN_WAIT);
            let wake = Instant::now().checked_add(wait);
            match (wake, deadline) {
                (Some(wake), Some(deadline)) if wake <= deadline => {}
                (Some(_), None) => {}
                _ => return Ok(decision),
            }
            tokio::time::sleep(wait).await;
        }
    }

    /// One decision on the backend key `key` builds: at once where the backend decides in
    /// process, else awaited (boxed, so that its state does not weigh on in-process answers).
    ///
    /// A plain `async fn` over [`try_decide`](Self::try_decide). A hand-written future that
    /// returned the in-process answer on its first poll (kept until 0.1 for that) did not
    /// beat it: `cargo bench -p cache-core --bench rate_limit_memory`, paired against
    /// `governor_check_key` in the same run, two runs each: `ours_rate_limiter/gcra` 2.10x
    /// and 2.06x with this, 1.88x and 2.24x with the hand-written future.
    async fn decide(&self, key: impl Fn(&mut KeyBuf), cost: u32) -> Result<RateLimitDecision> {
        let decided = match self.try_decide(&key, cost) {
            Some(decided) => decided,
            None => Box::pin(self.decide_remotely(self.full(&key), cost)).await,
        };
        match decided {
            Ok(decision) => {
                let result = if decision.allowed() {
                    "allowed"
                } else {
                    "limited"
                };
                crate::metrics::rate_limit_decision(&self.prefix, result);
                Ok(decision)
            }
            Err(error) => self.settle(error, &key, cost),
        }
    }

    /// The backend's decision if it makes one without waiting, else `None`.
    #[inline]
    fn try_decide(
        &self,
        key: &impl Fn(&mut KeyBuf),
        cost: u32,
    ) -> Option<Result<RateLimitDecision>> {
        // Built where it is used: a `KeyBuf` moved right after its bytes were written stalls
        // on the copy.
        let mut full = KeyBuf::new();
        self.write_full(key, &mut full);
        let at_once = |backend: &DynBackend| {
            backend
                .rate_limits()?
                .try_rate_limit(full.as_str(), &self.policy, cost)
        };
        match &self.target {
            Target::Default => with_resolved(None, |served| at_once(&served.backend)),
            Target::Named(name) => with_resolved(Some(name), |served| at_once(&served.backend)),
            Target::Explicit(backend) => at_once(backend),
        }
    }

    /// Applies the [`FailureMode`] to a backend's failure; policy and cost errors pass through.
    #[cold]
    fn settle(
        &self,
        error: Error,
        key: &impl Fn(&mut KeyBuf),
        cost: u32,
    ) -> Result<RateLimitDecision> {
        if matches!(error.kind(), ErrorKind::InvalidInput | ErrorKind::Config) {
            crate::metrics::rate_limit_decision(&self.prefix, "error");
            return Err(error);
        }
        self.fail(error, self.full(key).as_str(), cost)
    }

    fn fail(&self, error: Error, key: &str, cost: u32) -> Result<RateLimitDecision> {
        match self.failure_mode {
            FailureMode::Closed => {
                crate::metrics::rate_limit_decision(&self.prefix, "error");
                tracing::warn!(key, %error, "rate limiter failed closed: the backend could not decide");
                Err(error)
            }
            FailureMode::Open => {
                crate::metrics::rate_limit_decision(&self.prefix, "failed_open");
                tracing::warn!(key, %error, "rate limiter failed open: the backend could not decide, allowing the call");
                let limit = self.policy.capacity();
                Ok(RateLimitDecision::admitted(
                    limit,
                    limit.saturating_sub(cost),
                    Duration::ZERO,
                ))
            }
        }
    }

    /// A decision from a backend that has to be awaited, within the timeout.
    async fn decide_remotely(&self, key: KeyBuf, cost: u32) -> Result<RateLimitDecision> {
        let key = key.as_str();
        // Checked here too, so that a bad policy is an error even where the backend fails.
        self.policy.validate()?;
        self.policy.check_cost(cost)?;
        let backend = match &self.target {
            Target::Default => crate::backend(None),
            Target::Named(name) => crate::backend(Some(name.as_ref())),
            Target::Explicit(backend) => Arc::clone(backend),
        };
        let Some(limits) = backend.rate_limits() else {
            return Err(Error::new(
                ErrorKind::Unsupported,
                "this backend does not implement rate limiting",
            ));
        };
        within(
            self.timeout.unwrap_or_else(crate::default_timeout),
            || format!("rate-limit decision for `{key}`"),
            limits.rate_limit(key, &self.policy, cost),
        )
        .await
    }
}

impl fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let backend = match &self.target {
            Target::Default => "default",
            Target::Named(name) => name.as_ref(),
            Target::Explicit(_) => "explicit",
        };
        f.debug_struct("RateLimiter")
            .field("policy", &self.policy)
            .field("backend", &backend)
            .field("prefix", &self.prefix)
            .field("failure_mode", &self.failure_mode)
            .field("timeout", &self.timeout)
            .finish()
    }
}
