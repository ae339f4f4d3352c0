//! The near cache of a [`RedisBackend`](crate::RedisBackend) ([`RedisConfig::near_cache`]):
//! copies of values read through the backend, kept in process in a
//! [`NearStore`](cache_core::near::NearStore), and dropped when the server says their key
//! changed.
//!
//! - **Tracking**: one dedicated RESP3 connection of its own, with `CLIENT TRACKING ON OPTIN`.
//!   A near read is one pipeline on it, `CLIENT CACHING YES` + `GET` + `PTTL`, so the server
//!   tracks exactly the keys the near cache holds, and tells it (an `invalidate` push, read
//!   by the connection's driver in wire order, before any later reply) when any client
//!   changes one: other processes, other languages, `redis-cli`. Nothing else the backend
//!   does goes over this connection, so its reply shapes stay RESP2.
//! - **Inserts** go through a ticket taken before the `GET` is sent (see
//!   [`NearStore`](cache_core::near::NearStore)): a reply whose key was invalidated while it
//!   was in flight is not kept.
//! - **Own writes** drop the local copy before they are sent and again once answered, so a
//!   process reads its own writes.
//! - **Faults**: a disconnect (the `Disconnection` push, `CLIENT KILL` included), or a
//!   heartbeat `PING` not answered within the response timeout, empties the near cache and
//!   stops it serving; it serves again only after tracking is re-established on a new
//!   connection. So a copy is never served more than one heartbeat interval plus the response
//!   timeout after the server (or the path to it) stopped being able to tell us about changes.

use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use cache_core::near::{NearStore, ReadTicket};
use cache_core::{Bytes, Error, ErrorKind, Result};
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, ProtocolVersion, PushInfo, PushKind, Value};
use tokio::sync::Notify;

use crate::config::RedisConfig;
use crate::error::from_redis;

/// The name of the near cache's tracking connection in `CLIENT LIST`.
pub const TRACKING_CLIENT_NAME: &str = "cache-rs-near";

/// The near tier of one backend (shared by its clones) and its tracking connection.
pub(crate) struct Near {
    pub(crate) store: NearStore,
    /// The tracking connection and its generation, while tracking is known to be on for it.
    tracked: Mutex<Option<(u64, MultiplexedConnection)>>,
    /// The backend's key prefix: the store holds keys without it, as callers name them.
    prefix: String,
    /// Woken when the tracking connection is lost.
    lost: Notify,
}

impl Near {
    /// A near cache of `max_entries` for the server `client` reaches, its tracker started on
    /// the current runtime. Serves once tracking is on.
    pub(crate) fn start(
        client: &redis::Client,
        config: &RedisConfig,
        max_entries: usize,
    ) -> Result<Arc<Self>> {
        let info = client.get_connection_info().clone();
        let settings = info
            .redis_settings()
            .clone()
            .set_protocol(ProtocolVersion::RESP3);
        let tracking = crate::connection::open_client(info.set_redis_settings(settings), config)
            .map_err(|error| from_redis(error, "near cache"))?;
        let near = Arc::new(Self {
            store: NearStore::new(max_entries),
            tracked: Mutex::new(None),
            prefix: config.key_prefix.clone(),
            lost: Notify::new(),
        });
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            Error::new(
                ErrorKind::Config,
                "the near cache needs a tokio runtime: it tracks on a task",
            )
        })?;
        runtime.spawn(track(Arc::downgrade(&near), tracking, config.clone()));
        Ok(near)
    }

    /// The values of `keys` (each with its prefixed form), read through the tracking
    /// connection in one pipeline, `CLIENT CACHING YES` + `GET`/`MGET` + one `PTTL` per key, and
    /// each kept if nothing invalidated it meanwhile; `None` when the near cache cannot read
    /// them now (not serving, no connection, or the read failed), so that the caller reads
    /// them the usual way.
    pub(crate) async fn read(
        &self,
        keys: &[(&str, String)],
        timeout: Duration,
    ) -> Option<Vec<Option<Bytes>>> {
        let tickets: Vec<ReadTicket<'_>> = keys
            .iter()
            .map(|(key, _)| self.store.begin_read(key))
            .collect::<Option<_>>()?;
        let mut connection = self.connection()?;
        let mut pipe = redis::pipe();
        pipe.cmd("CLIENT").arg("CACHING").arg("YES").ignore();
        // One key is a `GET`, which (unlike `MGET`) refuses a key of another type, as the
        // backend's own `get` does.
        let read = pipe.cmd(if keys.len() == 1 { "GET" } else { "MGET" });
        for (_, full) in keys {
            read.arg(full);
        }
        for (_, full) in keys {
            pipe.cmd("PTTL").arg(full);
        }
        let reply =
            tokio::time::timeout(timeout, pipe.query_async::<Vec<Value>>(&mut connection)).await;
        let (values, pttls) =
            match reply.map(|reply| reply.and_then(|replies| split_reply(&replies))) {
                Ok(Ok(parsed)) => parsed,
                Ok(Err(error)) => {
                    tracing::debug!(%error, "near cache read failed; reading without it");
                    return None;
                }
                Err(_) => return None,
            };
        let mut read = Vec::with_capacity(keys.len());
        for ((ticket, value), pttl) in tickets.into_iter().zip(values).zip(pttls) {
            let value = value.map(Bytes::from);
            let ttl = match pttl {
                ms if ms > 0 => Some(Some(Duration::from_millis(ms.unsigned_abs()))),
                -1 => Some(None),
                // Missing, or expired between the two commands: served once, not kept.
                _ => None,
            };
            if let (Some(bytes), Some(ttl)) = (&value, ttl) {
                self.store.finish_read(ticket, bytes.clone(), ttl);
            }
            read.push(value);
        }
        Some(read)
    }

    fn connection(&self) -> Option<MultiplexedConnection> {
        let tracked = self.tracked.lock().unwrap_or_else(PoisonError::into_inner);
        tracked.as_ref().map(|(_, connection)| connection.clone())
    }

    /// Stops serving and forgets connection `generation`, which can no longer be trusted to
    /// report every change; a later connection is left alone.
    fn pause(&self, generation: u64, why: &str) -> bool {
        let mut tracked = self.tracked.lock().unwrap_or_else(PoisonError::into_inner);
        if tracked
            .as_ref()
            .is_none_or(|(current, _)| *current != generation)
        {
            return false;
        }
        *tracked = None;
        self.store.set_serving(false);
        drop(tracked);
        tracing::warn!(why, "near cache emptied and paused until tracking is back");
        true
    }

    /// Applies one push of tracking connection `generation`, in the connection's driver.
    fn on_push(&self, generation: u64, push: PushInfo) {
        match push.kind {
            PushKind::Invalidate => match push.data.first() {
                Some(Value::Array(keys)) => {
                    for key in keys {
                        if let Value::BulkString(key) = key
                            && let Some(key) = std::str::from_utf8(key)
                                .ok()
                                .and_then(|key| key.strip_prefix(self.prefix.as_str()))
                        {
                            self.store.invalidate(key);
                        }
                    }
                }
                // `FLUSHALL` / `FLUSHDB`: every key at once.
                _ => self.store.flush(),
            },
            PushKind::Disconnection if self.pause(generation, "the tracking connection closed") => {
                self.lost.notify_one();
            }
            _ => {}
        }
    }
}

/// What a near read found: each key's value, and its `PTTL`.
type NearReply = (Vec<Option<Vec<u8>>>, Vec<i64>);

/// A near read's replies: `GET`'s value or `MGET`'s values, then one `PTTL` per key.
fn split_reply(replies: &[Value]) -> redis::RedisResult<NearReply> {
    let Some((values, pttls)) = replies.split_first() else {
        return Err(redis::RedisError::from((
            redis::ErrorKind::UnexpectedReturnType,
            "an empty near read reply",
        )));
    };
    let values: Vec<Option<Vec<u8>>> = match values {
        Value::Array(_) => redis::FromRedisValue::from_redis_value(values.clone())?,
        single => vec![redis::FromRedisValue::from_redis_value(single.clone())?],
    };
    let pttls = pttls
        .iter()
        .map(|pttl| redis::FromRedisValue::from_redis_value(pttl.clone()))
        .collect::<Result<Vec<i64>, _>>()?;
    if values.len() != pttls.len() {
        return Err(redis::RedisError::from((
            redis::ErrorKind::UnexpectedReturnType,
            "a near read reply of the wrong length",
        )));
    }
    Ok((values, pttls))
}

/// Keeps tracking on while `near` lives: connects, turns tracking on, then pings every
/// heartbeat; on a failure, pauses the near cache and starts again.
async fn track(near: Weak<Near>, client: redis::Client, config: RedisConfig) {
    let mut backoff = Duration::from_millis(50);
    for generation in 0.. {
        let connected = match near.upgrade() {
            Some(live) => connect(&live, &client, &config, generation).await,
            None => return,
        };
        match connected {
            Ok(connection) => {
                backoff = Duration::from_millis(50);
                if let Some(live) = near.upgrade() {
                    let mut tracked = live.tracked.lock().unwrap_or_else(PoisonError::into_inner);
                    *tracked = Some((generation, connection.clone()));
                    // Under the lock, so a disconnect of this connection cannot come between.
                    live.store.set_serving(true);
                    drop(tracked);
                    tracing::debug!("near cache serving: tracking is on");
                }
                heartbeat(&near, connection, &config, generation).await;
            }
            Err(error) => {
                tracing::debug!(%error, ?backoff, "near cache: cannot turn tracking on; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(2));
            }
        }
    }
}

async fn connect(
    near: &Arc<Near>,
    client: &redis::Client,
    config: &RedisConfig,
    generation: u64,
) -> redis::RedisResult<MultiplexedConnection> {
    let pushes = Arc::downgrade(near);
    let on_push = move |push: PushInfo| {
        if let Some(near) = pushes.upgrade() {
            near.on_push(generation, push);
        }
        Ok::<(), std::convert::Infallible>(())
    };
    let options = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(config.connect_timeout))
        .set_response_timeout(Some(config.response_timeout))
        .set_push_sender(on_push);
    let mut connection = client
        .get_multiplexed_async_connection_with_config(&options)
        .await?;
    let mut setup = redis::pipe();
    // Named, so that `CLIENT LIST` shows which connection tracks for the near cache.
    setup
        .cmd("CLIENT")
        .arg("SETNAME")
        .arg(TRACKING_CLIENT_NAME)
        .ignore();
    setup
        .cmd("CLIENT")
        .arg("TRACKING")
        .arg("ON")
        .arg("OPTIN")
        .ignore();
    setup.query_async::<()>(&mut connection).await?;
    Ok(connection)
}

/// Pings `connection` every heartbeat until a ping goes unanswered within the response
/// timeout or the connection is lost; then pauses the near cache.
async fn heartbeat(
    near: &Weak<Near>,
    mut connection: MultiplexedConnection,
    config: &RedisConfig,
    generation: u64,
) {
    loop {
        let Some(live) = near.upgrade() else {
            return;
        };
        tokio::select! {
            () = live.lost.notified() => return,
            () = tokio::time::sleep(config.near_heartbeat) => {}
        }
        // Not held across the ping: the backend's last clone going away ends this task.
        drop(live);
        let ping = redis::cmd("PING");
        let ping = ping.query_async::<()>(&mut connection);
        let answered = matches!(
            tokio::time::timeout(config.response_timeout, ping).await,
            Ok(Ok(()))
        );
        if !answered {
            if let Some(live) = near.upgrade() {
                live.pause(generation, "a heartbeat went unanswered");
            }
            return;
        }
    }
}

/// The keys a write through the backend changes.
pub(crate) enum Written<'a> {
    Key(&'a str),
    Keys(Vec<&'a str>),
    /// A pattern delete or a clear: any key may be gone.
    Everything,
}

/// Drops the near-cache copies of a write's keys when made (so no read in flight during the
/// write is kept) and again when dropped, once the write is answered, failed or cancelled (so
/// the process reads its own write even before the server's invalidation arrives).
pub(crate) struct WriteGuard<'a> {
    near: &'a Near,
    written: Written<'a>,
}

impl Near {
    pub(crate) fn writing<'a>(&'a self, written: Written<'a>) -> WriteGuard<'a> {
        let guard = WriteGuard {
            near: self,
            written,
        };
        guard.apply();
        guard
    }
}

impl WriteGuard<'_> {
    fn apply(&self) {
        let store = &self.near.store;
        match &self.written {
            Written::Key(key) => store.invalidate(key),
            Written::Keys(keys) => keys.iter().for_each(|key| store.invalidate(key)),
            Written::Everything => store.flush(),
        }
    }
}

impl Drop for WriteGuard<'_> {
    fn drop(&mut self) {
        self.apply();
    }
}
