//! [`Set`]: distinct members under one key (a Redis set).

use std::marker::PhantomData;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Op;
use super::handle::{Handle, expect_reply, handle_basics};
use crate::{CacheBackend, Result};

/// Distinct `T`s under one key, each stored as its JSON (Redis: a set, `SMEMBERS` in
/// redis-cli). Two members are the same when their JSON is the same bytes. Each call is
/// atomic on the set.
///
/// ```
/// use cache_core::{MemoryBackend, structures::Set};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> cache_core::Result<()> {
/// let tags = Set::<String>::new(MemoryBackend::new(), "post:7:tags");
/// assert!(tags.add(&"rust".into()).await?);
/// assert!(!tags.add(&"rust".into()).await?);                    // already there
/// assert_eq!(tags.add_all(&["cache".into(), "redis".into()]).await?, 2);
/// assert!(tags.contains(&"cache".into()).await?);
/// assert!(tags.remove(&"redis".into()).await?);
/// let mut members = tags.members().await?;
/// members.sort();
/// assert_eq!(members, ["cache", "rust"]);
/// # Ok(()) }
/// ```
pub struct Set<T> {
    handle: Handle,
    of: PhantomData<fn() -> T>,
}

handle_basics!(Set<T>, "set");

impl<T: Serialize + DeserializeOwned> Set<T> {
    /// The set under the key `name` on `backend`.
    pub fn new(backend: impl CacheBackend, name: impl Into<String>) -> Self {
        Self {
            handle: Handle::new(backend, name),
            of: PhantomData,
        }
    }

    /// Adds `member`. Returns whether it is new.
    ///
    /// # Errors
    ///
    /// The backend's error; [`WrongType`](crate::ErrorKind::WrongType) if the key holds
    /// something else.
    pub async fn add(&self, member: &T) -> Result<bool> {
        Ok(self.add_all(std::slice::from_ref(member)).await? == 1)
    }

    /// Adds `members` in one atomic step. Returns how many are new.
    ///
    /// # Errors
    ///
    /// As [`add`](Self::add).
    pub async fn add_all(&self, members: &[T]) -> Result<u64> {
        let members = self.encode_all(members)?;
        let reply = self.handle.run(Op::SetAdd { members: &members }).await?;
        expect_reply!(self.handle, "set add", reply, Count)
    }

    fn encode_all(&self, members: &[T]) -> Result<Vec<bytes::Bytes>> {
        members
            .iter()
            .map(|member| self.handle.encode(member))
            .collect()
    }

    /// Removes `member`. Returns whether it was there.
    ///
    /// # Errors
    ///
    /// The backend's error.
    pub async fn remove(&self, member: &T) -> Result<bool> {
        let members = self.encode_all(std::slice::from_ref(member))?;
        let reply = self.handle.run(Op::SetRemove { members: &members }).await?;
        Ok(expect_reply!(self.handle, "set remove", reply, Count)? == 1)
    }

    /// Whether `member` is in the set.
    ///
    /// # Errors
    ///
    /// The backend's error.
    pub async fn contains(&self, member: &T) -> Result<bool> {
        let member = self.handle.encode(member)?;
        let reply = self.handle.run(Op::SetContains { member: &member }).await?;
        expect_reply!(self.handle, "set contains", reply, Flag)
    }

    /// Every member, in no particular order.
    ///
    /// # Errors
    ///
    /// The backend's error; [`Codec`](crate::ErrorKind::Codec) naming the set for a member
    /// that is not a `T`.
    pub async fn members(&self) -> Result<Vec<T>> {
        let reply = self.handle.run(Op::SetMembers).await?;
        let values = expect_reply!(self.handle, "set members", reply, Values)?;
        self.handle.decode_all(values)
    }

    /// How many members there are.
    ///
    /// # Errors
    ///
    /// The backend's error.
    pub async fn len(&self) -> Result<u64> {
        let reply = self.handle.run(Op::SetLen).await?;
        expect_reply!(self.handle, "set length", reply, Count)
    }

    /// Whether the set is empty.
    ///
    /// # Errors
    ///
    /// The backend's error.
    pub async fn is_empty(&self) -> Result<bool> {
        Ok(self.len().await? == 0)
    }
}
