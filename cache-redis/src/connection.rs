//! [`RedisConnection`]: the one shared connection behind a backend, for any topology.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use futures_util::StreamExt as _;

use redis::AsyncConnectionConfig;
use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::sentinel::{SentinelClient, SentinelClientBuilder, SentinelServerType};
use redis::{
    Cmd, ConnectionAddr, ConnectionInfo, IntoConnectionInfo, Pipeline, RedisConnectionInfo,
    RedisFuture, Value,
};

use crate::config::{RedisConfig, Topology, join_host_port};
use crate::error::{from_redis, is_failover_error};

/// The connection a [`RedisBackend`](crate::RedisBackend) uses, for direct Redis work: hashes,
/// lists, sets, sorted sets, streams, scripts (what other Redis libraries hand out as
/// `get_client()`).
///
/// It implements [`redis::aio::ConnectionLike`], so every [`redis::AsyncCommands`] method
/// works on it, on any topology. It is cheap to clone (clones share one multiplexed socket, or
/// the cluster's per-node sockets) and reconnects by itself.
///
/// Keys used here are **not** prefixed: use
/// [`RedisBackend::prefixed_key`](crate::RedisBackend::prefixed_key) to stay inside the
/// backend's namespace. Do not send blocking commands (`BLPOP`, `WAIT`, ...) or `WATCH` on it:
/// they would stall or break every other user of the shared socket. Open a dedicated
/// connection from [`RedisBackend::client`](crate::RedisBackend::client) for those, or use
/// [`RedisBackend::pubsub`](crate::RedisBackend::pubsub) for pub/sub.
///
/// ```no_run
/// use cache_redis::redis::AsyncCommands;
///
/// # async fn run(backend: &cache_redis::RedisBackend) -> redis::RedisResult<()> {
/// let mut con = backend.connection();
/// let key = backend.prefixed_key("leaderboard");
/// let () = con.zadd(&key, "alice", 42).await?;
/// let top: Vec<(String, f64)> = con.zrevrange_withscores(&key, 0, 9).await?;
/// # let _ = top; Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisConnection {
    inner: Inner,
}

#[derive(Clone)]
enum Inner {
    Standalone(ConnectionManager),
    Cluster(ClusterConnection),
    Sentinel(SentinelConnection),
    /// Being opened in the background ([`RedisBackend::connect_lazy`]): until it is, every
    /// request fails at once as refused.
    ///
    /// [`RedisBackend::connect_lazy`]: crate::RedisBackend::connect_lazy
    Lazy(Arc<Pending>),
}

/// A connection still being opened, and what is known of it before it is.
pub(crate) struct Pending {
    cluster: bool,
    db: i64,
    ready: OnceLock<RedisConnection>,
}

impl std::fmt::Debug for RedisConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.inner {
            Inner::Standalone(_) => "Standalone",
            Inner::Cluster(_) => "Cluster",
            Inner::Sentinel(_) => "Sentinel",
            Inner::Lazy(pending) if pending.ready.get().is_some() => "Lazy (connected)",
            Inner::Lazy(_) => "Lazy (connecting)",
        };
        f.debug_struct("RedisConnection")
            .field("topology", &kind)
            .finish()
    }
}

impl RedisConnection {
    /// Whether redis-rs bounds every call on this connection by itself: standalone and Cluster
    /// connections apply the configured connection and response timeouts to each request, so
    /// a second timer around them would only cost time. Sentinel calls may first resolve the
    /// master, which the backend bounds.
    pub(crate) fn bounds_its_calls(&self) -> bool {
        match &self.inner {
            Inner::Standalone(_) | Inner::Cluster(_) => true,
            Inner::Sentinel(_) => false,
            Inner::Lazy(pending) => pending.ready.get().is_some_and(Self::bounds_its_calls),
        }
    }

    /// The cluster connection, when this is a Cluster (for per-node routing).
    pub(crate) fn as_cluster(&self) -> Option<&ClusterConnection> {
        match &self.inner {
            Inner::Cluster(cluster) => Some(cluster),
            Inner::Lazy(pending) => pending.ready.get()?.as_cluster(),
            Inner::Standalone(_) | Inner::Sentinel(_) => None,
        }
    }

    /// Whether this talks to a Redis Cluster.
    #[must_use]
    pub fn is_cluster(&self) -> bool {
        match &self.inner {
            Inner::Cluster(_) => true,
            Inner::Lazy(pending) => pending.cluster,
            Inner::Standalone(_) | Inner::Sentinel(_) => false,
        }
    }

    /// The `redis::Client` of the current primary, for dedicated connections.
    pub(crate) async fn current_client(&self) -> redis::RedisResult<Option<redis::Client>> {
        match &self.inner {
            Inner::Standalone(_) | Inner::Cluster(_) => Ok(None),
            Inner::Sentinel(sentinel) => sentinel.current_client().await.map(Some),
            Inner::Lazy(pending) => match pending.ready.get() {
                Some(connection) => Box::pin(connection.current_client()).await,
                None => Err(not_connected_yet()),
            },
        }
    }

    /// A connection that [`open_in_background`] opens, failing every request until then.
    pub(crate) fn lazy(config: &RedisConfig) -> (Self, Arc<Pending>) {
        let pending = Arc::new(Pending {
            cluster: matches!(config.topology, Topology::Cluster { .. }),
            db: config.db,
            ready: OnceLock::new(),
        });
        let connection = Self {
            inner: Inner::Lazy(Arc::clone(&pending)),
        };
        (connection, pending)
    }
}

/// What a request on a connection not yet open gets: a refusal, as from a server that is not
/// there (a connection error, which fails a cached call open and feeds its breaker).
pub(crate) fn not_connected_yet() -> redis::RedisError {
    std::io::Error::new(
        std::io::ErrorKind::ConnectionRefused,
        "not connected yet: the backend is still connecting in the background",
    )
    .into()
}

/// The longest pause between two attempts of [`open_in_background`].
const LAZY_MAX_BACKOFF: Duration = Duration::from_secs(2);

/// Opens the connection `config` describes into `pending`, retrying with a backoff (from
/// 50 ms, doubling, at most [`LAZY_MAX_BACKOFF`]) until it opens or every handle to it is
/// gone. The first failure is logged as a warning, later ones at debug.
pub(crate) async fn open_in_background(config: RedisConfig, pending: std::sync::Weak<Pending>) {
    let mut backoff = Duration::from_millis(50);
    let mut failures = 0_u32;
    loop {
        if pending.strong_count() == 0 {
            return;
        }
        match connect(&config).await {
            Ok(connected) => {
                if let Some(pending) = pending.upgrade() {
                    let _ = pending.ready.set(connected.connection);
                    tracing::info!(failures, "redis backend connected in the background");
                }
                return;
            }
            Err(error) if failures == 0 => {
                tracing::warn!(%error, "redis is not reachable yet; connecting in the background, cached calls run uncached meanwhile");
            }
            Err(error) => tracing::debug!(%error, failures, "redis still not reachable"),
        }
        failures += 1;
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(LAZY_MAX_BACKOFF);
    }
}

impl ConnectionLike for RedisConnection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match &mut self.inner {
            Inner::Standalone(con) => con.req_packed_command(cmd),
            Inner::Cluster(con) => con.req_packed_command(cmd),
            Inner::Sentinel(con) => con.req_packed_command(cmd),
            Inner::Lazy(pending) => match pending.ready.get().cloned() {
                Some(mut con) => Box::pin(async move { con.req_packed_command(cmd).await }),
                None => Box::pin(async { Err(not_connected_yet()) }),
            },
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match &mut self.inner {
            Inner::Standalone(con) => con.req_packed_commands(pipeline, offset, count),
            Inner::Cluster(con) => con.req_packed_commands(pipeline, offset, count),
            Inner::Sentinel(con) => con.req_packed_commands(pipeline, offset, count),
            Inner::Lazy(pending) => match pending.ready.get().cloned() {
                Some(mut con) => {
                    Box::pin(async move { con.req_packed_commands(pipeline, offset, count).await })
                }
                None => Box::pin(async { Err(not_connected_yet()) }),
            },
        }
    }

    fn get_db(&self) -> i64 {
        match &self.inner {
            Inner::Standalone(con) => con.get_db(),
            Inner::Cluster(con) => con.get_db(),
            Inner::Sentinel(con) => con.db,
            Inner::Lazy(pending) => pending.db,
        }
    }
}

/// What [`connect`] hands the backend: the connection, and a client for dedicated connections.
pub(crate) struct Connected {
    pub(crate) connection: RedisConnection,
    pub(crate) client: Option<redis::Client>,
}

fn redis_settings(config: &RedisConfig) -> RedisConnectionInfo {
    let mut settings = RedisConnectionInfo::default().set_db(config.db);
    if let Some(username) = &config.username {
        settings = settings.set_username(username);
    }
    if let Some(password) = &config.password {
        settings = settings.set_password(&password.0);
    }
    settings
}

fn node_info(
    host: &str,
    port: u16,
    tls: bool,
    config: &RedisConfig,
) -> redis::RedisResult<ConnectionInfo> {
    let info = if tls {
        format!("rediss://{}", join_host_port(host, port)).into_connection_info()?
    } else {
        ConnectionAddr::Tcp(host.to_owned(), port).into_connection_info()?
    };
    Ok(info.set_redis_settings(redis_settings(config)))
}

fn split_node(node: &str) -> (String, u16) {
    // Nodes were validated by the config; fall back to the default port rather than panic.
    match node.rsplit_once(':') {
        Some((host, port)) => (
            host.trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
            port.parse().unwrap_or(6379),
        ),
        None => (node.to_owned(), 6379),
    }
}

pub(crate) fn manager_config(config: &RedisConfig) -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_connection_timeout(Some(config.connect_timeout))
        .set_response_timeout(Some(config.response_timeout))
        .set_min_delay(Duration::from_millis(50))
        .set_max_delay(Duration::from_secs(1))
        .set_number_of_retries(4)
}

/// The configured CA and client certificate in redis-rs's form, when either is set.
#[cfg(feature = "tls")]
fn tls_certificates(config: &RedisConfig) -> Option<redis::TlsCertificates> {
    if config.tls_ca_pem.is_none() && config.tls_client_cert.is_none() {
        return None;
    }
    Some(redis::TlsCertificates {
        client_tls: config
            .tls_client_cert
            .as_ref()
            .map(|client| redis::ClientTlsConfig {
                client_cert: client.cert_pem.clone(),
                client_key: client.key_pem.clone(),
            }),
        root_cert: config.tls_ca_pem.clone(),
    })
}

/// The client for one standalone server, with the configured certificates.
pub(crate) fn open_client(
    info: ConnectionInfo,
    config: &RedisConfig,
) -> redis::RedisResult<redis::Client> {
    #[cfg(feature = "tls")]
    if let Some(certificates) = tls_certificates(config) {
        return redis::Client::build_with_tls(info, certificates);
    }
    // Without the feature `validate` has refused certificates: there is nothing to apply.
    #[cfg(not(feature = "tls"))]
    let _ = config;
    redis::Client::open(info)
}

/// Opens one plain connection before the connection manager: the manager retries every failed
/// connect, a refused password, database or certificate too, and would report one only after
/// its whole backoff, in redis-rs's generic words. A refusal is final, so it fails here at
/// once, by name. Any other failure is left to the manager, which retries it as before.
async fn check_acceptance(client: &redis::Client, config: &RedisConfig) -> cache_core::Result<()> {
    let probe = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(config.connect_timeout))
        .set_response_timeout(Some(config.response_timeout));
    let outcome = match client
        .get_multiplexed_async_connection_with_config(&probe)
        .await
    {
        // Without a password nothing is sent at connect: the first command meets `NOAUTH`.
        Ok(mut connection) => redis::cmd("PING").query_async::<()>(&mut connection).await,
        Err(error) => Err(error),
    };
    match outcome {
        Ok(()) => Ok(()),
        Err(error) => refusal(error, config).map_or(Ok(()), Err),
    }
}

/// The configuration error `error` amounts to, if the server refused the login or database,
/// or one side of a TLS handshake refused the other's certificate.
fn refusal(error: redis::RedisError, config: &RedisConfig) -> Option<cache_core::Error> {
    let text = error.to_string();
    let why = if error.kind() == redis::ErrorKind::AuthenticationFailed {
        let user = config.username.as_deref().unwrap_or("default");
        format!(
            "authentication failed (WRONGPASS): the server refused the password for user \
             `{user}`; check the configured password (REDIS_PASSWORD or the URL's)"
        )
    } else if text.contains("NOAUTH") || text.contains("Authentication required") {
        "authentication required (NOAUTH): the server needs a password and none is configured \
         (set REDIS_PASSWORD or put it in the URL)"
            .to_owned()
    } else if text.contains("switch database") && text.contains("out of range") {
        format!(
            "DB index {} out of range: the server has fewer databases (its `databases` \
             setting, 16 by default)",
            config.db
        )
    } else if text.contains("invalid peer certificate") {
        format!(
            "TLS: the server's certificate is not trusted ({text}); check the CA \
             (REDIS_TLS_CA / `tls_ca`) and the host name"
        )
    } else if text.contains("received fatal alert") {
        format!(
            "TLS: the server refused the handshake ({text}), most likely the client \
             certificate: Redis requires one unless `tls-auth-clients` is off \
             (REDIS_TLS_CERT / REDIS_TLS_KEY / `tls_client_cert`)"
        )
    } else {
        return None;
    };
    Some(
        cache_core::Error::new(
            cache_core::ErrorKind::Config,
            format!("redis connect: {why}"),
        )
        .with_source(error),
    )
}

#[cfg(feature = "tls")]
fn install_crypto_provider() {
    // Installing twice (or after the application did) is harmless: keep whichever came first.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The client for a standalone server, built without I/O; `None` for other topologies.
pub(crate) fn standalone_client(config: &RedisConfig) -> cache_core::Result<Option<redis::Client>> {
    match &config.topology {
        Topology::Standalone { host, port } => server_client(host, *port, config).map(Some),
        Topology::Cluster { .. } | Topology::Sentinel { .. } => Ok(None),
    }
}

fn server_client(host: &str, port: u16, config: &RedisConfig) -> cache_core::Result<redis::Client> {
    let info = node_info(host, port, config.tls, config).map_err(|e| from_redis(e, "connect"))?;
    open_client(info, config).map_err(|e| from_redis(e, "connect"))
}

/// How to reach one Cluster node (`host:port` as configured).
fn cluster_node_info(node: &str, config: &RedisConfig) -> redis::RedisResult<ConnectionInfo> {
    let (host, port) = split_node(node);
    let info = node_info(&host, port, config.tls, config)?;
    // A cluster has only database 0.
    let settings = info.redis_settings().clone().set_db(0);
    Ok(info.set_redis_settings(settings))
}

/// A client for one Cluster node on its own, for dedicated connections (pub/sub).
pub(crate) fn cluster_node_client(
    node: &str,
    config: &RedisConfig,
) -> redis::RedisResult<redis::Client> {
    open_client(cluster_node_info(node, config)?, config)
}

/// The `redis::Client` for dedicated connections: `client` (standalone), or the current
/// primary (Sentinel), or `None` (Cluster).
pub(crate) async fn dedicated_client(
    client: Option<&redis::Client>,
    connection: &RedisConnection,
) -> cache_core::Result<Option<redis::Client>> {
    if let Some(client) = client {
        return Ok(Some(client.clone()));
    }
    connection
        .current_client()
        .await
        .map_err(|e| from_redis(e, "client"))
}

/// A dedicated pub/sub connection to the server `client` names (standalone) or the current
/// primary (Sentinel), as [`RedisBackend::pubsub`](crate::RedisBackend::pubsub) opens it.
pub(crate) async fn open_pubsub(
    client: Option<&redis::Client>,
    connection: &RedisConnection,
) -> cache_core::Result<redis::aio::PubSub> {
    let client = dedicated_client(client, connection).await?.ok_or_else(|| {
        cache_core::Error::new(
            cache_core::ErrorKind::Unsupported,
            "pub/sub through the backend is not supported on a Cluster; use a ClusterClient",
        )
    })?;
    client
        .get_async_pubsub()
        .await
        .map_err(|e| from_redis(e, "pubsub"))
}

/// A pub/sub connection to the Cluster node `node` (`host:port`): classic pub/sub is broadcast
/// over the cluster bus, so a subscriber on any node hears a `PUBLISH` sent to any node.
pub(crate) async fn open_node_pubsub(
    node: &str,
    config: &RedisConfig,
) -> cache_core::Result<redis::aio::PubSub> {
    let client = cluster_node_client(node, config).map_err(|e| from_redis(e, "pubsub"))?;
    client
        .get_async_pubsub()
        .await
        .map_err(|e| from_redis(e, "pubsub"))
}

/// Opens the connection `config` describes.
pub(crate) async fn connect(config: &RedisConfig) -> cache_core::Result<Connected> {
    #[cfg(feature = "tls")]
    if config.tls {
        install_crypto_provider();
    }
    match &config.topology {
        Topology::Standalone { host, port } => {
            let client = server_client(host, *port, config)?;
            check_acceptance(&client, config).await?;
            let manager = client
                .get_connection_manager_with_config(manager_config(config))
                .await
                .map_err(|e| from_redis(e, "connect"))?;
            Ok(Connected {
                connection: RedisConnection {
                    inner: Inner::Standalone(manager),
                },
                client: Some(client),
            })
        }
        Topology::Cluster { nodes } => {
            let mut infos = Vec::with_capacity(nodes.len());
            for node in nodes {
                infos.push(cluster_node_info(node, config).map_err(|e| from_redis(e, "connect"))?);
            }
            let mut builder = ClusterClientBuilder::new(infos)
                .connection_timeout(config.connect_timeout)
                .response_timeout(config.response_timeout)
                .retries(config.retry.max_retries().max(1))
                .min_retry_wait(10)
                .max_retry_wait(500);
            if let Some(username) = &config.username {
                builder = builder.username(username);
            }
            if let Some(password) = &config.password {
                builder = builder.password(&password.0);
            }
            #[cfg(feature = "tls")]
            if let Some(certificates) = tls_certificates(config) {
                builder = builder.certs(certificates);
            }
            let client = builder.build().map_err(|e| from_redis(e, "connect"))?;
            let cluster = tokio::time::timeout(
                config.connect_timeout.saturating_mul(2) + config.response_timeout,
                client.get_async_connection(),
            )
            .await
            .map_err(|_| {
                cache_core::Error::new(
                    cache_core::ErrorKind::Timeout,
                    "connect: the cluster did not answer in time",
                )
            })?
            .map_err(|e| from_redis(e, "connect"))?;
            Ok(Connected {
                connection: RedisConnection {
                    inner: Inner::Cluster(cluster),
                },
                client: None,
            })
        }
        Topology::Sentinel { nodes, master_name } => {
            let sentinel = SentinelConnection::connect(config, nodes, master_name).await?;
            Ok(Connected {
                connection: RedisConnection {
                    inner: Inner::Sentinel(sentinel),
                },
                client: None,
            })
        }
    }
}

/// A primary found through Sentinel, re-resolved after a failover.
///
/// Holds a [`ConnectionManager`] to the current primary. When a command fails with a
/// connection error or `READONLY` / `MASTERDOWN` (a demoted primary), one background task
/// asks the sentinels for the primary again and swaps in a connection to it; commands issued
/// meanwhile keep using the old one (and may fail, which the backend's retry policy covers).
#[derive(Clone)]
struct SentinelConnection {
    shared: Arc<SentinelShared>,
    db: i64,
}

struct SentinelShared {
    client: tokio::sync::Mutex<SentinelClient>,
    current: RwLock<(ConnectionManager, redis::Client)>,
    refreshing: AtomicBool,
    manager_config: ConnectionManagerConfig,
    connect_timeout: Duration,
}

impl SentinelConnection {
    async fn connect(
        config: &RedisConfig,
        nodes: &[String],
        master_name: &str,
    ) -> cache_core::Result<Self> {
        let sentinels = nodes.iter().map(|node| {
            let (host, port) = split_node(node);
            ConnectionAddr::Tcp(host, port)
        });
        let mut builder =
            SentinelClientBuilder::new(sentinels, master_name, SentinelServerType::Master)
                .map_err(|e| from_redis(e, "connect"))?
                .set_client_to_redis_db(config.db);
        if let Some(username) = &config.username {
            builder = builder.set_client_to_redis_username(username);
        }
        if let Some(password) = &config.password {
            builder = builder.set_client_to_redis_password(&password.0);
        }
        #[cfg(feature = "tls")]
        if config.tls {
            builder = builder.set_client_to_redis_tls_mode(redis::TlsMode::Secure);
            if let Some(certificates) = tls_certificates(config) {
                builder = builder.set_client_to_redis_certificates(certificates);
            }
        }
        let mut client = builder.build().map_err(|e| from_redis(e, "connect"))?;
        let manager_config = manager_config(config);
        let (manager, master) = resolve(&mut client, &manager_config, config.connect_timeout)
            .await
            .map_err(|e| from_redis(e, "connect"))?;
        let connection = Self {
            shared: Arc::new(SentinelShared {
                client: tokio::sync::Mutex::new(client),
                current: RwLock::new((manager, master)),
                refreshing: AtomicBool::new(false),
                manager_config,
                connect_timeout: config.connect_timeout,
            }),
            db: config.db,
        };
        tokio::spawn(watch_switch_master(Arc::downgrade(&connection.shared)));
        Ok(connection)
    }

    fn manager(&self) -> ConnectionManager {
        match self.shared.current.read() {
            Ok(current) => current.0.clone(),
            Err(poisoned) => poisoned.into_inner().0.clone(),
        }
    }

    async fn current_client(&self) -> redis::RedisResult<redis::Client> {
        Ok(match self.shared.current.read() {
            Ok(current) => current.1.clone(),
            Err(poisoned) => poisoned.into_inner().1.clone(),
        })
    }

    /// Starts (at most one) background re-resolution of the primary.
    fn refresh_in_background(&self) {
        refresh_in_background(&self.shared);
    }

    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        Box::pin(async move {
            let mut manager = self.manager();
            let outcome = manager.req_packed_command(cmd).await;
            if outcome.as_ref().is_err_and(is_failover_error) {
                self.refresh_in_background();
            }
            outcome
        })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        Box::pin(async move {
            let mut manager = self.manager();
            let outcome = manager.req_packed_commands(pipeline, offset, count).await;
            if outcome.as_ref().is_err_and(is_failover_error) {
                self.refresh_in_background();
            }
            outcome
        })
    }
}

/// Asks the sentinels for the primary and connects to it, checking that it says it is one.
async fn resolve(
    client: &mut SentinelClient,
    config: &ConnectionManagerConfig,
    connect_timeout: Duration,
) -> redis::RedisResult<(ConnectionManager, redis::Client)> {
    let master = tokio::time::timeout(connect_timeout.saturating_mul(2), client.async_get_client())
        .await
        .map_err(|_| {
            redis::RedisError::from(std::io::Error::from(std::io::ErrorKind::TimedOut))
        })??;
    let mut manager = master
        .get_connection_manager_with_config(config.clone())
        .await?;
    // A just-demoted primary may still be listed for a moment; insist on the role.
    let role: Vec<Value> = redis::cmd("ROLE").query_async(&mut manager).await?;
    let is_master = matches!(role.first(), Some(Value::BulkString(role)) if role == b"master")
        || matches!(role.first(), Some(Value::SimpleString(role)) if role == "master");
    if !is_master {
        return Err(redis::RedisError::from((
            redis::ErrorKind::Server(redis::ServerErrorKind::ReadOnly),
            "the server the sentinels named is not a primary (yet)",
        )));
    }
    Ok((manager, master))
}

/// Starts (at most one) background re-resolution of the primary.
fn refresh_in_background(shared_ref: &Arc<SentinelShared>) {
    if shared_ref.refreshing.swap(true, Ordering::AcqRel) {
        return;
    }
    let shared = Arc::clone(shared_ref);
    let spawned = tokio::runtime::Handle::try_current().map(|handle| {
        handle.spawn(async move {
            let outcome = {
                let mut client = shared.client.lock().await;
                resolve(&mut client, &shared.manager_config, shared.connect_timeout).await
            };
            match outcome {
                Ok(fresh) => {
                    tracing::info!("sentinel: connected to the current primary");
                    match shared.current.write() {
                        Ok(mut current) => *current = fresh,
                        Err(poisoned) => *poisoned.into_inner() = fresh,
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "sentinel: could not resolve the primary; will retry on the next failure");
                }
            }
            shared.refreshing.store(false, Ordering::Release);
        })
    });
    if spawned.is_err() {
        shared_ref.refreshing.store(false, Ordering::Release);
    }
}

/// Listens on the sentinels' `+switch-master` channel and re-resolves the primary as soon as
/// a failover completes (a demoted primary can keep accepting writes for seconds before the
/// sentinels reconfigure it, so waiting for errors is not enough). Ends when the backend is
/// dropped; reconnects to a sentinel after errors.
async fn watch_switch_master(shared: std::sync::Weak<SentinelShared>) {
    loop {
        let Some(strong) = shared.upgrade() else {
            return;
        };
        let sentinel = {
            let mut client = strong.client.lock().await;
            client.async_get_sentinel_client().await
        };
        drop(strong);
        let pubsub = match sentinel {
            Ok(client) => match client.get_async_pubsub().await {
                Ok(mut pubsub) => match pubsub.subscribe("+switch-master").await {
                    Ok(()) => Some(pubsub),
                    Err(_) => None,
                },
                Err(_) => None,
            },
            Err(_) => None,
        };
        if let Some(pubsub) = pubsub {
            let mut messages = pubsub.into_on_message();
            loop {
                let next = tokio::time::timeout(Duration::from_secs(1), messages.next()).await;
                let Some(strong) = shared.upgrade() else {
                    return;
                };
                match next {
                    Ok(Some(_switch)) => {
                        tracing::info!("sentinel: +switch-master; following the new primary");
                        refresh_in_background(&strong);
                    }
                    Ok(None) => break,
                    Err(_idle) => {}
                }
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
