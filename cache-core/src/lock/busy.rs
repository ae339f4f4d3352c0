//! [`LockBusy`]: the lock could not be taken.

use std::fmt;
use std::time::Duration;

use crate::Error;

/// A lock could not be taken: another owner held it for as long as the caller would wait, or
/// the backend could not say (down, timed out, without locks). Never "taken anyway": a lock
/// fails closed.
///
/// `#[locked]` functions return it through their error type (`E: From<LockBusy>`); a web
/// handler typically answers it with `409 Conflict`.
///
/// ```
/// use cache_core::{MemoryBackend, lock::Lock};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let lock = Lock::new(MemoryBackend::new(), "payment:7");
/// let _held = lock.acquire().await.expect("free");
/// let busy = lock.acquire().await.expect_err("held");
/// assert!(busy.is_held());
/// assert_eq!(busy.to_string(), "the lock `payment:7` is held by another owner");
/// # }
/// ```
#[derive(Debug)]
pub struct LockBusy {
    name: String,
    waited: Duration,
    cause: Option<Error>,
}

impl LockBusy {
    pub(crate) fn held(name: &str, waited: Duration) -> Self {
        Self {
            name: name.to_owned(),
            waited,
            cause: None,
        }
    }

    pub(crate) fn failed(name: &str, waited: Duration, cause: Error) -> Self {
        Self {
            name: name.to_owned(),
            waited,
            cause: Some(cause),
        }
    }

    /// The lock's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How long the caller waited before giving up (zero when it would not wait).
    #[must_use]
    pub fn waited(&self) -> Duration {
        self.waited
    }

    /// Whether another owner held the lock (`false`: the backend failed, see
    /// [`cause`](Self::cause)).
    #[must_use]
    pub fn is_held(&self) -> bool {
        self.cause.is_none()
    }

    /// The backend's error, when the lock could not be taken because the backend failed.
    #[must_use]
    pub fn cause(&self) -> Option<&Error> {
        self.cause.as_ref()
    }
}

impl fmt::Display for LockBusy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.cause {
            None if self.waited.is_zero() => {
                write!(f, "the lock `{}` is held by another owner", self.name)
            }
            None => write!(
                f,
                "the lock `{}` is held by another owner (waited {:?})",
                self.name, self.waited
            ),
            Some(cause) => write!(f, "the lock `{}` could not be taken: {cause}", self.name),
        }
    }
}

impl std::error::Error for LockBusy {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause
            .as_ref()
            .map(|cause| cause as &(dyn std::error::Error + 'static))
    }
}
