//! [`RateLimitPolicy`] and [`Algorithm`].

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::{Error, ErrorKind, Result};

/// Which algorithm decides. Each has an exact, different guarantee; see the
/// [module docs](super#algorithms-and-their-exact-guarantees).
///
/// New algorithms may be added in minor releases, so a `match` needs a wildcard arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Algorithm {
    /// The generic cell rate algorithm (the default): an average of `limit` per `window`, with
    /// bursts of up to `burst` at once. One small integer of state per key.
    /// See [`gcra`](super::gcra).
    #[default]
    Gcra,
    /// A counter per window, the window starting at the first call after the previous one
    /// ended. Cheapest, but admits up to `2 × limit` across a window boundary.
    /// See [`fixed_window`](super::fixed_window).
    FixedWindow,
    /// A log of admission times: never more than `limit` in any window of length `window`.
    /// State grows with `limit`, so it is meant for small limits.
    /// See [`sliding_log`](super::sliding_log).
    SlidingLog,
}

impl Algorithm {
    /// The algorithm's name as used in keys, logs and [`FromStr`]: `gcra`, `fixed_window` or
    /// `sliding_log`.
    ///
    /// ```
    /// use cache_core::rate_limit::Algorithm;
    /// assert_eq!(Algorithm::SlidingLog.as_str(), "sliding_log");
    /// assert_eq!("fixed_window".parse::<Algorithm>()?, Algorithm::FixedWindow);
    /// # Ok::<(), cache_core::Error>(())
    /// ```
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Gcra => "gcra",
            Self::FixedWindow => "fixed_window",
            Self::SlidingLog => "sliding_log",
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Algorithm {
    type Err = Error;

    fn from_str(name: &str) -> Result<Self> {
        match name {
            "gcra" => Ok(Self::Gcra),
            "fixed_window" => Ok(Self::FixedWindow),
            "sliding_log" => Ok(Self::SlidingLog),
            other => Err(Error::new(
                ErrorKind::Config,
                format!(
                    "unknown rate-limit algorithm `{other}`; expected one of `gcra`, `fixed_window`, `sliding_log`"
                ),
            )),
        }
    }
}

/// The longest span a policy may describe: a window, or the time GCRA takes to refill a full
/// burst. About 8.9 years (2^48 µs); keeps all arithmetic, in Rust and in the Redis scripts'
/// double-precision Lua numbers, exact.
pub const MAX_SPAN: Duration = Duration::from_micros(MAX_SPAN_US);

const MAX_SPAN_US: u64 = 1 << 48;

/// The largest `limit` a [sliding log](Algorithm::SlidingLog) accepts. The log keeps one entry
/// per admitted unit of cost, so its memory grows with the limit; use GCRA beyond this.
pub const MAX_SLIDING_LOG_LIMIT: u32 = 100_000;

/// How much may pass: `limit` per `window`, decided by an [`Algorithm`].
///
/// Constructors are `const` and never fail; [`validate`](Self::validate) (run by every
/// decision) rejects policies that make no sense with [`ErrorKind::Config`].
///
/// ```
/// use std::time::Duration;
/// use cache_core::rate_limit::{Algorithm, RateLimitPolicy};
///
/// // 10 per minute on average, at most 3 at once.
/// const SEARCH: RateLimitPolicy = RateLimitPolicy::gcra(10, Duration::from_secs(60)).burst(3);
/// assert_eq!(SEARCH.capacity(), 3);
/// assert_eq!(SEARCH.emission_interval(), Duration::from_secs(6));
///
/// // Never more than 100 in any 60 s.
/// let strict = RateLimitPolicy::sliding_log(100, Duration::from_secs(60));
/// assert_eq!(strict.algorithm(), Algorithm::SlidingLog);
/// strict.validate()?;
///
/// assert!(RateLimitPolicy::fixed_window(0, Duration::from_secs(1)).validate().is_err());
/// # Ok::<(), cache_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RateLimitPolicy {
    limit: u32,
    window: Duration,
    burst: Option<u32>,
    algorithm: Algorithm,
}

impl RateLimitPolicy {
    /// `limit` per `window`, decided by `algorithm`.
    #[must_use]
    pub const fn new(algorithm: Algorithm, limit: u32, window: Duration) -> Self {
        Self {
            limit,
            window,
            burst: None,
            algorithm,
        }
    }

    /// [GCRA](Algorithm::Gcra): an average of `limit` per `window`; bursts of up to `limit`
    /// unless [`burst`](Self::burst) says otherwise.
    #[must_use]
    pub const fn gcra(limit: u32, window: Duration) -> Self {
        Self::new(Algorithm::Gcra, limit, window)
    }

    /// [Fixed window](Algorithm::FixedWindow): `limit` per window, the window starting at the
    /// first call after the previous window ended.
    #[must_use]
    pub const fn fixed_window(limit: u32, window: Duration) -> Self {
        Self::new(Algorithm::FixedWindow, limit, window)
    }

    /// [Sliding log](Algorithm::SlidingLog): never more than `limit` in any window of length
    /// `window`.
    #[must_use]
    pub const fn sliding_log(limit: u32, window: Duration) -> Self {
        Self::new(Algorithm::SlidingLog, limit, window)
    }

    /// Sets GCRA's burst: how many may pass at once after a quiet spell (default: `limit`).
    /// Only GCRA has a burst; on other algorithms [`validate`](Self::validate) rejects it.
    ///
    /// To make GCRA admit at most `N` in any `window`, split the budget: `burst(B)` with
    /// `limit = N − B`, since GCRA admits up to `burst + limit` in one window.
    #[must_use]
    pub const fn burst(mut self, burst: u32) -> Self {
        self.burst = Some(burst);
        self
    }

    /// The number of calls per window.
    #[must_use]
    pub const fn limit(&self) -> u32 {
        self.limit
    }

    /// The window.
    #[must_use]
    pub const fn window(&self) -> Duration {
        self.window
    }

    /// The algorithm.
    #[must_use]
    pub const fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The most one decision can admit at once, and the `limit` a decision reports: the burst
    /// for GCRA (default `limit`), `limit` otherwise. A call costing more can never pass.
    #[must_use]
    pub const fn capacity(&self) -> u32 {
        match (self.algorithm, self.burst) {
            (Algorithm::Gcra, Some(burst)) => burst,
            _ => self.limit,
        }
    }

    /// The window in whole microseconds (saturating), the unit all algorithms work in.
    #[must_use]
    pub fn window_us(&self) -> u64 {
        u64::try_from(self.window.as_micros()).unwrap_or(u64::MAX)
    }

    /// GCRA's emission interval `T = window / limit`, rounded *up* to a whole microsecond so
    /// the average rate never exceeds `limit / window`. Zero when `limit` is zero.
    #[must_use]
    pub fn emission_interval(&self) -> Duration {
        Duration::from_micros(self.emission_interval_us())
    }

    pub(crate) fn emission_interval_us(&self) -> u64 {
        match self.limit {
            0 => 0,
            limit => self.window_us().div_ceil(u64::from(limit)),
        }
    }

    /// Checks that the policy makes sense, with [`ErrorKind::Config`] naming what is wrong:
    /// a `limit` of zero, a window under 1 µs or over [`MAX_SPAN`], a burst of zero or on an
    /// algorithm other than GCRA, a GCRA refill time (`burst × window / limit`) over
    /// [`MAX_SPAN`], or a sliding log over [`MAX_SLIDING_LOG_LIMIT`].
    pub fn validate(&self) -> Result<()> {
        let config = |message: String| Err(Error::new(ErrorKind::Config, message));
        if self.limit == 0 {
            return config("a rate limit's `limit` must be at least 1".to_owned());
        }
        if self.window_us() == 0 {
            return config(format!(
                "a rate limit's `window` must be at least 1 µs, got {:?}",
                self.window
            ));
        }
        if self.window > MAX_SPAN {
            return config(format!(
                "a rate limit's `window` must be at most {MAX_SPAN:?}, got {:?}",
                self.window
            ));
        }
        match (self.algorithm, self.burst) {
            (_, Some(0)) => return config("a rate limit's `burst` must be at least 1".to_owned()),
            (Algorithm::Gcra, _) | (_, None) => {}
            (algorithm, Some(_)) => {
                return config(format!(
                    "`burst` applies only to GCRA; {algorithm} admits at most `limit` per window"
                ));
            }
        }
        if self.algorithm == Algorithm::Gcra {
            let refill = self
                .emission_interval_us()
                .saturating_mul(u64::from(self.capacity()));
            if refill > MAX_SPAN_US {
                return config(format!(
                    "refilling a burst of {} at {} per {:?} takes longer than {MAX_SPAN:?}",
                    self.capacity(),
                    self.limit,
                    self.window
                ));
            }
        }
        if self.algorithm == Algorithm::SlidingLog && self.limit > MAX_SLIDING_LOG_LIMIT {
            return config(format!(
                "a sliding log keeps one entry per admitted call, so its `limit` must be at most \
                 {MAX_SLIDING_LOG_LIMIT}, got {}; use GCRA for larger limits",
                self.limit
            ));
        }
        Ok(())
    }

    /// Checks `cost` against [`capacity`](Self::capacity): a call costing more can never be
    /// admitted, so it is [`ErrorKind::InvalidInput`], not "retry later".
    pub fn check_cost(&self, cost: u32) -> Result<()> {
        cost_fits(cost, self.capacity())
    }
}

pub(crate) fn cost_fits(cost: u32, capacity: u32) -> Result<()> {
    if cost > capacity {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            format!(
                "a call costing {cost} can never be admitted: the policy admits at most {capacity} at once"
            ),
        ));
    }
    Ok(())
}
