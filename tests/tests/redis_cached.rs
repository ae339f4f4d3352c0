//! `#[cached]` on Redis, what other Redis clients see, and the backend's Redis-only API
//! (scripts, plain connection, health, info), on a real standalone server and Cluster.
//!
//! Without `redis-server` the tests fail, saying how to install it; with
//! `CACHE_TESTS_SKIP_REDIS=1` they skip with a notice (see `cache_tests::redis_harness`).
#![allow(missing_docs, clippy::unwrap_used, clippy::panic, clippy::expect_used)]

mod common;

use std::sync::LazyLock;
use std::time::Duration;

use cache_core::{Bytes, CacheBackend, ErrorKind, KeyTtl, cached, with_backend};
use cache_redis::redis::{AsyncCommands, Script};
use cache_redis::{RedisBackend, RedisConfig};
use cache_tests::redis_harness::{shared_cluster, shared_server, unique_prefix};
use common::cached_suite as suite;
use common::suite_on_redis;

// The `#[cached]` behaviour suite, unchanged, on Redis.
suite_on_redis!(
    miss_then_hit,
    single_flight,
    err_not_cached,
    none_and_err_options,
    unless_vetoes,
    method_keys_use_self,
    generic_fn,
    companions,
    refresh_overwrites,
    ttl_expiry,
    cancelled_leader,
    corrupt_bytes_are_recomputed,
    panicking_body_releases_waiters,
    invalidate_during_load,
    refresh_during_load,
);

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Profile {
    id: u64,
    name: String,
}

#[cached(key = "user:<id>", ttl = 300)]
async fn load_profile(id: u64) -> Profile {
    Profile {
        id,
        name: format!("user {id}"),
    }
}

/// After a `#[cached(key = "user:<id>")]` call with prefix `app:`, `redis-cli` sees the JSON
/// under `app:user:7` with a TTL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_clients_see_json_under_the_template_key() {
    let Some(server) = shared_server() else {
        return;
    };
    let backend = server.backend("app:").await;
    let profile = with_backend(backend.clone(), load_profile(7)).await;
    assert_eq!(profile.name, "user 7");

    let raw = server.cli(&["GET", "app:user:7"]);
    let json: serde_json::Value =
        serde_json::from_str(raw.trim()).expect("redis-cli GET gives JSON");
    assert_eq!(json, serde_json::json!({"id": 7, "name": "user 7"}));
    let ttl: i64 = server
        .cli(&["TTL", "app:user:7"])
        .trim()
        .parse()
        .expect("TTL");
    assert!((1..=300).contains(&ttl), "TTL {ttl}");

    // And the other way round: a value written by another client is a hit.
    server.cli(&["SET", "app:user:8", r#"{"id":8,"name":"from redis-cli"}"#]);
    let profile = with_backend(backend.clone(), load_profile(8)).await;
    assert_eq!(profile.name, "from redis-cli");
    backend.delete_many(&["user:7", "user:8"]).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_on_cluster() {
    let Some(cluster) = shared_cluster() else {
        return;
    };
    let prefix = unique_prefix("cached_on_cluster");
    let backend = cluster.backend(&prefix).await;
    for id in 0..20 {
        let profile = with_backend(backend.clone(), load_profile(id)).await;
        assert_eq!(profile.id, id);
    }
    let keys: Vec<String> = (0..20).map(|id| format!("user:{id}")).collect();
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let stored = backend.get_many(&refs).await.unwrap();
    assert!(
        stored.iter().all(Option::is_some),
        "every value reached the cluster"
    );
    backend.clear().await.unwrap();
}

async fn scripted_ops(backend: &RedisBackend, round: u64) {
    let counter = format!("counter:{}", round % 7);
    let value = backend
        .increment_with_ttl(&counter, 1, Duration::from_secs(30))
        .await
        .expect("increment_with_ttl");
    assert!(value >= 1);
    let lock = format!("lock:{round}");
    backend
        .set(&lock, Bytes::from_static(b"token"), None)
        .await
        .unwrap();
    assert!(!backend.delete_if_equals(&lock, b"other").await.unwrap());
    assert!(
        backend
            .delete_if_equals(&lock, b"token")
            .await
            .expect("delete_if_equals")
    );
}

async fn survives_script_flush(backend: RedisBackend) {
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..8 {
        let backend = backend.clone();
        tasks.spawn(async move {
            for round in 0..40 {
                scripted_ops(&backend, task * 1000 + round).await;
            }
        });
    }
    let mut con = backend.connection();
    for _ in 0..10 {
        let () = cache_redis::redis::cmd("SCRIPT")
            .arg("FLUSH")
            .query_async(&mut con)
            .await
            .expect("SCRIPT FLUSH");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    while let Some(joined) = tasks.join_next().await {
        joined.expect("scripted ops kept working across SCRIPT FLUSH");
    }
    backend.clear().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn script_flush_mid_run_standalone() {
    let Some(server) = shared_server() else {
        return;
    };
    survives_script_flush(server.backend(&unique_prefix("flush")).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn script_flush_mid_run_cluster() {
    let Some(cluster) = shared_cluster() else {
        return;
    };
    survives_script_flush(cluster.backend(&unique_prefix("flush")).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn atomic_helpers() {
    let Some(server) = shared_server() else {
        return;
    };
    let backend = server.backend(&unique_prefix("atomic")).await;
    // increment_with_ttl: TTL on creation, kept afterwards, healed when missing.
    assert_eq!(
        backend
            .increment_with_ttl("w", 5, Duration::from_secs(10))
            .await
            .unwrap(),
        5
    );
    assert!(matches!(
        backend.ttl("w").await.unwrap(),
        KeyTtl::ExpiresIn(_)
    ));
    backend
        .set("w2", Bytes::from_static(b"3"), None)
        .await
        .unwrap();
    assert_eq!(
        backend
            .increment_with_ttl("w2", 1, Duration::from_secs(10))
            .await
            .unwrap(),
        4
    );
    assert!(
        matches!(backend.ttl("w2").await.unwrap(), KeyTtl::ExpiresIn(_)),
        "healed"
    );
    let zero = backend.increment_with_ttl("w", 1, Duration::ZERO).await;
    assert_eq!(zero.unwrap_err().kind(), ErrorKind::InvalidInput);
    // get_with_ttl
    assert_eq!(backend.get_with_ttl("missing").await.unwrap(), None);
    backend
        .set("g", Bytes::from_static(b"v"), Some(Duration::from_secs(20)))
        .await
        .unwrap();
    let (value, ttl) = backend.get_with_ttl("g").await.unwrap().unwrap();
    assert_eq!(&value[..], b"v");
    assert!(matches!(ttl, KeyTtl::ExpiresIn(left) if left <= Duration::from_secs(20)));
    // Time comes from the server.
    let server_time = backend.server_time().await.unwrap();
    let skew = server_time
        .duration_since(std::time::SystemTime::now())
        .unwrap_or_else(|e| e.duration());
    assert!(skew < Duration::from_secs(5));
    backend.clear().await.unwrap();
}

static SWAP: LazyLock<Script> = LazyLock::new(|| {
    Script::new("redis.call('SET', KEYS[2], ARGV[1]); return redis.call('GET', KEYS[1])")
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eval_on_cluster_needs_one_slot() {
    let Some(cluster) = shared_cluster() else {
        return;
    };
    let backend = cluster.backend(&unique_prefix("eval")).await;
    backend
        .set("a:{x}", Bytes::from_static(b"old"), None)
        .await
        .unwrap();
    let old: Option<String> = backend
        .eval(&SWAP, &["a:{x}", "b:{x}"], &["new"])
        .await
        .unwrap();
    assert_eq!(old.as_deref(), Some("old"));
    assert_eq!(
        backend.get("b:{x}").await.unwrap().as_deref(),
        Some(&b"new"[..])
    );
    let cross = backend
        .eval::<Option<String>, _>(&SWAP, &["a:{x}", "b:{y}"], &["z"])
        .await;
    assert_eq!(cross.unwrap_err().kind(), ErrorKind::InvalidInput);
    backend.clear().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_redis_health_and_info() {
    let Some(server) = shared_server() else {
        return;
    };
    let prefix = unique_prefix("plain");
    let backend = server.backend(&prefix).await;

    // Hashes, lists, sets, sorted sets on the shared connection.
    let mut con = backend.connection();
    let hash = backend.prefixed_key("session:1");
    let () = con.hset(&hash, "user", "alice").await.unwrap();
    let user: String = con.hget(&hash, "user").await.unwrap();
    assert_eq!(user, "alice");
    let list = backend.prefixed_key("queue");
    let _: usize = con.rpush(&list, &["a", "b"]).await.unwrap();
    let first: Option<String> = con.lpop(&list, None).await.unwrap();
    assert_eq!(first.as_deref(), Some("a"));
    let board = backend.prefixed_key("board");
    let _: usize = con.zadd(&board, "bob", 7).await.unwrap();
    let _: usize = con.zadd(&board, "eve", 9).await.unwrap();
    let top: Vec<String> = con.zrevrange(&board, 0, 0).await.unwrap();
    assert_eq!(top, vec!["eve".to_owned()]);
    let set = backend.prefixed_key("tags");
    let _: usize = con.sadd(&set, "x").await.unwrap();
    assert!(con.sismember::<_, _, bool>(&set, "x").await.unwrap());

    // Pub/sub on its own connection.
    let mut pubsub = backend.pubsub().await.unwrap();
    let channel = backend.prefixed_key("events");
    pubsub.subscribe(&channel).await.unwrap();
    let _: usize = con.publish(&channel, "hello").await.unwrap();
    let message = tokio::time::timeout(Duration::from_secs(5), async {
        use futures_util::StreamExt as _;
        pubsub.on_message().next().await
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(message.get_payload::<String>().unwrap(), "hello");

    // Health and INFO.
    let rtt = backend.health_check().await.unwrap();
    assert!(rtt < Duration::from_secs(2));
    let info = backend.info().await.unwrap();
    assert!(info.version.starts_with('7') || !info.version.is_empty());
    assert!(info.connected_clients >= 1);
    assert!(info.used_memory > 0);
    assert_eq!(info.nodes, 1);

    // clear() stays inside the prefix; without one it is refused.
    backend.clear().await.unwrap();
    let mut unprefixed = server.config("");
    unprefixed = unprefixed.key_prefix("");
    let bare = RedisBackend::connect(unprefixed).await.unwrap();
    assert_eq!(
        bare.clear().await.unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_info_sums_primaries() {
    let Some(cluster) = shared_cluster() else {
        return;
    };
    let backend = cluster.backend(&unique_prefix("info")).await;
    let info = backend.info().await.unwrap();
    assert_eq!(info.nodes, 3);
    backend.health_check().await.unwrap();
    assert!(
        backend.pubsub().await.is_ok(),
        "pub/sub on a Cluster: a connection to a seed node"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_ttl_applies_to_writes_without_ttl() {
    let Some(server) = shared_server() else {
        return;
    };
    let config: RedisConfig = server
        .config(&unique_prefix("default_ttl"))
        .default_ttl(Some(Duration::from_secs(60)));
    let backend = RedisBackend::connect(config).await.unwrap();
    backend
        .set("k", Bytes::from_static(b"v"), None)
        .await
        .unwrap();
    assert!(
        matches!(backend.ttl("k").await.unwrap(), KeyTtl::ExpiresIn(left) if left <= Duration::from_secs(60))
    );
    backend
        .set("k2", Bytes::from_static(b"v"), Some(Duration::from_secs(5)))
        .await
        .unwrap();
    assert!(
        matches!(backend.ttl("k2").await.unwrap(), KeyTtl::ExpiresIn(left) if left <= Duration::from_secs(5))
    );
    backend.clear().await.unwrap();
    let zero = server.config("x:").default_ttl(Some(Duration::ZERO));
    assert_eq!(
        RedisBackend::connect(zero).await.unwrap_err().kind(),
        ErrorKind::Config
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acl_login_and_wrong_password() {
    let Some(server) = shared_server() else {
        return;
    };
    let user = format!("u{}", std::process::id());
    server.cli(&["ACL", "SETUSER", &user, "on", ">pa:ss@word", "~*", "+@all"]);
    let config = server
        .config(&unique_prefix("acl"))
        .username(&user)
        .password("pa:ss@word");
    let backend = RedisBackend::connect(config).await.expect("ACL login");
    backend.ping().await.unwrap();
    let url = format!(
        "redis://{user}:pa%3Ass%40word@127.0.0.1:{}/0",
        server.port()
    );
    let from_url = RedisConfig::from_url(&url).unwrap();
    RedisBackend::connect(from_url)
        .await
        .expect("ACL login from URL");

    let wrong = server.config("x:").username(&user).password("nope-secret");
    let err = RedisBackend::connect(wrong).await.unwrap_err();
    assert!(!err.to_string().contains("nope-secret"), "{err}");
    server.cli(&["ACL", "DELUSER", &user]);
}
