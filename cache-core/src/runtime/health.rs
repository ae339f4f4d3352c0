//! The circuit breaker: a backend that keeps failing is skipped, so that an outage costs each
//! call microseconds instead of a timeout, until a background probe finds it answering again.
//!
//! The rule: [`OPEN_AFTER`] consecutive failed calls (connection errors or timeouts) of any
//! cached function on one backend mark it down. While it is down, cached functions on it run
//! their bodies without touching it (concurrent callers of one key still share one run), and
//! one background task pings it every [`PROBE_EVERY`]; the first answered ping marks it up
//! again. Each change is logged once. Each backend has one breaker, however often it is
//! installed: the same `Arc` (a [`DynBackend`](crate::DynBackend)) given to several
//! `with_backend` scopes or names shares it; a backend passed by value is a backend of its
//! own. In-process backends never fail, so theirs never opens.

use std::sync::Weak;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use super::registry::Served;
use super::settings;
use crate::Error;

/// Consecutive failures that mark a backend down.
pub const OPEN_AFTER: u32 = 3;

/// How often a backend marked down is pinged.
pub const PROBE_EVERY: Duration = Duration::from_millis(500);

/// One backend's breaker.
#[derive(Debug, Default)]
pub(crate) struct Health {
    failures: AtomicU32,
    down: AtomicBool,
    probing: AtomicBool,
}

impl Health {
    /// Whether calls should skip the backend. One relaxed load while it is up.
    #[inline]
    pub(crate) fn is_down(&self) -> bool {
        self.down.load(Ordering::Relaxed)
    }

    #[inline]
    pub(crate) fn succeeded(&self) {
        // Read first: while healthy, the counter's cache line stays shared between threads.
        if self.failures.load(Ordering::Relaxed) != 0 {
            self.failures.store(0, Ordering::Relaxed);
        }
    }

    /// Counts a failure of a call on `served`; opens the breaker after [`OPEN_AFTER`] in a
    /// row. Only outages count: a wrong type or a bad value says nothing about the backend.
    pub(crate) fn failed(&self, served: &std::sync::Arc<Served>, error: &Error) {
        if !error.is_transient() {
            return;
        }
        let failures = self.failures.fetch_add(1, Ordering::Relaxed) + 1;
        if failures >= OPEN_AFTER && !self.down.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                failures,
                %error,
                "cache backend marked down: cached functions run uncached until it answers a ping"
            );
            crate::metrics::breaker_changed("open");
            self.probe(served);
        }
    }

    /// Starts the background probe unless one is running. Called again by skipped calls, so a
    /// probe lost with its runtime is replaced.
    #[cold]
    pub(crate) fn probe(&self, served: &std::sync::Arc<Served>) {
        if self.probing.load(Ordering::Acquire) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if self.probing.swap(true, Ordering::AcqRel) {
            return;
        }
        let served = std::sync::Arc::downgrade(served);
        runtime.spawn(probe_until_up(served));
    }
}

/// Clears `probing` when the probe ends, however it ends (its runtime may drop it).
struct Probing(Weak<Served>);

impl Drop for Probing {
    fn drop(&mut self) {
        if let Some(served) = self.0.upgrade() {
            served.health.probing.store(false, Ordering::Release);
        }
    }
}

async fn probe_until_up(served: Weak<Served>) {
    let _probing = Probing(served.clone());
    loop {
        tokio::time::sleep(PROBE_EVERY).await;
        // A backend replaced in the registry is no longer probed.
        let Some(served) = served.upgrade() else {
            return;
        };
        let answered = tokio::time::timeout(settings::default_timeout(), served.backend.ping())
            .await
            .is_ok_and(|ping| ping.is_ok());
        if answered {
            served.health.failures.store(0, Ordering::Relaxed);
            served.health.down.store(false, Ordering::Relaxed);
            tracing::info!("cache backend answers again: caching resumes");
            crate::metrics::breaker_changed("closed");
            return;
        }
    }
}
