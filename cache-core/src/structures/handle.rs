//! What every typed handle shares: the backend, the key, the bound on each call, and the
//! JSON encoding of values with errors that name the key.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Op, Reply, StructureStore};
use crate::runtime::backend_call::within;
use crate::runtime::registry::{DynBackend, shared};
use crate::runtime::settings;
use crate::{CacheBackend, Error, ErrorKind, KeyTtl, Result};

/// A key on a backend, reached through its [`StructureStore`].
#[derive(Clone)]
pub(super) struct Handle {
    pub(super) backend: DynBackend,
    pub(super) key: String,
    timeout: Option<Duration>,
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("key", &self.key)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Handle {
    pub(super) fn new(backend: impl CacheBackend, key: impl Into<String>) -> Self {
        Self {
            backend: shared(backend),
            key: key.into(),
            timeout: None,
        }
    }

    pub(super) fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = Some(timeout);
    }

    /// The bound on one call: the handle's own, or the process default.
    pub(super) fn timeout(&self) -> Duration {
        self.timeout.unwrap_or_else(settings::default_timeout)
    }

    fn store(&self) -> Result<&dyn StructureStore> {
        self.backend.structures().ok_or_else(|| {
            Error::new(
                ErrorKind::Unsupported,
                format!("the backend of `{}` has no data structures", self.key),
            )
        })
    }

    /// Runs `op` on the key, bounded by the handle's timeout (plus `extra`, for an operation
    /// that waits on purpose).
    pub(super) async fn run_for(&self, op: Op<'_>, extra: Duration) -> Result<Reply> {
        let store = self.store()?;
        let name = op.name();
        within(
            self.timeout().saturating_add(extra),
            || format!("{name} on `{}`", self.key),
            store.apply(&self.key, op),
        )
        .await
    }

    pub(super) async fn run(&self, op: Op<'_>) -> Result<Reply> {
        self.run_for(op, Duration::ZERO).await
    }

    /// Runs an operation on the key's plain value through the byte store, bounded alike.
    pub(super) async fn bounded<T>(
        &self,
        what: &'static str,
        call: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        within(self.timeout(), || format!("{what} on `{}`", self.key), call).await
    }

    /// Deletes the whole key. Returns whether it existed.
    pub(super) async fn remove(&self) -> Result<bool> {
        self.bounded("delete", self.backend.delete(&self.key)).await
    }

    /// How long the key has left.
    pub(super) async fn ttl(&self) -> Result<KeyTtl> {
        self.bounded("ttl", self.backend.ttl(&self.key)).await
    }

    /// Gives the key a lifetime of `ttl` from now. `false` if it does not exist.
    pub(super) async fn expire(&self, ttl: Duration) -> Result<bool> {
        self.bounded("expire", self.backend.expire(&self.key, ttl))
            .await
    }

    pub(super) fn encode<T: Serialize + ?Sized>(&self, value: &T) -> Result<Bytes> {
        serde_json::to_vec(value).map(Bytes::from).map_err(|error| {
            Error::new(
                ErrorKind::Codec,
                format!(
                    "a value for `{}` does not encode as JSON: {error}",
                    self.key
                ),
            )
            .with_source(error)
        })
    }

    pub(super) fn decode<T: DeserializeOwned>(&self, bytes: &[u8]) -> Result<T> {
        serde_json::from_slice(bytes).map_err(|error| self.undecodable::<T>(error))
    }

    /// A JSON value read from the key, as a `T`.
    pub(super) fn convert<T: DeserializeOwned>(&self, value: serde_json::Value) -> Result<T> {
        serde_json::from_value(value).map_err(|error| self.undecodable::<T>(error))
    }

    fn undecodable<T>(&self, error: serde_json::Error) -> Error {
        Error::new(
            ErrorKind::Codec,
            format!(
                "`{}` holds a value that does not decode as {}: {error}",
                self.key,
                std::any::type_name::<T>()
            ),
        )
        .with_source(error)
    }

    pub(super) fn decode_all<T: DeserializeOwned>(&self, values: Vec<Bytes>) -> Result<Vec<T>> {
        values.iter().map(|bytes| self.decode(bytes)).collect()
    }

    /// The error for a reply of the wrong variant: a backend that broke the [`Op`] contract.
    pub(super) fn unexpected(&self, op: &'static str, reply: &Reply) -> Error {
        Error::new(
            ErrorKind::Backend,
            format!(
                "the backend answered {op} on `{}` with {reply:?}, not what the operation replies",
                self.key
            ),
        )
    }
}

/// Pulls one variant out of a reply, or fails with [`Handle::unexpected`].
macro_rules! expect_reply {
    ($handle:expr, $op:expr, $reply:expr, $variant:ident) => {
        match $reply {
            $crate::structures::Reply::$variant(value) => Ok(value),
            other => Err($handle.unexpected($op, &other)),
        }
    };
}
pub(super) use expect_reply;

/// What every typed handle has alike: `timeout`, `name` and `clear`, and, for one generic
/// over its values (`of: PhantomData`), `Clone` and `Debug` without bounds on them.
macro_rules! handle_basics {
    ($handle:ident<$of:ident>, $what:literal) => {
        impl<$of> Clone for $handle<$of> {
            fn clone(&self) -> Self {
                Self {
                    handle: self.handle.clone(),
                    of: std::marker::PhantomData,
                }
            }
        }

        impl<$of> std::fmt::Debug for $handle<$of> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($handle))
                    .field("name", &self.handle.key)
                    .finish_non_exhaustive()
            }
        }

        impl<$of> $handle<$of> {
            $crate::structures::handle::handle_basics!(@methods $what);
        }
    };
    ($handle:ident, $what:literal) => {
        impl $handle {
            $crate::structures::handle::handle_basics!(@methods $what);
        }
    };
    (@methods $what:literal) => {
        /// The bound on each backend call, instead of
        /// [`default_timeout`](crate::default_timeout).
        #[must_use]
        pub fn timeout(mut self, timeout: std::time::Duration) -> Self {
            self.handle.set_timeout(timeout);
            self
        }

        #[doc = concat!("The ", $what, "'s key.")]
        #[must_use]
        pub fn name(&self) -> &str {
            &self.handle.key
        }

        #[doc = concat!("Removes the whole ", $what, ". Returns whether there was one.")]
        ///
        /// # Errors
        ///
        /// The backend's error.
        pub async fn clear(&self) -> $crate::Result<bool> {
            self.handle.remove().await
        }
    };
}
pub(super) use handle_basics;
