//! [`PubSubStore`] on Redis: `PUBLISH` on the shared connection, `SUBSCRIBE` on a dedicated
//! pub/sub connection per subscription, channel names under the backend's prefix.

use async_trait::async_trait;
use bytes::Bytes;
use cache_core::structures::{Message, PubSubStore, Subscription};
use cache_core::{Error, ErrorKind, Result};
use futures_util::StreamExt as _;

use crate::backend::RedisBackend;
use crate::error::from_redis;

/// Channels are prefixed like keys: `publish("orders", ..)` on a backend with prefix `app:`
/// is `PUBLISH app:orders ..`, so tenants with different prefixes never hear each other,
/// and `redis-cli SUBSCRIBE app:orders` hears what the backend publishes.
///
/// - **`publish`** goes through the shared connection and is not retried (a retry could
///   deliver twice). It replies how many subscribers received it; on a Cluster, how many on
///   the node that took it.
/// - **`subscribe`** opens a pub/sub connection of its own (see [`RedisBackend::pubsub`]: on a
///   Cluster to any one node, since classic pub/sub is broadcast over the cluster bus) and
///   returns once Redis confirmed every channel, so a message published after that reaches
///   it. Messages come with the prefix removed from their channel.
/// - **Delivery is at most once**, as in Redis: the subscription's stream ends when its
///   connection drops (a restart, a network failure) and is not reopened; messages published
///   meanwhile are lost. Subscribe again to go on. Dropping the [`Subscription`] closes its
///   connection, which unsubscribes.
#[async_trait]
impl PubSubStore for RedisBackend {
    async fn publish(&self, channel: &str, payload: Bytes) -> Result<u64> {
        let mut cmd = redis::cmd("PUBLISH");
        cmd.arg(self.key_arg(channel)).arg(&payload[..]);
        self.query("publish", false, &cmd)
            .await
            .map_err(|error| on_channel(channel, error))
    }

    async fn subscribe(&self, channels: &[&str]) -> Result<Subscription> {
        if channels.is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "a subscription needs at least one channel",
            ));
        }
        let named = || channels.join("`, `");
        let full: Vec<String> = channels.iter().map(|c| self.prefixed_key(c)).collect();
        let mut pubsub = self
            .pubsub()
            .await
            .map_err(|error| on_channel(&named(), error))?;
        self.bounded("subscribe", async {
            pubsub
                .subscribe(&full)
                .await
                .map_err(|e| from_redis(e, "subscribe"))
        })
        .await
        .map_err(|error| on_channel(&named(), error))?;
        let prefix = self.config().prefix().to_owned();
        let messages = pubsub.into_on_message().map(move |message| {
            let channel = message.get_channel_name();
            let channel = channel.strip_prefix(prefix.as_str()).unwrap_or(channel);
            Message::new(channel, Bytes::copy_from_slice(message.get_payload_bytes()))
        });
        Ok(Subscription::new(messages))
    }
}

fn on_channel(channel: &str, error: Error) -> Error {
    Error::new(
        error.kind(),
        format!("{} (channel `{channel}`)", error.message()),
    )
    .with_source(error)
}
