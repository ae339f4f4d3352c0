//! The README's snippets, as written there, run on the embedded backend: a README that does
//! not compile or does not work fails here. `readme_is_in_sync` checks they are still the
//! README's text.
#![allow(clippy::unwrap_used, clippy::panic, missing_docs, unused_variables)]

#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Job {
    id: u64,
}

#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Login {
    admin: bool,
}

// README: "## Data structures"
use cache_core::structures::{Channel, Counter, HashRecord, Leaderboard, Queue, Set, scan_keys};
use std::time::Duration;

#[tokio::test]
async fn data_structures() -> cache_core::Result<()> {
    let backend = cache_core::MemoryBackend::new(); // or a cache_redis::RedisBackend

    let jobs = Queue::<Job>::new(backend.clone(), "jobs");
    jobs.push(&Job { id: 1 }).await?; // RPUSH
    let next = jobs.pop_wait(Duration::from_secs(5)).await?; // BLPOP: woken by a push

    let profile = HashRecord::new(backend.clone(), "user:7:profile");
    profile.set("name", "Ada").await?; // one field (HSET)
    let name: Option<String> = profile.get("name").await?;
    profile.expire(Duration::from_secs(3600)).await?; // the whole record

    let board = Leaderboard::<String>::new(backend.clone(), "game:scores");
    board.increment(&"ada".to_string(), 10.0).await?; // ZINCRBY
    let top: Vec<(String, f64)> = board.top(10).await?; // highest first

    let online = Set::<u64>::new(backend.clone(), "online");
    online.add(&7).await?;
    let logins = Counter::new(backend.clone(), "logins:7", Duration::from_secs(86_400));
    logins.increment(1).await?; // the TTL is set on creation, atomically

    let orders = Channel::<Job>::new(backend.clone(), "orders");
    let mut events = orders.subscribe().await?; // a Stream of Result<Job>
    orders.publish(&Job { id: 2 }).await?;

    let users = scan_keys(backend, "user:*").collect().await?; // SCAN, never KEYS
    assert_eq!(next.map(|job| job.id), Some(1));
    assert_eq!(name.as_deref(), Some("Ada"));
    assert_eq!(top, [("ada".to_string(), 10.0)]);
    assert_eq!(users, ["user:7:profile"]);
    assert!(events.next().await.is_some());
    Ok(())
}

// README: "## Sessions"
#[tokio::test]
async fn sessions() -> cache_core::Result<()> {
    use cache_core::session::{OneTimeTokens, Sessions, TowerSessionStore};
    use std::time::Duration;

    let backend = cache_core::MemoryBackend::new(); // or a cache_redis::RedisBackend

    let sessions = Sessions::<Login>::new(backend.clone()).ttl(Duration::from_secs(3600));
    let alice = Login { admin: false };
    let id = sessions.create(Some("u-7"), &alice).await?; // id.expose(): the cookie
    let login: Option<Login> = sessions.load(&id).await?;
    let id = sessions.rotate(&id).await?.expect("live"); // a new id; the old one is dead
    sessions.update(&id, &Login { admin: true }).await?; // SET XX: never resurrects
    sessions.touch(&id).await?; // sliding expiry
    let mine = sessions.list_for_user("u-7").await?;
    sessions.destroy_all_for_user("u-7").await?; // "log out everywhere"

    let states = OneTimeTokens::<String>::new(backend.clone());
    let ten_minutes = Duration::from_secs(600);
    let pkce = "pkce verifier".to_string();
    let state = states.issue(&pkce, ten_minutes).await?;
    let verifier = states.take(state.expose()).await?; // GETDEL: redeemed once

    // feature `tower-sessions`: a tower_sessions::SessionStore for axum's SessionManagerLayer
    let layer = tower_sessions::SessionManagerLayer::new(TowerSessionStore::new(backend));
    assert_eq!(login, Some(alice));
    assert_eq!(mine.len(), 1);
    assert_eq!(sessions.load(&id).await?, None);
    assert_eq!(verifier.as_deref(), Some("pkce verifier"));
    Ok(())
}

// README: "## Redis", pipelines and transactions (on the harness's server)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_transaction() -> cache_core::Result<()> {
    let Some(server) = cache_tests::redis_harness::shared_server() else {
        return Ok(());
    };
    let backend = server
        .backend(&cache_tests::redis_harness::unique_prefix("readme"))
        .await;
    let mut transfer = backend.pipeline();
    transfer
        .atomic()
        .incr("{account}:alice", -30)
        .incr("{account}:bob", 30);
    let (alice, bob): (i64, i64) = transfer.query().await?;
    assert_eq!((alice, bob), (-30, 30));
    Ok(())
}

// README: "### Near cache" (on the harness's server instead of `from_env`)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn near_cache() -> cache_core::Result<()> {
    let Some(server) = cache_tests::redis_harness::shared_server() else {
        return Ok(());
    };
    let config = server.config(&cache_tests::redis_harness::unique_prefix("readme_near"));
    let redis = cache_redis::RedisBackend::connect(config.near_cache(10_000)).await?;
    let stats = redis.near_cache_stats(); // hits, misses, inserts, refused, invalidations, flushes, serving
    assert!(stats.is_some());
    Ok(())
}

// README: "## Testing"
use cache_core::testing::{Fault, Faults, FunctionCalls, Operation, Recorder};
use cache_core::{ErrorKind, MemoryBackend, with_backend};

#[cache_core::cached(key = "user:<id>", ttl = 60)]
async fn get_user(id: u64) -> Result<String, cache_core::Error> {
    Ok(format!("user {id}"))
}

#[tokio::test(start_paused = true)]
async fn get_user_is_cached() -> cache_core::Result<()> {
    let recorder = Recorder::new();
    let calls = FunctionCalls::track("get_user"); // every caller in the process counts
    with_backend(recorder.wrap(MemoryBackend::new()), async {
        get_user(7).await?; // a miss: Get, LockClaim, LockFill
        recorder.take();
        get_user(7).await?;
        Ok::<_, cache_core::Error>(())
    })
    .await?;
    assert_eq!(recorder.operations(), [Operation::Get]);
    calls.assert_hits_misses(1, 1);

    let faults = Faults::new();
    faults.script(Operation::Get, [Fault::Error(ErrorKind::Connection)]);
    let answer = with_backend(faults.wrap(MemoryBackend::new()), get_user(8)).await?;
    assert_eq!(answer, "user 8"); // the body ran; the failure was logged once
    Ok(())
}

mod my_backend_conformance {
    // one #[tokio::test] per check; `real` instead of `paused` for a server with its own clock
    cache_core::conformance_tests!(paused, async { cache_core::MemoryBackend::new() });
    cache_core::structure_conformance_tests!(paused, async { cache_core::MemoryBackend::new() });
}

/// Each snippet above is the README's, line for line (up to spacing, which rustfmt changes).
#[test]
fn readme_is_in_sync() {
    let squeeze = |line: &str| line.split_whitespace().collect::<Vec<_>>().join(" ");
    let readme: Vec<String> = include_str!("../../README.md")
        .lines()
        .map(squeeze)
        .collect();
    let this = include_str!("readme_snippets.rs");
    let snippet_lines = this
        .lines()
        .skip_while(|line| !line.starts_with("// README:"))
        .take_while(|line| !line.starts_with("/// Each snippet"))
        .map(squeeze)
        .filter(|line| !line.is_empty() && !line.starts_with("//") && !line.starts_with("assert"))
        .filter(|line| {
            ![
                "#[tokio::test]",
                "Ok(())",
                "}",
                "};",
                "return Ok(());",
                ".await;",
            ]
            .contains(&line.as_str())
                && !line.starts_with("async fn")
                && !line.starts_with("#[tokio::test(")
                && !line.starts_with("let Some(server)")
                && !line.starts_with("let backend = server")
                && !line.starts_with(".backend(")
                && !line.starts_with("let config = server")
                && !line.starts_with("let redis = cache_redis::RedisBackend::connect(config")
        });
    for line in snippet_lines {
        assert!(
            readme.contains(&line),
            "not in the README as written: {line}"
        );
    }
}

/// The Rust code block of the README that starts with `first_line`, line by line.
fn readme_block(first_line: &str) -> Vec<&'static str> {
    let readme = include_str!("../../README.md");
    let start = readme
        .find(&format!("```rust\n{first_line}\n"))
        .unwrap_or_else(|| panic!("no README block starts with `{first_line}`"));
    readme[start..]
        .lines()
        .skip(1)
        .take_while(|line| *line != "```")
        .collect()
}

/// The README's first snippet is the ui case `cached/pass/readme_intro.rs`, which must compile.
#[test]
fn readme_intro_is_a_compiling_ui_case() {
    let case: Vec<&str> = include_str!("../ui/cached/pass/readme_intro.rs")
        .lines()
        .skip(1)
        .collect();
    assert_eq!(readme_block("use cache_core::cached;"), case);
}

/// The README's `#[rate_limited]` snippet is in the ui case `rate_limited/pass/readme.rs`.
#[test]
fn readme_rate_limited_is_in_a_compiling_ui_case() {
    let case = include_str!("../ui/rate_limited/pass/readme.rs");
    for line in readme_block("use cache_core::{RateLimited, cached, rate_limited};") {
        assert!(case.contains(line), "not in the ui case as written: {line}");
    }
}
