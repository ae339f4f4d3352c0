//! [`RateLimitDecision`] and the [`RateLimited`] error.

use std::fmt;
use std::time::Duration;

use crate::Result;

/// The outcome of one rate-limit decision, in the shape of redis-cell's `CL.THROTTLE` reply
/// (and of the `X-RateLimit-*` / `Retry-After` HTTP headers).
///
/// Backends build one with [`admitted`](Self::admitted) or [`denied`](Self::denied); callers
/// read it through its accessors. Fields may be added in a minor release.
///
/// ```
/// use std::time::Duration;
/// use cache_core::rate_limit::RateLimitDecision;
///
/// let (retry_after, reset_after) = (Duration::from_millis(1500), Duration::from_secs(60));
/// let denied = RateLimitDecision::denied(10, 0, retry_after, reset_after);
/// assert!(!denied.allowed());
/// assert_eq!(denied.retry_after_secs(), 2); // `Retry-After` rounds up
/// let err = denied.into_result().unwrap_err();
/// assert_eq!(err.to_string(), "rate limit exceeded, retry after 1.5s");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct RateLimitDecision {
    allowed: bool,
    limit: u32,
    remaining: u32,
    retry_after: Duration,
    reset_after: Duration,
}

impl RateLimitDecision {
    /// An admitted call, for backend implementors: its cost has been taken, `remaining` more
    /// could pass right now, and the limiter is back to full capacity after `reset_after` if
    /// nothing more passes. [`retry_after`](Self::retry_after) is zero.
    ///
    /// `limit` is what the policy admits at once: its
    /// [`capacity`](super::RateLimitPolicy::capacity).
    ///
    /// ```
    /// use std::time::Duration;
    /// use cache_core::rate_limit::RateLimitDecision;
    ///
    /// let admitted = RateLimitDecision::admitted(10, 9, Duration::from_secs(6));
    /// assert!(admitted.allowed());
    /// assert_eq!((admitted.limit(), admitted.remaining()), (10, 9));
    /// assert_eq!(admitted.retry_after(), Duration::ZERO);
    /// ```
    #[must_use]
    pub const fn admitted(limit: u32, remaining: u32, reset_after: Duration) -> Self {
        Self {
            allowed: true,
            limit,
            remaining,
            retry_after: Duration::ZERO,
            reset_after,
        }
    }

    /// A denied call, for backend implementors: nothing was taken, `remaining` could pass
    /// right now (less than the call's cost), the same call would be admitted after
    /// `retry_after` if nothing else takes the room first, and the limiter is back to full
    /// capacity after `reset_after`.
    ///
    /// `limit` is what the policy admits at once: its
    /// [`capacity`](super::RateLimitPolicy::capacity).
    ///
    /// ```
    /// use std::time::Duration;
    /// use cache_core::rate_limit::RateLimitDecision;
    ///
    /// let (retry_after, reset_after) = (Duration::from_millis(100), Duration::from_millis(500));
    /// let denied = RateLimitDecision::denied(5, 0, retry_after, reset_after);
    /// assert!(!denied.allowed());
    /// assert_eq!(denied.retry_after(), Duration::from_millis(100));
    /// assert_eq!(denied.reset_after(), Duration::from_millis(500));
    /// ```
    #[must_use]
    pub const fn denied(
        limit: u32,
        remaining: u32,
        retry_after: Duration,
        reset_after: Duration,
    ) -> Self {
        Self {
            allowed: false,
            limit,
            remaining,
            retry_after,
            reset_after,
        }
    }

    /// Whether the call may go ahead. When `true`, its cost has been taken.
    #[must_use]
    pub const fn allowed(&self) -> bool {
        self.allowed
    }

    /// The most that can pass at once: GCRA's burst, or the limit per window of the other
    /// algorithms ([`RateLimitPolicy::capacity`](super::RateLimitPolicy::capacity)).
    #[must_use]
    pub const fn limit(&self) -> u32 {
        self.limit
    }

    /// How much more could pass right now, after this call.
    #[must_use]
    pub const fn remaining(&self) -> u32 {
        self.remaining
    }

    /// When denied, how long until the same call would be admitted (if nothing else takes the
    /// room first). Zero when allowed.
    #[must_use]
    pub const fn retry_after(&self) -> Duration {
        self.retry_after
    }

    /// How long until the limiter is back to full capacity (`remaining == limit`) if nothing
    /// more passes. Zero when it already is.
    #[must_use]
    pub const fn reset_after(&self) -> Duration {
        self.reset_after
    }

    /// `Ok(self)` when allowed, otherwise the [`RateLimited`] error carrying this decision.
    pub fn into_result(self) -> Result<Self, RateLimited> {
        if self.allowed {
            Ok(self)
        } else {
            Err(RateLimited::new(self))
        }
    }

    /// [`retry_after`](Self::retry_after) in whole seconds, rounded up, as the `Retry-After`
    /// header wants it.
    #[must_use]
    pub fn retry_after_secs(&self) -> u64 {
        ceil_secs(self.retry_after)
    }

    /// [`reset_after`](Self::reset_after) in whole seconds, rounded up (a delta, as in
    /// `X-RateLimit-Reset` / the IETF `RateLimit` field's `t`).
    #[must_use]
    pub fn reset_after_secs(&self) -> u64 {
        ceil_secs(self.reset_after)
    }
}

fn ceil_secs(duration: Duration) -> u64 {
    duration.as_secs() + u64::from(duration.subsec_nanos() > 0)
}

/// The error a rate-limited call returns when it is denied; carries the [`RateLimitDecision`].
///
/// `#[rate_limited]` functions return `Err(RateLimited { .. }.into())`, so their error type
/// implements `From<RateLimited>`.
///
/// ```
/// use std::time::Duration;
/// use cache_core::rate_limit::{RateLimited, RateLimitDecision};
///
/// #[derive(Debug)]
/// enum ApiError {
///     TooManyRequests { retry_after_secs: u64 },
/// }
///
/// impl From<RateLimited> for ApiError {
///     fn from(limited: RateLimited) -> Self {
///         ApiError::TooManyRequests { retry_after_secs: limited.decision().retry_after_secs() }
///     }
/// }
///
/// let wait = Duration::from_millis(200);
/// let denied = RateLimitDecision::denied(1, 0, wait, wait);
/// let err: ApiError = RateLimited::new(denied).into();
/// assert!(matches!(err, ApiError::TooManyRequests { retry_after_secs: 1 }));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RateLimited {
    decision: RateLimitDecision,
}

impl RateLimited {
    /// The error for a denied `decision`.
    #[must_use]
    pub const fn new(decision: RateLimitDecision) -> Self {
        Self { decision }
    }

    /// The decision that denied the call.
    #[must_use]
    pub const fn decision(&self) -> &RateLimitDecision {
        &self.decision
    }

    /// How long until the call would be admitted.
    #[must_use]
    pub const fn retry_after(&self) -> Duration {
        self.decision.retry_after
    }
}

impl fmt::Display for RateLimited {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "rate limit exceeded, retry after {:?}",
            self.decision.retry_after
        )
    }
}

impl std::error::Error for RateLimited {}
