//! [`Counter`]: an integer under one key that expires a set time after it is created.

use std::time::Duration;

use super::Op;
use super::handle::{Handle, expect_reply, handle_basics};
use crate::{CacheBackend, Error, ErrorKind, KeyTtl, Result};

/// An integer under one key, created by its first [`increment`](Self::increment) with a
/// lifetime of `ttl`, which later increments do not extend: "at most N per hour" counters,
/// daily totals, one-off quotas. Creation with the TTL is atomic (Redis: one script), so no
/// counter is ever left without expiry by a crash between `INCR` and `EXPIRE`.
///
/// The value is a plain integer key: [`CacheBackend::get`] reads its digits, as Redis `GET`
/// does.
///
/// ```
/// use std::time::Duration;
/// use cache_core::{MemoryBackend, structures::Counter};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> cache_core::Result<()> {
/// let logins = Counter::new(MemoryBackend::new(), "logins:7:today", Duration::from_secs(86_400));
/// assert_eq!(logins.increment(1).await?, 1);                  // created, expires in a day
/// assert_eq!(logins.increment(2).await?, 3);                  // same expiry
/// assert_eq!(logins.get().await?, Some(3));
/// assert!(logins.clear().await?);
/// assert_eq!(logins.get().await?, None);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Counter {
    handle: Handle,
    ttl: Duration,
}

handle_basics!(Counter, "counter");

impl Counter {
    /// The counter under the key `name` on `backend`, living `ttl` from its creation.
    pub fn new(backend: impl CacheBackend, name: impl Into<String>, ttl: Duration) -> Self {
        Self {
            handle: Handle::new(backend, name),
            ttl,
        }
    }

    /// Adds `delta` (which may be negative) and returns the new value. A counter that does not
    /// exist is created at `delta`, expiring `ttl` from now; an existing one keeps its expiry.
    ///
    /// # Errors
    ///
    /// The backend's error; [`InvalidInput`](ErrorKind::InvalidInput) for a zero TTL;
    /// [`NotAnInteger`](ErrorKind::NotAnInteger) if the key holds something else or the sum
    /// overflows.
    pub async fn increment(&self, delta: i64) -> Result<i64> {
        let reply = self
            .handle
            .run(Op::CounterIncrement {
                delta,
                ttl: self.ttl,
            })
            .await?;
        expect_reply!(self.handle, "counter increment", reply, Integer)
    }

    /// The counter's value, or `None` if it does not exist (never incremented, or expired).
    ///
    /// # Errors
    ///
    /// The backend's error; [`NotAnInteger`](ErrorKind::NotAnInteger) if the key holds
    /// something other than an integer.
    pub async fn get(&self) -> Result<Option<i64>> {
        let bytes = self
            .handle
            .bounded("get", self.handle.backend.get(&self.handle.key))
            .await?;
        bytes
            .map(|bytes| {
                std::str::from_utf8(&bytes)
                    .ok()
                    .and_then(|text| text.parse().ok())
                    .ok_or_else(|| {
                        Error::new(
                            ErrorKind::NotAnInteger,
                            format!("`{}` does not hold an integer", self.handle.key),
                        )
                    })
            })
            .transpose()
    }

    /// How long the counter has left.
    ///
    /// # Errors
    ///
    /// The backend's error.
    pub async fn ttl(&self) -> Result<KeyTtl> {
        self.handle.ttl().await
    }
}
