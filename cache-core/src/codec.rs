//! Codecs turn typed values into the bytes a backend stores, and back.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Result;

/// Encodes and decodes values for storage.
///
/// [`Json`] is the default, so what Rust writes is plain JSON that `redis-cli` and services in
/// other languages can read. Implement this trait to opt into another format.
///
/// ```
/// use cache_core::codec::{Codec, Json};
///
/// let bytes = Json.encode(&vec![1, 2, 3])?;
/// assert_eq!(&bytes[..], b"[1,2,3]");
/// let back: Vec<i32> = Json.decode(&bytes)?;
/// assert_eq!(back, [1, 2, 3]);
/// # Ok::<(), cache_core::Error>(())
/// ```
pub trait Codec: Send + Sync + 'static {
    /// Encodes `value`.
    fn encode<T: Serialize + ?Sized>(&self, value: &T) -> Result<Vec<u8>>;
    /// Decodes a value; bytes that do not hold a `T` are an
    /// [`ErrorKind::Codec`](crate::ErrorKind::Codec) error.
    fn decode<T: DeserializeOwned>(&self, bytes: &[u8]) -> Result<T>;
}

/// The default codec: the value's plain JSON, as `serde_json` writes it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Json;

impl Codec for Json {
    fn encode<T: Serialize + ?Sized>(&self, value: &T) -> Result<Vec<u8>> {
        Ok(serde_json::to_vec(value)?)
    }

    fn decode<T: DeserializeOwned>(&self, bytes: &[u8]) -> Result<T> {
        Ok(serde_json::from_slice(bytes)?)
    }
}
