//! Typed `get` / `set` on any backend, through a codec.

use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::codec::{Codec, Json};
use crate::{CacheBackend, Result};

/// Typed access to any [`CacheBackend`], with values stored as plain JSON.
///
/// Bytes that do not decode as the requested type are treated as a miss and logged with a
/// `tracing` warning, never a panic: a cache must not break its caller because another writer
/// stored something else under the key.
///
/// ```
/// use cache_core::{CacheBackendExt, MemoryBackend};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize, PartialEq, Debug)]
/// struct User { id: u64, name: String }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> cache_core::Result<()> {
/// let cache = MemoryBackend::new();
/// cache.set_value("user:1", &User { id: 1, name: "Ada".into() }, None).await?;
/// let user: Option<User> = cache.get_value("user:1").await?;
/// assert_eq!(user.map(|u| u.name), Some("Ada".to_string()));
/// # Ok(()) }
/// ```
#[async_trait]
pub trait CacheBackendExt: CacheBackend {
    /// The value under `key` decoded as JSON; `None` when missing or undecodable.
    async fn get_value<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        self.get_value_with(&Json, key).await
    }

    /// Stores `value` under `key` as JSON.
    async fn set_value<T: Serialize + Sync + ?Sized>(
        &self,
        key: &str,
        value: &T,
        ttl: Option<Duration>,
    ) -> Result<()> {
        self.set_value_with(&Json, key, value, ttl).await
    }

    /// Like [`get_value`](Self::get_value) with another codec.
    async fn get_value_with<C: Codec, T: DeserializeOwned>(
        &self,
        codec: &C,
        key: &str,
    ) -> Result<Option<T>> {
        let Some(bytes) = self.get(key).await? else {
            return Ok(None);
        };
        Ok(decode_or_warn(codec, None, key, &bytes))
    }

    /// Like [`set_value`](Self::set_value) with another codec.
    async fn set_value_with<C: Codec, T: Serialize + Sync + ?Sized>(
        &self,
        codec: &C,
        key: &str,
        value: &T,
        ttl: Option<Duration>,
    ) -> Result<()> {
        let bytes = codec.encode(value)?;
        self.set(key, bytes.into(), ttl).await
    }
}

impl<B: CacheBackend + ?Sized> CacheBackendExt for B {}

/// Decodes `bytes`, turning a failure into `None` and one warning that names the key (and
/// the cached function reading it, if one is). Every decode of a cached value goes through it.
pub(crate) fn decode_or_warn<C: Codec, T: DeserializeOwned>(
    codec: &C,
    function: Option<&str>,
    key: &str,
    bytes: &[u8],
) -> Option<T> {
    match codec.decode(bytes) {
        Ok(value) => Some(value),
        Err(error) => {
            let function = function.unwrap_or_default();
            tracing::warn!(function, key, %error, len = bytes.len(), "undecodable cache value treated as a miss");
            None
        }
    }
}
