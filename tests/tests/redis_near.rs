//! The Redis backend's near cache (`RedisConfig::near_cache`) on a real `redis-server`: hits
//! served in process, writes from outside the library seen, own writes read back at once,
//! and the faults (a killed tracking connection, a frozen server, `FLUSHALL`) that empty it
//! and pause it until tracking is back. Real sleeps only: the server's clock and sockets are
//! involved.
#![allow(clippy::unwrap_used, clippy::panic, missing_docs)]

use std::time::Duration;

use cache_core::{Bytes, CacheBackend, ErrorKind, cached, capability_names, with_backend};
use cache_redis::{RedisBackend, RedisConfig, TRACKING_CLIENT_NAME};
use cache_tests::near_hunt::{Hunt, ReaderKind, Verdict};
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
        // The fill's own invalidation push may land after the next read was sent, and then
        // that reply is (rightly) not kept: the copy is kept by a later read.
        let served = until(Duration::from_secs(2), async || {
            let hits = redis.near_cache_stats().unwrap().hits;
            assert_eq!(profile(7).await.name, "loaded 7");
            redis.near_cache_stats().unwrap().hits > hits
        })
        .await;
        assert!(served, "never served by the near cache");
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

/// The server process itself killed (`SIGKILL`, not a killed client or a freeze): the near
/// cache stops serving within the heartbeat bound, reads go to the (gone) server, and after a
/// restart on the same port with a different value the new value is read, never the copy
/// from before the kill.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_stops_it_and_the_restarted_servers_value_is_read() {
    let Some(mut server) = RedisServer::start() else {
        return;
    };
    let heartbeat = Duration::from_millis(100);
    let response = Duration::from_millis(300);
    let config = server
        .config("near_restart:")
        .near_heartbeat(heartbeat)
        .response_timeout(response);
    let redis = near_backend(config).await;
    redis
        .set("k", Bytes::from_static(b"old"), None)
        .await
        .unwrap();
    assert_eq!(text(&redis, "k").await.as_deref(), Some("old"));
    let hits = redis.near_cache_stats().unwrap().hits;
    assert_eq!(text(&redis, "k").await.as_deref(), Some("old"));
    assert_eq!(
        redis.near_cache_stats().unwrap().hits,
        hits + 1,
        "served in process before the kill"
    );

    // The harness reaps the server with blocking waits: off the runtime's workers.
    tokio::task::block_in_place(|| server.kill());
    let killed_at = Instant::now();
    let paused = until(Duration::from_secs(3), async || {
        !redis.near_cache_stats().unwrap().serving
    })
    .await;
    let took = killed_at.elapsed();
    assert!(paused, "still serving after the server was killed");
    // The bound, with room for a loaded machine's scheduling.
    assert!(took < (heartbeat + response) * 3, "paused after {took:?}");
    let hits = redis.near_cache_stats().unwrap().hits;
    let down = redis.get("k").await;
    assert!(down.is_err(), "a read with the server down: {down:?}");
    assert_eq!(
        redis.near_cache_stats().unwrap().hits,
        hits,
        "not served by the near cache"
    );

    tokio::task::block_in_place(|| server.restart());
    // The restarted server is empty (no persistence); another client writes the new value.
    server.cli(&["SET", "near_restart:k", "new"]);
    let mut old_reads = 0;
    let new_read = until(Duration::from_secs(10), async || {
        match redis.get("k").await {
            Ok(Some(value)) if value == "old" => {
                old_reads += 1;
                false
            }
            Ok(Some(value)) => value == "new",
            // Reconnecting.
            Ok(None) | Err(_) => false,
        }
    })
    .await;
    assert_eq!(old_reads, 0, "the copy from before the kill was served");
    assert!(new_read, "the restarted server's value was never read");
    let back = until(Duration::from_secs(5), async || {
        redis.near_cache_stats().unwrap().serving
    })
    .await;
    assert!(back, "tracking never came back after the restart");
    assert_eq!(text(&redis, "k").await.as_deref(), Some("new"));
    let hits = redis.near_cache_stats().unwrap().hits;
    assert_eq!(text(&redis, "k").await.as_deref(), Some("new"));
    assert_eq!(
        redis.near_cache_stats().unwrap().hits,
        hits + 1,
        "the new value is served in process again"
    );
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

/// A short stale-read hunt across processes (`cache_tests::near_hunt`): a `redis-cli` process
/// bumps versions of 8 keys while two reader processes read them through their near caches,
/// every read checked against the versions acknowledged before it began (one machine, one
/// wall clock). A read older than the newest version acknowledged more than `BOUND` before it
/// began is stale beyond the bound: there must be none. The long runs are the
/// `near_propagation` bench (cache-redis) and the `near_hunt` bench (this crate), which also
/// hunts through redis-rs's own client-side cache.
#[test]
fn no_read_is_stale_beyond_the_bound() {
    const BOUND: Duration = Duration::from_millis(50);
    let Some(server) = shared_server() else {
        return;
    };
    let prefix = unique_prefix("near_hunt");
    let verdict = Hunt {
        reader_bin: std::path::Path::new(env!("CARGO_BIN_EXE_near_reader")),
        kind: ReaderKind::Near,
        prefix: &prefix,
        readers: 2,
        keys: 8,
        seconds: 2,
        bound: BOUND,
    }
    .run(server);
    let Verdict {
        reads,
        writes,
        within,
        beyond,
        worst,
        hits,
    } = verdict;
    eprintln!(
        "near hunt, 2 reader processes: {reads} reads, {writes} writes, {within} within the bound, {beyond} beyond it, stalest {worst:?}, near hits {hits:?}"
    );
    assert!(
        writes > 100 && reads > 100,
        "the hunt ran: {writes} writes, {reads} reads"
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
