//! The `flask_patterns` example run to completion on the memory backend and on a real Redis,
//! its output checked section by section.
#![allow(clippy::unwrap_used, clippy::panic, missing_docs)]

use std::sync::Arc;

use cache_core::{DynBackend, MemoryBackend};
use cache_tests::redis_harness::{shared_server, unique_prefix};
use cache_tests::sections::section;

/// The stats section reports counters that are process-wide: the two runs take turns so that
/// each sees only its own calls.
static ONE_RUN_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn output_of(backend: DynBackend) -> String {
    let _turn = ONE_RUN_AT_A_TIME.lock().await;
    let mut out = Vec::new();
    examples::flask_patterns::run(backend, &mut out)
        .await
        .unwrap();
    String::from_utf8(out).unwrap()
}

async fn runs_every_section(backend: DynBackend) {
    let output = output_of(backend).await;

    assert_eq!(
        section(&output, "memoize and delete_memoized"),
        [
            "user_statistics(42) -> 2 posts, 420 views (db queries: 1)",
            "again -> 2 posts, 420 views (db queries: 1)",
            "user_statistics(7) -> 1 posts, 15 views (db queries: 2)",
            "delete_memoized(user_statistics, 42) -> true",
            "user_statistics(42), (7) -> only 42 recomputed (db queries: 3)",
            "delete_memoized(user_statistics) -> 2 entries",
            "user_statistics(42), (7) -> both recomputed (db queries: 5)",
        ]
    );
    let titles = r#"["Redis tips", "Caching 101", "Hello"]"#;
    let fresh = r#"["Redis tips", "Caching 101", "Hello", "Fresh"]"#;
    assert_eq!(
        section(&output, "a cached view, refreshed on demand"),
        [
            format!("GET /posts -> {titles} (db queries: 1)"),
            format!("GET /posts -> {titles} (db queries: 1)"),
            r#"new post "Fresh" -> the cached copy is stale"#.to_owned(),
            format!("GET /posts -> {titles} (db queries: 2)"),
            format!("GET /posts?refresh -> {fresh} (db queries: 3)"),
            format!("GET /posts -> {fresh} (db queries: 3)"),
        ]
    );
    assert_eq!(
        section(&output, "set / get / has / delete"),
        [
            r#"set key = "value" for 300 s"#,
            r#"get key -> Some("value")"#,
            "has key -> true",
            "delete key -> true",
            "has key -> false",
            "get key -> None",
        ]
    );
    assert_eq!(
        section(&output, "add (only if absent)"),
        [
            r#"add greeting = "first" -> true"#,
            r#"add greeting = "second" -> false"#,
            r#"get greeting -> Some("first")"#,
        ]
    );
    assert_eq!(
        section(&output, "set_many / get_many / delete_many"),
        [
            "set_many key1, key2, key3 for 300 s",
            r#"get_many key1, key2, key3, key4 -> [Some("value1"), Some("value2"), Some("value3"), None]"#,
            "delete_many key1, key2, key3 -> 3 removed",
            "get_many key1, key2, key3 -> [None, None, None]",
        ]
    );
    assert_eq!(
        section(&output, "two caches on one store, one cleared"),
        [
            "api_cache set data for 5 min, static_cache set page for 1 h",
            "api_cache.clear()",
            "api_cache get data -> None",
            r#"static_cache get page -> Some("<h1>About</h1>")"#,
        ]
    );
    assert_eq!(
        section(&output, "dynamic keys and cache-aside"),
        [
            "get_cache_key(42, profile) -> user:42:profile",
            r#"get_cache_key("7:posts", profile) -> user:7%3Aposts:profile"#,
            "get_user_data(42) -> Ada from the database (db queries: 1)",
            "get_user_data(42) -> Ada from the cache (db queries: 1)",
        ]
    );
    assert_eq!(
        section(&output, "invalidation on update"),
        [
            "cached user:42:profile, user:42:posts, user_statistics(42)",
            "update_user_profile(42) -> deleted 1 of user:42:profile, user:42:stats; \
             delete_memoized(user_statistics, 42) -> true",
            "get_user_data(42) -> Ada Lovelace from the database",
            "user posts(42) -> from the cache (untouched by the rename)",
            "invalidate_user_cache(42) -> 2 keys under user:42:*",
            "user posts(42) -> from the database",
        ]
    );
    assert_eq!(
        section(&output, "write-through"),
        [
            "user posts(42) -> 2 posts, now cached",
            "create_post_with_cache(42, \"Write-through\") -> post 4; user:42:posts dropped: true; post:4 stored",
            r#"get post:4 -> Some("Write-through") from the cache (db queries since: 0)"#,
            "user posts(42) -> 3 posts from the database",
        ]
    );
    assert_eq!(
        section(&output, "cache warming"),
        [
            "warm_cache -> 4 keys (db queries: 2)",
            format!("popular_posts -> {titles} from the cache").as_str(),
            r#"user:42 -> Some("Ada")"#,
            r#"user:7 -> Some("Bob")"#,
            "first requests served (db queries: 2)",
        ]
    );
    assert_eq!(
        section(&output, "counters"),
        [
            "track_page_view(home) x3 -> today 3, total 3",
            "pageviews:home:<today> -> expires in 48 h",
            "article 1 view 10 -> persisted to the database",
            "article 1 -> 12 views counted, 10 in the database",
        ]
    );
    assert_eq!(
        section(&output, "leaderboard (sorted set)"),
        [
            "update_user_score user:1 = 100, user:2 = 150, user:3 = 120",
            r#"get_leaderboard(2) -> ["user:2 150", "user:3 120"]"#,
            "get_user_rank(1) -> Some(3)",
            "increment_user_score(1, 60) -> 160",
            r#"get_leaderboard(10) -> ["user:1 160", "user:2 150", "user:3 120"]"#,
            "get_user_rank(1) -> Some(1)",
            "get_user_rank(9) -> None",
        ]
    );
    assert_eq!(
        section(&output, "pub/sub notification"),
        [
            "subscribe new_posts",
            r#"create_post(42, "Pub/sub") -> published to 1 subscriber(s)"#,
            r#"received -> NewPost { post_id: 4, title: "Pub/sub", author: 42 }"#,
        ]
    );
    assert_eq!(
        section(&output, "sessions"),
        [
            "login Ada -> session id of 32 hex digits, for the cookie",
            r#"session -> Some(Login { user_id: 42, username: "Ada" })"#,
            "next request renews it -> true",
            "sessions of user 42 -> 1",
            "logout (session.clear()) -> true",
            "session -> None",
        ]
    );
    assert_eq!(
        section(&output, "rate-limited endpoint"),
        [
            "GET /api/search?q=redis -> 200 OK, X-RateLimit-Remaining 2",
            "GET /api/search?q=redis -> 200 OK, X-RateLimit-Remaining 1",
            "GET /api/search?q=redis -> 200 OK, X-RateLimit-Remaining 0",
            "GET /api/search?q=redis -> 429 Too Many Requests, Retry-After within the 60 s window",
            "GET /api/search?q=redis with X-API-Key -> 200 OK, X-RateLimit-Remaining 2",
        ]
    );
    assert_eq!(
        section(&output, "stats and hit rate"),
        [
            "article 1, 1, 2, 1, 2 -> hits 3, misses 2, errors 0, hit rate 60.00% (under the 80% aim)",
            "five more -> hits 8, misses 2, errors 0, hit rate 80.00% (meets the 80% aim)",
        ]
    );
    assert_eq!(
        section(&output, "debugging keys"),
        [
            "debug_cache(post:4) -> exists true, ttl 600 s, value of 54 bytes",
            r#"list_cache_keys(post:*) -> 1 ["post:4"]"#,
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_memory() {
    runs_every_section(Arc::new(MemoryBackend::new())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_redis() {
    let Some(server) = shared_server() else {
        return;
    };
    let redis = server.backend(&unique_prefix("flask_patterns")).await;
    runs_every_section(Arc::new(redis)).await;
}
