//! `BLPOP` on dedicated connections: a blocked command would stall every other request
//! pipelined on the shared multiplexed connection, so each waiting pop takes a connection of
//! its own from [`BlockingPool`] (or opens one) and gives it back once answered.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use cache_core::{Error, ErrorKind, Result};
use redis::AsyncConnectionConfig;
use redis::aio::MultiplexedConnection;

use super::blpop_timeout;
use crate::backend::RedisBackend;
use crate::config::Topology;
use crate::connection;
use crate::error::from_redis;
use crate::scripts;

/// Idle connections kept per node: enough for a few workers popping in turn; a burst of
/// concurrent waiters opens more, and the extra ones are closed when they finish.
const IDLE_PER_NODE: usize = 4;

/// How many `MOVED` / `ASK` redirections one pop follows (a slot moves at most once or twice
/// while a Cluster is resharded).
const MAX_REDIRECTS: usize = 3;

/// The operation's name in errors, as `Op::QueuePopWait` names it.
const OP: &str = "queue pop with a deadline";

/// The idle dedicated connections of a backend (shared by its clones), by node address, and,
/// on a Cluster, which node last said it owns each slot.
#[derive(Default)]
pub(crate) struct BlockingPool {
    idle: Mutex<HashMap<String, Vec<MultiplexedConnection>>>,
    owners: Mutex<HashMap<u16, String>>,
}

impl BlockingPool {
    fn take(&self, address: &str) -> Option<MultiplexedConnection> {
        lock(&self.idle).get_mut(address)?.pop()
    }

    fn give_back(&self, address: &str, connection: MultiplexedConnection) {
        let mut idle = lock(&self.idle);
        let connections = idle.entry(address.to_owned()).or_default();
        if connections.len() < IDLE_PER_NODE {
            connections.push(connection);
        }
    }

    /// Closes the idle connections to `address`: one was found dead, and the others were
    /// opened before the same restart or outage.
    fn forget(&self, address: &str) {
        lock(&self.idle).remove(address);
    }

    fn owner(&self, slot: u16) -> Option<String> {
        lock(&self.owners).get(&slot).cloned()
    }

    fn set_owner(&self, slot: u16, address: &str) {
        lock(&self.owners).insert(slot, address.to_owned());
    }
}

/// The data behind a mutex is a cache: a panic elsewhere cannot leave it inconsistent.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A server a pop may be sent to: its address (the pool's key) and a client for it.
struct Target {
    address: String,
    client: redis::Client,
}

impl RedisBackend {
    /// `BLPOP key wait` on a dedicated connection, bounded by `wait` plus the backend's
    /// response and connect timeouts.
    pub(super) async fn pop_wait(&self, key: &str, wait: Duration) -> Result<Option<Bytes>> {
        let bound = wait.saturating_add(self.op_timeout);
        tokio::time::timeout(bound, self.blocking_pop(key, wait))
            .await
            .unwrap_or_else(|_| {
                Err(Error::new(
                    ErrorKind::Timeout,
                    format!("redis {OP}: no answer within {bound:?} (the wait plus the timeouts)"),
                ))
            })
    }

    /// Where to send the pop for the prefixed `key`, best first: the server (or the current
    /// Sentinel primary); on a Cluster the node last known to own the key's slot, then every
    /// configured node (a wrong one answers `MOVED`, which names the right one).
    async fn targets(&self, key: &str) -> Result<Vec<Target>> {
        let nodes = match &self.config().topology {
            Topology::Cluster { nodes } => nodes,
            Topology::Standalone { .. } | Topology::Sentinel { .. } => {
                let client = connection::dedicated_client(self.client.as_ref(), &self.connection)
                    .await?
                    .ok_or_else(|| Error::new(ErrorKind::Connection, "no server to connect to"))?;
                let address = client.get_connection_info().addr().to_string();
                return Ok(vec![Target { address, client }]);
            }
        };
        let owner = self.blocking.owner(scripts::slot(key.as_bytes()));
        let mut targets = Vec::with_capacity(nodes.len() + 1);
        for address in owner.iter().chain(nodes) {
            if targets.iter().any(|t: &Target| &t.address == address) {
                continue;
            }
            targets.push(self.node_target(address)?);
        }
        Ok(targets)
    }

    fn node_target(&self, address: &str) -> Result<Target> {
        let client = connection::cluster_node_client(address, self.config())
            .map_err(|e| from_redis(e, OP))?;
        Ok(Target {
            address: address.to_owned(),
            client,
        })
    }

    /// A pooled connection to `target` (and `true`), or a new one (and `false`).
    async fn dedicated(
        &self,
        target: &Target,
    ) -> redis::RedisResult<(MultiplexedConnection, bool)> {
        if let Some(connection) = self.blocking.take(&target.address) {
            return Ok((connection, true));
        }
        // No response timeout: the pop waits on purpose; `pop_wait` bounds the whole call.
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.config().connect_timeout))
            .set_response_timeout(None);
        let connection = target
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        Ok((connection, false))
    }

    async fn blocking_pop(&self, key: &str, wait: Duration) -> Result<Option<Bytes>> {
        let key = self.prefixed_key(key);
        let mut blpop = redis::cmd("BLPOP");
        blpop.arg(&key).arg(blpop_timeout(wait));
        let mut targets = self.targets(&key).await?.into_iter();
        let mut target = targets
            .next()
            .ok_or_else(|| Error::new(ErrorKind::Config, "a Cluster without nodes"))?;
        let mut asking = false;
        let mut redirects = 0;
        let mut fresh_retry = true;
        loop {
            let (mut connection, reused) = match self.dedicated(&target).await {
                Ok(opened) => opened,
                Err(error) => match targets.next() {
                    // A Cluster node that cannot be reached: another one names the owner.
                    Some(next) => {
                        tracing::debug!(%error, node = target.address, "blocking pop: node unreachable, trying the next");
                        target = next;
                        continue;
                    }
                    None => return Err(from_redis(error, OP)),
                },
            };
            let reply: redis::RedisResult<Option<(Vec<u8>, Vec<u8>)>> = if asking {
                let mut pipe = redis::pipe();
                pipe.cmd("ASKING").ignore().add_command(blpop.clone());
                pipe.query_async::<(Option<(Vec<u8>, Vec<u8>)>,)>(&mut connection)
                    .await
                    .map(|(reply,)| reply)
            } else {
                blpop.query_async(&mut connection).await
            };
            match reply {
                Ok(reply) => {
                    self.blocking.give_back(&target.address, connection);
                    return Ok(reply.map(|(_key, value)| Bytes::from(value)));
                }
                Err(error) if redirects < MAX_REDIRECTS && error.redirect_node().is_some() => {
                    // The node answered at once, so its connection is fine to keep.
                    self.blocking.give_back(&target.address, connection);
                    let Some((address, slot)) = error.redirect_node() else {
                        return Err(from_redis(error, OP));
                    };
                    asking = error.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::Ask);
                    if !asking {
                        self.blocking.set_owner(slot, address);
                    }
                    target = self.node_target(address)?;
                    redirects += 1;
                }
                // A pooled connection that died while idle failed before any server saw the
                // pop, so nothing was taken: one fresh connection may try again. (A pop is
                // never delivered twice by this: the worst a drop can do is lose the reply.)
                Err(error)
                    if reused
                        && fresh_retry
                        && (error.is_connection_dropped() || error.is_io_error()) =>
                {
                    tracing::debug!(%error, node = target.address, "blocking pop: an idle connection had closed; opening a new one");
                    self.blocking.forget(&target.address);
                    fresh_retry = false;
                }
                Err(error) => return Err(from_redis(error, OP)),
            }
        }
    }
}
