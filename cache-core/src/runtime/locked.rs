//! What `#[locked]` expansions call: the function's options, the compile-time check of its
//! lease, and one call, which runs the body while holding the lock named by its key.

use std::future::Future;
use std::time::Duration;

use crate::lock::{Lock, LockBusy, held};
use crate::{ErrorKind, backend};

/// One `#[locked]` function: its name (for logs) and options. Generated code keeps one in a
/// `static` inside the function; the fields are named so that the expansion reads as what it
/// configures.
#[derive(Debug, Clone, Copy)]
pub struct LockedSite {
    /// `module::path::function`, as logs name it.
    pub name: &'static str,
    /// The backend registered under this name, or the default.
    pub backend: Option<&'static str>,
    /// How long a holder that stopped renewing (crashed) keeps others out.
    pub lease: Duration,
    /// How long a call waits for another holder to let go; zero: not at all.
    pub wait: Duration,
    /// The bound on each backend call, or [`default_timeout`](crate::default_timeout).
    pub timeout: Option<Duration>,
}

impl LockedSite {
    fn lock(&self, key: &str) -> Lock {
        let lock = Lock::new(backend(self.backend), key)
            .lease(self.lease)
            .wait(self.wait);
        match self.timeout {
            Some(timeout) => lock.timeout(timeout),
            None => lock,
        }
    }
}

/// `ttl`, checked: more than zero. It runs in the `static`'s initializer, so a zero lease
/// behind a constant fails the build; generated code spans the call at the option.
pub const fn checked_lease(lease: Duration) -> Duration {
    assert!(
        !lease.is_zero(),
        "`#[locked]`: `ttl` must be greater than zero"
    );
    lease
}

/// Runs `body` holding the lock named `key`, and releases it when the body ends; `Err` (and the
/// body never runs) when the lock cannot be taken. A body that panics or is cancelled drops
/// the guard, which releases the lock too.
///
/// # Errors
///
/// [`LockBusy`]: another owner held the lock for the whole wait, or the backend failed or
/// offers no locks (logged here: a lock fails closed, so each such call is refused).
pub async fn locked<R>(
    site: &'static LockedSite,
    key: &str,
    body: impl Future<Output = R>,
) -> Result<R, LockBusy> {
    if held::by_this_task(key) {
        // Inside this task's `#[cached]` claim (or `#[locked]`) of the same name: the lock
        // state of a name is one, and this task has it.
        return Ok(body.await);
    }
    let guard = site.lock(key).acquire().await.inspect_err(|busy| {
        let Some(error) = busy.cause() else {
            return;
        };
        if error.kind() == ErrorKind::Unsupported {
            tracing::error!(function = site.name, key, %error, "#[locked] cannot lock on this backend; the call is refused");
        } else {
            tracing::warn!(function = site.name, key, %error, "#[locked] could not take the lock; the call is refused");
        }
    })?;
    let result = held::holding(key, body).await;
    // In line rather than on drop, so that the lock is free once the call has returned.
    if let Err(error) = guard.release().await {
        tracing::warn!(function = site.name, key, %error, "#[locked] could not release the lock; it frees itself when its lease ends");
    }
    Ok(result)
}

/// A refused call's error for a `#[locked]` function returning `Result<T, E>`. Generated code
/// calls it spanned at `E`, so a missing `From<LockBusy>` is reported there.
pub fn lock_busy_error<E: FromLockBusy>(busy: LockBusy) -> E {
    E::from(busy)
}

/// `From<LockBusy>`, with the message `#[locked]` users need when it is missing.
#[diagnostic::on_unimplemented(
    message = "`#[locked]` needs the error type `{Self}` to implement `From<LockBusy>`",
    label = "a call that cannot take the lock returns `Err(LockBusy.into())` as this type",
    note = "implement `From<cache_core::LockBusy>` for `{Self}`, or return an error type that has it (`Box<dyn Error + Send + Sync>`, `anyhow::Error`)"
)]
pub trait FromLockBusy: From<LockBusy> {}

impl<E: From<LockBusy>> FromLockBusy for E {}
