//! Shared by the Redis benches: a `redis-server` of their own on a free loopback port (or
//! `REDIS_BENCH_URL`), and a runner spreading operations over many tasks.

#![allow(dead_code, unreachable_pub, async_fn_in_trait)]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::Criterion;
use tokio::runtime::Runtime;

/// The payload of the hit and session benches: a small user record (about 90 bytes of JSON).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct User {
    pub id: u64,
    pub name: String,
    pub email: String,
    pub tags: Vec<String>,
}

/// The record of user `id`, as a database would load it.
pub fn load_user(id: u64) -> User {
    User {
        id,
        name: format!("user number {id}"),
        email: format!("user{id}@example.com"),
        tags: vec!["admin".into(), "beta".into(), "eu-west".into()],
    }
}

/// Tasks the throughput variants spread their operations over.
pub const TASKS: u64 = 64;

/// The server, killed when dropped (nothing when `REDIS_BENCH_URL` names one).
pub struct Server(Option<Child>);

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Starts a server (or takes `REDIS_BENCH_URL`) and returns it with its URL.
pub fn start_server() -> (Server, String) {
    if let Ok(url) = std::env::var("REDIS_BENCH_URL") {
        return (Server(None), url);
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port");
    let child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .args(["--dir", &std::env::temp_dir().to_string_lossy()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server must be installed to run this bench");
    let server = Server(Some(child));
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "redis-server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    (server, format!("redis://127.0.0.1:{port}/"))
}

/// Runs `op` `iters` times spread over [`TASKS`] tasks and returns the wall time.
pub async fn spread<F, Fut>(iters: u64, op: F) -> Duration
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    spread_tasks(iters, move |_| op()).await
}

/// As [`spread`], telling `op` which task (`0..TASKS`) runs it, for per-task keys.
pub async fn spread_tasks<F, Fut>(iters: u64, op: F) -> Duration
where
    F: Fn(u64) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let per_task = iters.div_ceil(TASKS);
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..TASKS {
        let op = op.clone();
        tasks.spawn(async move {
            for _ in 0..per_task {
                op(task).await;
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    started.elapsed()
}

/// Interleaved rounds of `per_round` operations, each of `variants` variants in turn (`run(i,
/// n)` runs variant `i` `n` times and returns the wall time): the median throughput of each,
/// in operations per second. Taking turns keeps a noisy machine's drift out of the ratios.
pub async fn interleaved_medians<F, Fut>(variants: usize, per_round: u64, mut run: F) -> Vec<f64>
where
    F: FnMut(usize, u64) -> Fut,
    Fut: std::future::Future<Output = Duration>,
{
    const ROUNDS: usize = 7;
    let mut rates = vec![Vec::new(); variants];
    for _ in 0..ROUNDS {
        for (variant, rate) in rates.iter_mut().enumerate() {
            let elapsed = run(variant, per_round).await;
            rate.push(per_round as f64 / elapsed.as_secs_f64());
        }
    }
    rates
        .into_iter()
        .map(|mut rate| {
            rate.sort_by(f64::total_cmp);
            rate[rate.len() / 2]
        })
        .collect()
}

/// The runtime every Redis bench runs on: multi-threaded, two workers (the machine's cores).
pub fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// One variant of a throughput comparison: `run(n)` does `n` operations and returns the wall
/// time.
pub trait Measured {
    /// The variant's name in criterion's report.
    fn name(&self) -> &'static str;
    /// Runs `iters` operations, returning how long they took.
    async fn run(&self, iters: u64) -> Duration;
}

/// A criterion group `group` of `variants`, then [`interleaved_medians`] of them in rounds of
/// `per_round` operations: the median throughput of each, in the order given.
pub fn compare<V: Measured>(
    c: &mut Criterion,
    rt: &Runtime,
    group: &str,
    variants: &[V],
    per_round: u64,
) -> Vec<f64> {
    let mut criterion_group = c.benchmark_group(group);
    for variant in variants {
        criterion_group.bench_function(variant.name(), |b| {
            b.to_async(rt).iter_custom(|iters| variant.run(iters));
        });
    }
    criterion_group.finish();
    rt.block_on(interleaved_medians(
        variants.len(),
        per_round,
        |i, iters| variants[i].run(iters),
    ))
}

/// One key per task (`<kind>:<what>:<task>`), so tasks of a throughput variant never contend
/// on a key.
pub fn task_keys(kind: &str, what: &str) -> Arc<[String]> {
    (0..TASKS)
        .map(|task| format!("{kind}:{what}:{task}"))
        .collect()
}

/// The backend under test on the server at `url`, with the key prefix `bench:`.
pub async fn backend(url: &str) -> cache_redis::RedisBackend {
    let config = cache_redis::RedisConfig::from_url(url)
        .expect("bench URL")
        .key_prefix("bench:");
    cache_redis::RedisBackend::connect(config)
        .await
        .expect("connect")
}

/// The anchor's connection: a plain redis-rs `ConnectionManager` on `url`.
pub async fn raw(url: &str) -> redis::aio::ConnectionManager {
    redis::Client::open(url)
        .expect("bench URL")
        .get_connection_manager()
        .await
        .expect("connect")
}
