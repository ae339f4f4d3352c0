//! Starts real `redis-server` processes for tests: a standalone server, a 3-primary Cluster
//! and a Sentinel setup, each on free loopback ports, killed (and reaped) on drop.
//!
//! - **One server per test binary**: [`shared_server`] / [`shared_cluster`] start once
//!   (`LazyLock`) and are shared by every test of the binary; tests keep apart through their
//!   own key prefix ([`unique_prefix`]), never `FLUSHALL`.
//! - **Dedicated servers** ([`RedisServer::start`]) for tests that kill, restart or freeze
//!   the server.
//! - **No strays**: statics are never dropped, so every server also gets a tiny `sh` watchdog
//!   that kills it once the test process is gone.
//! - **Missing binary**: a missing `redis-server` / `redis-cli` is installed from Debian's
//!   packages when the tests run as root ([`crate::packages`]); otherwise, or when that
//!   fails, every Redis test fails with the exact install line. Only with `CACHE_TESTS_SKIP_REDIS=1`, set on
//!   purpose, do the helpers return `None` instead (the test returns early, a skip), after a
//!   notice on the real standard error, where `cargo test` shows it. That rule lives in
//!   [`redis_available`] alone. `REDIS_SERVER_BIN` / `REDIS_CLI_BIN` override the binaries.
//!
//! Ports are below 55535 so that a Cluster node's bus port (`port + 10000`) is valid.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::io::Write as _;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cache_redis::{RedisBackend, RedisConfig};

fn server_bin() -> String {
    std::env::var("REDIS_SERVER_BIN").unwrap_or_else(|_| "redis-server".to_owned())
}

fn cli_bin() -> String {
    std::env::var("REDIS_CLI_BIN").unwrap_or_else(|_| "redis-cli".to_owned())
}

fn binary_works(bin: &str) -> bool {
    Command::new(bin)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// The variable that turns a missing `redis-server` from a failure into a skip.
pub const SKIP_REDIS_VAR: &str = "CACHE_TESTS_SKIP_REDIS";

/// Decided once per test binary; a missing binary is reported by [`redis_available`], not
/// here, so that every test fails with the message rather than a poisoned `LazyLock`.
static AVAILABLE: LazyLock<Result<bool, String>> = LazyLock::new(|| {
    if binary_works(&server_bin()) && binary_works(&cli_bin()) {
        return Ok(true);
    }
    let message = format!(
        "`{}` / `{}` not found: the Redis tests need them (Debian/Ubuntu: \
         `apt-get install redis-server`; or set {SKIP_REDIS_VAR}=1 to skip them)",
        server_bin(),
        cli_bin()
    );
    if std::env::var(SKIP_REDIS_VAR).is_ok_and(|value| value == "1") {
        // Straight to the process's stderr: `eprintln!` in a passing test is captured and
        // never shown, and a skip must be visible.
        let _ = writeln!(
            std::io::stderr(),
            "NOTICE: skipping the Redis tests of this binary ({SKIP_REDIS_VAR}=1): {message}"
        );
        return Ok(false);
    }
    // A machine with only the Rust toolchain: install them (as root), unless the binaries
    // were pointed elsewhere on purpose.
    let overridden = ["REDIS_SERVER_BIN", "REDIS_CLI_BIN"]
        .iter()
        .any(|var| std::env::var_os(var).is_some());
    if overridden {
        return Err(message);
    }
    match crate::packages::install(&["redis-server", "redis-tools"]) {
        Ok(()) if binary_works(&server_bin()) && binary_works(&cli_bin()) => Ok(true),
        Ok(()) => Err(format!("{message}; installed, yet still not runnable")),
        Err(why) => Err(format!("{message}; {why}")),
    }
});

/// Whether `redis-server` and `redis-cli` can be run. When they cannot, panics (fails the
/// test) unless `CACHE_TESTS_SKIP_REDIS=1` asks for a skip, in which case it is `false`.
pub fn redis_available() -> bool {
    match &*AVAILABLE {
        Ok(available) => *available,
        Err(message) => panic!("{message}"),
    }
}

/// A key prefix no other test (in this or any other concurrently running test binary) uses:
/// `t:<pid>:<n>:<name>:`. Free of `{}` so that Cluster keys still spread over the slots.
pub fn unique_prefix(name: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "t:{}:{}:{name}:",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A free loopback port below 55535 whose `+10000` bus port is free too.
fn free_port() -> u16 {
    for _ in 0..200 {
        let Ok(listener) = TcpListener::bind("127.0.0.1:0") else {
            continue;
        };
        let Ok(addr) = listener.local_addr() else {
            continue;
        };
        let port = addr.port();
        if !(1024..55535).contains(&port) {
            continue;
        }
        if TcpListener::bind(("127.0.0.1", port + 10000)).is_err() {
            continue;
        }
        return port;
    }
    panic!("no free loopback port found");
}

fn scratch_dir(tag: &str) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "cache-redis-test-{}-{}-{tag}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("create a scratch dir");
    dir
}

/// Sends `SIGKILL` to `pid` and removes `dir` once this test process has exited (the
/// watchdog).
fn spawn_watchdog(pid: u32, dir: &Path) -> Option<Child> {
    Command::new("sh")
        .arg("-c")
        .arg(
            "while kill -0 \"$1\" 2>/dev/null; do sleep 0.3; done; \
             kill -9 \"$2\" 2>/dev/null; sleep 0.2; rm -rf \"$3\"",
        )
        .arg("watchdog")
        .arg(std::process::id().to_string())
        .arg(pid.to_string())
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()
}

/// `kill -<signal> <pid>` through the shell's builtin (no `/bin/kill` needed).
fn send_signal(pid: u32, signal: &str) {
    let _ = Command::new("sh")
        .arg("-c")
        .arg("kill -\"$1\" \"$2\"")
        .arg("signal")
        .arg(signal)
        .arg(pid.to_string())
        .status();
}

/// Runs `redis-cli -p <port> <args>` and returns its standard output.
pub fn cli(port: u16, args: &[&str]) -> String {
    let output = cli_command(port)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run redis-cli");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// `redis-cli` for the server on `port`, to run with more arguments, or without any as a
/// writer in a process of its own that reads commands from its standard input, one per line,
/// and answers each on its standard output.
pub fn cli_command(port: u16) -> Command {
    let mut command = Command::new(cli_bin());
    command
        .arg("-h")
        .arg("127.0.0.1")
        .arg("-p")
        .arg(port.to_string());
    command
}

fn wait_until(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if check() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for {what}");
}

/// One `redis-server` process on a free loopback port, killed and reaped on drop.
#[derive(Debug)]
pub struct RedisServer {
    child: Option<Child>,
    watchdog: Option<Child>,
    port: u16,
    dir: PathBuf,
    extra_args: Vec<String>,
    /// Listens for TLS only (`--tls-port`, `--port 0`).
    tls: bool,
    owns_dir: bool,
}

impl RedisServer {
    /// A fresh standalone server, or `None` (skip) only as [`redis_available`] allows.
    pub fn start() -> Option<Self> {
        Self::start_with(&[])
    }

    /// A fresh server with extra command-line arguments (e.g. `["--replicaof", ...]`, or
    /// `["--requirepass", "pw"]`, which [`cli`](Self::cli) does not log in to).
    pub fn start_with(extra_args: &[&str]) -> Option<Self> {
        Self::start_listening(extra_args, false)
    }

    /// A fresh server that speaks only TLS on its port, with the given PEM files: its
    /// certificate and key, and the CA it checks client certificates against (Redis asks
    /// for one: `tls-auth-clients` is on by default). [`cli`](Self::cli) does not work on it,
    /// and [`config`](Self::config) turns TLS on but sets no certificates.
    pub fn start_tls(cert: &Path, key: &Path, ca: &Path) -> Option<Self> {
        let [cert, key, ca] = [cert, key, ca].map(|path| path.display().to_string());
        Self::start_listening(
            &[
                "--tls-cert-file",
                &cert,
                "--tls-key-file",
                &key,
                "--tls-ca-cert-file",
                &ca,
            ],
            true,
        )
    }

    fn start_listening(extra_args: &[&str], tls: bool) -> Option<Self> {
        if !redis_available() {
            return None;
        }
        let dir = scratch_dir("node");
        let extra_args: Vec<String> = extra_args.iter().map(|a| (*a).to_owned()).collect();
        for attempt in 0..5 {
            let port = free_port();
            let mut server = Self {
                child: None,
                watchdog: None,
                port,
                dir: dir.clone(),
                extra_args: extra_args.clone(),
                tls,
                owns_dir: true,
            };
            if server.spawn() {
                return Some(server);
            }
            server.owns_dir = false;
            eprintln!("redis-server did not come up on port {port} (attempt {attempt}); retrying");
        }
        panic!(
            "could not start redis-server; see logs in {}",
            dir.display()
        );
    }

    fn spawn(&mut self) -> bool {
        let log = self.dir.join(format!("redis-{}.log", self.port));
        let port = self.port.to_string();
        let listen: &[&str] = if self.tls {
            &["--port", "0", "--tls-port", &port]
        } else {
            &["--port", &port]
        };
        let child = Command::new(server_bin())
            .args(listen)
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .arg("--logfile")
            .arg(&log)
            .args(["--daemonize", "no", "--protected-mode", "no"])
            .args(&self.extra_args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn redis-server");
        self.watchdog = spawn_watchdog(child.id(), &self.dir);
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            let exited = self
                .child
                .as_mut()
                .is_some_and(|child| matches!(child.try_wait(), Ok(Some(_))));
            if exited {
                self.kill();
                return false;
            }
            // A TLS port cannot be pinged in plain text; accepting connections is enough.
            let up = if self.tls {
                TcpStream::connect(("127.0.0.1", self.port)).is_ok()
            } else {
                ping(self.port)
            };
            if up {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.kill();
        false
    }

    /// The TCP port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:<port>`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `redis://127.0.0.1:<port>/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// The server's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The directory holding its log (and, for Cluster nodes, `nodes.conf`).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Runs `redis-cli` against this server.
    pub fn cli(&self, args: &[&str]) -> String {
        cli(self.port, args)
    }

    /// A backend config for this server with a generous test timeout and `prefix`.
    pub fn config(&self, prefix: &str) -> RedisConfig {
        RedisConfig::new("127.0.0.1", self.port)
            .tls(self.tls)
            .key_prefix(prefix)
            .connect_timeout(Duration::from_secs(2))
            .response_timeout(Duration::from_secs(3))
    }

    /// Connects a backend with [`config`](Self::config).
    pub async fn backend(&self, prefix: &str) -> RedisBackend {
        RedisBackend::connect(self.config(prefix))
            .await
            .expect("connect to the test redis-server")
    }

    /// Kills the server (`SIGKILL`) and reaps it. The port stays reserved for [`restart`](Self::restart).
    pub fn kill(&mut self) {
        for child in [self.child.take(), self.watchdog.take()]
            .into_iter()
            .flatten()
        {
            let mut child = child;
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port (after [`kill`](Self::kill)).
    pub fn restart(&mut self) {
        self.kill();
        for _ in 0..50 {
            if self.spawn() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("could not restart redis-server on port {}", self.port);
    }

    /// Freezes the server (`SIGSTOP`): it keeps its sockets but answers nothing.
    pub fn freeze(&self) {
        if let Some(pid) = self.pid() {
            send_signal(pid, "STOP");
        }
    }

    /// Thaws a frozen server (`SIGCONT`).
    pub fn thaw(&self) {
        if let Some(pid) = self.pid() {
            send_signal(pid, "CONT");
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.thaw();
        self.kill();
        if self.owns_dir {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn ping(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    if stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut reply = [0u8; 16];
    // A server started with `--requirepass` answers `-NOAUTH`: up all the same.
    matches!(std::io::Read::read(&mut stream, &mut reply),
        Ok(n) if reply[..n].starts_with(b"+PONG") || reply[..n].starts_with(b"-NOAUTH"))
}

/// A local Redis Cluster of three primaries and no replicas.
#[derive(Debug)]
pub struct RedisCluster {
    nodes: Vec<RedisServer>,
}

impl RedisCluster {
    /// Starts three `--cluster-enabled` nodes, joins them with `redis-cli --cluster create`
    /// and waits for `cluster_state:ok` on each. `None` (skip) only as [`redis_available`] allows.
    pub fn start() -> Option<Self> {
        if !redis_available() {
            return None;
        }
        let mut nodes = Vec::new();
        for _ in 0..3 {
            // A relative `nodes.conf` lives in the node's own `--dir`.
            nodes.push(RedisServer::start_with(&[
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                "nodes.conf",
                "--cluster-node-timeout",
                "5000",
            ])?);
        }
        let addrs: Vec<String> = nodes.iter().map(RedisServer::addr).collect();
        let mut created = false;
        for _ in 0..5 {
            let output = Command::new(cli_bin())
                .arg("--cluster")
                .arg("create")
                .args(&addrs)
                .args(["--cluster-replicas", "0", "--cluster-yes"])
                .stdin(Stdio::null())
                .output()
                .expect("run redis-cli --cluster create");
            if output.status.success() {
                created = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        assert!(created, "redis-cli --cluster create failed");
        for node in &nodes {
            wait_until("cluster_state:ok", Duration::from_secs(20), || {
                node.cli(&["cluster", "info"]).contains("cluster_state:ok")
            });
        }
        Some(Self { nodes })
    }

    /// The nodes.
    pub fn nodes(&self) -> &[RedisServer] {
        &self.nodes
    }

    /// `127.0.0.1:<port>` of each node.
    pub fn addrs(&self) -> Vec<String> {
        self.nodes.iter().map(RedisServer::addr).collect()
    }

    /// A backend config for the Cluster with generous test timeouts and `prefix`.
    pub fn config(&self, prefix: &str) -> RedisConfig {
        RedisConfig::cluster(self.addrs())
            .expect("cluster config")
            .key_prefix(prefix)
            .connect_timeout(Duration::from_secs(2))
            .response_timeout(Duration::from_secs(3))
    }

    /// Connects a backend with [`config`](Self::config).
    pub async fn backend(&self, prefix: &str) -> RedisBackend {
        RedisBackend::connect(self.config(prefix))
            .await
            .expect("connect to the test cluster")
    }
}

/// A primary, one replica and one sentinel monitoring them as `mymaster`.
#[derive(Debug)]
pub struct SentinelSetup {
    /// The initial primary.
    pub master: RedisServer,
    /// The replica (the primary after a failover).
    pub replica: RedisServer,
    /// The sentinel.
    pub sentinel: RedisServer,
}

/// The name the sentinel monitors the primary under.
pub const MASTER_NAME: &str = "mymaster";

impl SentinelSetup {
    /// Starts the three processes and waits until the sentinel sees the replica in sync.
    /// `None` (skip) only as [`redis_available`] allows.
    pub fn start() -> Option<Self> {
        let master = RedisServer::start()?;
        let replica =
            RedisServer::start_with(&["--replicaof", "127.0.0.1", &master.port().to_string()])?;
        wait_until("the replica to sync", Duration::from_secs(20), || {
            replica
                .cli(&["info", "replication"])
                .contains("master_link_status:up")
        });
        let dir = scratch_dir("sentinel");
        let conf = dir.join("sentinel.conf");
        let sentinel_port = free_port();
        std::fs::write(
            &conf,
            format!(
                "port {sentinel_port}\nbind 127.0.0.1\nprotected-mode no\ndir {dir}\n\
                 sentinel monitor {MASTER_NAME} 127.0.0.1 {master} 1\n\
                 sentinel down-after-milliseconds {MASTER_NAME} 1000\n\
                 sentinel failover-timeout {MASTER_NAME} 3000\n",
                dir = dir.display(),
                master = master.port(),
            ),
        )
        .expect("write sentinel.conf");
        let log = dir.join("sentinel.log");
        let child = Command::new(server_bin())
            .arg(&conf)
            .arg("--sentinel")
            .arg("--logfile")
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn redis-server --sentinel");
        let sentinel = RedisServer {
            watchdog: spawn_watchdog(child.id(), &dir),
            child: Some(child),
            port: sentinel_port,
            dir,
            extra_args: Vec::new(),
            tls: false,
            owns_dir: true,
        };
        wait_until("the sentinel to answer", Duration::from_secs(10), || {
            ping(sentinel_port)
        });
        wait_until(
            "the sentinel to see the replica",
            Duration::from_secs(20),
            || {
                let replicas = sentinel.cli(&["sentinel", "replicas", MASTER_NAME]);
                replicas.contains(&replica.port().to_string()) && !replicas.contains("s_down")
            },
        );
        Some(Self {
            master,
            replica,
            sentinel,
        })
    }

    /// The port the sentinel currently names as the primary.
    pub fn current_master_port(&self) -> Option<u16> {
        let reply = self
            .sentinel
            .cli(&["sentinel", "get-master-addr-by-name", MASTER_NAME]);
        reply
            .lines()
            .nth(1)
            .and_then(|port| port.trim().parse().ok())
    }

    /// A backend config through the sentinel, with `prefix`.
    pub fn config(&self, prefix: &str) -> RedisConfig {
        RedisConfig::sentinel([self.sentinel.addr()], MASTER_NAME)
            .expect("sentinel config")
            .key_prefix(prefix)
            .connect_timeout(Duration::from_secs(2))
            .response_timeout(Duration::from_secs(2))
    }
}

static SHARED_SERVER: LazyLock<Option<RedisServer>> = LazyLock::new(RedisServer::start);
static SHARED_CLUSTER: LazyLock<Option<RedisCluster>> = LazyLock::new(RedisCluster::start);

/// The standalone server shared by the tests of this binary (started on first use).
pub fn shared_server() -> Option<&'static RedisServer> {
    // Checked before the `LazyLock`, whose initialiser must not be the one to panic.
    redis_available().then(|| SHARED_SERVER.as_ref()).flatten()
}

/// The Cluster shared by the tests of this binary (started on first use).
pub fn shared_cluster() -> Option<&'static RedisCluster> {
    redis_available().then(|| SHARED_CLUSTER.as_ref()).flatten()
}

/// Connects with `config` (given a 10 s connect timeout) and checks that the connect is refused
/// at once (well within that timeout, without the manager's retries) as a configuration error
/// whose message says `expected`. Returns the error for further checks.
///
/// # Panics
///
/// When the connect succeeds, is not a [`ErrorKind::Config`](cache_core::ErrorKind) error,
/// does not say `expected`, or takes 5 s or more.
pub async fn refused_at_once(config: RedisConfig, expected: &str) -> cache_core::Error {
    let started = Instant::now();
    let config = config.connect_timeout(Duration::from_secs(10));
    let Err(err) = RedisBackend::connect(config).await else {
        panic!("connected where `{expected}` was expected");
    };
    let took = started.elapsed();
    assert_eq!(err.kind(), cache_core::ErrorKind::Config, "{err}");
    assert!(
        err.to_string().contains(expected),
        "`{err}` does not say `{expected}`"
    );
    assert!(took < Duration::from_secs(5), "{expected}: took {took:?}");
    err
}
