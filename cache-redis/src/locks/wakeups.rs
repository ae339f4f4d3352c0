//! [`LockWakeups`]: the lock waiters of a backend (every clone of it), fed by one pub/sub
//! subscription that starts with the first watch and ends with the last clone.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use cache_core::lock::{Wakeup, Wakeups};
use futures_util::StreamExt as _;
use redis::aio::PubSub;
use tokio::sync::watch;

use crate::backend::RedisBackend;
use crate::config::{RedisConfig, Topology};
use crate::connection::{self, RedisConnection};
use crate::error::from_redis;

/// The first pause before subscribing again after a failure; it doubles up to
/// [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(50);
/// The longest pause between two subscription attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// Who waits for which lock name, shared by the clones of one backend.
pub(crate) struct LockWakeups {
    wakeups: Arc<Wakeups>,
    /// Whether the subscription task was started.
    started: AtomicBool,
    /// Dropped with the last clone of the backend, which tells the task to end.
    alive: watch::Sender<()>,
}

impl Default for LockWakeups {
    fn default() -> Self {
        Self {
            wakeups: Arc::default(),
            started: AtomicBool::new(false),
            alive: watch::Sender::new(()),
        }
    }
}

impl LockWakeups {
    /// A wakeup for `name`'s next release or fill, starting the subscription if this is the
    /// first watch. Never waits: the subscription comes up in the background and wakes every
    /// watcher when it does, so a release published before that is not missed either.
    pub(crate) fn watch(&self, backend: &RedisBackend, name: &str) -> Wakeup {
        // Registered before the subscription can start, so its first wake-all reaches it.
        let woken = self.wakeups.watch(name);
        if !self.started.load(Ordering::Acquire) {
            self.start(backend);
        }
        woken
    }

    fn start(&self, backend: &RedisBackend) {
        // Outside a runtime there is nothing to run the subscription on: waiters then wait out
        // the holder's lease, and a later watch inside a runtime starts it.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if self.started.swap(true, Ordering::AcqRel) {
            return;
        }
        runtime.spawn(subscribe(
            Source::of(backend),
            backend.lock_channel(),
            Arc::clone(&self.wakeups),
            self.alive.subscribe(),
        ));
    }
}

/// Where the subscription connects: not the backend itself, which would keep every clone of
/// it (and so the task) alive forever.
enum Source {
    /// Standalone and Sentinel: the server, or the current primary.
    Primary {
        client: Option<redis::Client>,
        connection: RedisConnection,
    },
    /// A Cluster: any node, since a `PUBLISH` on one reaches every node's subscribers; the
    /// configured nodes in turn, moving on after each failure.
    Cluster {
        nodes: Vec<String>,
        config: RedisConfig,
        next: usize,
    },
}

impl Source {
    fn of(backend: &RedisBackend) -> Self {
        match &backend.config().topology {
            Topology::Cluster { nodes } => Self::Cluster {
                nodes: nodes.clone(),
                config: backend.config().clone(),
                next: 0,
            },
            Topology::Standalone { .. } | Topology::Sentinel { .. } => Self::Primary {
                client: backend.client.clone(),
                connection: backend.connection.clone(),
            },
        }
    }

    async fn subscribe(&mut self, channel: &str) -> cache_core::Result<PubSub> {
        let mut pubsub = match self {
            Self::Primary { client, connection } => {
                connection::open_pubsub(client.as_ref(), connection).await?
            }
            Self::Cluster {
                nodes,
                config,
                next,
            } => {
                let Some(node) = nodes.get(*next % nodes.len().max(1)) else {
                    return Err(cache_core::Error::new(
                        cache_core::ErrorKind::Config,
                        "a Cluster without nodes",
                    ));
                };
                *next += 1;
                connection::open_node_pubsub(node, config).await?
            }
        };
        pubsub
            .subscribe(channel)
            .await
            .map_err(|e| from_redis(e, "lock subscription"))?;
        Ok(pubsub)
    }
}

/// Subscribes to `channel` and wakes the watchers of each name published on it, until `alive`
/// closes (the backend's last clone was dropped). Each time the subscription is (re)opened,
/// every watcher is woken: notifications may have been missed while it was down.
async fn subscribe(
    mut source: Source,
    channel: String,
    wakeups: Arc<Wakeups>,
    mut alive: watch::Receiver<()>,
) {
    let mut backoff = MIN_BACKOFF;
    let mut failures = 0_u32;
    loop {
        let subscribed = tokio::select! {
            _ = alive.changed() => return,
            subscribed = source.subscribe(&channel) => subscribed,
        };
        match subscribed {
            Ok(pubsub) => {
                if failures > 0 {
                    tracing::info!(failures, channel, "lock wake-ups subscribed again");
                }
                failures = 0;
                backoff = MIN_BACKOFF;
                wakeups.wake_all();
                let mut messages = pubsub.into_on_message();
                loop {
                    let message = tokio::select! {
                        _ = alive.changed() => return,
                        message = messages.next() => message,
                    };
                    let Some(message) = message else { break };
                    if let Ok(name) = std::str::from_utf8(message.get_payload_bytes()) {
                        wakeups.wake(name);
                    }
                }
                tracing::debug!(
                    channel,
                    "lock wake-up subscription dropped; subscribing again"
                );
            }
            Err(error) if failures == 0 => {
                tracing::warn!(%error, channel, "lock wake-ups cannot subscribe; waiters wait out leases meanwhile, retrying");
                failures += 1;
            }
            Err(error) => {
                tracing::debug!(%error, failures, channel, "lock wake-ups still cannot subscribe");
                failures += 1;
            }
        }
        tokio::select! {
            _ = alive.changed() => return,
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}
