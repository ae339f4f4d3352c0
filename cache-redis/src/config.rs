//! [`RedisConfig`]: where the server is, how to log in, timeouts, prefix, retries.

use std::fmt;
use std::time::Duration;

use cache_core::{Error, ErrorKind, Result};

/// Which kind of deployment [`RedisBackend`](crate::RedisBackend) talks to.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Topology {
    /// One server (or a primary behind a load balancer), reached at `host:port`.
    Standalone {
        /// Host name or IP address.
        host: String,
        /// TCP port.
        port: u16,
    },
    /// A Redis Cluster: any reachable subset of its nodes, as `host:port`; the client discovers
    /// the rest and follows slot moves.
    Cluster {
        /// Seed nodes, `host:port` each.
        nodes: Vec<String>,
    },
    /// A primary monitored by Sentinel: the client asks the sentinels for the current primary
    /// and asks again after a failover.
    Sentinel {
        /// Sentinel nodes, `host:port` each.
        nodes: Vec<String>,
        /// The name the sentinels monitor the primary under (`sentinel monitor <name> ...`).
        master_name: String,
    },
}

impl fmt::Debug for Topology {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Standalone { host, port } => write!(f, "Standalone({host}:{port})"),
            Self::Cluster { nodes } => f.debug_tuple("Cluster").field(nodes).finish(),
            Self::Sentinel { nodes, master_name } => f
                .debug_struct("Sentinel")
                .field("nodes", nodes)
                .field("master_name", master_name)
                .finish(),
        }
    }
}

/// How [`RedisBackend`](crate::RedisBackend) retries an operation that failed on the way to
/// the server.
///
/// Only idempotent operations are retried (`get`, `set`, `delete`, `exists`, `ttl`, `expire`,
/// the batch forms, `ping`); `increment` and `set_if_absent` never are, since a request that
/// timed out may still have been executed. Only errors that say nothing about the data are
/// retried: a dropped or refused connection, `TRYAGAIN`, `CLUSTERDOWN`, `LOADING`,
/// `MASTERDOWN` and `READONLY` (a demoted primary after a failover). A timeout is **not**
/// retried: a server that did not answer in time is unlikely to answer the next attempt, and
/// callers asked for bounded latency.
///
/// The delay before retry `n` (from 1) is `min(max_backoff, initial_backoff * 2^(n-1))`.
///
/// ```
/// use std::time::Duration;
/// use cache_redis::RetryPolicy;
///
/// let retry = RetryPolicy::new(3, Duration::from_millis(20), Duration::from_millis(200));
/// assert_eq!(retry.max_retries(), 3);
/// assert_eq!(RetryPolicy::none().max_retries(), 0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    max_retries: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
}

impl RetryPolicy {
    /// Up to `max_retries` retries after the first attempt, waiting `initial_backoff`, then
    /// twice as long each time, at most `max_backoff`.
    #[must_use]
    pub const fn new(max_retries: u32, initial_backoff: Duration, max_backoff: Duration) -> Self {
        Self {
            max_retries,
            initial_backoff,
            max_backoff,
        }
    }

    /// No retries: every failure is returned at once.
    #[must_use]
    pub const fn none() -> Self {
        Self::new(0, Duration::ZERO, Duration::ZERO)
    }

    /// How many retries follow the first attempt.
    #[must_use]
    pub const fn max_retries(&self) -> u32 {
        self.max_retries
    }

    /// The wait before retry number `retry` (1-based).
    #[must_use]
    pub fn backoff(&self, retry: u32) -> Duration {
        let factor = 1u32 << retry.saturating_sub(1).min(16);
        self.initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }
}

impl Default for RetryPolicy {
    /// 2 retries, 25 ms then 50 ms apart (capped at 250 ms).
    fn default() -> Self {
        Self::new(2, Duration::from_millis(25), Duration::from_millis(250))
    }
}

/// A password (or any secret): shown as `"***"` by `Debug`, never logged.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Secret(pub(crate) String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

/// A client certificate chain and its private key, PEM; the key is never shown.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct ClientCert {
    pub(crate) cert_pem: Vec<u8>,
    pub(crate) key_pem: Vec<u8>,
}

impl fmt::Debug for ClientCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{{ cert: {} bytes of PEM, key: \"***\" }}",
            self.cert_pem.len()
        )
    }
}

/// Everything [`RedisBackend::connect`](crate::RedisBackend::connect) needs.
///
/// Build it from a URL, from parts, or from the environment ([`from_env`](Self::from_env)),
/// then adjust with the chainable setters. Nothing connects until
/// [`RedisBackend::connect`](crate::RedisBackend::connect).
///
/// | setting | default |
/// |---|---|
/// | server | `127.0.0.1:6379`, database 0, no login |
/// | [`connect_timeout`](Self::connect_timeout) | 1 s |
/// | [`response_timeout`](Self::response_timeout) | 1 s |
/// | [`key_prefix`](Self::key_prefix) | none |
/// | [`default_ttl`](Self::default_ttl) | none (writes without a TTL never expire) |
/// | [`retry`](Self::retry) | [`RetryPolicy::default`] |
///
/// The password never appears in `Debug` output, errors or logs:
///
/// ```
/// use cache_redis::RedisConfig;
///
/// let config = RedisConfig::from_url("redis://app:s3cret@cache.internal:6380/2")?
///     .key_prefix("myapp:");
/// let shown = format!("{config:?}");
/// assert!(shown.contains(r#"password: Some("***")"#));
/// assert!(!shown.contains("s3cret"));
/// # Ok::<(), cache_core::Error>(())
/// ```
#[derive(Clone)]
pub struct RedisConfig {
    pub(crate) topology: Topology,
    pub(crate) db: i64,
    pub(crate) username: Option<String>,
    pub(crate) password: Option<Secret>,
    pub(crate) tls: bool,
    pub(crate) tls_ca_pem: Option<Vec<u8>>,
    pub(crate) tls_client_cert: Option<ClientCert>,
    pub(crate) connect_timeout: Duration,
    pub(crate) response_timeout: Duration,
    pub(crate) key_prefix: String,
    pub(crate) default_ttl: Option<Duration>,
    pub(crate) retry: RetryPolicy,
    pub(crate) allow_unprefixed_clear: bool,
    pub(crate) near_cache: Option<usize>,
    pub(crate) near_heartbeat: Duration,
}

impl fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisConfig")
            .field("topology", &self.topology)
            .field("db", &self.db)
            .field("username", &self.username)
            .field("password", &self.password)
            .field("tls", &self.tls)
            .field(
                "tls_ca",
                &self
                    .tls_ca_pem
                    .as_ref()
                    .map(|pem| format!("{} bytes of PEM", pem.len())),
            )
            .field("tls_client_cert", &self.tls_client_cert)
            .field("connect_timeout", &self.connect_timeout)
            .field("response_timeout", &self.response_timeout)
            .field("key_prefix", &self.key_prefix)
            .field("default_ttl", &self.default_ttl)
            .field("retry", &self.retry)
            .field("allow_unprefixed_clear", &self.allow_unprefixed_clear)
            .field("near_cache", &self.near_cache)
            .field("near_heartbeat", &self.near_heartbeat)
            .finish()
    }
}

impl Default for RedisConfig {
    fn default() -> Self {
        Self::new("127.0.0.1", 6379)
    }
}

/// The characters a key prefix is expected to end in (see [`RedisConfig::key_prefix`]).
pub const PREFIX_SEPARATORS: [char; 6] = [':', '.', '/', '-', '_', '|'];

/// The environment variables [`RedisConfig::from_env`] reads.
pub const ENV_VARS: [&str; 11] = [
    "REDIS_URL",
    "REDIS_HOST",
    "REDIS_PORT",
    "REDIS_PASSWORD",
    "REDIS_DB",
    "REDIS_KEY_PREFIX",
    "REDIS_DEFAULT_TTL",
    "REDIS_TLS_CA",
    "REDIS_TLS_CERT",
    "REDIS_TLS_KEY",
    "REDIS_NEAR_CACHE",
];

impl RedisConfig {
    /// A standalone server at `host:port`, database 0, no login, default settings.
    ///
    /// ```
    /// let config = cache_redis::RedisConfig::new("127.0.0.1", 6379).db(1);
    /// # let _ = config;
    /// ```
    #[must_use]
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        Self {
            topology: Topology::Standalone {
                host: host.into(),
                port,
            },
            db: 0,
            username: None,
            password: None,
            tls: false,
            tls_ca_pem: None,
            tls_client_cert: None,
            connect_timeout: Duration::from_secs(1),
            response_timeout: Duration::from_secs(1),
            key_prefix: String::new(),
            default_ttl: None,
            retry: RetryPolicy::default(),
            allow_unprefixed_clear: false,
            near_cache: None,
            near_heartbeat: Duration::from_millis(500),
        }
    }

    /// A standalone server from a URL: `redis://[[username]:password@]host[:port][/db]`, or
    /// `rediss://...` for TLS (needs this crate's `tls` feature). User name and password may be
    /// percent-encoded.
    ///
    /// A query string or fragment (`?protocol=resp3`, `#insecure`, ...) is refused rather than
    /// ignored: this crate applies none of them, and a setting that silently does nothing is
    /// worse than an error. Use the setters instead.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`] for a URL that does not parse, an unknown scheme, a bad port or
    /// database, a query string or fragment, or `rediss://` without the `tls` feature. The
    /// message never contains the password.
    ///
    /// ```
    /// use cache_redis::RedisConfig;
    ///
    /// assert!(RedisConfig::from_url("redis://localhost:6380/3").is_ok());
    /// assert!(RedisConfig::from_url("http://localhost").is_err());
    /// assert!(RedisConfig::from_url("redis://localhost/?protocol=resp3").is_err());
    /// ```
    pub fn from_url(url: &str) -> Result<Self> {
        parse_url(url, "the Redis URL")
    }

    /// A Redis Cluster reached through any of `nodes` (`host:port` or `redis://host:port`).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`] if `nodes` is empty or a node is not `host:port`.
    ///
    /// ```
    /// let config = cache_redis::RedisConfig::cluster(["127.0.0.1:7000", "127.0.0.1:7001"])?;
    /// # let _ = config; Ok::<(), cache_core::Error>(())
    /// ```
    pub fn cluster<I, S>(nodes: I) -> Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let nodes = parse_nodes(nodes, "cluster node")?;
        Ok(Self {
            topology: Topology::Cluster { nodes },
            ..Self::default()
        })
    }

    /// A primary named `master_name`, found through the sentinels at `nodes` (`host:port`).
    /// The login set with [`username`](Self::username) / [`password`](Self::password) is used
    /// for the data nodes; the sentinels are reached without one.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`] if `nodes` is empty, a node is not `host:port`, or the name is
    /// empty.
    ///
    /// ```
    /// let config = cache_redis::RedisConfig::sentinel(["127.0.0.1:26379"], "mymaster")?;
    /// # let _ = config; Ok::<(), cache_core::Error>(())
    /// ```
    pub fn sentinel<I, S>(nodes: I, master_name: impl Into<String>) -> Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let nodes = parse_nodes(nodes, "sentinel node")?;
        let master_name = master_name.into();
        if master_name.trim().is_empty() {
            return Err(Error::new(
                ErrorKind::Config,
                "the sentinel master name is empty",
            ));
        }
        Ok(Self {
            topology: Topology::Sentinel { nodes, master_name },
            ..Self::default()
        })
    }

    /// Reads the configuration from the environment:
    ///
    /// | variable | meaning |
    /// |---|---|
    /// | `REDIS_URL` | a URL as for [`from_url`](Self::from_url); wins over host, port, password and db when set; set but empty is an error |
    /// | `REDIS_HOST` | host name (default `127.0.0.1`) |
    /// | `REDIS_PORT` | port, 1–65535 (default 6379) |
    /// | `REDIS_PASSWORD` | password (default none; an empty value means none) |
    /// | `REDIS_DB` | database number, ≥ 0 (default 0) |
    /// | `REDIS_KEY_PREFIX` | prefix put in front of every key, as is (default none; see [`key_prefix`](Self::key_prefix) for the separator) |
    /// | `REDIS_DEFAULT_TTL` | seconds, > 0, for writes that give no TTL (default none) |
    /// | `REDIS_NEAR_CACHE` | entries, > 0: turns the near cache on with that bound ([`near_cache`](Self::near_cache); default off) |
    /// | `REDIS_TLS_CA` | path of a PEM file of CA certificates to trust instead of the system's ([`tls_ca`](Self::tls_ca)) |
    /// | `REDIS_TLS_CERT`, `REDIS_TLS_KEY` | paths of a PEM client certificate (chain) and its key, both or neither ([`tls_client_cert`](Self::tls_client_cert)) |
    ///
    /// The `REDIS_TLS_*` files are read here, and need TLS on: a `rediss://` `REDIS_URL`.
    ///
    /// Unset and empty variables take the default, except `REDIS_URL`: an empty one is most
    /// likely a URL lost on the way (an unset variable in a template), and falling back to
    /// `127.0.0.1:6379` would quietly use the wrong server.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`] naming the variable, for a value that does not parse, an empty
    /// `REDIS_URL`, a `REDIS_TLS_*` file that cannot be read, only one of `REDIS_TLS_CERT` and
    /// `REDIS_TLS_KEY`, or `REDIS_TLS_*` without TLS. A bad `REDIS_PASSWORD` cannot happen; a bad `REDIS_URL` is reported without
    /// its password.
    ///
    /// ```no_run
    /// # async fn run() -> cache_core::Result<()> {
    /// let backend = cache_redis::RedisBackend::connect(cache_redis::RedisConfig::from_env()?).await?;
    /// cache_core::set_global_backend(backend);
    /// # Ok(()) }
    /// ```
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`from_env`](Self::from_env), reading variables through `lookup` instead of the
    /// process environment (for tests, or a `.env` map).
    ///
    /// # Errors
    ///
    /// As [`from_env`](Self::from_env).
    ///
    /// ```
    /// use std::collections::HashMap;
    /// use cache_redis::RedisConfig;
    ///
    /// let vars = HashMap::from([("REDIS_PORT", "not-a-port")]);
    /// let err = RedisConfig::from_lookup(|name| vars.get(name).map(|v| v.to_string())).unwrap_err();
    /// assert!(err.to_string().contains("REDIS_PORT"));
    /// ```
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let var = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let mut config = match lookup("REDIS_URL") {
            Some(url) if url.trim().is_empty() => {
                return Err(Error::new(
                    ErrorKind::Config,
                    "REDIS_URL is set but empty; unset it to use REDIS_HOST / REDIS_PORT \
                     (default 127.0.0.1:6379)",
                ));
            }
            Some(url) => parse_url(url.trim(), "REDIS_URL")?,
            None => {
                let host = var("REDIS_HOST")
                    .map_or_else(|| "127.0.0.1".to_owned(), |h| h.trim().to_owned());
                let port = match var("REDIS_PORT") {
                    Some(port) => parse_port(port.trim()).ok_or_else(|| {
                        Error::new(
                            ErrorKind::Config,
                            format!(
                                "REDIS_PORT must be a port number (1-65535), got `{}`",
                                port.trim()
                            ),
                        )
                    })?,
                    None => 6379,
                };
                let mut config = Self::new(host, port);
                if let Some(password) = lookup("REDIS_PASSWORD").filter(|p| !p.is_empty()) {
                    config.password = Some(Secret(password));
                }
                if let Some(db) = var("REDIS_DB") {
                    config.db = parse_db(db.trim()).ok_or_else(|| {
                        Error::new(
                            ErrorKind::Config,
                            format!(
                                "REDIS_DB must be a database number (0 or more), got `{}`",
                                db.trim()
                            ),
                        )
                    })?;
                }
                config
            }
        };
        if let Some(prefix) = lookup("REDIS_KEY_PREFIX").filter(|p| !p.is_empty()) {
            config = config.key_prefix(prefix);
        }
        if let Some(ttl) = var("REDIS_DEFAULT_TTL") {
            let seconds = ttl.trim().parse::<u64>().ok().filter(|s| *s > 0).ok_or_else(|| {
                Error::new(
                    ErrorKind::Config,
                    format!(
                        "REDIS_DEFAULT_TTL must be a whole number of seconds greater than 0, got `{}`",
                        ttl.trim()
                    ),
                )
            })?;
            config.default_ttl = Some(Duration::from_secs(seconds));
        }
        if let Some(entries) = var("REDIS_NEAR_CACHE") {
            let entries = entries
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| {
                    Error::new(
                        ErrorKind::Config,
                        format!(
                            "REDIS_NEAR_CACHE must be a number of entries greater than 0, got `{}`",
                            entries.trim()
                        ),
                    )
                })?;
            config = config.near_cache(entries);
        }
        let read_pem = |name: &str| -> Result<Option<Vec<u8>>> {
            let Some(path) = var(name) else {
                return Ok(None);
            };
            let path = path.trim();
            std::fs::read(path).map(Some).map_err(|error| {
                Error::new(
                    ErrorKind::Config,
                    format!("{name}: cannot read the PEM file `{path}`: {error}"),
                )
            })
        };
        if let Some(ca) = read_pem("REDIS_TLS_CA")? {
            config = config.tls_ca(ca);
        }
        match (read_pem("REDIS_TLS_CERT")?, read_pem("REDIS_TLS_KEY")?) {
            (Some(cert), Some(key)) => config = config.tls_client_cert(cert, key),
            (None, None) => {}
            (cert, _) => {
                let (set, unset) = if cert.is_some() {
                    ("REDIS_TLS_CERT", "REDIS_TLS_KEY")
                } else {
                    ("REDIS_TLS_KEY", "REDIS_TLS_CERT")
                };
                return Err(Error::new(
                    ErrorKind::Config,
                    format!("{set} is set but {unset} is not: a client certificate needs both"),
                ));
            }
        }
        config.validate()?;
        Ok(config)
    }

    /// Selects database `db` (standalone and Sentinel; a Cluster only has database 0).
    #[must_use]
    pub fn db(mut self, db: i64) -> Self {
        self.db = db;
        self
    }

    /// Logs in as `username` (Redis 6 ACL). Without it, `AUTH <password>` logs in as `default`.
    #[must_use]
    pub fn username(mut self, username: impl Into<String>) -> Self {
        self.username = Some(username.into());
        self
    }

    /// Logs in with `password`. Never shown by `Debug` or in logs.
    #[must_use]
    pub fn password(mut self, password: impl Into<String>) -> Self {
        self.password = Some(Secret(password.into()));
        self
    }

    /// Uses TLS (`rediss://`) for data connections. Needs this crate's `tls` feature;
    /// without it, [`RedisBackend::connect`](crate::RedisBackend::connect) fails with
    /// [`ErrorKind::Config`] (and [`from_url`](Self::from_url) refuses `rediss://`).
    #[must_use]
    pub fn tls(mut self, tls: bool) -> Self {
        self.tls = tls;
        self
    }

    /// Trusts only the CA certificates in `ca_pem` (PEM, one or more) for the server's
    /// certificate, instead of the system's root certificates: for a private CA. Needs TLS
    /// on ([`tls`](Self::tls) or `rediss://`).
    ///
    /// ```
    /// # let ca_pem = b"-----BEGIN CERTIFICATE-----\n...".to_vec();
    /// let config = cache_redis::RedisConfig::from_url("rediss://cache.internal:6380")?
    ///     .tls_ca(ca_pem);
    /// # let _ = config; Ok::<(), cache_core::Error>(())
    /// ```
    #[must_use]
    pub fn tls_ca(mut self, ca_pem: impl Into<Vec<u8>>) -> Self {
        self.tls_ca_pem = Some(ca_pem.into());
        self
    }

    /// Presents the client certificate `cert_pem` (PEM, the chain) with its private key
    /// `key_pem` (PEM) to the server, which Redis requires unless `tls-auth-clients` is off.
    /// Needs TLS on. The key is never shown by `Debug`.
    #[must_use]
    pub fn tls_client_cert(
        mut self,
        cert_pem: impl Into<Vec<u8>>,
        key_pem: impl Into<Vec<u8>>,
    ) -> Self {
        self.tls_client_cert = Some(ClientCert {
            cert_pem: cert_pem.into(),
            key_pem: key_pem.into(),
        });
        self
    }

    /// How long to wait for a connection to be established (default 1 s).
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long to wait for the answer to one command (default 1 s). Every operation of the
    /// backend answers within about this time (plus the connect timeout while reconnecting,
    /// plus retries), also when the server hangs.
    #[must_use]
    pub fn response_timeout(mut self, timeout: Duration) -> Self {
        self.response_timeout = timeout;
        self
    }

    /// Puts `prefix` in front of every key the backend reads or writes (e.g. `"myapp:"`), and
    /// limits [`clear`](cache_core::CacheBackend::clear) and
    /// [`delete_pattern`](cache_core::CacheBackend::delete_pattern) to keys under it.
    ///
    /// The prefix is used exactly as given: nothing is inserted between it and the key, so
    /// end it in a separator. A non-empty prefix whose last character is none of
    /// [`PREFIX_SEPARATORS`] (`:` `.` `/` `-` `_` `|`) is kept as is but logged once here with
    /// `tracing::warn!`: `"myapp"` makes the key `user:7` read `myappuser:7`, and the warning
    /// suggests `"myapp:"`.
    ///
    /// Keep `{` and `}` out of a prefix used on a Cluster: a hash tag in the prefix would put
    /// every key in one slot.
    ///
    /// ```
    /// let config = cache_redis::RedisConfig::default().key_prefix("myapp:");
    /// assert_eq!(config.prefix(), "myapp:");
    /// ```
    #[must_use]
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = prefix.into();
        if !self.key_prefix.is_empty() && !self.key_prefix.ends_with(PREFIX_SEPARATORS) {
            let prefix = &self.key_prefix;
            tracing::warn!(
                "the key prefix `{prefix}` does not end in a separator, so the key `user:7` \
                 will read `{prefix}user:7`; use `{prefix}:` if you meant `{prefix}:user:7`"
            );
        }
        self
    }

    /// A TTL for writes that carry none (`ttl: None`), such as `#[cached]` functions without a
    /// `ttl`. Unset by default: such writes never expire, as the
    /// [`CacheBackend`](cache_core::CacheBackend) contract says. A zero TTL is rejected by
    /// [`RedisBackend::connect`](crate::RedisBackend::connect).
    #[must_use]
    pub fn default_ttl(mut self, ttl: Option<Duration>) -> Self {
        self.default_ttl = ttl;
        self
    }

    /// How failed idempotent operations are retried (see [`RetryPolicy`]).
    #[must_use]
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Lets [`clear`](cache_core::CacheBackend::clear) run without a key prefix, removing
    /// **every key of the database** (by `SCAN` + `UNLINK`, on every primary of a Cluster).
    ///
    /// Off by default: on a shared server, a prefix-less clear would wipe other
    /// applications' data, so it fails with [`ErrorKind::InvalidInput`] unless allowed here.
    #[must_use]
    pub fn allow_unprefixed_clear(mut self, allow: bool) -> Self {
        self.allow_unprefixed_clear = allow;
        self
    }

    /// Keeps up to `max_entries` values read through the backend in process, so that a hit
    /// costs no round trip and, for `#[cached]` functions, no decode: a **near cache**, kept
    /// coherent by the server (RESP3 client tracking on a connection of its own). Off by
    /// default; standalone servers only (a Cluster or Sentinel configuration with it is
    /// refused by [`RedisBackend::connect`](crate::RedisBackend::connect)).
    ///
    /// The guarantee: a value is served from process memory only while the server has
    /// promised to report every change to its key, and a report drops it before any later
    /// read returns. When that promise may be broken (the tracking connection closes or is
    /// killed, or a heartbeat `PING` goes unanswered), the near cache is emptied and reads go
    /// to the server until tracking is back. A copy is therefore never served more than
    /// [`near_heartbeat`](Self::near_heartbeat) plus the response timeout after the server
    /// could last report a change. Writes through the backend drop the local copy before they
    /// return, so a process always reads its own writes.
    ///
    /// ```
    /// use cache_redis::RedisConfig;
    /// let config = RedisConfig::new("127.0.0.1", 6379).near_cache(10_000);
    /// assert_eq!(config.near_cache_entries(), Some(10_000));
    /// ```
    #[must_use]
    pub fn near_cache(mut self, max_entries: usize) -> Self {
        self.near_cache = Some(max_entries);
        self
    }

    /// How often the near cache checks that its tracking connection still answers (default
    /// 500 ms): with the response timeout, the bound on how long a copy can be served after
    /// the server stopped being able to report changes.
    #[must_use]
    pub fn near_heartbeat(mut self, interval: Duration) -> Self {
        self.near_heartbeat = interval;
        self
    }

    /// The near cache's bound, if it is on (see [`near_cache`](Self::near_cache)).
    #[must_use]
    pub fn near_cache_entries(&self) -> Option<usize> {
        self.near_cache
    }

    /// The deployment this configuration points at.
    #[must_use]
    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// The key prefix (empty for none).
    #[must_use]
    pub fn prefix(&self) -> &str {
        &self.key_prefix
    }

    /// The TTL for writes that carry none, as set by [`default_ttl`](Self::default_ttl).
    /// Not called `default_ttl()`: that name is the setter's.
    ///
    /// ```
    /// use std::time::Duration;
    /// let config = cache_redis::RedisConfig::default().default_ttl(Some(Duration::from_secs(60)));
    /// assert_eq!(config.fallback_ttl(), Some(Duration::from_secs(60)));
    /// ```
    #[must_use]
    pub fn fallback_ttl(&self) -> Option<Duration> {
        self.default_ttl
    }

    /// The database number, as set by [`db`](Self::db) (whose name this getter cannot share)
    /// or the URL's path.
    ///
    /// ```
    /// let config = cache_redis::RedisConfig::from_url("redis://localhost/3")?;
    /// assert_eq!(config.database(), 3);
    /// # Ok::<(), cache_core::Error>(())
    /// ```
    #[must_use]
    pub fn database(&self) -> i64 {
        self.db
    }

    /// Whether a password is set (the password itself is not readable back).
    #[must_use]
    pub fn has_password(&self) -> bool {
        self.password.is_some()
    }

    /// Checks the settings that can be checked without a server.
    pub(crate) fn validate(&self) -> Result<()> {
        if self.default_ttl.is_some_and(|ttl| ttl.is_zero()) {
            return Err(Error::new(
                ErrorKind::Config,
                "the default TTL is zero; use `None` for no default TTL",
            ));
        }
        if self.connect_timeout.is_zero() || self.response_timeout.is_zero() {
            return Err(Error::new(
                ErrorKind::Config,
                "connect and response timeouts must be greater than zero",
            ));
        }
        if let Some(entries) = self.near_cache {
            if entries == 0 {
                return Err(Error::new(
                    ErrorKind::Config,
                    "the near cache needs room for at least one entry; leave it off instead",
                ));
            }
            if !matches!(self.topology, Topology::Standalone { .. }) {
                return Err(Error::new(
                    ErrorKind::Config,
                    "the near cache needs a standalone server: on a Cluster or behind Sentinel the \
                     client cannot yet tell which node an invalidation came from, or re-track \
                     after a failover",
                ));
            }
            if self.near_heartbeat.is_zero() {
                return Err(Error::new(
                    ErrorKind::Config,
                    "the near cache's heartbeat interval must be greater than zero",
                ));
            }
        }
        if self.db < 0 {
            return Err(Error::new(
                ErrorKind::Config,
                format!("the database number must be 0 or more, got {}", self.db),
            ));
        }
        if self.tls && !cfg!(feature = "tls") {
            return Err(tls_feature_missing("the configuration"));
        }
        if !self.tls && (self.tls_ca_pem.is_some() || self.tls_client_cert.is_some()) {
            // They would be ignored on a plain connection.
            return Err(Error::new(
                ErrorKind::Config,
                "a TLS CA or client certificate is set but TLS is off: use a `rediss://` URL \
                 or `.tls(true)`",
            ));
        }
        Ok(())
    }
}

/// The error for TLS asked for (by `source`) in a build without the `tls` feature.
fn tls_feature_missing(source: &str) -> Error {
    Error::new(
        ErrorKind::Config,
        format!(
            "{source} asks for TLS (rediss://), which needs the `tls` feature of cache-redis: \
             enable it with `cache-redis = {{ version = \"0.1\", features = [\"tls\"] }}`"
        ),
    )
}

fn parse_port(text: &str) -> Option<u16> {
    text.parse::<u16>().ok().filter(|port| *port != 0)
}

fn parse_db(text: &str) -> Option<i64> {
    text.parse::<i64>().ok().filter(|db| *db >= 0)
}

/// Splits `host:port` (IPv6 as `[::1]:port`), with an optional `redis://` in front.
fn parse_node(node: &str) -> Option<(String, u16)> {
    let node = node.trim();
    let node = node.strip_prefix("redis://").unwrap_or(node);
    let node = node.trim_end_matches('/');
    let (host, port) = node.rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return None;
    }
    Some((host.to_owned(), parse_port(port)?))
}

fn parse_nodes<I, S>(nodes: I, what: &str) -> Result<Vec<String>>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut parsed = Vec::new();
    for node in nodes {
        let node = node.as_ref();
        let (host, port) = parse_node(node).ok_or_else(|| {
            Error::new(
                ErrorKind::Config,
                format!("{what} `{node}` is not `host:port`"),
            )
        })?;
        parsed.push(join_host_port(&host, port));
    }
    if parsed.is_empty() {
        return Err(Error::new(ErrorKind::Config, format!("no {what} given")));
    }
    Ok(parsed)
}

pub(crate) fn join_host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Parses a `redis://` / `rediss://` URL by hand, so that errors can be worded without the
/// password and `rediss://` can be recognised with or without TLS support compiled in.
fn parse_url(url: &str, source: &str) -> Result<RedisConfig> {
    // A query string can carry secrets too (`?password=`): messages show the URL without it.
    let (url, extra) = match url.find(['?', '#']) {
        Some(start) => (&url[..start], Some(&url[start..])),
        None => (url, None),
    };
    if extra.is_some_and(|extra| extra.contains('@')) {
        // The `?` or `#` sits in the user info, so any part of the URL may be the password.
        return Err(Error::new(
            ErrorKind::Config,
            format!(
                "{source} is invalid: a `?` or `#` in the user name or password must be \
                 percent-encoded (`%3F`, `%23`)"
            ),
        ));
    }
    let bad = |why: &str| {
        Error::new(
            ErrorKind::Config,
            format!("{source} `{}` is invalid: {why}", redact_url(url)),
        )
    };
    let (tls, rest) = if let Some(rest) = url.strip_prefix("redis://") {
        (false, rest)
    } else if let Some(rest) = url.strip_prefix("rediss://") {
        (true, rest)
    } else {
        return Err(bad("expected `redis://` or `rediss://`"));
    };
    if let Some(extra) = extra {
        // Only the name: a value may be a secret.
        let name = extra[1..].split(['=', '&', '#']).next().unwrap_or_default();
        let what = if extra.starts_with('?') {
            format!("the query parameter `{name}`")
        } else {
            format!("the fragment `#{name}`")
        };
        return Err(bad(&format!(
            "{what} is not applied by cache-redis (it reads only user, password, host, port \
             and database from a URL); remove it and use the RedisConfig setters"
        )));
    }
    if tls && !cfg!(feature = "tls") {
        return Err(tls_feature_missing(source));
    }
    // The last `@` ends the user info, even if an unencoded password holds `/` or `@`.
    let (userinfo, hostpath) = match rest.rfind('@') {
        Some(at) => (Some(&rest[..at]), &rest[at + 1..]),
        None => (None, rest),
    };
    let (hostport, path) = match hostpath.find('/') {
        Some(slash) => (&hostpath[..slash], &hostpath[slash + 1..]),
        None => (hostpath, ""),
    };
    let (host, port) = if hostport.starts_with('[') {
        let end = hostport
            .find(']')
            .ok_or_else(|| bad("unclosed `[` in the host"))?;
        let host = &hostport[1..end];
        let port = match hostport[end + 1..].strip_prefix(':') {
            Some(port) => {
                parse_port(port).ok_or_else(|| bad("the port is not a number in 1-65535"))?
            }
            None => 6379,
        };
        (host.to_owned(), port)
    } else {
        match hostport.rsplit_once(':') {
            Some((host, port)) => (
                host.to_owned(),
                parse_port(port).ok_or_else(|| bad("the port is not a number in 1-65535"))?,
            ),
            None => (hostport.to_owned(), 6379),
        }
    };
    if host.is_empty() {
        return Err(bad("the host is missing"));
    }
    let db = match path.trim_end_matches('/') {
        "" => 0,
        db => parse_db(db).ok_or_else(|| bad("the database is not a number of 0 or more"))?,
    };
    let mut config = RedisConfig::new(host, port).db(db).tls(tls);
    if let Some(userinfo) = userinfo {
        let (user, password) = match userinfo.split_once(':') {
            Some((user, password)) => (user, Some(password)),
            None => (userinfo, None),
        };
        let user =
            percent_decode(user).ok_or_else(|| bad("the user name is badly percent-encoded"))?;
        if !user.is_empty() {
            config.username = Some(user);
        }
        if let Some(password) = password {
            let password = percent_decode(password)
                .ok_or_else(|| bad("the password is badly percent-encoded"))?;
            if !password.is_empty() {
                config.password = Some(Secret(password));
            }
        }
    }
    Ok(config)
}

/// The URL with any password replaced by `***`, for messages.
pub(crate) fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        // Not a URL we understand; show nothing that could be a secret.
        return if url.contains('@') {
            "***".to_owned()
        } else {
            url.to_owned()
        };
    };
    let after = &url[scheme_end + 3..];
    match after.rfind('@') {
        Some(at) => {
            let userinfo = &after[..at];
            let shown_user = match userinfo.split_once(':') {
                Some((user, _)) if !user.contains('/') => format!("{user}:***"),
                // `redis://secret@host` is a password-only URL in redis-rs.
                _ => "***".to_owned(),
            };
            format!(
                "{}{}@{}",
                &url[..scheme_end + 3],
                shown_user,
                &after[at + 1..]
            )
        }
        None => url.to_owned(),
    }
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn url_parts() {
        let c = RedisConfig::from_url("redis://user:p%40ss@example.com:6390/4").unwrap();
        assert_eq!(
            c.topology,
            Topology::Standalone {
                host: "example.com".into(),
                port: 6390
            }
        );
        assert_eq!(c.db, 4);
        assert_eq!(c.username.as_deref(), Some("user"));
        assert_eq!(c.password.as_ref().map(|p| p.0.as_str()), Some("p@ss"));
        assert!(!c.tls);
        let c = RedisConfig::from_url("redis://:pw@[::1]").unwrap();
        assert_eq!(c.username, None);
        assert_eq!(
            c.topology,
            Topology::Standalone {
                host: "::1".into(),
                port: 6379
            }
        );
    }

    #[cfg(feature = "tls")]
    #[test]
    fn rediss_means_tls() {
        let c = RedisConfig::from_url("rediss://:pw@[::1]").unwrap();
        assert!(c.tls);
        assert!(RedisConfig::default().tls(true).validate().is_ok());
    }

    /// Without the feature, TLS fails where it is asked for: in the URL, or at connect for the
    /// setter. (`cargo test -p cache-redis` builds without it; the workspace build enables it.)
    #[cfg(not(feature = "tls"))]
    #[test]
    fn tls_without_the_feature_says_which_feature() {
        let from_url = RedisConfig::from_url("rediss://:hunter2@[::1]").unwrap_err();
        let from_setter = RedisConfig::default().tls(true).validate().unwrap_err();
        for err in [from_url, from_setter] {
            assert_eq!(err.kind(), ErrorKind::Config);
            assert!(
                err.to_string().contains("`tls` feature of cache-redis"),
                "{err}"
            );
            assert!(!err.to_string().contains("hunter2"), "{err}");
        }
    }

    #[test]
    fn query_strings_and_fragments_are_refused_without_their_values() {
        for (url, named) in [
            ("redis://h/0?protocol=resp3", "`protocol`"),
            ("redis://h?db=2&password=hunter2", "`db`"),
            ("redis://h:1/#insecure", "`#insecure`"),
        ] {
            let err = RedisConfig::from_url(url).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Config);
            let text = err.to_string();
            assert!(
                text.contains(named) && text.contains("not applied"),
                "{text}"
            );
            assert!(
                !text.contains("hunter2") && !text.contains("resp3"),
                "{text}"
            );
        }
        // An unencoded `?` in the password: no part of the URL is shown.
        let err = RedisConfig::from_url("redis://:hun?ter2@h").unwrap_err();
        assert!(err.to_string().contains("percent-encoded"), "{err}");
        assert!(!err.to_string().contains("hun"), "{err}");
    }

    #[test]
    fn bad_urls_hide_the_password() {
        for url in [
            "redis://u:hunter2@h:notaport",
            "redis://u:hunter2@h:1/x",
            "http://u:hunter2@h",
            "redis://u:hunter2@",
            "redis://:hunter2/x@:x",
        ] {
            let err = RedisConfig::from_url(url).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Config);
            assert!(!err.to_string().contains("hunter2"), "{err}");
        }
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let r = RetryPolicy::new(5, Duration::from_millis(10), Duration::from_millis(35));
        assert_eq!(r.backoff(1), Duration::from_millis(10));
        assert_eq!(r.backoff(2), Duration::from_millis(20));
        assert_eq!(r.backoff(3), Duration::from_millis(35));
        assert_eq!(r.backoff(40), Duration::from_millis(35));
    }

    #[test]
    fn nodes() {
        assert_eq!(
            parse_node("redis://10.0.0.1:7000/"),
            Some(("10.0.0.1".into(), 7000))
        );
        assert_eq!(parse_node("[::1]:7000"), Some(("::1".into(), 7000)));
        assert_eq!(parse_node("host"), None);
        assert!(RedisConfig::cluster(Vec::<String>::new()).is_err());
        assert!(RedisConfig::sentinel(["h:1"], " ").is_err());
    }
}
