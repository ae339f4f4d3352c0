//! `cache_core::lock::Lock` end to end on a real Redis (standalone and Cluster): one holder of
//! many, waiters served one at a time, a dead holder's lease, renewals that stop with the
//! guard, a lock the server forgets, wrong types under the lock keys, and the wake-up
//! subscription (woken across backends, reopened after a kill, ended with the last clone);
//! and `#[locked]` on Redis.
//!
//! Without `redis-server` the tests fail, saying how to install it; with
//! `CACHE_TESTS_SKIP_REDIS=1` they skip with a notice (see `cache_tests::redis_harness`).
#![allow(missing_docs, clippy::unwrap_used, clippy::panic, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use cache_core::lock::{Acquire, Fill, Lock, LockGuard, LockToken};
use cache_core::{Bytes, CacheBackend, ErrorKind, KeyTtl, LockStore, capability_names};
use cache_redis::RedisBackend;
use cache_redis::redis::AsyncCommands as _;
use cache_tests::redis_harness::{RedisServer, shared_cluster, shared_server, unique_prefix};

/// A lease no test outlives.
const LONG: Duration = Duration::from_secs(30);

fn locks(backend: &RedisBackend) -> &dyn LockStore {
    backend.locks().expect("the Redis backend offers locks")
}

async fn standalone(name: &str) -> Option<RedisBackend> {
    Some(shared_server()?.backend(&unique_prefix(name)).await)
}

async fn cluster(name: &str) -> Option<RedisBackend> {
    Some(shared_cluster()?.backend(&unique_prefix(name)).await)
}

/// How many `PEXPIRE`s the server has run, scripts' included (`INFO commandstats`).
fn pexpire_calls(server: &RedisServer) -> u64 {
    let stats = server.cli(&["INFO", "commandstats"]);
    stats
        .lines()
        .find_map(|line| line.strip_prefix("cmdstat_pexpire:calls="))
        .and_then(|rest| rest.split(',').next())
        .map_or(0, |calls| calls.parse().expect("a call count"))
}

/// Waits until the backend's wake-up subscription is up: its opening wakes every watcher.
async fn subscribed(backend: &RedisBackend) {
    tokio::time::timeout(Duration::from_secs(5), locks(backend).watch("__warm_up__"))
        .await
        .expect("the lock wake-up subscription comes up");
}

#[test]
fn the_redis_backend_offers_its_capabilities() {
    let Some(server) = shared_server() else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let backend = runtime.block_on(server.backend(&unique_prefix("capabilities")));
    assert_eq!(
        capability_names(&backend),
        ["rate_limits", "locks", "structures", "pubsub", "key_scan"]
    );
}

// ------------------------------------------------------------------ one holder of many

async fn exactly_one_of_many_acquires(backend: RedisBackend) {
    for tasks in 2..=50_usize {
        let name = format!("contended:{tasks}");
        let start = Arc::new(tokio::sync::Barrier::new(tasks));
        let mut running = tokio::task::JoinSet::new();
        for _ in 0..tasks {
            let lock = Lock::new(backend.clone(), name.clone()).lease(LONG);
            let start = Arc::clone(&start);
            running.spawn(async move {
                start.wait().await;
                lock.try_acquire().await.expect("redis answers")
            });
        }
        // Every guard is kept until all tried, so the winner cannot release before the rest.
        let mut guards: Vec<LockGuard> = Vec::new();
        while let Some(outcome) = running.join_next().await {
            guards.extend(outcome.expect("task"));
        }
        assert_eq!(guards.len(), 1, "{tasks} tasks: exactly one holder");
        assert!(guards.pop().unwrap().release().await.expect("release"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standalone_exactly_one_of_many_acquires() {
    let Some(backend) = standalone("one_of_many").await else {
        return;
    };
    exactly_one_of_many_acquires(backend).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_exactly_one_of_many_acquires() {
    let Some(backend) = cluster("one_of_many").await else {
        return;
    };
    exactly_one_of_many_acquires(backend).await;
}

// ------------------------------------------------------------------ waiters, one at a time

async fn waiters_run_one_at_a_time(backend: RedisBackend) {
    const TASKS: usize = 50;
    let inside = Arc::new(AtomicUsize::new(0));
    let mut running = tokio::task::JoinSet::new();
    for _ in 0..TASKS {
        let lock = Lock::new(backend.clone(), "serial")
            .lease(Duration::from_secs(5))
            .wait(Duration::from_secs(60));
        let inside = Arc::clone(&inside);
        running.spawn(async move {
            let guard = lock.acquire().await.expect("every waiter gets its turn");
            assert_eq!(
                inside.fetch_add(1, Ordering::SeqCst),
                0,
                "two inside at once"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
            inside.fetch_sub(1, Ordering::SeqCst);
            let fence = guard.fence();
            assert!(
                guard.release().await.expect("release"),
                "still held at release"
            );
            fence
        });
    }
    let mut fences = Vec::with_capacity(TASKS);
    while let Some(fence) = running.join_next().await {
        fences.push(fence.expect("task"));
    }
    fences.sort_unstable();
    fences.dedup();
    assert_eq!(fences.len(), TASKS, "every holder had its own fence");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standalone_waiters_run_one_at_a_time() {
    let Some(backend) = standalone("one_at_a_time").await else {
        return;
    };
    waiters_run_one_at_a_time(backend).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_waiters_run_one_at_a_time() {
    let Some(backend) = cluster("one_at_a_time").await else {
        return;
    };
    waiters_run_one_at_a_time(backend).await;
}

// ------------------------------------------------------------------ a dead holder

async fn a_dead_holder_frees_after_its_lease(backend: RedisBackend) {
    let lease = Duration::from_secs(1);
    // Taken through the raw store, with no guard to renew or release it: a process that died.
    let taken_at = Instant::now();
    let acquired = locks(&backend)
        .acquire("orphan", &LockToken::random().unwrap(), lease)
        .await
        .expect("acquire");
    assert!(matches!(acquired, Acquire::Acquired { .. }));
    let waiter = Lock::new(backend.clone(), "orphan")
        .lease(LONG)
        .wait(Duration::from_secs(10));
    let guard = waiter
        .acquire()
        .await
        .expect("the lease ends, the waiter takes over");
    let took = taken_at.elapsed();
    eprintln!("a dead holder's {lease:?} lease: the waiter took over after {took:?}");
    assert!(
        took >= lease - Duration::from_millis(50),
        "{took:?}: before the lease ended"
    );
    assert!(
        took < lease + Duration::from_millis(500),
        "{took:?}: the waiter must take over about when the lease ends"
    );
    assert!(guard.release().await.expect("release"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standalone_a_dead_holder_frees_after_its_lease() {
    let Some(backend) = standalone("dead_holder").await else {
        return;
    };
    a_dead_holder_frees_after_its_lease(backend).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_a_dead_holder_frees_after_its_lease() {
    let Some(backend) = cluster("dead_holder").await else {
        return;
    };
    a_dead_holder_frees_after_its_lease(backend).await;
}

// ------------------------------------------------------------------ renewal

/// The guard renews while it lives, and not one `PEXPIRE` runs after its release (a server of
/// its own, so that no other test's commands count).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renewal_stops_on_release_and_on_drop() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let backend = server.backend("renewal:").await;
    let lock = Lock::new(backend.clone(), "renewed").lease(Duration::from_millis(300));

    let before = pexpire_calls(&server);
    let guard = lock.acquire().await.expect("free");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let held = pexpire_calls(&server);
    assert!(
        held > before,
        "renewals ran while the guard lived ({before} → {held})"
    );
    assert!(!guard.is_lost());
    assert!(
        guard.release().await.expect("release"),
        "still held at release"
    );
    let released = pexpire_calls(&server);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        pexpire_calls(&server),
        released,
        "no PEXPIRE after the release"
    );

    // Dropped rather than released: the release runs on a task, after the renewal is gone.
    let guard = lock.acquire().await.expect("free");
    tokio::time::sleep(Duration::from_millis(400)).await;
    drop(guard);
    let freed = Lock::new(backend.clone(), "renewed").wait(Duration::from_secs(2));
    let again = freed.acquire().await.expect("the drop released it");
    let dropped = pexpire_calls(&server);
    drop(again.release().await);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(pexpire_calls(&server), dropped, "no PEXPIRE after the drop");
}

// ------------------------------------------------------------------ loss

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_whose_key_is_deleted_is_lost() {
    let Some(backend) = standalone("deleted").await else {
        return;
    };
    let guard = Lock::new(backend.clone(), "forgotten")
        .lease(Duration::from_millis(300))
        .acquire()
        .await
        .expect("free");
    let lock_key = format!("{{{}}}:lock", backend.prefixed_key("forgotten"));
    let removed: u64 = backend.connection().del(&lock_key).await.unwrap();
    assert_eq!(removed, 1, "the lock key is `{lock_key}`");
    tokio::time::timeout(Duration::from_secs(3), guard.lost())
        .await
        .expect("the next renewal finds the lock gone");
    assert!(guard.is_lost());
    assert!(
        !guard.release().await.expect("release"),
        "nothing left to release"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_lost_to_flushall_is_lost() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let backend = server.backend("flushed:").await;
    let guard = Lock::new(backend.clone(), "flushed")
        .lease(Duration::from_millis(300))
        .acquire()
        .await
        .expect("free");
    server.cli(&["FLUSHALL"]);
    tokio::time::timeout(Duration::from_secs(3), guard.lost())
        .await
        .expect("the next renewal finds the lock gone");
    // Whoever comes next takes it, with a fence past the lost one (server time moved on).
    let next = Lock::new(backend.clone(), "flushed")
        .acquire()
        .await
        .expect("free");
    assert!(next.fence() > guard.fence());
}

// ------------------------------------------------------------------ wrong types

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_types_under_the_lock_keys_are_clear_errors() {
    let Some(backend) = standalone("wrongtype").await else {
        return;
    };
    let mut con = backend.connection();
    let key = backend.prefixed_key("typed");
    let () = con.hset(format!("{{{key}}}:lock"), "a", "1").await.unwrap();
    let token = LockToken::random().unwrap();
    let error = locks(&backend)
        .acquire("typed", &token, LONG)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::WrongType, "{error}");
    assert!(error.message().contains("lock `typed`"), "{error}");
    let busy = Lock::new(backend.clone(), "typed")
        .acquire()
        .await
        .unwrap_err();
    assert!(!busy.is_held());
    assert_eq!(
        busy.cause().map(cache_core::Error::kind),
        Some(ErrorKind::WrongType)
    );
    for error in [
        locks(&backend)
            .extend("typed", &token, LONG)
            .await
            .unwrap_err(),
        locks(&backend).release("typed", &token).await.unwrap_err(),
    ] {
        assert_eq!(error.kind(), ErrorKind::WrongType, "{error}");
    }

    let () = con.rpush(format!("{{{key}}}:fence"), "1").await.unwrap();
    let () = con.del(format!("{{{key}}}:lock")).await.unwrap();
    let error = locks(&backend)
        .acquire("typed", &token, LONG)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::WrongType, "{error}");

    let () = con
        .set(format!("{{{key}}}:fence"), "not a number")
        .await
        .unwrap();
    let error = locks(&backend)
        .acquire("typed", &token, LONG)
        .await
        .unwrap_err();
    assert!(error.message().contains("not a lock fence"), "{error}");
    let error = locks(&backend).supersede("typed", None).await.unwrap_err();
    assert!(error.message().contains("not a lock fence"), "{error}");
}

// ------------------------------------------------------------------ key layout

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_with_a_brace_but_no_tag_is_refused_on_a_cluster_only() {
    let token = LockToken::random().unwrap();
    if let Some(backend) = cluster("brace").await {
        let error = locks(&backend)
            .acquire("a}b", &token, LONG)
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidInput, "{error}");
        assert!(error.message().contains("hash tag"), "{error}");
        let error = locks(&backend).supersede("a}b", None).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidInput, "{error}");
    }
    if let Some(backend) = standalone("brace").await {
        let taken = locks(&backend).acquire("a}b", &token, LONG).await.unwrap();
        let Acquire::Acquired { fence } = taken else {
            panic!("free")
        };
        let fill = Fill::new(Bytes::from_static(b"v"), None, None);
        assert!(
            locks(&backend)
                .fill("a}b", &token, fence, fill)
                .await
                .unwrap()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fills_get_the_fallback_ttl_like_set() {
    let Some(server) = shared_server() else {
        return;
    };
    let config = server
        .config(&unique_prefix("fallback"))
        .default_ttl(Some(Duration::from_secs(60)));
    let backend = RedisBackend::connect(config).await.unwrap();
    let token = LockToken::random().unwrap();
    let Acquire::Acquired { fence } = locks(&backend).acquire("v", &token, LONG).await.unwrap()
    else {
        panic!("free")
    };
    let fill = Fill::new(Bytes::from_static(b"v"), None, None);
    assert!(
        locks(&backend)
            .fill("v", &token, fence, fill)
            .await
            .unwrap()
    );
    let ttl = backend.ttl("v").await.unwrap();
    assert!(
        matches!(ttl, KeyTtl::ExpiresIn(left) if left > Duration::from_secs(50)),
        "{ttl:?}"
    );
    let fill = Fill::new(Bytes::from_static(b"w"), None, None);
    locks(&backend).supersede("w", Some(fill)).await.unwrap();
    assert!(matches!(
        backend.ttl("w").await.unwrap(),
        KeyTtl::ExpiresIn(_)
    ));
}

// ------------------------------------------------------------------ wake-ups

/// A release by another backend (another process, as far as the watcher can tell) reaches
/// the watcher through the subscription alone: on a Cluster, from whichever node holds the
/// name's slot.
async fn a_release_elsewhere_wakes_the_watcher(watcher: RedisBackend, releaser: RedisBackend) {
    subscribed(&watcher).await;
    for name in ["a", "b", "c", "d", "e", "f"] {
        let token = LockToken::random().unwrap();
        let taken = locks(&releaser).acquire(name, &token, LONG).await.unwrap();
        assert!(matches!(taken, Acquire::Acquired { .. }));
        let mut woken = locks(&watcher).watch(name);
        assert!(
            tokio::time::timeout(Duration::from_millis(100), &mut woken)
                .await
                .is_err(),
            "`{name}`: nothing was released yet"
        );
        assert!(locks(&releaser).release(name, &token).await.unwrap());
        tokio::time::timeout(Duration::from_secs(3), woken)
            .await
            .unwrap_or_else(|_| panic!("`{name}`: the release wakes the watcher"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standalone_a_release_elsewhere_wakes_the_watcher() {
    let Some(server) = shared_server() else {
        return;
    };
    let prefix = unique_prefix("woken");
    let (watcher, releaser) = (server.backend(&prefix).await, server.backend(&prefix).await);
    a_release_elsewhere_wakes_the_watcher(watcher, releaser).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_a_release_elsewhere_wakes_the_watcher() {
    let Some(cluster) = shared_cluster() else {
        return;
    };
    let prefix = unique_prefix("woken");
    let (watcher, releaser) = (
        cluster.backend(&prefix).await,
        cluster.backend(&prefix).await,
    );
    a_release_elsewhere_wakes_the_watcher(watcher, releaser).await;
}

/// Subscribers of `channel`, by `PUBSUB NUMSUB`.
fn subscribers(server: &RedisServer, channel: &str) -> u64 {
    let reply = server.cli(&["PUBSUB", "NUMSUB", channel]);
    reply
        .lines()
        .nth(1)
        .and_then(|count| count.trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_subscription_is_reopened_and_ends_with_the_last_clone() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let backend = server.backend("subscribed:").await;
    let channel = "subscribed:__cache_locks";
    let clone = backend.clone();
    subscribed(&clone).await;
    assert_eq!(
        subscribers(&server, channel),
        1,
        "one subscription per backend"
    );

    // Killed under it: reopened, and every watcher woken (a release may have been missed).
    let pending = locks(&backend).watch("never-released");
    server.cli(&["CLIENT", "KILL", "TYPE", "pubsub"]);
    tokio::time::timeout(Duration::from_secs(5), pending)
        .await
        .expect("the reopened subscription wakes every watcher");
    assert_eq!(subscribers(&server, channel), 1);

    drop(clone);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(subscribers(&server, channel), 1, "a clone still lives");
    drop(backend);
    let deadline = Instant::now() + Duration::from_secs(3);
    while subscribers(&server, channel) > 0 {
        assert!(
            Instant::now() < deadline,
            "the subscription outlived the backend"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Counts who is inside a `#[locked]` body, and how many got in.
static INSIDE: AtomicUsize = AtomicUsize::new(0);
static RAN: AtomicUsize = AtomicUsize::new(0);

#[derive(Debug)]
struct Busy(cache_core::LockBusy);

impl From<cache_core::LockBusy> for Busy {
    fn from(busy: cache_core::LockBusy) -> Self {
        Self(busy)
    }
}

async fn inside_the_lock(hold: Duration) {
    assert_eq!(
        INSIDE.fetch_add(1, Ordering::SeqCst),
        0,
        "two holders at once"
    );
    RAN.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(hold).await;
    INSIDE.fetch_sub(1, Ordering::SeqCst);
}

#[cache_core::locked(key = "payment:<id>", ttl = 5)]
async fn pay_now(id: u64) -> Result<(), Busy> {
    let _ = id;
    // Long enough that every caller asks while it is held.
    inside_the_lock(Duration::from_millis(500)).await;
    Ok(())
}

#[cache_core::locked(key = "payment:<id>", ttl = 5, wait = "30s")]
async fn pay_in_turn(id: u64) -> Result<(), Busy> {
    let _ = id;
    inside_the_lock(Duration::from_millis(20)).await;
    Ok(())
}

/// `#[locked]` on Redis: without `wait`, exactly one of 20 concurrent callers runs and the
/// others are told it is held; with `wait`, all 20 run, one at a time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locked_on_redis_runs_one_caller_or_all_in_turn() {
    let Some(backend) = standalone("locked-macro").await else {
        return;
    };
    RAN.store(0, Ordering::SeqCst);
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..20 {
        calls.spawn(cache_core::with_backend(backend.clone(), pay_now(1)));
    }
    let outcomes = calls.join_all().await;
    let busy = outcomes
        .iter()
        .filter(|outcome| matches!(outcome, Err(Busy(busy)) if busy.is_held()))
        .count();
    assert_eq!((RAN.load(Ordering::SeqCst), busy), (1, 19), "{outcomes:?}");

    RAN.store(0, Ordering::SeqCst);
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..20 {
        calls.spawn(cache_core::with_backend(backend.clone(), pay_in_turn(2)));
    }
    for outcome in calls.join_all().await {
        outcome.expect("every waiter gets its turn");
    }
    assert_eq!(RAN.load(Ordering::SeqCst), 20);
}
