//! The memory backend's [`PubSubStore`]: a tokio `broadcast` channel per channel name, within
//! the process.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use bytes::Bytes;
use futures_core::Stream;
use tokio::sync::broadcast::{self, error::RecvError};

use super::MemoryBackend;
use crate::structures::{Message, PubSubStore, Subscription};
use crate::{Error, ErrorKind, Result};

/// Messages a subscriber may fall behind by before it skips the oldest.
pub(super) const CAPACITY: usize = 1024;
/// The map is swept of channels nobody listens to no earlier than at this size.
const MIN_SWEEP: usize = 32;

/// Every channel someone subscribed to.
#[derive(Default)]
pub(super) struct Channels(Mutex<Senders>);

#[derive(Default)]
struct Senders {
    by_name: HashMap<Box<str>, broadcast::Sender<Bytes>>,
    /// The map's size after its last sweep.
    swept_at: usize,
}

impl Channels {
    fn senders(&self) -> MutexGuard<'_, Senders> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    #[cfg(test)]
    pub(super) fn is_empty(&self) -> bool {
        self.senders().by_name.is_empty()
    }
}

impl Senders {
    /// Drops the channels nobody listens to whenever the map has doubled since the last
    /// sweep: amortised O(1) per subscription, so unsubscribed channels do not pile up.
    fn sweep(&mut self) {
        if self.by_name.len() > 2 * self.swept_at.max(MIN_SWEEP) {
            self.by_name.retain(|_, sender| sender.receiver_count() > 0);
            self.swept_at = self.by_name.len();
        }
    }
}

/// The messages of one channel, skipping (with one warning per gap) those a slow subscriber
/// missed.
fn messages(
    channel: String,
    receiver: broadcast::Receiver<Bytes>,
) -> impl Stream<Item = Message> + Send {
    futures_util::stream::unfold((channel, receiver), |(channel, mut receiver)| async move {
        loop {
            match receiver.recv().await {
                Ok(payload) => {
                    let message = Message::new(channel.clone(), payload);
                    return Some((message, (channel, receiver)));
                }
                Err(RecvError::Lagged(skipped)) => tracing::warn!(
                    channel = %channel,
                    skipped,
                    "a pub/sub subscriber fell behind and skipped messages"
                ),
                Err(RecvError::Closed) => return None,
            }
        }
    })
}

/// Publishing is O(1) under one mutex (tokio's broadcast send); a subscription holds one
/// receiver per channel, merged into one stream.
#[async_trait]
impl PubSubStore for MemoryBackend {
    async fn publish(&self, channel: &str, payload: Bytes) -> Result<u64> {
        let mut senders = self.inner.channels.senders();
        let Some(sender) = senders.by_name.get(channel) else {
            return Ok(0);
        };
        match sender.send(payload) {
            Ok(received) => Ok(received as u64),
            Err(_) => {
                // Nobody listens any more: drop the channel rather than keep it.
                senders.by_name.remove(channel);
                Ok(0)
            }
        }
    }

    async fn subscribe(&self, channels: &[&str]) -> Result<Subscription> {
        if channels.is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "a subscription to no channel is not allowed",
            ));
        }
        let mut names = channels.to_vec();
        names.sort_unstable();
        names.dedup();
        let receivers: Vec<_> = {
            let mut senders = self.inner.channels.senders();
            let receivers = names
                .iter()
                .map(|name| {
                    let receiver = match senders.by_name.get(*name) {
                        Some(sender) => sender.subscribe(),
                        None => {
                            let (sender, receiver) = broadcast::channel(CAPACITY);
                            senders.by_name.insert((*name).into(), sender);
                            receiver
                        }
                    };
                    ((*name).to_owned(), receiver)
                })
                .collect();
            senders.sweep();
            receivers
        };
        let streams = receivers
            .into_iter()
            .map(|(name, receiver)| Box::pin(messages(name, receiver)));
        Ok(Subscription::new(futures_util::stream::select_all(streams)))
    }
}
