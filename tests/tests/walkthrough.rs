//! The `walkthrough` example (seed guide `000`) run to completion on the memory backend and on
//! a real Redis, its output checked section by section: the same lines on both, except where
//! only Redis has the feature (Lua scripts, pipelines, `INFO`).
#![allow(clippy::unwrap_used, clippy::panic, missing_docs)]

use cache_tests::redis_harness::{shared_server, unique_prefix};
use cache_tests::sections::section;

/// `(title, lines)` of the sections a run prints.
type Sections = &'static [(&'static str, &'static [&'static str])];

const EVERY_BACKEND: Sections = &[
    (
        "configuration from the environment",
        &[
            "topology -> Standalone(cache.internal:6380)",
            "db -> 2",
            r#"key prefix -> "myapp:""#,
            "default ttl -> Some(3600s)",
            "password set -> true, shown in Debug -> false",
            "REDIS_PORT=not-a-port -> error Config",
        ],
    ),
    (
        "set and get",
        &[
            r#"get user:123 -> {"email":"john@example.com","name":"John"}"#,
            "ttl session:abc -> 300 s",
            "set nx lock:resource -> true, again -> false",
            "set xx counter (absent) -> false",
            "set xx counter (present) -> true",
            "get missing_key or default -> fallback",
        ],
    ),
    (
        "delete and expire",
        &[
            "delete user:123 -> true",
            "delete user:123 user:456 user:789 -> 2",
            "expire session:abc 600 -> true",
            "ttl session:abc -> 600 s",
            "ttl user:123 -> Missing",
        ],
    ),
    (
        "exists and keys",
        &[
            "exists user:123 user:456 -> 1",
            r#"scan user:* -> ["user:123", "user:456"]"#,
        ],
    ),
    (
        "increment and decrement",
        &[
            "increment views -> 1",
            "increment views 10 -> 11",
            "decrement views 5 -> 6",
            "get views -> Some(6)",
        ],
    ),
    (
        "hashes",
        &[
            r#"hget name -> Some("Alice")"#,
            r#"hgetall -> Some(Profile { name: "Alice", email: "alice@example.com", age: Some(30) })"#,
            "hdel age -> 1",
            "hlen -> 2",
        ],
    ),
    (
        "lists (queues)",
        &[
            "rpush 2 tasks -> length 2",
            r#"lrange 0 9 -> [Task { id: 1, task: "Send email" }, Task { id: 2, task: "Process order" }]"#,
            r#"lpop (FIFO) -> Some(Task { id: 1, task: "Send email" })"#,
            r#"lpop -> Some(Task { id: 2, task: "Process order" })"#,
            "lpop (empty) -> None",
        ],
    ),
    (
        "sets",
        &[
            "sadd python redis caching -> 3",
            "sadd python again -> false",
            r#"smembers -> ["caching", "python", "redis"]"#,
            "sismember python -> true",
            "srem caching -> true",
            "scard -> 2",
        ],
    ),
    (
        "atomic operations (what the guide's scripts do)",
        &[
            "rate limit 10 per 60 s, 11 calls -> 10 allowed",
            "counter with ttl -> value 1, ttl 3600 s",
            "check-and-set 10 -> 9, first try -> true",
            "check-and-set 10 -> 9, second try -> false",
        ],
    ),
    (
        "distributed locking",
        &[
            "order-processing: acquired, critical section runs",
            "order-processing: released -> true",
            "report-generation, waiting 100 ms: busy -> true",
            "5 workers on shared-resource -> 5 done, at most 1 inside at once",
        ],
    ),
    (
        "batches",
        &[
            "set_many key1 key2 key3 -> ok",
            r#"get_many key1 key2 missing -> [Some("value1"), Some("value2"), None]"#,
        ],
    ),
    (
        "cache decorator",
        &[
            r#"first user_profile(123) -> UserProfile { id: 123, name: "User 123" } (queries: 1)"#,
            r#"second user_profile(123) -> UserProfile { id: 123, name: "User 123" } (queries: 1)"#,
            "product(electronics, 123) -> electronics #123 (queries: 2)",
            "product(books, 456) -> books #456 (queries: 3)",
            "product(electronics, 123) -> electronics #123 (queries: 3)",
            "invalidate user:profile:123 -> true",
            "after invalidating: user_profile(123) and user_profile(124) -> (queries: 5)",
            "delete_pattern user:profile:* -> 2 removed",
        ],
    ),
    (
        "external API configuration",
        &[
            "weather-api auth -> ApiKey(X-API-Key: ..)",
            "weather-api cache key prefix -> weather:",
            "weather-api rate limit -> Some((100, 60s))",
            "weather-api timeout -> 5s, retries -> 3",
            "auth none -> HTTP 401",
            r#"auth bearer -> {"auth":"bearer"}"#,
            r#"auth basic -> {"auth":"basic"}"#,
            r#"auth api_key -> {"auth":"api_key"}"#,
            r#"auth oauth2 -> {"auth":"bearer"}"#,
            r#"auth custom -> {"auth":"custom"}"#,
            "oauth2, two calls -> 1 token request(s)",
        ],
    ),
    (
        "external API client",
        &[
            r#"first GET /weather/london -> {"city":"london","temperature_c":14} (cached: false, upstream calls: 1)"#,
            r#"second GET /weather/london -> {"city":"london","temperature_c":14} (cached: true, upstream calls: 1)"#,
            r#"GET /flaky (503 twice) -> {"ok":true} after 3 attempts"#,
            r#"3 calls a minute, 4 calls -> ["ok", "ok", "ok", "rate limited for the rest of the minute"] (upstream calls: 3)"#,
            r#"opens after 2 failures, 3 calls -> ["HTTP 500", "HTTP 500", "circuit open"] (upstream calls: 2)"#,
        ],
    ),
];

const ON_MEMORY: Sections = &[
    (
        "connect and health",
        &[
            "serving on -> memory",
            "ping -> ok",
            "health_check -> in process: nothing to reach",
        ],
    ),
    (
        "Lua scripts",
        &["needs Redis (REDIS_URL): the steps above are the library's own"],
    ),
    (
        "pipelines and transactions",
        &["needs Redis (REDIS_URL): on memory each call is in process already"],
    ),
];

const ON_REDIS: Sections = &[
    (
        "connect and health",
        &[
            "serving on -> redis",
            "ping -> ok",
            "health_check -> PING answered, scripts loaded",
            "info -> a version, 1 node(s), memory in use: true",
        ],
    ),
    (
        "Lua scripts",
        &[
            "registered rate_limit, run by SHA -> allowed 1, count 1",
            "eval check_and_set 10 -> 9 -> 1, again -> 0",
            "eval counter_with_ttl -> value 1, ttl -1",
            "after SCRIPT FLUSH, by SHA again -> allowed 1, count 2",
        ],
    ),
    (
        "pipelines and transactions",
        &[
            r#"pipeline of 3 SET + 2 GET -> ("OK", "OK", "OK", "value1", "value2")"#,
            "MULTI GET, INCR, EXPIRE EXEC -> (41, 42, true)",
            r#"1000 SETs in one round trip -> last is Some("{\"id\":999,\"value\":9990}")"#,
        ],
    ),
];

async fn runs_every_section(redis: Option<cache_redis::RedisBackend>, own: Sections) {
    let mut out = Vec::new();
    examples::walkthrough::run(redis, &mut out).await.unwrap();
    let output = String::from_utf8(out).unwrap();
    for (title, lines) in EVERY_BACKEND.iter().chain(own) {
        assert_eq!(section(&output, title), *lines, "section {title:?}");
    }
    let titles = output
        .lines()
        .filter(|line| line.starts_with("== "))
        .count();
    assert_eq!(titles, EVERY_BACKEND.len() + own.len(), "{output}");
}

#[tokio::test]
async fn on_memory() {
    runs_every_section(None, ON_MEMORY).await;
}

#[tokio::test]
async fn on_redis() {
    let Some(server) = shared_server() else {
        return;
    };
    let redis = server.backend(&unique_prefix("walkthrough")).await;
    runs_every_section(Some(redis), ON_REDIS).await;
}

#[tokio::test]
async fn a_second_run_prints_the_same() {
    let Some(server) = shared_server() else {
        return;
    };
    let prefix = unique_prefix("walkthrough_twice");
    for _ in 0..2 {
        runs_every_section(Some(server.backend(&prefix).await), ON_REDIS).await;
    }
}
