//! [`Channel`]: typed publish / subscribe on one channel name.

use std::fmt;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{PubSubStore, Subscription};
use crate::runtime::backend_call::within;
use crate::runtime::registry::{DynBackend, shared};
use crate::runtime::settings;
use crate::{CacheBackend, Error, ErrorKind, Result};

/// A pub/sub channel carrying `T`s as JSON: every current subscriber receives each message
/// published (at most once: nothing is kept for subscribers that come later, or while a
/// Redis connection is down). Within one process on the memory backend, across processes
/// on Redis, where other languages publish and subscribe to the same channel name.
///
/// ```
/// use cache_core::{MemoryBackend, structures::Channel};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize, Debug, PartialEq)]
/// struct Event { order: u64 }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> cache_core::Result<()> {
/// let orders = Channel::<Event>::new(MemoryBackend::new(), "orders");
/// let mut events = orders.subscribe().await?;                 // listening from here on
/// assert_eq!(orders.publish(&Event { order: 7 }).await?, 1);  // one subscriber got it
/// assert_eq!(events.next().await.transpose()?, Some(Event { order: 7 }));
/// # Ok(()) }
/// ```
pub struct Channel<T> {
    backend: DynBackend,
    name: String,
    timeout: Option<Duration>,
    of: PhantomData<fn() -> T>,
}

impl<T> Clone for Channel<T> {
    fn clone(&self) -> Self {
        Self {
            backend: self.backend.clone(),
            name: self.name.clone(),
            timeout: self.timeout,
            of: PhantomData,
        }
    }
}

impl<T> fmt::Debug for Channel<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Channel")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl<T: Serialize + DeserializeOwned> Channel<T> {
    /// The channel `name` on `backend`.
    pub fn new(backend: impl CacheBackend, name: impl Into<String>) -> Self {
        Self {
            backend: shared(backend),
            name: name.into(),
            timeout: None,
            of: PhantomData,
        }
    }

    /// The bound on each backend call, instead of [`default_timeout`](crate::default_timeout).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The channel's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    fn pubsub(&self) -> Result<&dyn PubSubStore> {
        self.backend.pubsub().ok_or_else(|| {
            Error::new(
                ErrorKind::Unsupported,
                format!("the backend of channel `{}` has no pub/sub", self.name),
            )
        })
    }

    async fn bounded<R>(
        &self,
        what: &'static str,
        call: impl Future<Output = Result<R>>,
    ) -> Result<R> {
        let timeout = self.timeout.unwrap_or_else(settings::default_timeout);
        within(
            timeout,
            || format!("{what} on channel `{}`", self.name),
            call,
        )
        .await
    }

    /// Sends `message` to every current subscriber. Returns how many received it (on a Redis
    /// Cluster, those connected to the node that took it).
    ///
    /// # Errors
    ///
    /// The backend's error; [`ErrorKind::Codec`] if `message` does not encode as JSON.
    pub async fn publish(&self, message: &T) -> Result<u64> {
        let payload = serde_json::to_vec(message)?;
        let pubsub = self.pubsub()?;
        self.bounded("publish", pubsub.publish(&self.name, payload.into()))
            .await
    }

    /// Starts listening: every message published after this returns is received, until the
    /// returned stream is dropped.
    ///
    /// # Errors
    ///
    /// The backend's error, if the subscription could not be made.
    pub async fn subscribe(&self) -> Result<ChannelSubscription<T>> {
        let pubsub = self.pubsub()?;
        let messages = self
            .bounded("subscribe", pubsub.subscribe(&[self.name.as_str()]))
            .await?;
        Ok(ChannelSubscription {
            messages,
            of: PhantomData,
        })
    }
}

/// The messages of a [`Channel`], decoded: a [`Stream`] of `Result<T>`, where a message that
/// is not a `T` is an [`ErrorKind::Codec`] item naming the channel and the stream goes on.
/// Ends when the subscription does (see [`Subscription`]).
pub struct ChannelSubscription<T> {
    messages: Subscription,
    of: PhantomData<fn() -> T>,
}

impl<T> fmt::Debug for ChannelSubscription<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChannelSubscription")
            .finish_non_exhaustive()
    }
}

impl<T: DeserializeOwned> ChannelSubscription<T> {
    /// The next message, or `None` once the subscription has ended.
    pub async fn next(&mut self) -> Option<Result<T>> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }
}

impl<T: DeserializeOwned> Stream for ChannelSubscription<T> {
    type Item = Result<T>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<T>>> {
        Pin::new(&mut self.messages).poll_next(cx).map(|message| {
            message.map(|message| {
                serde_json::from_slice(&message.payload).map_err(|error| {
                    Error::new(
                        ErrorKind::Codec,
                        format!(
                            "a message on channel `{}` does not decode as {}: {error}",
                            message.channel,
                            std::any::type_name::<T>()
                        ),
                    )
                    .with_source(error)
                })
            })
        })
    }
}

impl<T> Unpin for ChannelSubscription<T> {}
