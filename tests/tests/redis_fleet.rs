//! One execution per key across processes: `#[cached]` callers spread over several OS
//! processes (`fleet_worker`, in tests/src/bin) on one real Redis, standalone and Cluster.
//!
//! Without `redis-server` the tests fail, saying how to install it; with
//! `CACHE_TESTS_SKIP_REDIS=1` they skip with a notice (see `cache_tests::redis_harness`).
#![allow(missing_docs, clippy::unwrap_used, clippy::panic, clippy::expect_used)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cache_core::{CacheBackend, cached, with_backend};
use cache_redis::RedisBackend;
use cache_tests::redis_harness::{shared_cluster, shared_server, unique_prefix};

/// A running `fleet_worker` and the lines it has printed so far.
struct Worker {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Worker {
    fn spawn(target: &str, prefix: &str, mode: &str, callers: usize) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_fleet_worker"))
            .args([target, prefix, mode, &callers.to_string()])
            .stdout(Stdio::piped())
            .stdin(Stdio::null())
            .spawn()
            .expect("start fleet_worker");
        let stdout: ChildStdout = child.stdout.take().expect("piped stdout");
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Self { child, lines }
    }

    /// The next line that starts with `word`, within `within`.
    fn expect_line(&self, word: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.starts_with(word) => return line,
                Ok(_) => {}
                Err(_) => panic!("no `{word}` line from the worker within {within:?}"),
            }
        }
    }

    /// Waits for the worker to exit successfully and returns the lines it printed after
    /// those already read.
    fn finish(mut self) -> Vec<String> {
        let status = self.child.wait().expect("wait for fleet_worker");
        assert!(status.success(), "fleet_worker failed: {status}");
        // Until the reader thread has seen the end of the output.
        self.lines.iter().collect()
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill {signal}");
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `value <v> <count>` lines summed over workers.
fn values(lines: &[String]) -> BTreeMap<String, usize> {
    let mut values = BTreeMap::new();
    for line in lines {
        if let Some(rest) = line.strip_prefix("value ") {
            let (value, count) = rest.rsplit_once(' ').expect("value <v> <count>");
            *values.entry(value.to_owned()).or_insert(0) += count.parse::<usize>().unwrap();
        }
    }
    values
}

async fn runs(backend: &RedisBackend, name: &str) -> Option<String> {
    backend
        .get(&format!("runs:{name}"))
        .await
        .unwrap()
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
}

/// 1000 callers of one cold key over 8 processes: one body run, one value for all.
async fn a_thousand_callers_in_eight_processes_run_the_body_once(
    target: &str,
    backend: RedisBackend,
    prefix: &str,
) {
    let workers: Vec<Worker> = (0..8)
        .map(|_| Worker::spawn(target, prefix, "once", 125))
        .collect();
    let lines: Vec<String> = workers.into_iter().flat_map(Worker::finish).collect();
    let values = values(&lines);
    assert_eq!(
        runs(&backend, "shared").await.as_deref(),
        Some("1"),
        "body runs in the fleet"
    );
    assert_eq!(
        values.len(),
        1,
        "every caller got the one value: {values:?}"
    );
    assert_eq!(values.values().sum::<usize>(), 1000, "{values:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_callers_in_eight_processes_run_the_body_once_standalone() {
    let Some(server) = shared_server() else {
        return;
    };
    let prefix = unique_prefix("fleet-once");
    let backend = server.backend(&prefix).await;
    a_thousand_callers_in_eight_processes_run_the_body_once(&server.url(), backend, &prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_callers_in_eight_processes_run_the_body_once_on_the_cluster() {
    let Some(cluster) = shared_cluster() else {
        return;
    };
    let prefix = unique_prefix("fleet-once");
    let backend = cluster.backend(&prefix).await;
    let target = format!("cluster:{}", cluster.addrs().join(","));
    a_thousand_callers_in_eight_processes_run_the_body_once(&target, backend, &prefix).await;
}

/// A value past its TTL, read by 8 processes at once (125 callers each): every caller gets
/// the old value at once, and one refresh runs in the fleet, not one per process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_value_is_refreshed_once_in_a_fleet_of_eight() {
    let Some(server) = shared_server() else {
        return;
    };
    let prefix = unique_prefix("fleet-stale");
    let backend = server.backend(&prefix).await;
    let first = values(&Worker::spawn(&server.url(), &prefix, "stale", 1).finish());
    assert_eq!(first.keys().collect::<Vec<_>>(), ["1 run 1"]);
    // Past the 1 s TTL, within `stale`.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let workers: Vec<Worker> = (0..8)
        .map(|_| Worker::spawn(&server.url(), &prefix, "stale", 125))
        .collect();
    let lines: Vec<String> = workers.into_iter().flat_map(Worker::finish).collect();
    let values = values(&lines);
    assert_eq!(values.values().sum::<usize>(), 1000, "{values:?}");
    assert_eq!(
        runs(&backend, "refreshed").await.as_deref(),
        Some("2"),
        "one fill, then one refresh in the fleet (per process would be up to 9); callers got {values:?}"
    );
}

/// The leading process killed mid-body: another takes over once the lease (1 s) ends, and
/// every surviving caller gets a value.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_leader_is_taken_over_after_its_lease() {
    let Some(server) = shared_server() else {
        return;
    };
    let prefix = unique_prefix("fleet-kill");
    let backend = server.backend(&prefix).await;
    let workers: Vec<Worker> = (0..4)
        .map(|_| Worker::spawn(&server.url(), &prefix, "kill", 50))
        .collect();
    // Exactly one process leads; find it.
    let leader = loop {
        let found = workers
            .iter()
            .position(|worker| matches!(worker.lines.try_recv().as_deref(), Ok("leader")));
        if let Some(found) = found {
            break found;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    std::thread::sleep(Duration::from_millis(300));
    workers[leader].signal("-KILL");
    let killed_at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let mut lines = Vec::new();
    for (index, worker) in workers.into_iter().enumerate() {
        if index != leader {
            lines.extend(worker.finish());
        }
    }
    let took_over: Vec<u128> = lines
        .iter()
        .filter_map(|line| line.strip_prefix("took-over "))
        .map(|at| at.parse().unwrap())
        .collect();
    assert_eq!(took_over.len(), 1, "one process took over: {lines:?}");
    let after = took_over[0].saturating_sub(killed_at);
    eprintln!("takeover {after} ms after SIGKILL (lease 1000 ms)");
    // The protocol's bound is the lease plus 100 ms; the slack is for a loaded machine.
    assert!(after <= 1_600, "took over {after} ms after the kill");
    let values = values(&lines);
    assert_eq!(
        values.values().sum::<usize>(),
        150,
        "every survivor got a value: {values:?}"
    );
    assert_eq!(values.len(), 1, "{values:?}");
    assert_eq!(runs(&backend, "crashing").await.as_deref(), Some("2"));
}

#[cached(key = "stalling:<id>", ttl = 60, lock_lease = "500ms")]
async fn stalling(id: u64) -> String {
    let _ = id;
    "new".to_owned()
}

/// A leader stopped (SIGSTOP) past its lease, then resumed: another process computed and
/// stored a newer value meanwhile, and the stalled leader's writes are all refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_stalled_past_its_lease_cannot_overwrite_the_newer_value() {
    let Some(server) = shared_server() else {
        return;
    };
    const KEYS: u64 = 100;
    let prefix = unique_prefix("fleet-stall");
    let backend = server.backend(&prefix).await;
    let stalled = Worker::spawn(&server.url(), &prefix, "stall", KEYS as usize);
    stalled.expect_line(&format!("started {KEYS}"), Duration::from_secs(20));
    stalled.signal("-STOP");
    // Past the 500 ms lease, renewed at most a third of it before the stop.
    tokio::time::sleep(Duration::from_millis(800)).await;
    for id in 0..KEYS {
        let value = with_backend(backend.clone(), stalling(id)).await;
        assert_eq!(
            value, "new",
            "key {id}: the lease had ended, so this process leads"
        );
    }
    stalled.signal("-CONT");
    stalled.expect_line("done", Duration::from_secs(20));
    drop(stalled);
    let mut overwritten = 0;
    for id in 0..KEYS {
        let stored = backend.get(&format!("stalling:{id}")).await.unwrap();
        if stored.as_deref() != Some(&b"\"new\""[..]) {
            overwritten += 1;
        }
    }
    assert_eq!(
        overwritten, 0,
        "of {KEYS} newer values, {overwritten} were overwritten"
    );
}
