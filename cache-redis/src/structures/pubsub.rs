//! [`PubSubStore`] on Redis: `PUBLISH` on the shared connection, `SUBSCRIBE` on a dedicated
//! pub/sub connection per subscription, channel names under the backend's prefix.

use async_trait::async_trait;
use bytes::Bytes;
use cache_core::structures::{Message, PubSubStore, Subscription};
use cache_core::{Error, ErrorKind, Result};
use futures_util::StreamExt as _;

use crate::backend::{RedisBackend, by_address};
use crate::config::Topology;
use crate::error::from_redis;

/// Channels are prefixed like keys: `publish("orders", ..)` on a backend with prefix `app:`
/// is `PUBLISH app:orders ..`, so tenants with different prefixes never hear each other,
/// and `redis-cli SUBSCRIBE app:orders` hears what the backend publishes.
///
/// - **`publish`** goes through the shared connection and is not retried (a retry could
///   deliver twice). It replies how many subscribers received it. On a Cluster it is sent
///   to the first seed node that answers, where this library's subscriptions listen, so the
///   count covers every subscriber made by backends with the same seed list; clients
///   subscribed on other nodes receive the message too (the cluster bus broadcasts it) but
///   are not counted.
/// - **`subscribe`** opens a pub/sub connection of its own (see [`RedisBackend::pubsub`]: on a
///   Cluster to the first seed node that answers, since classic pub/sub is broadcast over
///   the cluster bus) and
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
        let published = match &self.config().topology {
            Topology::Cluster { nodes } => self.publish_on_seed(nodes, &cmd).await,
            _ => self.query("publish", false, &cmd).await,
        };
        published.map_err(|error| on_channel(channel, error))
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

impl RedisBackend {
    /// `PUBLISH` on the first seed node that answers: the node [`RedisBackend::pubsub`]
    /// subscribes on, so that every process configured with the same seeds publishes where
    /// its subscribers listen and the reply counts all of them. (Classic pub/sub reaches
    /// subscribers on every node over the cluster bus either way; only the count is
    /// per node.)
    async fn publish_on_seed(&self, nodes: &[String], cmd: &redis::Cmd) -> Result<u64> {
        let mut last_error = Error::new(ErrorKind::Config, "a Cluster without nodes");
        for node in nodes {
            let Some((host, port)) = node.rsplit_once(':') else {
                continue;
            };
            let Ok(port) = port.parse() else { continue };
            match self
                .query_routed_with("publish", false, cmd, by_address(host, port))
                .await
            {
                Err(error) if error.kind() == ErrorKind::Connection => {
                    tracing::debug!(%error, node, "publish: seed node unreachable, trying the next");
                    last_error = error;
                }
                published => return published,
            }
        }
        Err(last_error)
    }
}

fn on_channel(channel: &str, error: Error) -> Error {
    Error::new(
        error.kind(),
        format!("{} (channel `{channel}`)", error.message()),
    )
    .with_source(error)
}
