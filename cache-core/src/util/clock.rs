//! The clock the memory backend measures TTLs on.
//!
//! Reading the clock is on every hit of an entry with a TTL, so by default it is the kernel's
//! coarse monotonic clock (`CLOCK_MONOTONIC_COARSE`: a memory read, no TSC, resolution of a
//! few milliseconds; an entry may outlive its TTL by that much). With the `test-util` feature
//! (and in this crate's own tests) it is tokio's clock instead, so tests can pause and advance
//! time with `tokio::time::{pause, advance}`.
//!
//! Rate limiting needs microseconds, so it reads [`micros`]: the CPU's time-stamp counter
//! through `quanta` (about a third of the cost of `CLOCK_MONOTONIC`, which is slow to read
//! where the TSC is virtualised), or tokio's clock under `test-util`.

use std::ops::Add;
use std::time::Duration;

/// A point on the backend's clock, in nanoseconds from an arbitrary origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Instant(u64);

impl Instant {
    #[inline]
    pub(crate) fn now() -> Self {
        Self(source::now_nanos())
    }

    pub(crate) fn saturating_duration_since(self, earlier: Self) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }
}

impl Add<Duration> for Instant {
    type Output = Self;

    fn add(self, duration: Duration) -> Self {
        let nanos = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
        Self(self.0.saturating_add(nanos))
    }
}

#[cfg(any(test, feature = "test-util"))]
mod source {
    use std::sync::LazyLock;

    static ORIGIN: LazyLock<std::time::Instant> = LazyLock::new(std::time::Instant::now);

    /// Where [`ORIGIN`] sits on this clock. A paused runtime's clock starts where real time was
    /// when the runtime was built, possibly before `ORIGIN`; those instants must stay apart and
    /// ordered, not all collapse to zero.
    const BIAS: u64 = 1 << 62;

    /// tokio's clock: the real one, or the paused test clock inside a paused runtime.
    pub(super) fn now_nanos() -> u64 {
        let now = tokio::time::Instant::now().into_std();
        let nanos =
            |duration: std::time::Duration| u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
        match now.checked_duration_since(*ORIGIN) {
            Some(after) => BIAS.saturating_add(nanos(after)),
            None => BIAS.saturating_sub(nanos(ORIGIN.duration_since(now))),
        }
    }

    /// Rate limiting follows the paused clock too.
    pub(crate) fn micros() -> u64 {
        now_nanos() / 1_000
    }

    /// The wall clock at `ORIGIN`, moved as tokio's clock moves.
    pub(crate) fn wall_millis() -> u64 {
        static WALL_AT_ORIGIN: LazyLock<u64> = LazyLock::new(|| {
            LazyLock::force(&ORIGIN);
            super::system_millis()
        });
        let wall = *WALL_AT_ORIGIN;
        wall.saturating_mul(1_000_000)
            .saturating_add(now_nanos())
            .saturating_sub(BIAS)
            / 1_000_000
    }
}

#[cfg(not(any(test, feature = "test-util")))]
mod source {
    use std::sync::LazyLock;

    pub(super) use super::coarse::now_nanos;

    /// Calibrated on first use (under a millisecond), with that moment as zero.
    static TSC: LazyLock<(quanta::Clock, u64)> = LazyLock::new(|| {
        let clock = quanta::Clock::new();
        let origin = clock.raw();
        (clock, origin)
    });

    #[inline]
    pub(crate) fn micros() -> u64 {
        let (clock, origin) = &*TSC;
        clock.delta_as_nanos(*origin, clock.raw()) / 1_000
    }

    pub(crate) use super::coarse::wall_millis;
}

#[cfg(any(
    test,
    feature = "test-util",
    not(any(target_os = "linux", target_os = "android"))
))]
fn system_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
        })
}

/// Now, in milliseconds since the Unix epoch: the clock of the freshness stamps that
/// `stale`/`fail_safe` functions store beside their values, which every process reading the
/// value must agree on (so a wall clock, not a monotonic one; processes' clocks may differ by
/// their skew). Under `test-util`, tokio's clock from the wall-clock time of its first read,
/// so paused tests move it.
///
/// Inlined (and so is the coarse read): it is on the hit path of generic code monomorphised in
/// the user's crate, where a call costs as much as the read (macro_hit, `ours_cached_stale`).
#[inline]
pub(crate) fn wall_millis() -> u64 {
    source::wall_millis()
}

/// Now, in microseconds from an arbitrary origin, on a fine-grained monotonic clock: the
/// clock of the memory backend's rate limiting.
#[inline]
pub(crate) fn micros() -> u64 {
    source::micros()
}

// Under `test-util` only this module's own test reads it.
#[cfg_attr(feature = "test-util", allow(dead_code))]
#[cfg(any(target_os = "linux", target_os = "android"))]
mod coarse {
    use rustix::time::{ClockId, clock_gettime};

    #[inline]
    pub(crate) fn now_nanos() -> u64 {
        let now = clock_gettime(ClockId::MonotonicCoarse);
        let secs = u64::try_from(now.tv_sec).unwrap_or(0);
        let nanos = u64::try_from(now.tv_nsec).unwrap_or(0);
        secs.saturating_mul(1_000_000_000).saturating_add(nanos)
    }

    /// The kernel's coarse wall clock (`CLOCK_REALTIME_COARSE`): read on every hit of a
    /// `stale`/`fail_safe` function, and a memory read where `SystemTime::now` is a full
    /// `clock_gettime`.
    #[inline]
    pub(crate) fn wall_millis() -> u64 {
        let now = clock_gettime(ClockId::RealtimeCoarse);
        let secs = u64::try_from(now.tv_sec).unwrap_or(0);
        let nanos = u64::try_from(now.tv_nsec).unwrap_or(0);
        secs.saturating_mul(1_000).saturating_add(nanos / 1_000_000)
    }
}

#[cfg_attr(feature = "test-util", allow(dead_code))]
#[cfg(not(any(target_os = "linux", target_os = "android")))]
mod coarse {
    use std::sync::LazyLock;

    static ORIGIN: LazyLock<std::time::Instant> = LazyLock::new(std::time::Instant::now);

    pub(crate) fn now_nanos() -> u64 {
        u64::try_from(ORIGIN.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    pub(crate) fn wall_millis() -> u64 {
        super::system_millis()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    /// The production clock (not the one this crate's tests run on) is monotonic, follows real
    /// time, and is fine-grained enough for TTLs.
    #[test]
    fn the_coarse_clock_follows_real_time() {
        let start = super::coarse::now_nanos();
        std::thread::sleep(Duration::from_millis(50));
        let elapsed = Duration::from_nanos(super::coarse::now_nanos() - start);
        assert!(elapsed >= Duration::from_millis(35), "{elapsed:?}");
        assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    }

    /// The coarse wall clock (freshness stamps) agrees with the system's, to its resolution.
    #[test]
    fn the_coarse_wall_clock_is_the_system_clock() {
        let coarse = super::coarse::wall_millis();
        let system = super::system_millis();
        assert!(coarse.abs_diff(system) < 1_000, "{coarse} against {system}");
    }
}
