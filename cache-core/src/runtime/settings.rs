//! Process-wide switches: turning caching off, and the default backend timeout.

use std::sync::LazyLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// The environment variable that, set to `1` or `true` at start-up, disables caching.
pub const DISABLE_ENV: &str = "CACHE_DISABLED";

static ENABLED: LazyLock<AtomicBool> = LazyLock::new(|| {
    let disabled = std::env::var(DISABLE_ENV)
        .is_ok_and(|value| matches!(value.trim(), "1" | "true" | "TRUE" | "yes"));
    if disabled {
        tracing::info!("caching disabled by {DISABLE_ENV}");
    }
    AtomicBool::new(!disabled)
});

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);

static TIMEOUT_NANOS: AtomicU64 = AtomicU64::new(DEFAULT_TIMEOUT.as_nanos() as u64);

/// Turns caching on or off for the whole process. While off, every `#[cached]` function runs
/// its body on every call and touches no backend; useful for a debugging run. The environment
/// variable [`DISABLE_ENV`] (`CACHE_DISABLED=1`) sets the initial state.
///
/// Rate limiting (`#[rate_limited]`, [`RateLimiter`](crate::rate_limit::RateLimiter)) is not
/// affected: limits protect other systems, so they keep applying in a debugging run.
///
/// ```
/// cache_core::set_enabled(false);
/// assert!(!cache_core::is_enabled());
/// cache_core::set_enabled(true);
/// ```
pub fn set_enabled(enabled: bool) {
    ENABLED.store(enabled, Ordering::Relaxed);
}

/// Whether caching is on (see [`set_enabled`]).
#[must_use]
#[inline]
pub fn is_enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Sets how long a cached function waits for any one backend call before it gives up on the
/// cache and runs its body (default 1 s). A function's own `timeout = ...` option wins.
pub fn set_default_timeout(timeout: Duration) {
    let nanos = u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX).max(1);
    TIMEOUT_NANOS.store(nanos, Ordering::Relaxed);
}

/// The timeout set by [`set_default_timeout`].
#[must_use]
pub fn default_timeout() -> Duration {
    Duration::from_nanos(TIMEOUT_NANOS.load(Ordering::Relaxed))
}
