//! Distributed locks: leases with an owner token, a fencing number that only grows, renewal
//! by the guard, and waiters that are woken rather than polling.
//!
//! A [`Lock`] names a lock on a backend; [`acquire`](Lock::acquire) returns a [`LockGuard`]
//! or, when another owner holds it for longer than the caller waits, [`LockBusy`]. Any
//! backend offering [`LockStore`] (through [`CacheBackend::locks`](crate::CacheBackend::locks()))
//! works: the memory backend within a process, Redis across processes (scripts on the
//! server's clock).
//!
//! ```
//! use std::time::Duration;
//! use cache_core::{MemoryBackend, lock::Lock};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), cache_core::lock::LockBusy> {
//! let backend = MemoryBackend::new();
//! let gateway = Lock::new(backend.clone(), "payment_gateway").lease(Duration::from_secs(30));
//!
//! let guard = gateway.acquire().await?;          // ours, renewed while `guard` lives
//! assert!(gateway.try_acquire().await?.is_none()); // a second caller is refused at once
//! let fence = guard.fence();                      // hand it to what the lock protects
//! drop(guard);                                    // released
//!
//! let waiting = gateway.clone().wait(Duration::from_secs(2));
//! let again = waiting.acquire().await?;           // woken by a release, or busy after 2 s
//! assert!(again.fence() > fence);
//! # Ok(()) }
//! ```
//!
//! What the guard promises, and what the stores promise, are on [`LockGuard`] and
//! [`LockStore`].

mod busy;
mod guard;
pub(crate) mod held;
mod store;
mod wakeups;

use std::time::Duration;

pub use busy::LockBusy;
pub(crate) use guard::Granted;
pub use guard::LockGuard;
pub use store::{Acquire, Fill, LockStore, LockToken};
pub use wakeups::{Wakeup, Wakeups};

use crate::runtime::backend_call::within;
use crate::runtime::registry::{DynBackend, shared};
use crate::runtime::settings;
use crate::{CacheBackend, Error, ErrorKind, Result};

/// The lease a [`Lock`] takes unless told otherwise.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(30);

/// A named lock on a backend, and how to take it: the lease, how long to wait for it, and
/// how long each backend call may take. Cheap to clone.
#[derive(Clone)]
pub struct Lock {
    backend: DynBackend,
    name: String,
    lease: Duration,
    wait: Duration,
    timeout: Option<Duration>,
}

impl std::fmt::Debug for Lock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lock")
            .field("name", &self.name)
            .field("lease", &self.lease)
            .field("wait", &self.wait)
            .finish_non_exhaustive()
    }
}

impl Lock {
    /// The lock `name` on `backend`, with a lease of [`DEFAULT_LEASE`], taken without waiting.
    /// An `Arc<dyn CacheBackend>` is used as it is; any other backend is put in one.
    pub fn new(backend: impl CacheBackend, name: impl Into<String>) -> Self {
        Self {
            backend: shared(backend),
            name: name.into(),
            lease: DEFAULT_LEASE,
            wait: Duration::ZERO,
            timeout: None,
        }
    }

    /// How long the lock is held without renewal: what a crashed holder costs the others.
    /// The guard renews it every third of the lease while it lives.
    #[must_use]
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// How long [`acquire`](Self::acquire) waits for another owner to let go before it gives
    /// up with [`LockBusy`]. Zero (the default) gives up at once.
    #[must_use]
    pub fn wait(mut self, wait: Duration) -> Self {
        self.wait = wait;
        self
    }

    /// The bound on each backend call, instead of [`default_timeout`](crate::default_timeout).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The lock's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Takes the lock, waiting up to [`wait`](Self::wait) for it. A waiter sleeps until the
    /// holder releases (it is woken) or the holder's lease would end, whichever comes first,
    /// then tries again.
    ///
    /// # Errors
    ///
    /// [`LockBusy`]: held by another owner for the whole wait, or the backend failed or has
    /// no locks (then [`LockBusy::cause`] says why). A zero lease is a failure with
    /// [`ErrorKind::InvalidInput`].
    pub async fn acquire(&self) -> Result<LockGuard, LockBusy> {
        let started = tokio::time::Instant::now();
        let acquired = self.acquire_from(started).await;
        let result = match &acquired {
            Ok(_) => "acquired",
            Err(busy) if busy.is_held() => "busy",
            Err(_) => "failed",
        };
        crate::metrics::lock_acquisition(result, started.elapsed());
        acquired
    }

    async fn acquire_from(&self, started: tokio::time::Instant) -> Result<LockGuard, LockBusy> {
        let deadline = started + self.wait;
        let failed = |cause| LockBusy::failed(&self.name, started.elapsed(), cause);
        let store = self.backend.locks().ok_or_else(|| failed(unsupported()))?;
        let token = LockToken::random().map_err(failed)?;
        loop {
            // Registered before the attempt, so a release right after it still wakes us.
            let woken = (!self.wait.is_zero()).then(|| store.watch(&self.name));
            let attempt = within(
                self.call_timeout(),
                || format!("acquiring the lock `{}`", self.name),
                store.acquire(&self.name, &token, self.lease),
            )
            .await;
            match attempt.map_err(failed)? {
                Acquire::Acquired { fence } => return Ok(self.guard(token, fence)),
                Acquire::Held { remaining } => match woken {
                    Some(woken) if tokio::time::Instant::now() < deadline => {
                        wait_for_release(woken, remaining, deadline).await;
                    }
                    _ => {
                        let waited = if self.wait.is_zero() {
                            Duration::ZERO
                        } else {
                            started.elapsed()
                        };
                        return Err(LockBusy::held(&self.name, waited));
                    }
                },
                Acquire::Filled { .. } => {
                    return Err(failed(Error::new(
                        ErrorKind::Backend,
                        "the lock store answered an acquire as a claim",
                    )));
                }
            }
        }
    }

    /// Takes the lock if nobody holds it: `Ok(None)` if somebody does. Never waits.
    ///
    /// # Errors
    ///
    /// [`LockBusy`] with a [`cause`](LockBusy::cause) if the backend failed or has no locks.
    pub async fn try_acquire(&self) -> Result<Option<LockGuard>, LockBusy> {
        match self.clone().wait(Duration::ZERO).acquire().await {
            Ok(guard) => Ok(Some(guard)),
            Err(busy) if busy.is_held() => Ok(None),
            Err(failed) => Err(failed),
        }
    }

    fn call_timeout(&self) -> Duration {
        self.timeout.unwrap_or_else(settings::default_timeout)
    }

    fn guard(&self, token: LockToken, fence: u64) -> LockGuard {
        LockGuard::start(Granted {
            backend: self.backend.clone(),
            name: self.name.clone(),
            token,
            fence,
            lease: self.lease,
            timeout: self.call_timeout(),
        })
    }
}

/// Sleeps until `woken` fires (a release or fill) or the holder's lease would end, whichever
/// is first, and never past `deadline`. A lease that ends without a release (a crashed holder)
/// wakes nobody, hence the timer; the extra millisecond covers the store's clock rounding.
pub(crate) async fn wait_for_release(
    woken: Wakeup,
    remaining: Option<Duration>,
    deadline: tokio::time::Instant,
) {
    let now = tokio::time::Instant::now();
    let lease_ends = remaining.map_or(deadline, |left| {
        (now + left + Duration::from_millis(1)).min(deadline)
    });
    tokio::select! {
        () = woken => {}
        () = tokio::time::sleep_until(lease_ends) => {}
    }
}

fn unsupported() -> Error {
    Error::new(
        ErrorKind::Unsupported,
        "the backend offers no locks (`CacheBackend::locks` is `None`)",
    )
}

#[cfg(test)]
mod tests;
