//! [`PubSubStore`]: publish and subscribe on named channels, the capability and its stream.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use async_trait::async_trait;
use bytes::Bytes;
use futures_core::Stream;

use crate::Result;

/// One message received on a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Message {
    /// The channel it was published on, as the subscriber named it (without any prefix the
    /// backend adds).
    pub channel: String,
    /// The bytes published.
    pub payload: Bytes,
}

impl Message {
    /// A message of `payload` on `channel`.
    #[must_use]
    pub fn new(channel: impl Into<String>, payload: Bytes) -> Self {
        Self {
            channel: channel.into(),
            payload,
        }
    }
}

/// The messages of the channels one [`PubSubStore::subscribe`] call named, as a [`Stream`],
/// in the order each channel's messages were published. Unsubscribes when dropped.
///
/// Delivery is at most once, as in Redis: a message published while nobody is subscribed,
/// or while the connection is down, is not kept. The stream ends when the subscription
/// cannot go on (Redis: the connection dropped); subscribe again to go on.
pub struct Subscription {
    messages: Pin<Box<dyn Stream<Item = Message> + Send>>,
}

impl Subscription {
    /// A subscription yielding what `messages` yields. For [`PubSubStore`] implementors.
    pub fn new(messages: impl Stream<Item = Message> + Send + 'static) -> Self {
        Self {
            messages: Box::pin(messages),
        }
    }

    /// The next message, or `None` once the subscription has ended.
    pub async fn next(&mut self) -> Option<Message> {
        std::future::poll_fn(|cx| self.messages.as_mut().poll_next(cx)).await
    }

    /// The same subscription with each message's channel passed through `rename` (a wrapper
    /// that prefixes channels strips the prefix again here).
    #[must_use]
    pub fn map_channels(self, rename: impl Fn(String) -> String + Send + 'static) -> Self {
        Self::new(Renamed {
            inner: self,
            rename,
        })
    }
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription").finish_non_exhaustive()
    }
}

impl Stream for Subscription {
    type Item = Message;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Message>> {
        self.messages.as_mut().poll_next(cx)
    }
}

struct Renamed<F> {
    inner: Subscription,
    rename: F,
}

impl<F: Fn(String) -> String> Stream for Renamed<F> {
    type Item = Message;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Message>> {
        // `Renamed` is `Unpin`: `Subscription` holds a boxed stream and `F` is only called.
        let this = self.get_mut();
        Pin::new(&mut this.inner).poll_next(cx).map(|message| {
            message.map(|mut message| {
                message.channel = (this.rename)(message.channel);
                message
            })
        })
    }
}

impl<F> Unpin for Renamed<F> {}

/// The pub/sub capability: fire-and-forget messages on named channels, to every current
/// subscriber. Offered by [`MemoryBackend`](crate::MemoryBackend) (within the process, over
/// a broadcast channel per channel name) and the Redis backend (`PUBLISH` / `SUBSCRIBE`,
/// across processes) through [`CacheBackend::pubsub`](crate::CacheBackend::pubsub).
///
/// Channel names are not keys: no key of the store is read or written, but a backend or
/// wrapper prefix applies to them, so two apps sharing a store do not hear each other.
///
/// ```
/// use cache_core::{Bytes, CacheBackend, MemoryBackend};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> cache_core::Result<()> {
/// let memory = MemoryBackend::new();
/// let pubsub = memory.pubsub().expect("the memory backend has pub/sub");
/// let mut events = pubsub.subscribe(&["orders"]).await?;
/// assert_eq!(pubsub.publish("orders", Bytes::from_static(b"{\"id\":7}")).await?, 1);
/// let message = events.next().await.expect("a message");
/// assert_eq!((message.channel.as_str(), &message.payload[..]), ("orders", &b"{\"id\":7}"[..]));
/// # Ok(()) }
/// ```
#[async_trait]
pub trait PubSubStore: Send + Sync {
    /// Sends `payload` to every current subscriber of `channel`. Returns how many received
    /// it (on a Redis Cluster: the subscribers of the node that took it, which the Redis
    /// backend makes the node its own subscriptions use).
    async fn publish(&self, channel: &str, payload: Bytes) -> Result<u64>;

    /// Subscribes to `channels`. Once this returns, every message published on them reaches
    /// the subscription. No channels is [`InvalidInput`](crate::ErrorKind::InvalidInput).
    async fn subscribe(&self, channels: &[&str]) -> Result<Subscription>;
}
