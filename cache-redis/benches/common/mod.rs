//! Shared by the Redis benches: a `redis-server` of their own on a free loopback port (or
//! `REDIS_BENCH_URL`), and a runner spreading operations over many tasks.

#![allow(dead_code, unreachable_pub)]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

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
