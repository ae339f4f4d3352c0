//! [`WindowParams`], shared by the two algorithms that count per window.

use super::RateLimitPolicy;
use crate::{Error, ErrorKind, Result};

/// The parameters of the [fixed window](super::fixed_window) and the
/// [sliding log](super::sliding_log): a limit per window, the window in µs.
///
/// Both algorithms read the same two numbers; what differs is the state they keep.
///
/// ```
/// use std::time::Duration;
/// use cache_core::rate_limit::{RateLimitPolicy, WindowParams};
///
/// let policy = RateLimitPolicy::sliding_log(5, Duration::from_secs(2));
/// let params = WindowParams::from_policy(&policy)?;
/// assert_eq!((params.limit(), params.window_us()), (5, 2_000_000));
/// assert!(WindowParams::new(0, 1).is_err());
/// # Ok::<(), cache_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WindowParams {
    limit: u32,
    window_us: u64,
}

impl WindowParams {
    /// `limit` (at least 1) per `window_us` (at least 1); [`ErrorKind::InvalidInput`] otherwise.
    pub fn new(limit: u32, window_us: u64) -> Result<Self> {
        if limit == 0 || window_us == 0 {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "a rate limit per window needs a limit and a window of at least 1",
            ));
        }
        Ok(Self { limit, window_us })
    }

    /// The limit and window of `policy`, after [validating](RateLimitPolicy::validate) it.
    pub fn from_policy(policy: &RateLimitPolicy) -> Result<Self> {
        policy.validate()?;
        Self::new(policy.limit(), policy.window_us())
    }

    /// The limit per window.
    #[must_use]
    pub const fn limit(&self) -> u32 {
        self.limit
    }

    /// The window, in µs.
    #[must_use]
    pub const fn window_us(&self) -> u64 {
        self.window_us
    }
}
