//! [`Calls`]: the backend a session store talks to, each call bounded by a timeout and its
//! errors redacted of the secret in the key.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;

use super::key::SecretKey;
use crate::runtime::backend_call::within;
use crate::runtime::registry::{DynBackend, shared};
use crate::runtime::settings;
use crate::structures::{Op, Reply, StructureStore};
use crate::{CacheBackend, Error, ErrorKind, Result};

/// How many fresh ids a create tries before it gives up. A collision of 128 random bits
/// does not happen; a backend that refuses every `set_if_absent` does, and must not loop.
pub(super) const FRESH_ID_ATTEMPTS: usize = 4;

/// The backend, shared, and the bound on each call (the process default unless set).
#[derive(Clone)]
pub(super) struct Calls {
    backend: DynBackend,
    timeout: Option<Duration>,
}

impl fmt::Debug for Calls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Calls")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Calls {
    pub(super) fn new(backend: impl CacheBackend) -> Self {
        Self {
            backend: shared(backend),
            timeout: None,
        }
    }

    pub(super) fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = Some(timeout);
    }

    /// `call`, bounded by the timeout, its error naming the key without its secret.
    async fn run<T>(
        &self,
        key: &SecretKey,
        what: &'static str,
        call: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        let timeout = self.timeout.unwrap_or_else(settings::default_timeout);
        within(timeout, || format!("`{what}` of `{}`", key.shown()), call)
            .await
            .map_err(|error| key.redact(error))
    }

    pub(super) async fn get(&self, key: &SecretKey) -> Result<Option<Bytes>> {
        self.run(key, "get", self.backend.get(key.as_str())).await
    }

    pub(super) async fn set_if_absent(
        &self,
        key: &SecretKey,
        value: Bytes,
        ttl: Duration,
    ) -> Result<bool> {
        let call = self.backend.set_if_absent(key.as_str(), value, Some(ttl));
        self.run(key, "set_if_absent", call).await
    }

    pub(super) async fn expire(&self, key: &SecretKey, ttl: Duration) -> Result<bool> {
        self.run(key, "expire", self.backend.expire(key.as_str(), ttl))
            .await
    }

    pub(super) async fn delete(&self, key: &SecretKey) -> Result<bool> {
        self.run(key, "delete", self.backend.delete(key.as_str()))
            .await
    }

    /// The values under `keys`, in order; errors name `index`, the key that listed them.
    pub(super) async fn get_many(
        &self,
        index: &SecretKey,
        keys: &[SecretKey],
    ) -> Result<Vec<Option<Bytes>>> {
        let names: Vec<&str> = keys.iter().map(SecretKey::as_str).collect();
        let values = self
            .run(index, "get_many", self.backend.get_many(&names))
            .await;
        values.map_err(|error| redact_all(error, keys))
    }

    /// Removes `keys`; errors name `index`, the key that listed them.
    pub(super) async fn delete_many(&self, index: &SecretKey, keys: &[SecretKey]) -> Result<u64> {
        let names: Vec<&str> = keys.iter().map(SecretKey::as_str).collect();
        let removed = self
            .run(index, "delete_many", self.backend.delete_many(&names))
            .await;
        removed.map_err(|error| redact_all(error, keys))
    }

    fn structures(&self, key: &SecretKey) -> Result<&dyn StructureStore> {
        self.backend.structures().ok_or_else(|| {
            Error::new(
                ErrorKind::Unsupported,
                format!(
                    "the backend of `{}` has no data structures (sessions need take, replace and sets)",
                    key.shown()
                ),
            )
        })
    }

    async fn apply(&self, key: &SecretKey, op: Op<'_>) -> Result<Reply> {
        let store = self.structures(key)?;
        let name = op.name();
        self.run(key, name, store.apply(key.as_str(), op)).await
    }

    /// Reads and removes the value under `key` in one step (`GETDEL`).
    pub(super) async fn take(&self, key: &SecretKey) -> Result<Option<Bytes>> {
        match self.apply(key, Op::Take).await? {
            Reply::Value(value) => Ok(value),
            other => Err(unexpected(key, "take", &other)),
        }
    }

    /// Stores `value` with `ttl` only if the key holds a value already (`SET XX PX`).
    pub(super) async fn replace(
        &self,
        key: &SecretKey,
        value: &Bytes,
        ttl: Duration,
    ) -> Result<bool> {
        let op = Op::Replace {
            value,
            ttl: Some(ttl),
        };
        match self.apply(key, op).await? {
            Reply::Flag(stored) => Ok(stored),
            other => Err(unexpected(key, "replace", &other)),
        }
    }

    pub(super) async fn set_add(&self, key: &SecretKey, members: &[Bytes]) -> Result<()> {
        match self.apply(key, Op::SetAdd { members }).await? {
            Reply::Count(_) => Ok(()),
            other => Err(unexpected(key, "set add", &other)),
        }
    }

    pub(super) async fn set_remove(&self, key: &SecretKey, members: &[Bytes]) -> Result<()> {
        if members.is_empty() {
            return Ok(());
        }
        match self.apply(key, Op::SetRemove { members }).await? {
            Reply::Count(_) => Ok(()),
            other => Err(unexpected(key, "set remove", &other)),
        }
    }

    pub(super) async fn set_members(&self, key: &SecretKey) -> Result<Vec<Bytes>> {
        match self.apply(key, Op::SetMembers).await? {
            Reply::Values(members) => Ok(members),
            other => Err(unexpected(key, "set members", &other)),
        }
    }
}

/// `error` redacted of the secret of every one of `keys`.
fn redact_all(error: Error, keys: &[SecretKey]) -> Error {
    keys.iter().fold(error, |error, key| key.redact(error))
}

/// A reply of the wrong variant: a backend that broke the [`Op`] contract.
fn unexpected(key: &SecretKey, op: &str, reply: &Reply) -> Error {
    let variant = match reply {
        Reply::Count(_) => "a count",
        Reply::Integer(_) => "an integer",
        Reply::Flag(_) => "a flag",
        Reply::Score(_) => "a score",
        Reply::Rank(_) => "a rank",
        Reply::Value(_) => "a value",
        Reply::Values(_) => "values",
        Reply::MaybeValues(_) => "maybe-values",
        Reply::Fields(_) => "fields",
        Reply::Scored(_) => "scored members",
    };
    Error::new(
        ErrorKind::Backend,
        format!(
            "the backend answered {op} on `{}` with {variant}, not what the operation replies",
            key.shown()
        ),
    )
}
