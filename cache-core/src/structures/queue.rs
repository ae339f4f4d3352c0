//! [`Queue`]: a FIFO of JSON items under one key (a Redis list).

use std::marker::PhantomData;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Op;
use super::handle::{Handle, expect_reply, handle_basics};
use crate::{CacheBackend, Result};

/// A first-in, first-out queue of `T`s under one key, stored as a list of JSON items (Redis:
/// `RPUSH` at the back, `LPOP` at the front, so other languages read it with `LRANGE`).
///
/// Every operation is atomic on the queue: many tasks or processes popping one queue each get
/// distinct items, and every item pushed is popped exactly once. [`pop_wait`](Self::pop_wait)
/// sleeps until an item is pushed (Redis: `BLPOP` on a connection of its own, so it never
/// holds up other calls), never polling.
///
/// ```
/// use std::time::Duration;
/// use cache_core::{MemoryBackend, structures::Queue};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize, Debug, PartialEq)]
/// struct Job { id: u64 }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> cache_core::Result<()> {
/// let jobs = Queue::<Job>::new(MemoryBackend::new(), "jobs");
/// jobs.push(&Job { id: 1 }).await?;
/// jobs.push_all(&[Job { id: 2 }, Job { id: 3 }]).await?;
/// assert_eq!(jobs.len().await?, 3);
/// assert_eq!(jobs.peek(0, -1).await?.len(), 3);                  // nothing removed
/// assert_eq!(jobs.pop().await?, Some(Job { id: 1 }));          // oldest first
/// assert_eq!(jobs.pop_many(5).await?, [Job { id: 2 }, Job { id: 3 }]);
/// assert_eq!(jobs.pop_wait(Duration::from_millis(10)).await?, None); // nothing came in time
/// # Ok(()) }
/// ```
pub struct Queue<T> {
    handle: Handle,
    of: PhantomData<fn() -> T>,
}

handle_basics!(Queue<T>, "queue");

impl<T: Serialize + DeserializeOwned> Queue<T> {
    /// The queue under the key `name` on `backend`. An `Arc<dyn CacheBackend>` is used as it
    /// is; any other backend is put in one.
    pub fn new(backend: impl CacheBackend, name: impl Into<String>) -> Self {
        Self {
            handle: Handle::new(backend, name),
            of: PhantomData,
        }
    }

    /// Appends `item` at the back. Returns the queue's new length.
    ///
    /// # Errors
    ///
    /// The backend's error; [`ErrorKind::WrongType`](crate::ErrorKind::WrongType) if the key holds something else.
    pub async fn push(&self, item: &T) -> Result<u64> {
        self.push_all(std::slice::from_ref(item)).await
    }

    /// Appends `items` at the back, in order, in one atomic step. Returns the new length.
    ///
    /// # Errors
    ///
    /// As [`push`](Self::push).
    pub async fn push_all(&self, items: &[T]) -> Result<u64> {
        let values = items
            .iter()
            .map(|item| self.handle.encode(item))
            .collect::<Result<Vec<_>>>()?;
        let reply = self.handle.run(Op::QueuePush { values: &values }).await?;
        expect_reply!(self.handle, "queue push", reply, Count)
    }

    /// Removes and returns the front item, or `None` if the queue is empty.
    ///
    /// # Errors
    ///
    /// The backend's error; [`ErrorKind::Codec`](crate::ErrorKind::Codec) naming the queue for an item that is not a
    /// `T` (it is off the queue: a poison item does not block the ones behind it).
    pub async fn pop(&self) -> Result<Option<T>> {
        let reply = self.handle.run(Op::QueuePop { count: 1 }).await?;
        let values = expect_reply!(self.handle, "queue pop", reply, Values)?;
        values
            .first()
            .map(|bytes| self.handle.decode(bytes))
            .transpose()
    }

    /// Removes and returns up to `count` items from the front, oldest first, in one atomic
    /// step. An item that is not a `T` is dropped with a warning naming the queue, so the
    /// others are not lost with it.
    ///
    /// # Errors
    ///
    /// The backend's error; [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for a `count` of zero.
    pub async fn pop_many(&self, count: usize) -> Result<Vec<T>> {
        let reply = self.handle.run(Op::QueuePop { count }).await?;
        let values = expect_reply!(self.handle, "queue pop", reply, Values)?;
        Ok(values
            .iter()
            .filter_map(|bytes| match self.handle.decode(bytes) {
                Ok(item) => Some(item),
                Err(error) => {
                    tracing::warn!(queue = %self.handle.key, %error, "dropped an undecodable queue item");
                    None
                }
            })
            .collect())
    }

    /// Removes and returns the front item, waiting up to `deadline` for one to be pushed if
    /// the queue is empty; `None` if none came. The wait ends when an item is pushed (it is
    /// woken, not polled). Against a dead server it returns an error within `deadline` plus the
    /// call bound.
    ///
    /// # Errors
    ///
    /// As [`pop`](Self::pop); [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for a zero `deadline`.
    pub async fn pop_wait(&self, deadline: Duration) -> Result<Option<T>> {
        let reply = self
            .handle
            .run_for(Op::QueuePopWait { timeout: deadline }, deadline)
            .await?;
        let value = expect_reply!(self.handle, "queue pop with a deadline", reply, Value)?;
        value.map(|bytes| self.handle.decode(&bytes)).transpose()
    }

    /// The items from position `start` to `stop` inclusive, without removing them: 0 is the
    /// front, negative positions count from the back (`peek(0, -1)` is the whole queue), as
    /// Redis `LRANGE` counts.
    ///
    /// # Errors
    ///
    /// The backend's error; [`ErrorKind::Codec`](crate::ErrorKind::Codec) naming the queue for an item that is not a `T`.
    pub async fn peek(&self, start: i64, stop: i64) -> Result<Vec<T>> {
        let reply = self.handle.run(Op::QueueRange { start, stop }).await?;
        let values = expect_reply!(self.handle, "queue range", reply, Values)?;
        self.handle.decode_all(values)
    }

    /// How many items are queued.
    ///
    /// # Errors
    ///
    /// The backend's error.
    pub async fn len(&self) -> Result<u64> {
        let reply = self.handle.run(Op::QueueLen).await?;
        expect_reply!(self.handle, "queue length", reply, Count)
    }

    /// Whether the queue is empty.
    ///
    /// # Errors
    ///
    /// The backend's error.
    pub async fn is_empty(&self) -> Result<bool> {
        Ok(self.len().await? == 0)
    }
}
