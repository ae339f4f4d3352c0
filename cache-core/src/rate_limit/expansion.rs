//! What `#[rate_limited]` expansions call: the compile-time checks of its options and the
//! decision of one call.

use std::time::Duration;

use super::{Algorithm, RateLimitDecision, RateLimitPolicy, RateLimited, RateLimiter};
use crate::KeyBuf;

// The `checked_*` functions run in the `static` limiter's initializer, so a bad value fails the
// build, including one the macro could not read (behind a constant). Generated code spans each
// call at the option's value, where the compiler then reports the failure.

/// `limit`, checked: at least 1, and at most `MAX_SLIDING_LOG_LIMIT` for a sliding log.
pub const fn checked_limit(limit: u32, algorithm: Algorithm) -> u32 {
    assert!(limit >= 1, "`#[rate_limited]`: `limit` must be at least 1");
    assert!(
        !matches!(algorithm, Algorithm::SlidingLog)
            || limit <= crate::rate_limit::MAX_SLIDING_LOG_LIMIT,
        "`#[rate_limited]`: a sliding log's `limit` must be at most `MAX_SLIDING_LOG_LIMIT` (100 000); use GCRA for larger limits"
    );
    limit
}

/// `window`, checked: from 1 µs to `MAX_SPAN`.
pub const fn checked_window(window: Duration) -> Duration {
    assert!(
        window.as_micros() >= 1,
        "`#[rate_limited]`: `window` must be at least 1 µs"
    );
    assert!(
        window.as_micros() <= crate::rate_limit::MAX_SPAN.as_micros(),
        "`#[rate_limited]`: `window` must be at most `MAX_SPAN` (2^48 µs, about 8.9 years)"
    );
    window
}

/// `burst`, checked: at least 1.
pub const fn checked_burst(burst: u32) -> u32 {
    assert!(burst >= 1, "`#[rate_limited]`: `burst` must be at least 1");
    burst
}

/// `policy`, after checking that a call costing `cost` can ever pass.
pub const fn checked_cost(policy: RateLimitPolicy, cost: u32) -> RateLimitPolicy {
    assert!(cost >= 1, "`#[rate_limited]`: `cost` must be at least 1");
    assert!(
        cost <= policy.capacity(),
        "`#[rate_limited]`: `cost` is more than the policy admits at once (`limit`, or `burst` for GCRA)"
    );
    policy
}

/// Decides one call of a `#[rate_limited]` function: `Ok` to run the body, `Err` to return.
///
/// With `wait`, waits up to that long for the call to be admitted. When the limiter fails
/// (backend down under `fail = closed`), the call is denied with a decision that has nothing
/// remaining and asks to retry after one emission interval (`window / limit`); the error was
/// logged by the limiter.
pub async fn rate_limit(
    limiter: &RateLimiter,
    key: &KeyBuf,
    cost: u32,
    wait: Option<Duration>,
) -> Result<(), RateLimited> {
    let decision = match wait {
        None => limiter.check_key(key, cost).await,
        Some(max_wait) => limiter.until_ready_key(key, cost, max_wait).await,
    };
    match decision {
        Ok(decision) if decision.allowed() => Ok(()),
        Ok(decision) => Err(RateLimited::new(decision)),
        Err(error) => {
            // The limiter logs backend failures; these it returns without a word.
            if matches!(
                error.kind(),
                crate::ErrorKind::Config | crate::ErrorKind::InvalidInput
            ) {
                tracing::error!(%error, "#[rate_limited] could not decide; denying the call");
            }
            let policy = limiter.policy();
            Err(RateLimited::new(RateLimitDecision::denied(
                policy.capacity(),
                0,
                policy.emission_interval(),
                policy.window(),
            )))
        }
    }
}

/// A denied call's error for a `#[rate_limited]` function returning `Result<T, E>`.
/// Generated code calls it spanned at `E`, so a missing `From<RateLimited>` is reported there.
pub fn rate_limited_error<E: FromRateLimited>(limited: RateLimited) -> E {
    E::from(limited)
}

/// `From<RateLimited>`, with the message `#[rate_limited]` users need when it is missing.
#[diagnostic::on_unimplemented(
    message = "`#[rate_limited]` needs the error type `{Self}` to implement `From<RateLimited>`",
    label = "a denied call returns `Err(RateLimited.into())` as this type",
    note = "implement `From<cache_core::RateLimited>` for `{Self}`, or return an error type that has it (`Box<dyn Error + Send + Sync>`, `anyhow::Error`)"
)]
pub trait FromRateLimited: From<RateLimited> {}

impl<E: From<RateLimited>> FromRateLimited for E {}
