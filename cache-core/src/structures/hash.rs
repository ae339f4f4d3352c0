//! [`HashRecord`]: a record of named fields under one key (a Redis hash).

use std::collections::HashMap;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Op;
use super::handle::{Handle, expect_reply, handle_basics};
use crate::{CacheBackend, Error, ErrorKind, KeyTtl, Result};

/// A record of fields under one key, each field's value stored as JSON (Redis: a hash, read
/// field by field with `HGET`): a user profile whose fields are read and written one at a
/// time, with an expiry on the whole record.
///
/// Each call is atomic on the record; [`store`](Self::store) writes all of a struct's fields
/// in one step and [`load`](Self::load) reads them in one.
///
/// ```
/// use std::time::Duration;
/// use cache_core::{MemoryBackend, structures::HashRecord};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize, Debug, PartialEq)]
/// struct Profile { name: String, visits: u32 }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> cache_core::Result<()> {
/// let profile = HashRecord::new(MemoryBackend::new(), "user:7:profile");
/// profile.store(&Profile { name: "Ada".into(), visits: 1 }).await?;
/// profile.set("visits", &2).await?;                           // one field
/// assert_eq!(profile.get::<String>("name").await?.as_deref(), Some("Ada"));
/// assert_eq!(profile.load::<Profile>().await?, Some(Profile { name: "Ada".into(), visits: 2 }));
/// profile.expire(Duration::from_secs(3600)).await?;           // the whole record
/// assert_eq!(profile.delete(&["visits"]).await?, 1);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct HashRecord {
    handle: Handle,
}

handle_basics!(HashRecord, "record");

impl HashRecord {
    /// The record under the key `name` on `backend`.
    pub fn new(backend: impl CacheBackend, name: impl Into<String>) -> Self {
        Self {
            handle: Handle::new(backend, name),
        }
    }

    /// Sets `field` to `value`. Returns whether the field is new.
    ///
    /// # Errors
    ///
    /// The backend's error; [`ErrorKind::WrongType`] if the key holds something else.
    pub async fn set<V: Serialize + ?Sized>(&self, field: &str, value: &V) -> Result<bool> {
        let fields = [(field, self.handle.encode(value)?)];
        Ok(self.write(&fields).await? == 1)
    }

    /// Sets every `(field, value)` pair in one atomic step. Returns how many fields are new.
    ///
    /// # Errors
    ///
    /// As [`set`](Self::set).
    pub async fn set_many<V: Serialize>(&self, fields: &[(&str, V)]) -> Result<u64> {
        let encoded = fields
            .iter()
            .map(|(field, value)| Ok((*field, self.handle.encode(value)?)))
            .collect::<Result<Vec<_>>>()?;
        self.write(&encoded).await
    }

    /// Writes the fields of `record` (a struct or map serializing to a JSON object), each as
    /// its own field, in one atomic step. Fields of the stored record that `record` does not
    /// have are left as they are; [`clear`](Self::clear) first to replace the whole record.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] if `record` does not serialize to an object; as
    /// [`set`](Self::set) otherwise.
    pub async fn store<T: Serialize + ?Sized>(&self, record: &T) -> Result<()> {
        let serde_json::Value::Object(object) = serde_json::to_value(record)? else {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "a record stored in `{}` must serialize to a JSON object",
                    self.handle.key
                ),
            ));
        };
        let encoded = object
            .iter()
            .map(|(field, value)| Ok((field.as_str(), self.handle.encode(value)?)))
            .collect::<Result<Vec<_>>>()?;
        self.write(&encoded).await.map(drop)
    }

    async fn write(&self, fields: &[(&str, bytes::Bytes)]) -> Result<u64> {
        let reply = self.handle.run(Op::HashSet { fields }).await?;
        expect_reply!(self.handle, "hash set", reply, Count)
    }

    /// The value of `field`, or `None` if the record has no such field.
    ///
    /// # Errors
    ///
    /// The backend's error; [`ErrorKind::Codec`] naming the record if the field is not a `V`.
    pub async fn get<V: DeserializeOwned>(&self, field: &str) -> Result<Option<V>> {
        let mut values = self.get_many(&[field]).await?;
        Ok(values.pop().flatten())
    }

    /// The values of `fields`, in order, `None` for each absent field.
    ///
    /// # Errors
    ///
    /// As [`get`](Self::get).
    pub async fn get_many<V: DeserializeOwned>(&self, fields: &[&str]) -> Result<Vec<Option<V>>> {
        let reply = self.handle.run(Op::HashGet { fields }).await?;
        let values = expect_reply!(self.handle, "hash get", reply, MaybeValues)?;
        values
            .iter()
            .map(|value| {
                value
                    .as_deref()
                    .map(|bytes| self.handle.decode(bytes))
                    .transpose()
            })
            .collect()
    }

    /// Every field and its value.
    ///
    /// # Errors
    ///
    /// As [`get`](Self::get).
    pub async fn get_all<V: DeserializeOwned>(&self) -> Result<HashMap<String, V>> {
        self.fields()
            .await?
            .into_iter()
            .map(|(field, bytes)| Ok((field, self.handle.decode(&bytes)?)))
            .collect()
    }

    /// The whole record as a `T` (a struct whose fields are the record's), or `None` if the
    /// record has no fields.
    ///
    /// # Errors
    ///
    /// As [`get`](Self::get); [`ErrorKind::Codec`] naming the record if the fields do not make
    /// a `T`.
    pub async fn load<T: DeserializeOwned>(&self) -> Result<Option<T>> {
        let fields = self.fields().await?;
        if fields.is_empty() {
            return Ok(None);
        }
        let object = fields
            .into_iter()
            .map(|(field, bytes)| Ok((field, self.handle.decode::<serde_json::Value>(&bytes)?)))
            .collect::<Result<serde_json::Map<_, _>>>()?;
        self.handle
            .convert(serde_json::Value::Object(object))
            .map(Some)
    }

    async fn fields(&self) -> Result<Vec<(String, bytes::Bytes)>> {
        let reply = self.handle.run(Op::HashGetAll).await?;
        expect_reply!(self.handle, "hash get all", reply, Fields)
    }

    /// Removes `fields`. Returns how many existed. The record is gone once its last field is.
    ///
    /// # Errors
    ///
    /// The backend's error.
    pub async fn delete(&self, fields: &[&str]) -> Result<u64> {
        let reply = self.handle.run(Op::HashDelete { fields }).await?;
        expect_reply!(self.handle, "hash delete", reply, Count)
    }

    /// How many fields the record has.
    ///
    /// # Errors
    ///
    /// The backend's error.
    pub async fn len(&self) -> Result<u64> {
        let reply = self.handle.run(Op::HashLen).await?;
        expect_reply!(self.handle, "hash length", reply, Count)
    }

    /// Whether the record has no fields (does not exist).
    ///
    /// # Errors
    ///
    /// The backend's error.
    pub async fn is_empty(&self) -> Result<bool> {
        Ok(self.len().await? == 0)
    }

    /// Gives the whole record a lifetime of `ttl` from now. Returns `false` if it does not
    /// exist.
    ///
    /// # Errors
    ///
    /// The backend's error; [`ErrorKind::InvalidInput`] for a zero `ttl`.
    pub async fn expire(&self, ttl: Duration) -> Result<bool> {
        self.handle.expire(ttl).await
    }

    /// How long the record has left.
    ///
    /// # Errors
    ///
    /// The backend's error.
    pub async fn ttl(&self) -> Result<KeyTtl> {
        self.handle.ttl().await
    }
}
