//! The Redis backend's near cache (`RedisConfig::near_cache`) on a real `redis-server`: hits
//! served in process, writes from outside the library seen, own writes read back at once,
//! and the faults (a killed tracking connection, a frozen server, `FLUSHALL`) that empty it
//! and pause it until tracking is back. Real sleeps only: the server's clock and sockets are
//! involved.
#![allow(clippy::unwrap_used, clippy::panic, missing_docs)]

use std::sync::Arc;
use std::time::Duration;

use cache_core::{Bytes, CacheBackend, ErrorKind, cached, capability_names, with_backend};
use cache_redis::{RedisBackend, RedisConfig, TRACKING_CLIENT_NAME};
use cache_tests::redis_harness::{RedisServer, shared_server, unique_prefix};
use tokio::time::Instant;

/// Waits (really) until `check` holds, for at most `limit`.
async fn until(limit: Duration, mut check: impl AsyncFnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    check().await
}

async fn near_backend(config: RedisConfig) -> RedisBackend {
    let redis = RedisBackend::connect(config.near_cache(1_000))
        .await
        .unwrap();
    let serving = until(Duration::from_secs(5), async || {
        redis.near_cache_stats().unwrap().serving
    })
    .await;
    assert!(serving, "tracking never came on");
    redis
}

async fn text(redis: &RedisBackend, key: &str) -> Option<String> {
    let bytes = redis.get(key).await.unwrap()?;
    Some(String::from_utf8(bytes.to_vec()).unwrap())
}

#[tokio::test]
async fn a_second_read_is_served_in_process() {
    let Some(server) = shared_server() else {
        return;
    };
    let redis = near_backend(server.config(&unique_prefix("near_hit"))).await;
    assert!(capability_names(&redis).contains(&"near"));
    redis
        .set(
            "k",
            Bytes::from_static(b"v1"),
            Some(Duration::from_secs(60)),
        )
        .await
        .unwrap();
    assert_eq!(text(&redis, "k").await.as_deref(), Some("v1"));
    let before = redis.near_cache_stats().unwrap();
    assert_eq!(text(&redis, "k").await.as_deref(), Some("v1"));
    let after = redis.near_cache_stats().unwrap();
    assert_eq!(after.hits, before.hits + 1, "{after:?}");
    assert_eq!(after.inserts, before.inserts, "no second insert: {after:?}");

    // A batch read is tracked too: its values are kept, and served in process next time.
    redis
        .set("a", Bytes::from_static(b"1"), None)
        .await
        .unwrap();
    redis
        .set("b", Bytes::from_static(b"2"), None)
        .await
        .unwrap();
    let batch = redis.get_many(&["a", "missing", "b"]).await.unwrap();
    assert_eq!(
        batch,
        [
            Some(Bytes::from_static(b"1")),
            None,
            Some(Bytes::from_static(b"2"))
        ]
    );
    let hits = redis.near_cache_stats().unwrap().hits;
    assert_eq!(redis.get_many(&["a", "b"]).await.unwrap().len(), 2);
    assert_eq!(
        redis.near_cache_stats().unwrap().hits,
        hits + 2,
        "both from the near cache"
    );
}

#[tokio::test]
async fn a_write_from_outside_the_library_is_seen() {
    let Some(server) = shared_server() else {
        return;
    };
    let prefix = unique_prefix("near_outside");
    let redis = near_backend(server.config(&prefix)).await;
    redis
        .set("k", Bytes::from_static(b"old"), None)
        .await
        .unwrap();
    assert_eq!(text(&redis, "k").await.as_deref(), Some("old"));
    assert_eq!(
        text(&redis, "k").await.as_deref(),
        Some("old"),
        "now a near copy"
    );
    server.cli(&["SET", &format!("{prefix}k"), "new"]);
    let seen = until(Duration::from_secs(2), async || {
        text(&redis, "k").await.as_deref() == Some("new")
    })
    .await;
    assert!(seen, "the invalidation never arrived");
    assert!(redis.near_cache_stats().unwrap().invalidations >= 1);
}

#[tokio::test]
async fn own_writes_are_read_back_at_once() {
    let Some(server) = shared_server() else {
        return;
    };
    let redis = near_backend(server.config(&unique_prefix("near_own"))).await;
    for round in 0..50 {
        let value = format!("v{round}");
        redis
            .set("k", Bytes::from(value.clone()), None)
            .await
            .unwrap();
        assert_eq!(text(&redis, "k").await, Some(value.clone()));
        assert_eq!(
            text(&redis, "k").await,
            Some(value),
            "near copy of round {round}"
        );
    }
    redis.delete("k").await.unwrap();
    assert_eq!(text(&redis, "k").await, None);
    redis
        .set("n", Bytes::from_static(b"1"), None)
        .await
        .unwrap();
    assert_eq!(text(&redis, "n").await.as_deref(), Some("1"));
    redis.increment("n", 5).await.unwrap();
    assert_eq!(text(&redis, "n").await.as_deref(), Some("6"));
    let mut pipe = redis.pipeline();
    pipe.set("n", "piped", None);
    pipe.query::<()>().await.unwrap();
    assert_eq!(text(&redis, "n").await.as_deref(), Some("piped"));
    let script = cache_redis::redis::Script::new("return redis.call('SET', KEYS[1], ARGV[1])");
    redis
        .eval::<(), _>(&script, &["n"], &["scripted"])
        .await
        .unwrap();
    assert_eq!(text(&redis, "n").await.as_deref(), Some("scripted"));
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Profile {
    name: String,
}

#[cached(key = "profile:<id>", ttl = 60)]
async fn profile(id: u64) -> Profile {
    Profile {
        name: format!("loaded {id}"),
    }
}

#[tokio::test]
async fn cached_functions_use_it_unchanged_and_see_outside_writes() {
    let Some(server) = shared_server() else {
        return;
    };
    let prefix = unique_prefix("near_cached");
    let redis = near_backend(server.config(&prefix)).await;
    with_backend(redis.clone(), async {
        assert_eq!(profile(7).await.name, "loaded 7");
        assert_eq!(profile(7).await.name, "loaded 7");
        let hits = redis.near_cache_stats().unwrap().hits;
        assert_eq!(profile(7).await.name, "loaded 7");
        assert!(
            redis.near_cache_stats().unwrap().hits > hits,
            "served by the near cache"
        );
        server.cli(&[
            "SET",
            &format!("{prefix}profile:7"),
            r#"{"name":"written elsewhere"}"#,
        ]);
        let seen = until(Duration::from_secs(2), async || {
            profile(7).await.name == "written elsewhere"
        })
        .await;
        assert!(seen);
    })
    .await;
}

#[tokio::test]
async fn a_flushall_empties_it() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let redis = near_backend(server.config("near_flush:")).await;
    redis
        .set("k", Bytes::from_static(b"v"), None)
        .await
        .unwrap();
    text(&redis, "k").await;
    let flushes = redis.near_cache_stats().unwrap().flushes;
    server.cli(&["FLUSHALL"]);
    let emptied = until(Duration::from_secs(2), async || {
        redis.near_cache_stats().unwrap().flushes > flushes
    })
    .await;
    assert!(emptied);
    assert_eq!(text(&redis, "k").await, None);
}

/// The id of the near cache's tracking connection in `CLIENT LIST`.
fn tracking_client_id(server: &RedisServer) -> Option<String> {
    let list = server.cli(&["CLIENT", "LIST"]);
    list.lines()
        .find(|line| line.contains(&format!("name={TRACKING_CLIENT_NAME} ")))
        .and_then(|line| line.split(' ').find_map(|field| field.strip_prefix("id=")))
        .map(str::to_owned)
}

#[tokio::test]
async fn a_killed_tracking_connection_pauses_it_until_tracking_is_back() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let redis = near_backend(server.config("near_kill:")).await;
    redis
        .set("k", Bytes::from_static(b"old"), None)
        .await
        .unwrap();
    text(&redis, "k").await;
    assert!(redis.near_cache_stats().unwrap().entries >= 1);
    let id = tracking_client_id(&server).unwrap();
    server.cli(&["CLIENT", "KILL", "ID", &id]);
    // Written by another client while our tracking is gone: no invalidation can reach us.
    server.cli(&["SET", "near_kill:k", "new"]);
    let paused = until(Duration::from_secs(2), async || {
        !redis.near_cache_stats().unwrap().serving
            || tracking_client_id(&server).is_some_and(|now| now != id)
    })
    .await;
    assert!(paused, "the kill went unnoticed");
    assert_eq!(
        text(&redis, "k").await.as_deref(),
        Some("new"),
        "the old copy is gone"
    );
    let back = until(Duration::from_secs(5), async || {
        redis.near_cache_stats().unwrap().serving
    })
    .await;
    assert!(back, "tracking never came back");
    assert_eq!(text(&redis, "k").await.as_deref(), Some("new"));
    assert_eq!(text(&redis, "k").await.as_deref(), Some("new"));
}

#[tokio::test]
async fn a_frozen_server_pauses_it_within_the_heartbeat_bound() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let heartbeat = Duration::from_millis(100);
    let response = Duration::from_millis(300);
    let config = server
        .config("near_freeze:")
        .near_heartbeat(heartbeat)
        .response_timeout(response);
    let redis = near_backend(config).await;
    redis
        .set("k", Bytes::from_static(b"v"), None)
        .await
        .unwrap();
    text(&redis, "k").await;
    server.freeze();
    let frozen_at = Instant::now();
    let paused = until(Duration::from_secs(3), async || {
        !redis.near_cache_stats().unwrap().serving
    })
    .await;
    let took = frozen_at.elapsed();
    server.thaw();
    assert!(paused, "still serving after a freeze");
    // The bound, with room for a loaded machine's scheduling.
    assert!(took < (heartbeat + response) * 3, "paused after {took:?}");
    let back = until(Duration::from_secs(5), async || {
        redis.near_cache_stats().unwrap().serving
    })
    .await;
    assert!(back, "tracking never came back after the thaw");
}

#[tokio::test]
async fn cluster_and_sentinel_configurations_are_refused() {
    let cluster = RedisConfig::cluster(["127.0.0.1:7000"])
        .unwrap()
        .near_cache(10);
    let error = RedisBackend::connect(cluster).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Config);
    assert!(error.message().contains("standalone"), "{error}");
    let sentinel = RedisConfig::sentinel(["127.0.0.1:26379"], "primary")
        .unwrap()
        .near_cache(10);
    assert_eq!(
        RedisBackend::connect(sentinel).await.unwrap_err().kind(),
        ErrorKind::Config
    );
    let empty = RedisConfig::new("127.0.0.1", 6379).near_cache(0);
    assert_eq!(
        RedisBackend::connect(empty).await.unwrap_err().kind(),
        ErrorKind::Config
    );
}

/// Versions acknowledged per key, with when (unix ns) the writer saw each acknowledgement.
type WriteLog = Arc<std::sync::Mutex<Vec<Vec<(u64, u128)>>>>;

fn unix_nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// The writer of the hunt: a `redis-cli` process (outside this library and this process)
/// setting `<prefix>k<n>` to increasing versions until `until`, each acknowledgement logged.
fn write_versions(
    port: u16,
    prefix: &str,
    keys: usize,
    until: std::time::Instant,
    log: &WriteLog,
) -> u64 {
    use std::io::{BufRead, BufReader, Write};
    use std::process::Stdio;
    let mut cli = cache_tests::redis_harness::cli_command(port)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut commands = cli.stdin.take().unwrap();
    let mut replies = BufReader::new(cli.stdout.take().unwrap());
    let mut version = 0_u64;
    let mut reply = String::new();
    while std::time::Instant::now() < until {
        version += 1;
        let key = (version as usize * 7) % keys;
        writeln!(commands, "SET {prefix}k{key} {version}").unwrap();
        commands.flush().unwrap();
        reply.clear();
        replies.read_line(&mut reply).unwrap();
        assert_eq!(reply.trim(), "OK");
        log.lock().unwrap()[key].push((version, unix_nanos()));
        // A key is rewritten every couple of milliseconds: time for copies to be served.
        std::thread::sleep(Duration::from_micros(200));
    }
    drop(commands);
    cli.wait().unwrap();
    version
}

/// A reader process (`near_reader`), started and waited for until it reports it serves.
fn start_reader(url: &str, prefix: &str, keys: usize, seconds: u64) -> std::process::Child {
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_near_reader"))
        .args([url, prefix, &keys.to_string(), &seconds.to_string()])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut ready = String::new();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout);
    lines.read_line(&mut ready).unwrap();
    assert_eq!(ready.trim(), "ready");
    child.stdout = Some(lines.into_inner());
    child
}

/// A short stale-read hunt across processes: a `redis-cli` process bumps versions of 8 keys
/// while two reader processes read them through their near caches, every read checked
/// against the versions acknowledged before it began (one machine, one wall clock). A read
/// older than the newest version acknowledged more than `BOUND` before it began is stale
/// beyond the bound: there must be none. The long run is the `near_propagation` bench.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_read_is_stale_beyond_the_bound() {
    const KEYS: usize = 8;
    const BOUND: Duration = Duration::from_millis(50);
    let Some(server) = shared_server() else {
        return;
    };
    let prefix = unique_prefix("near_hunt");
    let seed = server.backend(&prefix).await;
    for key in 0..KEYS {
        seed.set(&format!("k{key}"), Bytes::from("0"), None)
            .await
            .unwrap();
    }
    let readers = [
        start_reader(&server.url(), &prefix, KEYS, 2),
        start_reader(&server.url(), &prefix, KEYS, 2),
    ];
    let log: WriteLog = Arc::new(std::sync::Mutex::new(vec![Vec::new(); KEYS]));
    let until = std::time::Instant::now() + Duration::from_secs(2);
    let writing = {
        let (log, port, prefix) = (Arc::clone(&log), server.port(), prefix.clone());
        std::thread::spawn(move || write_versions(port, &prefix, KEYS, until, &log))
    };
    let reports: Vec<String> = readers
        .into_iter()
        .map(|reader| String::from_utf8(reader.wait_with_output().unwrap().stdout).unwrap())
        .collect();
    let versions = writing.join().unwrap();
    let log = log.lock().unwrap();
    let bound = BOUND.as_nanos();
    let (mut reads, mut within, mut beyond, mut hits) = (0_u64, 0_u64, 0_u64, Vec::new());
    for report in &reports {
        for line in report.lines() {
            let fields: Vec<&str> = line.split(' ').collect();
            match fields.as_slice() {
                ["read", key, version, started] => {
                    let (key, read): (usize, u64) =
                        (key.parse().unwrap(), version.parse().unwrap());
                    let started: u128 = started.parse().unwrap();
                    reads += 1;
                    let acked = &log[key];
                    let floor = acked
                        .iter()
                        .rev()
                        .find(|(_, at)| at + bound <= started)
                        .map_or(0, |(v, _)| *v);
                    if read < floor {
                        beyond += 1;
                    } else if acked.iter().any(|(v, at)| *v > read && *at <= started) {
                        within += 1;
                    }
                }
                ["stats", near_hits] => hits.push(near_hits.parse::<u64>().unwrap()),
                other => panic!("unexpected report line {other:?}"),
            }
        }
    }
    eprintln!(
        "near hunt, 2 reader processes: {reads} reads, {versions} writes, {within} within the bound, {beyond} beyond it, near hits {hits:?}"
    );
    assert!(
        versions > 100 && reads > 100,
        "the hunt ran: {versions} writes, {reads} reads"
    );
    assert!(
        hits.len() == 2 && hits.iter().all(|hits| *hits > 0),
        "every near cache served: {hits:?}"
    );
    assert_eq!(
        beyond, 0,
        "{beyond} of {reads} reads older than the bound allows"
    );
}
