//! [`RedisPipeline`]: batches and `MULTI`/`EXEC` transactions whose keys get the backend's
//! prefix, split per hash slot on a Cluster (or refused there, for a transaction across
//! slots, before anything is sent).

use std::fmt;
use std::time::Duration;

use cache_core::{Error, ErrorKind, Result, check_ttl};
use redis::cluster_routing::{Route, SingleNodeRoutingInfo, SlotAddr};
use redis::{FromRedisValue, Pipeline, ToRedisArgs, Value};

use crate::backend::{RedisBackend, ttl_millis};
use crate::connection::not_connected_yet;
use crate::error::from_redis;
use crate::near::Written;
use crate::scripts;

/// A batch of Redis commands sent in one round trip (one per hash slot on a Cluster), or with
/// [`atomic`](Self::atomic) one `MULTI`/`EXEC` transaction. Made by
/// [`RedisBackend::pipeline`]. **Redis only**: the memory backend has no equivalent (use one
/// [`StructureStore`](cache_core::structures::StructureStore) operation, each atomic on its
/// key, or a lock).
///
/// Keys are given apart from the other arguments ([`key`](Self::key), or the typed helpers'
/// `key` parameter) and get the backend's prefix, as every key of the backend does; arguments
/// given with [`arg`](Self::arg) are sent as they are. Replies come back in the order the
/// commands were added, without those marked [`ignore`](Self::ignore), as one
/// [`FromRedisValue`] (a tuple, a `Vec`, or `()`).
///
/// ```no_run
/// # async fn run(backend: &cache_redis::RedisBackend) -> cache_core::Result<()> {
/// use std::time::Duration;
///
/// // Batched writes (seed 000): one round trip.
/// let mut batch = backend.pipeline();
/// batch
///     .set("user:1", "{\"name\":\"Ada\"}", Some(Duration::from_secs(300)))
///     .ignore()
///     .hset("profile:1", "city", "London")
///     .incr("visits", 1)
///     .cmd("LPUSH").key("recent").arg("user:1");
/// let (new_fields, visits, recent): (u64, i64, u64) = batch.query().await?;
///
/// // A transfer (seed 001): both moves or neither. On a Cluster the keys must share a slot.
/// let mut transfer = backend.pipeline();
/// transfer
///     .atomic()
///     .incr("{account}:alice", -30)
///     .incr("{account}:bob", 30);
/// let (alice, bob): (i64, i64) = transfer.query().await?;
/// # let _ = (new_fields, visits, recent, alice, bob); Ok(()) }
/// ```
///
/// # On a Cluster
///
/// - A **transaction** must keep to one hash slot (Redis refuses `MULTI` across slots): one
///   whose keys hash to several is refused before anything is sent, with
///   [`ErrorKind::InvalidInput`] naming the keys. Give related keys a common hash tag: in
///   `{user:7}:balance` and `{user:7}:history` only `user:7` is hashed.
/// - A plain **pipeline** is split per slot, the parts sent at once, and the replies put back
///   in the order of the commands. Commands of one slot run in order; commands of different
///   slots run in no particular order with respect to each other. A command without a key
///   goes with the first slot's part; one command whose own keys span slots is refused.
///
/// # Failures
///
/// Bounded like every call of the backend, and never retried (a pipeline may hold commands
/// that must not run twice). A command the server refuses makes the whole call an error,
/// naming the command (`WRONGTYPE` is [`ErrorKind::WrongType`]); without `atomic` the other
/// commands ran all the same.
#[must_use = "a pipeline does nothing until `query` is awaited"]
pub struct RedisPipeline {
    backend: RedisBackend,
    pipe: Pipeline,
    /// Per command, in order.
    commands: Vec<Command>,
    /// Whether the backend is a Cluster (keys are recorded for their slots).
    cluster: bool,
    /// Whether keys are recorded: on a Cluster, and with the near cache on (to drop the
    /// copies of the keys the pipeline may write).
    record_keys: bool,
    /// The first misuse of the builder (a zero TTL, a key before any command), reported by
    /// [`query`](Self::query).
    invalid: Option<Error>,
}

#[derive(Default)]
struct Command {
    ignored: bool,
    /// Where recorded: each key as the caller named it, and its slot (prefix included).
    keys: Vec<(String, u16)>,
}

impl fmt::Debug for RedisPipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisPipeline")
            .field("commands", &self.commands.len())
            .field("atomic", &self.pipe.is_transaction())
            .finish_non_exhaustive()
    }
}

impl RedisBackend {
    /// A new, empty [`RedisPipeline`] on this backend. Redis only.
    pub fn pipeline(&self) -> RedisPipeline {
        RedisPipeline {
            backend: self.clone(),
            pipe: redis::pipe(),
            commands: Vec::new(),
            cluster: self.connection.is_cluster(),
            record_keys: self.connection.is_cluster() || self.near.is_some(),
            invalid: None,
        }
    }
}

impl RedisPipeline {
    /// Makes the pipeline one `MULTI`/`EXEC` transaction: every command runs, with no other
    /// client's command in between, or (if one is refused when queued) none does.
    pub fn atomic(&mut self) -> &mut Self {
        self.pipe.atomic();
        self
    }

    /// Starts a command `name` (`"SET"`, `"ZADD"`, ...); give its keys with
    /// [`key`](Self::key) and its other arguments with [`arg`](Self::arg), in order.
    pub fn cmd(&mut self, name: &str) -> &mut Self {
        self.pipe.cmd(name);
        self.commands.push(Command::default());
        self
    }

    /// Adds the backend's prefix and `key` as the next argument of the last command.
    pub fn key(&mut self, key: &str) -> &mut Self {
        let Some(command) = self.commands.last_mut() else {
            return self.refuse(format!("key `{key}` given before any command"));
        };
        if self.record_keys {
            let full = self.backend.prefixed_key(key);
            command
                .keys
                .push((key.to_owned(), scripts::slot(full.as_bytes())));
        }
        self.pipe.arg(self.backend.key_arg(key));
        self
    }

    /// Adds `arg` (sent as it is, unprefixed) to the last command.
    pub fn arg<T: ToRedisArgs>(&mut self, arg: T) -> &mut Self {
        if self.commands.is_empty() {
            return self.refuse("an argument given before any command".to_owned());
        }
        self.pipe.arg(arg);
        self
    }

    /// Leaves the last command's reply out of what [`query`](Self::query) returns.
    pub fn ignore(&mut self) -> &mut Self {
        match self.commands.last_mut() {
            Some(command) => command.ignored = true,
            None => return self.refuse("`ignore` before any command".to_owned()),
        }
        self.pipe.ignore();
        self
    }

    /// `GET key`: the value, or nil.
    pub fn get(&mut self, key: &str) -> &mut Self {
        self.cmd("GET").key(key)
    }

    /// `SET key value [PX ttl]`, with the backend's default TTL when `ttl` is `None` (as
    /// [`CacheBackend::set`](cache_core::CacheBackend::set)). A zero TTL is
    /// [`ErrorKind::InvalidInput`] from [`query`](Self::query).
    pub fn set<V: ToRedisArgs>(&mut self, key: &str, value: V, ttl: Option<Duration>) -> &mut Self {
        let ttl = match self.backend.effective_ttl(ttl) {
            Ok(ttl) => ttl,
            Err(error) => return self.refuse(format!("set `{key}`: {}", error.message())),
        };
        self.cmd("SET").key(key).arg(value);
        if let Some(ttl) = ttl {
            self.arg("PX").arg(ttl_millis(ttl));
        }
        self
    }

    /// `INCRBY key by`: the new value.
    pub fn incr(&mut self, key: &str, by: i64) -> &mut Self {
        self.cmd("INCRBY").key(key).arg(by)
    }

    /// `PEXPIRE key ttl`: 1 if the key exists. A zero TTL is [`ErrorKind::InvalidInput`] from
    /// [`query`](Self::query).
    pub fn expire(&mut self, key: &str, ttl: Duration) -> &mut Self {
        if let Err(error) = check_ttl(Some(ttl)) {
            return self.refuse(format!("expire `{key}`: {}", error.message()));
        }
        self.cmd("PEXPIRE").key(key).arg(ttl_millis(ttl))
    }

    /// `UNLINK key` (a `DEL` that frees memory in the background): 1 if it existed.
    pub fn del(&mut self, key: &str) -> &mut Self {
        self.cmd("UNLINK").key(key)
    }

    /// `HSET key field value`: 1 if the field is new.
    pub fn hset<V: ToRedisArgs>(&mut self, key: &str, field: &str, value: V) -> &mut Self {
        self.cmd("HSET").key(key).arg(field).arg(value)
    }

    /// `RPUSH key value`: the list's new length.
    pub fn rpush<V: ToRedisArgs>(&mut self, key: &str, value: V) -> &mut Self {
        self.cmd("RPUSH").key(key).arg(value)
    }

    /// How many commands were added.
    #[must_use]
    pub fn len(&self) -> usize {
        self.commands.len()
    }

    /// Whether no command was added.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.commands.is_empty()
    }

    fn refuse(&mut self, why: String) -> &mut Self {
        self.invalid.get_or_insert_with(|| {
            Error::new(ErrorKind::InvalidInput, format!("redis pipeline: {why}"))
        });
        self
    }

    /// Sends the commands and returns the replies of those not ignored, in order, as `T`.
    /// An empty pipeline sends nothing and replies an empty list.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] for a misused builder (a zero TTL, a key before any
    /// command), and on a Cluster for a transaction across hash slots or a command whose keys
    /// span slots, before anything is sent; the error of a refused command, naming it
    /// ([`ErrorKind::WrongType`] for `WRONGTYPE`); connection and timeout errors; a reply
    /// that does not convert to `T`.
    pub async fn query<T: FromRedisValue>(&self) -> Result<T> {
        if let Some(error) = &self.invalid {
            return Err(Error::new(error.kind(), error.message()));
        }
        let _written = self.backend.near_write(|| {
            let keys = self.commands.iter().flat_map(|command| &command.keys);
            Written::Keys(keys.map(|(key, _)| key.as_str()).collect())
        });
        let values = if self.commands.is_empty() {
            Vec::new()
        } else if self.cluster {
            self.send_to_cluster().await?
        } else {
            self.send(&self.pipe, None).await?
        };
        self.compose(values)
    }

    /// The replies of every command of `pipe` (a transaction's unwrapped from `EXEC`), sent
    /// to the node of `slot` on a Cluster.
    async fn send(&self, pipe: &Pipeline, slot: Option<u16>) -> Result<Vec<Value>> {
        let atomic = pipe.is_transaction();
        let commands = pipe.len();
        // A transaction's replies are `OK`, one `QUEUED` per command, then `EXEC`'s array.
        let (offset, count) = if atomic {
            (commands + 1, 1)
        } else {
            (0, commands)
        };
        let route = match slot {
            Some(slot) => SingleNodeRoutingInfo::SpecificNode(Route::new(slot, SlotAddr::Master)),
            None => SingleNodeRoutingInfo::Random,
        };
        let mut values = self
            .backend
            .run("pipeline", false, |mut connection| {
                let route = route.clone();
                async move {
                    if !self.cluster {
                        return redis::aio::ConnectionLike::req_packed_commands(
                            &mut connection,
                            pipe,
                            offset,
                            count,
                        )
                        .await;
                    }
                    let Some(mut cluster) = connection.as_cluster().cloned() else {
                        return Err(not_connected_yet());
                    };
                    cluster
                        .route_pipeline(pipe.clone(), offset, count, route)
                        .await
                }
            })
            .await?;
        if !atomic {
            return Ok(values);
        }
        match values.pop() {
            Some(Value::Array(replies)) if replies.len() == commands => Ok(replies),
            Some(Value::ServerError(error)) => Err(from_redis(error.into(), "transaction")),
            other => Err(Error::new(
                ErrorKind::Backend,
                format!("redis transaction: EXEC answered {other:?}"),
            )),
        }
    }

    /// The keys of `commands` that hash to more than one slot, or `None`.
    fn check_slots<'a>(
        &self,
        commands: impl IntoIterator<Item = &'a Command>,
    ) -> Option<Vec<&'a (String, u16)>> {
        let keys: Vec<&(String, u16)> = commands.into_iter().flat_map(|c| &c.keys).collect();
        let first = keys.first()?.1;
        keys.iter().any(|(_, slot)| *slot != first).then_some(keys)
    }

    async fn send_to_cluster(&self) -> Result<Vec<Value>> {
        let atomic = self.pipe.is_transaction();
        if atomic && let Some(keys) = self.check_slots(&self.commands) {
            return Err(cross_slot(
                "a transaction",
                &keys,
                self.backend.config().prefix(),
            ));
        }
        for (index, command) in self.commands.iter().enumerate() {
            if let Some(keys) = self.check_slots([command]) {
                let what = format!("command {} ({})", index + 1, self.command_name(index));
                return Err(cross_slot(&what, &keys, self.backend.config().prefix()));
            }
        }
        let slot_of = |command: &Command| command.keys.first().map(|(_, slot)| *slot);
        let first_slot = self.commands.iter().find_map(slot_of);
        if atomic
            || self
                .commands
                .iter()
                .filter_map(slot_of)
                .all(|s| Some(s) == first_slot)
        {
            return self.send(&self.pipe, first_slot).await;
        }
        // One pipeline per slot, in the order slots first appear; keyless commands go with
        // the first slot's.
        let mut parts: Vec<(u16, Pipeline, Vec<usize>)> = Vec::new();
        for (index, (command, cmd)) in self.commands.iter().zip(self.pipe.cmd_iter()).enumerate() {
            let slot = slot_of(command).or(first_slot).unwrap_or_default();
            let part = match parts.iter().position(|(s, ..)| *s == slot) {
                Some(part) => part,
                None => {
                    parts.push((slot, redis::pipe(), Vec::new()));
                    parts.len() - 1
                }
            };
            let (_, pipe, indices) = &mut parts[part];
            pipe.add_command(cmd.clone());
            indices.push(index);
        }
        let replies = futures_util::future::try_join_all(
            parts
                .iter()
                .map(|(slot, pipe, _)| self.send(pipe, Some(*slot))),
        )
        .await?;
        let mut values = vec![Value::Nil; self.commands.len()];
        for ((_, _, indices), replies) in parts.iter().zip(replies) {
            for (index, reply) in indices.iter().zip(replies) {
                values[*index] = reply;
            }
        }
        Ok(values)
    }

    /// The replies in order, without the ignored ones, as `T`; the first refused command's
    /// error instead, if any was refused (ignored or not).
    fn compose<T: FromRedisValue>(&self, values: Vec<Value>) -> Result<T> {
        let mut kept = Vec::with_capacity(values.len());
        for (index, (value, command)) in values.into_iter().zip(&self.commands).enumerate() {
            if let Value::ServerError(error) = value {
                let error = from_redis(error.into(), "pipeline");
                return Err(Error::new(
                    error.kind(),
                    format!(
                        "command {} ({}): {}",
                        index + 1,
                        self.command_name(index),
                        error.message()
                    ),
                )
                .with_source(error));
            }
            if !command.ignored {
                kept.push(value);
            }
        }
        T::from_redis_value(Value::Array(kept))
            .map_err(|error| from_redis(error.into(), "pipeline"))
    }

    /// The name of command `index` (its first argument), for errors.
    fn command_name(&self, index: usize) -> String {
        let name = self
            .pipe
            .cmd_iter()
            .nth(index)
            .and_then(|cmd| cmd.args_iter().next())
            .and_then(|arg| match arg {
                redis::Arg::Simple(name) => Some(String::from_utf8_lossy(name).to_uppercase()),
                _ => None,
            });
        name.unwrap_or_else(|| "?".to_owned())
    }
}

/// The refusal of `what` on a Cluster, whose `keys` hash to several slots.
fn cross_slot(what: &str, keys: &[&(String, u16)], prefix: &str) -> Error {
    let listed: Vec<String> = keys
        .iter()
        .map(|(key, slot)| format!("`{key}` (slot {slot})"))
        .collect();
    let prefix_note = if prefix.is_empty() {
        String::new()
    } else {
        format!(" (slots are of the stored keys, with the prefix `{prefix}`)")
    };
    Error::new(
        ErrorKind::InvalidInput,
        format!(
            "{what} on a Redis Cluster must keep to one hash slot, but its keys {} hash to \
             different slots{prefix_note}; give them a common hash tag, as in `{{user:7}}:a` \
             and `{{user:7}}:b`, where only the part in braces is hashed",
            listed.join(", ")
        ),
    )
}
