//! [`RedisBackend`]: the [`CacheBackend`] contract on Redis.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use bytes::Bytes;
use cache_core::key::glob_escape;
use cache_core::near::NearStats;
use cache_core::structures::{KeyScan, PubSubStore, StructureStore};
use cache_core::{
    CacheBackend, Error, ErrorKind, KeyTtl, LockStore, NearValues, RateLimitStore, Result,
    check_ttl,
};
use redis::cluster_routing::{RoutingInfo, SingleNodeRoutingInfo};
use redis::{Cmd, FromRedisValue, Pipeline, Script, ToRedisArgs, Value};

use crate::config::{RedisConfig, Topology};
use crate::connection::{self, RedisConnection};
use crate::error::{from_redis, is_retriable};
use crate::info::ServerInfo;
use crate::locks::LockWakeups;
use crate::near::{Near, WriteGuard, Written};
use crate::scripts;
use crate::structures::BlockingPool;

/// How many keys one `SCAN` step asks for, and at most how many one `UNLINK` removes.
const SCAN_COUNT: usize = 1000;

/// A [`CacheBackend`] on Redis: standalone, Cluster or Sentinel.
///
/// - **One connection.** Standalone: one multiplexed [`ConnectionManager`] that reconnects by
///   itself (no pool: concurrent requests are pipelined on one socket). Cluster: the redis-rs
///   async cluster client (one socket per node; follows `MOVED`/`ASK`). Sentinel: a connection
///   to the primary the sentinels name, re-resolved after a failover.
/// - **Bounded.** Every operation answers within about the configured response timeout (plus
///   the connect timeout while reconnecting, plus retries); a hung server gives
///   [`ErrorKind::Timeout`], never a hang.
/// - **Retries** idempotent operations after connection errors (see
///   [`RetryPolicy`](crate::RetryPolicy)).
/// - **Keys** are `prefix + key`, applied here and nowhere else. `delete_pattern` and `clear`
///   walk the keyspace with `SCAN MATCH <escaped prefix><pattern>` (on every primary of a
///   Cluster) and `UNLINK` in batches; `KEYS` and `FLUSHDB` are never used. `clear` without a
///   prefix is refused unless [`RedisConfig::allow_unprefixed_clear`] allows it.
/// - **Values** are stored as the bytes given: the JSON `#[cached]` writes is readable by
///   `redis-cli` and other languages.
/// - **Atomic compound operations** ([`increment_with_ttl`](Self::increment_with_ttl),
///   [`delete_if_equals`](Self::delete_if_equals), [`get_with_ttl`](Self::get_with_ttl),
///   [`eval`](Self::eval)) run as Lua scripts by SHA, reloaded transparently after
///   `SCRIPT FLUSH` or a restart.
/// - **Capabilities** beyond the byte operations: rate limiting
///   ([`rate_limits`](CacheBackend::rate_limits), see [`RedisBackend::rate_limit_at_server_time`])
///   and locks ([`locks`](CacheBackend::locks): leases, fences and fenced writes on the
///   server's clock, waiters woken through pub/sub; the keys and the channel they use are
///   described on the [`LockStore`] impl).
///
/// [`ConnectionManager`]: redis::aio::ConnectionManager
///
/// ```no_run
/// use cache_core::{CacheBackendExt, set_global_backend};
/// use cache_redis::{RedisBackend, RedisConfig};
/// use std::time::Duration;
///
/// # async fn run() -> cache_core::Result<()> {
/// let config = RedisConfig::from_url("redis://127.0.0.1:6379/0")?
///     .key_prefix("myapp:")
///     .response_timeout(Duration::from_millis(500));
/// let redis = RedisBackend::connect(config).await?;
/// redis.set_value("greeting", &"hello", Some(Duration::from_secs(60))).await?; // key `myapp:greeting`
/// set_global_backend(redis); // every #[cached] function now uses Redis
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisBackend {
    pub(crate) connection: RedisConnection,
    pub(crate) client: Option<redis::Client>,
    config: RedisConfig,
    /// The bound on one call: the response timeout plus the connect timeout.
    pub(crate) op_timeout: Duration,
    /// Idle dedicated connections for blocking pops (see [`crate::structures`]).
    pub(crate) blocking: Arc<BlockingPool>,
    /// The lock waiters of every clone, and their one subscription (see [`crate::locks`]).
    pub(crate) lock_wakeups: Arc<LockWakeups>,
    /// The near cache, when configured (see [`RedisConfig::near_cache`]).
    pub(crate) near: Option<Arc<Near>>,
}

impl std::fmt::Debug for RedisBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBackend")
            .field("connection", &self.connection)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl RedisBackend {
    /// Connects to the deployment `config` describes and checks that it answers.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`] for settings that cannot work (zero timeouts or TTL, TLS
    /// without the `tls` feature), and, on a standalone server, at once (not after the
    /// connect retries) when the server refuses the login (`authentication failed
    /// (WRONGPASS)`, `authentication required (NOAUTH)`) or the database (`DB index 99 out of
    /// range`); [`ErrorKind::Connection`] or [`ErrorKind::Timeout`] if the server (or, for
    /// Sentinel, any sentinel) cannot be reached, or a Cluster or Sentinel primary refuses
    /// the login.
    ///
    /// ```no_run
    /// # async fn run() -> cache_core::Result<()> {
    /// let cluster = cache_redis::RedisBackend::connect(
    ///     cache_redis::RedisConfig::cluster(["10.0.0.1:7000", "10.0.0.2:7000"])?.key_prefix("app:"),
    /// )
    /// .await?;
    /// # let _ = cluster; Ok(()) }
    /// ```
    pub async fn connect(config: RedisConfig) -> Result<Self> {
        config.validate()?;
        let connected = connection::connect(&config).await?;
        let near = start_near(connected.client.as_ref(), &config)?;
        let backend = Self {
            connection: connected.connection,
            client: connected.client,
            op_timeout: config.response_timeout + config.connect_timeout,
            config,
            blocking: Arc::default(),
            lock_wakeups: Arc::default(),
            near,
        };
        backend.ping().await?;
        tracing::debug!(topology = ?backend.config.topology, prefix = backend.config.key_prefix, "redis backend connected");
        Ok(backend)
    }

    /// A backend that connects in the background: validates `config` and returns at once,
    /// with no network I/O. Until the server answers, every operation fails at once as a
    /// connection error, so cached functions run their bodies (after three such failures the
    /// breaker skips the backend until a ping answers: see `cache_core::health`); once it
    /// answers, caching starts by itself. Attempts back off from 50 ms to 2 s.
    ///
    /// Use it where the application must start while Redis is down (a cache is an
    /// optimisation); use [`connect`](Self::connect) where a wrong address or password should
    /// stop start-up. A refused password is retried like an absent server here, and logged.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`] for settings that cannot work, or when called outside a tokio
    /// runtime (the connection is opened by a task on it).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> cache_core::Result<()> {
    /// use cache_core::CacheBackend;
    /// // Nothing listens on port 1: the backend is there at once, and fails fast.
    /// let redis = cache_redis::RedisBackend::connect_lazy(cache_redis::RedisConfig::new("127.0.0.1", 1))?;
    /// assert_eq!(redis.ping().await.unwrap_err().kind(), cache_core::ErrorKind::Connection);
    /// # Ok(()) }
    /// ```
    pub fn connect_lazy(config: RedisConfig) -> Result<Self> {
        config.validate()?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            Error::new(
                ErrorKind::Config,
                "RedisBackend::connect_lazy must be called inside a tokio runtime: it connects on a task",
            )
        })?;
        let (connection, pending) = RedisConnection::lazy(&config);
        runtime.spawn(connection::open_in_background(
            config.clone(),
            Arc::downgrade(&pending),
        ));
        let client = connection::standalone_client(&config)?;
        let near = start_near(client.as_ref(), &config)?;
        Ok(Self {
            connection,
            client,
            op_timeout: config.response_timeout + config.connect_timeout,
            config,
            blocking: Arc::default(),
            lock_wakeups: Arc::default(),
            near,
        })
    }

    /// The configuration this backend was built from (the password stays hidden).
    #[must_use]
    pub fn config(&self) -> &RedisConfig {
        &self.config
    }

    /// The shared connection, for direct Redis work (hashes, lists, sets, sorted sets, ...)
    /// with [`redis::AsyncCommands`]. See [`RedisConnection`] for what not to send on it.
    #[must_use]
    pub fn connection(&self) -> RedisConnection {
        self.connection.clone()
    }

    /// A `redis::Client` for the server (standalone) or the current primary (Sentinel), to
    /// open dedicated connections for blocking commands or `WATCH`. `None` on a Cluster: build
    /// a [`redis::cluster::ClusterClient`] for that.
    ///
    /// # Errors
    ///
    /// Never for standalone and Cluster; for Sentinel, as resolving the primary can fail.
    pub async fn client(&self) -> Result<Option<redis::Client>> {
        connection::dedicated_client(self.client.as_ref(), &self.connection).await
    }

    /// A dedicated pub/sub connection: to the server, the current Sentinel primary, or one
    /// node of a Cluster (the configured nodes in turn until one answers; classic pub/sub is
    /// broadcast over the cluster bus, so any node hears every `PUBLISH`). Channel names on
    /// it are not prefixed; [`PubSubStore`](cache_core::structures::PubSubStore) (through
    /// [`CacheBackend::pubsub`]) prefixes them.
    ///
    /// # Errors
    ///
    /// Connection errors, or [`ErrorKind::Timeout`] when no node answers in time.
    ///
    /// ```no_run
    /// # async fn run(backend: &cache_redis::RedisBackend) -> cache_core::Result<()> {
    /// let mut pubsub = backend.pubsub().await?;
    /// pubsub.subscribe("events").await.map_err(|e| cache_core::Error::new(cache_core::ErrorKind::Backend, e.to_string()))?;
    /// # Ok(()) }
    /// ```
    pub async fn pubsub(&self) -> Result<redis::aio::PubSub> {
        let Topology::Cluster { nodes } = &self.config.topology else {
            return self
                .bounded(
                    "pubsub",
                    connection::open_pubsub(self.client.as_ref(), &self.connection),
                )
                .await;
        };
        let mut last_error = Error::new(ErrorKind::Config, "a Cluster without nodes");
        for node in nodes {
            match self
                .bounded("pubsub", connection::open_node_pubsub(node, &self.config))
                .await
            {
                Ok(pubsub) => return Ok(pubsub),
                Err(error) => {
                    tracing::debug!(%error, node, "pub/sub: node unreachable, trying the next");
                    last_error = error;
                }
            }
        }
        Err(last_error)
    }

    /// `call` bounded by the operation timeout.
    pub(crate) async fn bounded<T>(
        &self,
        op: &'static str,
        call: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        tokio::time::timeout(self.op_timeout, call)
            .await
            .unwrap_or_else(|_| {
                Err(Error::new(
                    ErrorKind::Timeout,
                    format!("redis {op}: no answer within {:?}", self.op_timeout),
                ))
            })
    }

    /// `key` with the backend's prefix in front, as it is stored in Redis.
    ///
    /// ```no_run
    /// # async fn run(backend: cache_redis::RedisBackend) {
    /// assert_eq!(backend.prefixed_key("user:7"), format!("{}user:7", backend.config().prefix()));
    /// # }
    /// ```
    #[must_use]
    pub fn prefixed_key(&self, key: &str) -> String {
        let prefix = &self.config.key_prefix;
        let mut full = String::with_capacity(prefix.len() + key.len());
        full.push_str(prefix);
        full.push_str(key);
        full
    }

    /// Checks the server answers `PING` and that the backend's scripts are loaded (loading
    /// them if not), and returns the `PING` round-trip time.
    ///
    /// # Errors
    ///
    /// The connection or timeout error when the server does not answer.
    pub async fn health_check(&self) -> Result<Duration> {
        let started = tokio::time::Instant::now();
        self.ping().await?;
        let elapsed = started.elapsed();
        for script in scripts::all() {
            // `SCRIPT LOAD` goes to every node of a Cluster.
            self.run("script load", true, |mut con| async move {
                script.load_async(&mut con).await
            })
            .await?;
        }
        Ok(elapsed)
    }

    /// A summary of `INFO` (summed over every primary of a Cluster).
    ///
    /// # Errors
    ///
    /// Connection and timeout errors.
    pub async fn info(&self) -> Result<ServerInfo> {
        let mut info = ServerInfo::default();
        let mut cmd = redis::cmd("INFO");
        cmd.arg("all");
        if self.connection.is_cluster() {
            for (host, port) in self.cluster_primaries().await? {
                let text: String = self
                    .query_routed("info", &cmd, by_address(&host, port))
                    .await?;
                info.add_node(&text);
            }
        } else {
            let text: String = self.query("info", true, &cmd).await?;
            info.add_node(&text);
        }
        Ok(info)
    }

    /// The server's clock (`TIME`), for decisions several clients must agree on.
    ///
    /// # Errors
    ///
    /// Connection and timeout errors.
    pub async fn server_time(&self) -> Result<SystemTime> {
        let (seconds, micros): (u64, u64) = self.query("time", true, &redis::cmd("TIME")).await?;
        Ok(UNIX_EPOCH + Duration::from_secs(seconds) + Duration::from_micros(micros))
    }

    /// Adds `delta` to the counter under `key` and gives it `ttl` if it has no TTL yet (it was
    /// just created), atomically (a Lua script). The fixed-window counter of rate limiting:
    /// unlike `INCR` followed by a separate `EXPIRE`, a crash in between can never leave a
    /// counter that lives forever.
    ///
    /// Not retried: a request that timed out may have been counted.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] for a zero `ttl`, [`ErrorKind::NotAnInteger`] if the key
    /// holds something else, connection and timeout errors.
    pub async fn increment_with_ttl(&self, key: &str, delta: i64, ttl: Duration) -> Result<i64> {
        check_ttl(Some(ttl))?;
        let _written = self.near_write(|| Written::Key(key));
        let key = self.prefixed_key(key);
        self.script(
            "increment_with_ttl",
            false,
            &scripts::INCREMENT_WITH_TTL,
            &[&key],
            |inv| {
                inv.arg(delta).arg(ttl_millis(ttl));
            },
        )
        .await
    }

    /// Removes `key` only if it holds exactly `expected`, atomically (a Lua script); returns
    /// whether it did. The safe release of a lock held under a random token.
    ///
    /// # Errors
    ///
    /// Connection and timeout errors.
    pub async fn delete_if_equals(&self, key: &str, expected: &[u8]) -> Result<bool> {
        let _written = self.near_write(|| Written::Key(key));
        let key = self.prefixed_key(key);
        let removed: i64 = self
            .script(
                "delete_if_equals",
                false,
                &scripts::DELETE_IF_EQUALS,
                &[&key],
                |inv| {
                    inv.arg(expected);
                },
            )
            .await?;
        Ok(removed == 1)
    }

    /// The value under `key` and its remaining lifetime, read atomically (a Lua script).
    ///
    /// # Errors
    ///
    /// Connection and timeout errors.
    pub async fn get_with_ttl(&self, key: &str) -> Result<Option<(Bytes, KeyTtl)>> {
        let key = self.prefixed_key(key);
        let (value, pttl): (Option<Vec<u8>>, i64) = self
            .script(
                "get_with_ttl",
                true,
                &scripts::GET_WITH_TTL,
                &[&key],
                |_| {},
            )
            .await?;
        Ok(value.map(|value| (Bytes::from(value), key_ttl(pttl))))
    }

    /// Runs `script` by SHA (loading it on `NOSCRIPT`) with `keys` — prefixed by the backend —
    /// as `KEYS` and `args` as `ARGV`. For atomic operations of your own.
    ///
    /// On a Cluster every key of one script must be in one hash slot: give them a common
    /// `{hash tag}` (`rl:{user:42}`, `rl:{user:42}:log`). Keys in different slots are refused
    /// here with [`ErrorKind::InvalidInput`] before anything is sent. The script is not retried
    /// after connection errors.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] for keys in several slots (Cluster only),
    /// [`ErrorKind::Backend`] for a script error, connection and timeout errors.
    ///
    /// ```no_run
    /// use std::sync::LazyLock;
    /// use cache_redis::redis::Script;
    ///
    /// static SWAP: LazyLock<Script> = LazyLock::new(|| {
    ///     Script::new("return redis.call('GETSET', KEYS[1], ARGV[1])")
    /// });
    ///
    /// # async fn run(backend: &cache_redis::RedisBackend) -> cache_core::Result<()> {
    /// let old: Option<String> = backend.eval(&SWAP, &["config:{v}"], &["2"]).await?;
    /// # let _ = old; Ok(()) }
    /// ```
    pub async fn eval<T, A>(&self, script: &Script, keys: &[&str], args: &[A]) -> Result<T>
    where
        T: FromRedisValue,
        A: ToRedisArgs,
    {
        let _written = self.near_write(|| Written::Keys(keys.to_vec()));
        let keys: Vec<String> = keys.iter().map(|key| self.prefixed_key(key)).collect();
        if let (true, Some((first, rest))) = (self.connection.is_cluster(), keys.split_first()) {
            let slot = scripts::slot(first.as_bytes());
            if rest.iter().any(|key| scripts::slot(key.as_bytes()) != slot) {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    "the keys of one script must share a hash slot on a Cluster; give them a common `{tag}`",
                ));
            }
        }
        let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        self.script("eval", false, script, &refs, |inv| {
            for arg in args {
                inv.arg(arg);
            }
        })
        .await
    }

    /// What the near cache has done, if it is on (see [`RedisConfig::near_cache`]).
    ///
    /// ```no_run
    /// # async fn run() -> cache_core::Result<()> {
    /// let config = cache_redis::RedisConfig::from_env()?.near_cache(10_000);
    /// let redis = cache_redis::RedisBackend::connect(config).await?;
    /// if let Some(stats) = redis.near_cache_stats() {
    ///     println!("near hits {}, invalidations {}, flushes {}", stats.hits, stats.invalidations, stats.flushes);
    /// }
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn near_cache_stats(&self) -> Option<NearStats> {
        self.near.as_ref().map(|near| near.store.stats())
    }

    /// Guards a write of the keys `written` names, when the near cache is on (see
    /// [`WriteGuard`]); `written` is not even built otherwise.
    pub(crate) fn near_write<'a>(
        &'a self,
        written: impl FnOnce() -> Written<'a>,
    ) -> Option<WriteGuard<'a>> {
        self.near.as_deref().map(|near| near.writing(written()))
    }

    /// Runs `script` by SHA with already prefixed `keys`, through [`run`](Self::run).
    pub(crate) async fn script<T: FromRedisValue>(
        &self,
        op: &'static str,
        idempotent: bool,
        script: &Script,
        keys: &[&str],
        args: impl Fn(&mut redis::ScriptInvocation<'_>),
    ) -> Result<T> {
        self.run(op, idempotent, |mut con| {
            let mut invocation = script.prepare_invoke();
            for key in keys {
                invocation.key(*key);
            }
            args(&mut invocation);
            async move {
                // `invoke_async` loads the script on NOSCRIPT and retries once; another flush
                // can land between that load and the retry. NOSCRIPT means nothing ran, so
                // trying again is safe even for scripts that are not idempotent.
                let mut reloads = 0;
                loop {
                    match invocation.invoke_async(&mut con).await {
                        Err(error) if is_noscript(&error) && reloads < 3 => reloads += 1,
                        outcome => break outcome,
                    }
                }
            }
        })
        .await
    }

    /// Runs one attempt per call of `attempt`, each bounded by the operation timeout; retries
    /// retriable errors of idempotent operations per the retry policy.
    pub(crate) async fn run<T, F, Fut>(
        &self,
        op: &'static str,
        idempotent: bool,
        mut attempt: F,
    ) -> Result<T>
    where
        F: FnMut(RedisConnection) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        let mut retry = 0;
        loop {
            let call = attempt(self.connection.clone());
            let outcome = if self.connection.bounds_its_calls() {
                Ok(call.await)
            } else {
                tokio::time::timeout(self.op_timeout, call).await
            };
            match outcome {
                Ok(Ok(value)) => return Ok(value),
                Ok(Err(error)) => {
                    if idempotent && retry < self.config.retry.max_retries() && is_retriable(&error)
                    {
                        retry += 1;
                        let wait = self.config.retry.backoff(retry);
                        tracing::debug!(op, retry, ?wait, %error, "redis operation failed; retrying");
                        tokio::time::sleep(wait).await;
                        continue;
                    }
                    return Err(from_redis(error, op));
                }
                Err(_) => {
                    return Err(Error::new(
                        ErrorKind::Timeout,
                        format!("redis {op}: no answer within {:?}", self.op_timeout),
                    ));
                }
            }
        }
    }

    pub(crate) async fn query<T: FromRedisValue>(
        &self,
        op: &'static str,
        idempotent: bool,
        cmd: &Cmd,
    ) -> Result<T> {
        self.run(op, idempotent, |mut con| async move {
            cmd.query_async(&mut con).await
        })
        .await
    }

    async fn query_pipe<T: FromRedisValue>(
        &self,
        op: &'static str,
        idempotent: bool,
        pipe: &Pipeline,
    ) -> Result<T> {
        self.run(op, idempotent, |mut con| async move {
            pipe.query_async(&mut con).await
        })
        .await
    }

    /// A command sent to one node of the Cluster.
    pub(crate) async fn query_routed<T: FromRedisValue>(
        &self,
        op: &'static str,
        cmd: &Cmd,
        route: RoutingInfo,
    ) -> Result<T> {
        self.query_routed_with(op, true, cmd, route).await
    }

    /// [`query_routed`](Self::query_routed), retried only if `idempotent`.
    pub(crate) async fn query_routed_with<T: FromRedisValue>(
        &self,
        op: &'static str,
        idempotent: bool,
        cmd: &Cmd,
        route: RoutingInfo,
    ) -> Result<T> {
        let Some(cluster) = self.connection.as_cluster() else {
            return self.query(op, idempotent, cmd).await;
        };
        let value = self
            .run(op, idempotent, |_| {
                let mut cluster = cluster.clone();
                let cmd = cmd.clone();
                let route = route.clone();
                async move { cluster.route_command(cmd, route).await }
            })
            .await?;
        T::from_redis_value(value).map_err(|e| from_redis(e.into(), op))
    }

    /// The `(host, port)` of every primary of the Cluster, from `CLUSTER NODES`.
    pub(crate) async fn cluster_primaries(&self) -> Result<Vec<(String, u16)>> {
        let mut cmd = redis::cmd("CLUSTER");
        cmd.arg("NODES");
        let text: String = self
            .query_routed(
                "cluster nodes",
                &cmd,
                RoutingInfo::SingleNode(SingleNodeRoutingInfo::Random),
            )
            .await?;
        let primaries = parse_primaries(&text);
        if primaries.is_empty() {
            return Err(Error::new(
                ErrorKind::Backend,
                "CLUSTER NODES lists no primary",
            ));
        }
        Ok(primaries)
    }

    /// `SCAN MATCH pattern` on one node (or the only one) and `UNLINK` what it finds, in
    /// batches. Returns how many keys were removed.
    async fn scan_and_unlink(&self, pattern: &str, node: Option<(&str, u16)>) -> Result<u64> {
        let mut cursor: u64 = 0;
        let mut removed = 0;
        loop {
            let mut scan = redis::cmd("SCAN");
            scan.arg(cursor)
                .arg("MATCH")
                .arg(pattern)
                .arg("COUNT")
                .arg(SCAN_COUNT);
            let (next, keys): (u64, Vec<Vec<u8>>) = match node {
                Some((host, port)) => {
                    self.query_routed("scan", &scan, by_address(host, port))
                        .await?
                }
                None => self.query("scan", true, &scan).await?,
            };
            if !keys.is_empty() {
                let mut unlink = redis::cmd("UNLINK");
                unlink.arg(&keys);
                let count: u64 = self.query("unlink", true, &unlink).await?;
                removed += count;
            }
            if next == 0 {
                return Ok(removed);
            }
            cursor = next;
        }
    }

    async fn delete_matching(&self, full_pattern: &str) -> Result<u64> {
        if self.connection.is_cluster() {
            let mut removed = 0;
            for (host, port) in self.cluster_primaries().await? {
                removed += self
                    .scan_and_unlink(full_pattern, Some((&host, port)))
                    .await?;
            }
            Ok(removed)
        } else {
            self.scan_and_unlink(full_pattern, None).await
        }
    }

    /// `prefix + key` as one command argument, written without an intermediate `String`.
    pub(crate) fn key_arg<'a>(&'a self, key: &'a str) -> Prefixed<'a> {
        Prefixed(&self.config.key_prefix, key)
    }

    /// `ttl` checked (zero is refused), or the configured default TTL when there is none.
    pub(crate) fn effective_ttl(&self, ttl: Option<Duration>) -> Result<Option<Duration>> {
        check_ttl(ttl)?;
        Ok(ttl.or(self.config.default_ttl))
    }

    fn set_cmd(key: impl ToRedisArgs, value: &[u8], ttl: Option<Duration>) -> Cmd {
        let mut cmd = redis::cmd("SET");
        cmd.arg(key).arg(value);
        if let Some(ttl) = ttl {
            cmd.arg("PX").arg(ttl_millis(ttl));
        }
        cmd
    }
}

/// A prefixed key as a single Redis argument.
pub(crate) struct Prefixed<'a>(&'a str, &'a str);

impl ToRedisArgs for Prefixed<'_> {
    fn write_redis_args<W>(&self, out: &mut W)
    where
        W: ?Sized + redis::RedisWrite,
    {
        use std::io::Write as _;
        let mut arg = out.writer_for_next_arg();
        // Writing into the command's in-memory buffer cannot fail.
        let _ = arg.write_all(self.0.as_bytes());
        let _ = arg.write_all(self.1.as_bytes());
    }
}

fn is_noscript(error: &redis::RedisError) -> bool {
    error.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript)
}

pub(crate) fn by_address(host: &str, port: u16) -> RoutingInfo {
    RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress {
        host: host.to_owned(),
        port,
    })
}

/// Primaries from `CLUSTER NODES`: `<id> <ip:port@cport[,hostname]> <flags> ...`, skipping
/// failed nodes and nodes without an address.
fn parse_primaries(text: &str) -> Vec<(String, u16)> {
    let mut primaries = Vec::new();
    for line in text.lines() {
        let mut fields = line.split_whitespace();
        let (Some(_id), Some(address), Some(flags)) = (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let flags: Vec<&str> = flags.split(',').collect();
        if !flags.contains(&"master")
            || flags
                .iter()
                .any(|f| matches!(*f, "fail" | "noaddr" | "handshake"))
        {
            continue;
        }
        let address = address.split(['@', ',']).next().unwrap_or_default();
        if let Some((host, Ok(port))) = address
            .rsplit_once(':')
            .map(|(host, port)| (host, port.parse::<u16>()))
            .filter(|(host, _)| !host.is_empty())
        {
            primaries.push((host.to_owned(), port));
        }
    }
    primaries
}

/// A TTL (or lease) in whole milliseconds for `PX`/`PEXPIRE`, rounded up so a key never
/// lives shorter than asked: at least 1 (a sub-millisecond TTL is not "no TTL"), at most what
/// Redis accepts.
pub(crate) fn ttl_millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_nanos().div_ceil(1_000_000))
        .unwrap_or(u64::MAX)
        .clamp(1, i64::MAX as u64 / 2)
}

fn key_ttl(pttl: i64) -> KeyTtl {
    match pttl {
        -2 => KeyTtl::Missing,
        -1 => KeyTtl::Persistent,
        ms => KeyTtl::ExpiresIn(Duration::from_millis(ms.max(0).unsigned_abs())),
    }
}

#[async_trait]
impl CacheBackend for RedisBackend {
    async fn get(&self, key: &str) -> Result<Option<Bytes>> {
        if let Some(near) = &self.near {
            if let Some(bytes) = near.store.get(key) {
                return Ok(Some(bytes));
            }
            let keys = [(key, self.prefixed_key(key))];
            if let Some(mut read) = near.read(&keys, self.op_timeout).await {
                return Ok(read.pop().flatten());
            }
        }
        let mut cmd = redis::cmd("GET");
        cmd.arg(self.key_arg(key));
        let value: Option<Vec<u8>> = self.query("get", true, &cmd).await?;
        Ok(value.map(Bytes::from))
    }

    async fn set(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> Result<()> {
        let _written = self.near_write(|| Written::Key(key));
        let ttl = self.effective_ttl(ttl)?;
        let cmd = Self::set_cmd(self.key_arg(key), &value, ttl);
        self.query("set", true, &cmd).await
    }

    async fn set_if_absent(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> Result<bool> {
        let _written = self.near_write(|| Written::Key(key));
        let ttl = self.effective_ttl(ttl)?;
        let mut cmd = Self::set_cmd(self.key_arg(key), &value, ttl);
        cmd.arg("NX");
        let reply: Value = self.query("set nx", false, &cmd).await?;
        Ok(!matches!(reply, Value::Nil))
    }

    async fn delete(&self, key: &str) -> Result<bool> {
        let _written = self.near_write(|| Written::Key(key));
        let mut cmd = redis::cmd("UNLINK");
        cmd.arg(self.key_arg(key));
        let removed: u64 = self.query("delete", true, &cmd).await?;
        Ok(removed > 0)
    }

    async fn delete_many(&self, keys: &[&str]) -> Result<u64> {
        let _written = self.near_write(|| Written::Keys(keys.to_vec()));
        if keys.is_empty() {
            return Ok(0);
        }
        let mut cmd = redis::cmd("UNLINK");
        for key in keys {
            cmd.arg(self.key_arg(key));
        }
        self.query("delete many", true, &cmd).await
    }

    async fn exists(&self, key: &str) -> Result<bool> {
        let mut cmd = redis::cmd("EXISTS");
        cmd.arg(self.key_arg(key));
        let count: u64 = self.query("exists", true, &cmd).await?;
        Ok(count > 0)
    }

    async fn ttl(&self, key: &str) -> Result<KeyTtl> {
        let mut cmd = redis::cmd("PTTL");
        cmd.arg(self.key_arg(key));
        let pttl: i64 = self.query("ttl", true, &cmd).await?;
        Ok(key_ttl(pttl))
    }

    async fn expire(&self, key: &str, ttl: Duration) -> Result<bool> {
        let _written = self.near_write(|| Written::Key(key));
        check_ttl(Some(ttl))?;
        let mut cmd = redis::cmd("PEXPIRE");
        cmd.arg(self.key_arg(key)).arg(ttl_millis(ttl));
        let applied: u64 = self.query("expire", true, &cmd).await?;
        Ok(applied == 1)
    }

    async fn increment(&self, key: &str, delta: i64) -> Result<i64> {
        let _written = self.near_write(|| Written::Key(key));
        let mut cmd = redis::cmd("INCRBY");
        cmd.arg(self.key_arg(key)).arg(delta);
        self.query("increment", false, &cmd).await
    }

    async fn get_many(&self, keys: &[&str]) -> Result<Vec<Option<Bytes>>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        if let Some(near) = &self.near {
            return self.get_many_near(near, keys).await;
        }
        // MGET: one round trip; split per shard (and reassembled in order) on a Cluster.
        let mut cmd = redis::cmd("MGET");
        for key in keys {
            cmd.arg(self.key_arg(key));
        }
        let values: Vec<Option<Vec<u8>>> = self.query("get many", true, &cmd).await?;
        Ok(values
            .into_iter()
            .map(|value| value.map(Bytes::from))
            .collect())
    }

    async fn set_many(&self, entries: &[(&str, Bytes)], ttl: Option<Duration>) -> Result<()> {
        let _written =
            self.near_write(|| Written::Keys(entries.iter().map(|(key, _)| *key).collect()));
        let ttl = self.effective_ttl(ttl)?;
        if entries.is_empty() {
            return Ok(());
        }
        if !self.connection.is_cluster() {
            let mut pipe = redis::pipe();
            for (key, value) in entries {
                pipe.add_command(Self::set_cmd(self.key_arg(key), value, ttl))
                    .ignore();
            }
            return self.query_pipe("set many", true, &pipe).await;
        }
        // A cluster pipeline must stay in one slot: one pipeline per slot, all in flight at once.
        let mut by_slot: HashMap<u16, Pipeline> = HashMap::new();
        for (key, value) in entries {
            let key = self.prefixed_key(key);
            by_slot
                .entry(scripts::slot(key.as_bytes()))
                .or_insert_with(redis::pipe)
                .add_command(Self::set_cmd(&key, value, ttl))
                .ignore();
        }
        let mut tasks = tokio::task::JoinSet::new();
        for (_, pipe) in by_slot {
            let backend = self.clone();
            tasks.spawn(async move { backend.query_pipe::<()>("set many", true, &pipe).await });
        }
        let mut first_error = None;
        while let Some(joined) = tasks.join_next().await {
            let outcome = joined.unwrap_or_else(|e| {
                Err(Error::new(
                    ErrorKind::Backend,
                    format!("redis set many: {e}"),
                ))
            });
            if let Err(error) = outcome {
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    async fn delete_pattern(&self, pattern: &str) -> Result<u64> {
        let _written = self.near_write(|| Written::Everything);
        let full = format!("{}{pattern}", glob_escape(&self.config.key_prefix));
        self.delete_matching(&full).await
    }

    async fn clear(&self) -> Result<()> {
        if self.config.key_prefix.is_empty() && !self.config.allow_unprefixed_clear {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "clear() without a key prefix would remove every key of the database; \
                 set a key prefix, or allow it with RedisConfig::allow_unprefixed_clear(true)",
            ));
        }
        self.delete_pattern("*").await.map(drop)
    }

    async fn ping(&self) -> Result<()> {
        let _: Value = self.query("ping", true, &redis::cmd("PING")).await?;
        Ok(())
    }

    /// Lua scripts on the server's clock (see the `RateLimitStore` impl).
    fn rate_limits(&self) -> Option<&dyn RateLimitStore> {
        Some(self)
    }

    /// Leases, fences and fenced writes as Lua scripts on the server's clock, waiters woken
    /// through pub/sub (see the `LockStore` impl).
    fn locks(&self) -> Option<&dyn LockStore> {
        Some(self)
    }

    /// One Redis command per operation on the prefixed key (see the `StructureStore` impl).
    fn structures(&self) -> Option<&dyn StructureStore> {
        Some(self)
    }

    /// `PUBLISH` / `SUBSCRIBE` on prefixed channels (see the `PubSubStore` impl).
    fn pubsub(&self) -> Option<&dyn PubSubStore> {
        Some(self)
    }

    /// `SCAN MATCH`, on every primary of a Cluster (see the `KeyScan` impl).
    fn near(&self) -> Option<&dyn NearValues> {
        self.near
            .as_ref()
            .map(|near| &near.store as &dyn NearValues)
    }

    fn key_scan(&self) -> Option<&dyn KeyScan> {
        Some(self)
    }
}

/// The near cache `config` asks for, on the standalone server `client` reaches.
fn start_near(client: Option<&redis::Client>, config: &RedisConfig) -> Result<Option<Arc<Near>>> {
    let Some(entries) = config.near_cache else {
        return Ok(None);
    };
    // `validate` refused a near cache on any other topology.
    let client = client.ok_or_else(|| {
        Error::new(
            ErrorKind::Config,
            "the near cache needs a standalone server",
        )
    })?;
    Near::start(client, config, entries).map(Some)
}

impl RedisBackend {
    /// `get_many` with the near cache on: its copies, and one tracked `MGET` for the rest
    /// (kept as single reads are), or a plain one while the near cache does not serve.
    async fn get_many_near(&self, near: &Near, keys: &[&str]) -> Result<Vec<Option<Bytes>>> {
        let mut values: Vec<Option<Bytes>> = keys.iter().map(|key| near.store.get(key)).collect();
        let missing: Vec<usize> = (0..keys.len()).filter(|&i| values[i].is_none()).collect();
        if missing.is_empty() {
            return Ok(values);
        }
        let tracked: Vec<(&str, String)> = missing
            .iter()
            .map(|&i| (keys[i], self.prefixed_key(keys[i])))
            .collect();
        if let Some(read) = near.read(&tracked, self.op_timeout).await {
            for (i, value) in missing.into_iter().zip(read) {
                values[i] = value;
            }
            return Ok(values);
        }
        let mut cmd = redis::cmd("MGET");
        for &i in &missing {
            cmd.arg(self.key_arg(keys[i]));
        }
        let fetched: Vec<Option<Vec<u8>>> = self.query("get many", true, &cmd).await?;
        for (i, value) in missing.into_iter().zip(fetched) {
            values[i] = value.map(Bytes::from);
        }
        Ok(values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primaries_from_cluster_nodes() {
        let text = "\
07c3 127.0.0.1:30004@40004 slave e7d1 0 1426238317239 4 connected
67ed 127.0.0.1:30002@40002,host2 master - 0 1426238316232 2 connected 5461-10922
292f 127.0.0.1:30003@40003 master,fail - 0 1426238318243 3 connected 10923-16383
e7d1 127.0.0.1:30001@40001 myself,master - 0 0 1 connected 0-5460
";
        assert_eq!(
            parse_primaries(text),
            vec![
                ("127.0.0.1".to_owned(), 30002),
                ("127.0.0.1".to_owned(), 30001)
            ]
        );
    }

    #[test]
    fn ttl_rounding() {
        assert_eq!(ttl_millis(Duration::from_micros(10)), 1);
        assert_eq!(ttl_millis(Duration::from_millis(1500)), 1500);
        assert_eq!(ttl_millis(Duration::from_micros(1500)), 2, "rounded up");
        assert_eq!(key_ttl(-2), KeyTtl::Missing);
        assert_eq!(key_ttl(-1), KeyTtl::Persistent);
        assert_eq!(key_ttl(20), KeyTtl::ExpiresIn(Duration::from_millis(20)));
    }
}
