//! The data-structure conformance suite: the contracts of [`StructureStore`], [`PubSubStore`]
//! and [`KeyScan`] written once as checks, run against every backend that offers them.
//!
//! Each check takes a fresh, isolated backend and panics with a message on a contract
//! violation. It uses only the capabilities ([`CacheBackend::structures`],
//! [`CacheBackend::pubsub`], [`CacheBackend::key_scan`]) and the byte operations, so the same
//! checks run on the memory backend, Redis and a Redis Cluster (every operation here is on
//! one key, so keys need no common hash slot). [`structure_conformance_tests!`] turns the list
//! into one `#[tokio::test]` per check:
//!
//! ```
//! cache_core::structure_conformance_tests!(paused, async { cache_core::MemoryBackend::new() });
//! # fn main() {}
//! ```
//!
//! Time: as in [`conformance`](super), every wait is a `tokio::time::sleep` of a
//! short TTL, instant under `paused`, short on a real clock.
//!
//! Pub/sub counts: `publish` must count every subscriber; a Cluster backend meets this by
//! sending a channel's publishes and subscriptions to one node (sharded pub/sub).
//!
//! [`structure_conformance_tests!`]: crate::structure_conformance_tests

// Test support: a failed expectation is a panic with a message, as in `assert!`.
#![allow(clippy::panic, clippy::unwrap_used)]

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use crate::key::glob_escape;
use crate::structures::{KeyScan, Op, Order, PubSubStore, Reply, ScanCursor, StructureStore};
use crate::{Bytes, CacheBackend, ErrorKind, KeyTtl};

use super::SHORT_TTL;

/// A deadline no check waits out when it works.
const LONG_WAIT: Duration = Duration::from_secs(5);

fn bytes(text: &str) -> Bytes {
    Bytes::copy_from_slice(text.as_bytes())
}

fn texts(values: &[Bytes]) -> Vec<String> {
    values
        .iter()
        .map(|value| String::from_utf8_lossy(value).into_owned())
        .collect()
}

fn store(backend: &impl CacheBackend) -> &dyn StructureStore {
    backend
        .structures()
        .expect("the backend must offer data structures")
}

async fn run(store: &dyn StructureStore, key: &str, op: Op<'_>) -> Reply {
    match store.apply(key, op).await {
        Ok(reply) => reply,
        Err(error) => panic!("{} on `{key}` failed: {error}", op.name()),
    }
}

async fn refused(store: &dyn StructureStore, key: &str, op: Op<'_>) -> ErrorKind {
    match store.apply(key, op).await {
        Ok(reply) => panic!("{} on `{key}` must fail, replied {reply:?}", op.name()),
        Err(error) => error.kind(),
    }
}

async fn count(store: &dyn StructureStore, key: &str, op: Op<'_>) -> u64 {
    match run(store, key, op).await {
        Reply::Count(count) => count,
        other => panic!("{} on `{key}` must reply a count, got {other:?}", op.name()),
    }
}

async fn values(store: &dyn StructureStore, key: &str, op: Op<'_>) -> Vec<String> {
    match run(store, key, op).await {
        Reply::Values(values) => texts(&values),
        other => panic!("{} on `{key}` must reply values, got {other:?}", op.name()),
    }
}

async fn sorted_values(store: &dyn StructureStore, key: &str, op: Op<'_>) -> Vec<String> {
    let mut values = values(store, key, op).await;
    values.sort();
    values
}

async fn scored(store: &dyn StructureStore, key: &str, op: Op<'_>) -> Vec<(String, f64)> {
    match run(store, key, op).await {
        Reply::Scored(members) => members
            .into_iter()
            .map(|(member, score)| (String::from_utf8_lossy(&member).into_owned(), score))
            .collect(),
        other => panic!(
            "{} on `{key}` must reply scored members, got {other:?}",
            op.name()
        ),
    }
}

fn pairs(expected: &[(&str, f64)]) -> Vec<(String, f64)> {
    expected
        .iter()
        .map(|(member, score)| ((*member).to_owned(), *score))
        .collect()
}

/// The value pushed and popped: its own index, so loss and duplicates show.
fn item(index: usize) -> Bytes {
    bytes(&index.to_string())
}

/// A queue is FIFO; pops take up to their count; ranges follow `LRANGE`; an emptied queue
/// is gone.
pub async fn queue_fifo(backend: impl CacheBackend) {
    let store = store(&backend);
    let push = [bytes("a"), bytes("b"), bytes("c")];
    assert_eq!(
        count(store, "jobs", Op::QueuePush { values: &push }).await,
        3
    );
    let more = [bytes("d"), bytes("e")];
    assert_eq!(
        count(store, "jobs", Op::QueuePush { values: &more }).await,
        5
    );
    assert_eq!(count(store, "jobs", Op::QueueLen).await, 5);
    let range = |start, stop| Op::QueueRange { start, stop };
    assert_eq!(
        values(store, "jobs", range(0, -1)).await,
        ["a", "b", "c", "d", "e"]
    );
    assert_eq!(values(store, "jobs", range(-2, -1)).await, ["d", "e"]);
    assert_eq!(values(store, "jobs", range(1, 2)).await, ["b", "c"]);
    assert_eq!(values(store, "jobs", range(-100, 1)).await, ["a", "b"]);
    assert_eq!(values(store, "jobs", range(3, 100)).await, ["d", "e"]);
    assert!(
        values(store, "jobs", range(3, 1)).await.is_empty(),
        "start after stop"
    );
    assert!(
        values(store, "jobs", range(5, 9)).await.is_empty(),
        "past the end"
    );
    assert!(values(store, "jobs", range(0, -6)).await.is_empty());
    assert_eq!(
        values(store, "jobs", Op::QueuePop { count: 1 }).await,
        ["a"]
    );
    assert_eq!(
        values(store, "jobs", Op::QueuePop { count: 2 }).await,
        ["b", "c"]
    );
    assert_eq!(count(store, "jobs", Op::QueueLen).await, 2);
    assert_eq!(
        values(store, "jobs", Op::QueuePop { count: 10 }).await,
        ["d", "e"]
    );
    assert!(
        values(store, "jobs", Op::QueuePop { count: 1 })
            .await
            .is_empty()
    );
    assert!(
        !backend.exists("jobs").await.expect("exists"),
        "an emptied queue must be removed"
    );
    assert_eq!(count(store, "never", Op::QueueLen).await, 0);
    assert!(values(store, "never", range(0, -1)).await.is_empty());
    assert_eq!(
        refused(store, "jobs", Op::QueuePop { count: 0 }).await,
        ErrorKind::InvalidInput
    );
}

/// 10,000 items pushed in batches, 64 tasks popping concurrently until the queue is empty:
/// every item is delivered exactly once.
pub async fn queue_exactly_once(backend: impl CacheBackend) {
    const ITEMS: usize = 10_000;
    let backend = Arc::new(backend);
    let all: Vec<Bytes> = (0..ITEMS).map(item).collect();
    for batch in all.chunks(500) {
        run(store(&backend), "work", Op::QueuePush { values: batch }).await;
    }
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let backend = Arc::clone(&backend);
            tokio::spawn(async move {
                let mut popped = Vec::new();
                loop {
                    match run(store(&backend), "work", Op::QueuePop { count: 8 }).await {
                        Reply::Values(values) if values.is_empty() => return popped,
                        Reply::Values(values) => popped.extend(texts(&values)),
                        other => panic!("a pop must reply values, got {other:?}"),
                    }
                }
            })
        })
        .collect();
    let mut delivered = Vec::with_capacity(ITEMS);
    for task in tasks {
        delivered.extend(task.await.expect("a popping task"));
    }
    let distinct: HashSet<&String> = delivered.iter().collect();
    assert_eq!(
        distinct.len(),
        delivered.len(),
        "an item was delivered twice"
    );
    assert_eq!(delivered.len(), ITEMS, "an item was lost");
    let expected: HashSet<String> = (0..ITEMS).map(|i| i.to_string()).collect();
    assert_eq!(
        distinct,
        expected.iter().collect(),
        "delivered items differ"
    );
}

/// A pop with a deadline returns a value pushed while it waits, at once (woken, not at the
/// deadline), and `None` at the deadline on an empty queue; a zero timeout is refused.
pub async fn queue_pop_wait(backend: impl CacheBackend) {
    let backend = Arc::new(backend);
    let waiter = {
        let backend = Arc::clone(&backend);
        tokio::spawn(async move {
            let started = tokio::time::Instant::now();
            let reply = run(
                store(&backend),
                "inbox",
                Op::QueuePopWait { timeout: LONG_WAIT },
            )
            .await;
            (reply, started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    run(
        store(&backend),
        "inbox",
        Op::QueuePush {
            values: &[bytes("hello")],
        },
    )
    .await;
    let (reply, waited) = waiter.await.expect("the waiting task");
    assert_eq!(reply, Reply::Value(Some(bytes("hello"))));
    assert!(
        waited < LONG_WAIT / 2,
        "the waiter took {waited:?}: it must be woken by the push, not the deadline"
    );
    assert_eq!(count(store(&backend), "inbox", Op::QueueLen).await, 0);

    let started = tokio::time::Instant::now();
    let timeout = SHORT_TTL;
    assert_eq!(
        run(store(&backend), "inbox", Op::QueuePopWait { timeout }).await,
        Reply::Value(None),
        "nothing was pushed"
    );
    let waited = started.elapsed();
    assert!(
        waited >= timeout - Duration::from_millis(50) && waited < LONG_WAIT,
        "an empty pop waited {waited:?} for a {timeout:?} deadline"
    );
    let zero = Op::QueuePopWait {
        timeout: Duration::ZERO,
    };
    assert_eq!(
        refused(store(&backend), "inbox", zero).await,
        ErrorKind::InvalidInput
    );
}

/// A hash record: set and get one or many fields, get all, delete fields, length.
pub async fn hash_fields(backend: impl CacheBackend) {
    let store = store(&backend);
    let first = [("name", bytes("ann")), ("age", bytes("7"))];
    assert_eq!(
        count(store, "user:1", Op::HashSet { fields: &first }).await,
        2
    );
    let second = [
        ("age", bytes("8")),
        ("city", bytes("oslo")),
        ("age", bytes("9")),
    ];
    assert_eq!(
        count(store, "user:1", Op::HashSet { fields: &second }).await,
        1,
        "only `city` is new"
    );
    let get = |fields| Op::HashGet { fields };
    assert_eq!(
        run(store, "user:1", get(&["name", "missing", "age"])).await,
        Reply::MaybeValues(vec![Some(bytes("ann")), None, Some(bytes("9"))]),
        "a field given twice keeps its last value"
    );
    assert_eq!(
        run(store, "user:1", get(&["city"])).await,
        Reply::MaybeValues(vec![Some(bytes("oslo"))])
    );
    match run(store, "user:1", Op::HashGetAll).await {
        Reply::Fields(mut fields) => {
            fields.sort();
            assert_eq!(
                fields,
                [
                    ("age".to_owned(), bytes("9")),
                    ("city".to_owned(), bytes("oslo")),
                    ("name".to_owned(), bytes("ann")),
                ]
            );
        }
        other => panic!("get all must reply fields, got {other:?}"),
    }
    assert_eq!(count(store, "user:1", Op::HashLen).await, 3);
    let delete = |fields| Op::HashDelete { fields };
    assert_eq!(count(store, "user:1", delete(&["name", "nope"])).await, 1);
    assert_eq!(count(store, "user:1", Op::HashLen).await, 2);
    assert_eq!(
        run(store, "none", get(&["a"])).await,
        Reply::MaybeValues(vec![None])
    );
    assert_eq!(
        run(store, "none", Op::HashGetAll).await,
        Reply::Fields(Vec::new())
    );
    assert_eq!(count(store, "none", Op::HashLen).await, 0);
}

/// A hash record expires as a whole (`expire` and `ttl` on its key), and vanishes when its
/// last field is deleted.
pub async fn hash_expiry(backend: impl CacheBackend) {
    let store = store(&backend);
    let fields = [("a", bytes("1")), ("b", bytes("2"))];
    run(store, "profile", Op::HashSet { fields: &fields }).await;
    assert_eq!(
        backend.ttl("profile").await.expect("ttl"),
        KeyTtl::Persistent
    );
    assert!(backend.expire("profile", SHORT_TTL).await.expect("expire"));
    match backend.ttl("profile").await.expect("ttl") {
        KeyTtl::ExpiresIn(left) => {
            assert!(left <= SHORT_TTL && !left.is_zero(), "ttl {left:?}");
        }
        other => panic!("a hash given a TTL reported {other:?}"),
    }
    tokio::time::sleep(SHORT_TTL * 2).await;
    assert!(!backend.exists("profile").await.expect("exists"));
    assert_eq!(backend.ttl("profile").await.expect("ttl"), KeyTtl::Missing);
    assert_eq!(count(store, "profile", Op::HashLen).await, 0);
    assert_eq!(
        run(store, "profile", Op::HashGet { fields: &["a"] }).await,
        Reply::MaybeValues(vec![None]),
        "an expired record has no fields"
    );

    run(store, "short", Op::HashSet { fields: &fields }).await;
    run(
        store,
        "short",
        Op::HashDelete {
            fields: &["a", "b"],
        },
    )
    .await;
    assert!(
        !backend.exists("short").await.expect("exists"),
        "a hash whose last field is deleted must be removed"
    );
}

/// A leaderboard: add (counting new members), move, increment, top N with ties in Redis's
/// order, ranks both ways, scores, removal, ranges by score.
pub async fn sorted_set_leaderboard(backend: impl CacheBackend) {
    let store = store(&backend);
    let key = "board";
    let members = [
        (bytes("a"), 10.0),
        (bytes("b"), 20.0),
        (bytes("c"), 20.0),
        (bytes("d"), 5.0),
    ];
    assert_eq!(
        count(store, key, Op::SortedAdd { members: &members }).await,
        4
    );
    let moved = [(bytes("a"), 30.0), (bytes("e"), 1.0)];
    assert_eq!(
        count(store, key, Op::SortedAdd { members: &moved }).await,
        1,
        "only `e` is new"
    );
    let d = bytes("d");
    assert_eq!(
        run(
            store,
            key,
            Op::SortedIncrement {
                member: &d,
                by: 25.0
            }
        )
        .await,
        Reply::Score(Some(30.0))
    );
    let fresh = bytes("f");
    assert_eq!(
        run(
            store,
            key,
            Op::SortedIncrement {
                member: &fresh,
                by: -2.5
            }
        )
        .await,
        Reply::Score(Some(-2.5)),
        "an absent member starts at the increment"
    );
    // Scores: f -2.5, e 1, b 20, c 20, a 30, d 30.
    let range = |start, stop, order| Op::SortedRange { start, stop, order };
    assert_eq!(
        scored(store, key, range(0, 2, Order::Descending)).await,
        pairs(&[("d", 30.0), ("a", 30.0), ("c", 20.0)]),
        "top 3, equal scores by member bytes reversed"
    );
    assert_eq!(
        scored(store, key, range(0, -1, Order::Ascending)).await,
        pairs(&[
            ("f", -2.5),
            ("e", 1.0),
            ("b", 20.0),
            ("c", 20.0),
            ("a", 30.0),
            ("d", 30.0)
        ])
    );
    assert_eq!(
        scored(store, key, range(-2, -1, Order::Ascending)).await,
        pairs(&[("a", 30.0), ("d", 30.0)])
    );
    assert!(
        scored(store, key, range(4, 2, Order::Ascending))
            .await
            .is_empty()
    );
    let rank = |member, order| Op::SortedRank { member, order };
    let a = bytes("a");
    let missing = bytes("zz");
    assert_eq!(
        run(store, key, rank(&a, Order::Ascending)).await,
        Reply::Rank(Some(4))
    );
    assert_eq!(
        run(store, key, rank(&a, Order::Descending)).await,
        Reply::Rank(Some(1))
    );
    assert_eq!(
        run(store, key, rank(&missing, Order::Ascending)).await,
        Reply::Rank(None)
    );
    let b = bytes("b");
    assert_eq!(
        run(store, key, Op::SortedScore { member: &b }).await,
        Reply::Score(Some(20.0))
    );
    assert_eq!(
        run(store, key, Op::SortedScore { member: &missing }).await,
        Reply::Score(None)
    );
    let by_score = |min, max, order, limit| Op::SortedRangeByScore {
        min,
        max,
        order,
        limit,
    };
    assert_eq!(
        scored(store, key, by_score(1.0, 30.0, Order::Ascending, Some(3))).await,
        pairs(&[("e", 1.0), ("b", 20.0), ("c", 20.0)]),
        "bounds are inclusive"
    );
    assert_eq!(
        scored(store, key, by_score(1.0, 20.0, Order::Descending, None)).await,
        pairs(&[("c", 20.0), ("b", 20.0), ("e", 1.0)])
    );
    assert_eq!(
        scored(store, key, by_score(20.0, 20.0, Order::Ascending, None)).await,
        pairs(&[("b", 20.0), ("c", 20.0)])
    );
    assert_eq!(
        scored(
            store,
            key,
            by_score(f64::NEG_INFINITY, f64::INFINITY, Order::Descending, Some(2))
        )
        .await,
        pairs(&[("d", 30.0), ("a", 30.0)])
    );
    assert!(
        scored(store, key, by_score(21.0, 29.0, Order::Ascending, None))
            .await
            .is_empty()
    );
    let gone = [bytes("b"), bytes("zz")];
    assert_eq!(
        count(store, key, Op::SortedRemove { members: &gone }).await,
        1
    );
    assert_eq!(count(store, key, Op::SortedLen).await, 5);
    assert_eq!(count(store, "empty-board", Op::SortedLen).await, 0);
    assert!(
        scored(store, "empty-board", range(0, -1, Order::Descending))
            .await
            .is_empty()
    );
}

/// A NaN score is refused, and an increment that would make one changes nothing.
pub async fn sorted_set_nan_refused(backend: impl CacheBackend) {
    let store = store(&backend);
    let key = "scores";
    let members = [(bytes("top"), f64::INFINITY), (bytes("x"), 1.0)];
    run(store, key, Op::SortedAdd { members: &members }).await;
    let nan = [(bytes("y"), 2.0), (bytes("z"), f64::NAN)];
    assert_eq!(
        refused(store, key, Op::SortedAdd { members: &nan }).await,
        ErrorKind::InvalidInput
    );
    let top = bytes("top");
    let to_nan = Op::SortedIncrement {
        member: &top,
        by: f64::NEG_INFINITY,
    };
    assert!(
        store.apply(key, to_nan).await.is_err(),
        "inf + -inf must be refused"
    );
    assert_eq!(
        count(store, key, Op::SortedLen).await,
        2,
        "nothing was added"
    );
    assert_eq!(
        run(store, key, Op::SortedScore { member: &top }).await,
        Reply::Score(Some(f64::INFINITY)),
        "nothing changed"
    );
    assert_eq!(
        refused(store, "nan-only", Op::SortedAdd { members: &nan[1..] }).await,
        ErrorKind::InvalidInput
    );
    assert!(!backend.exists("nan-only").await.expect("exists"));
}

/// A set: add (duplicates once), remove, contains, members, size; an emptied set is gone.
pub async fn set_members(backend: impl CacheBackend) {
    let store = store(&backend);
    let key = "tags";
    let first = [bytes("a"), bytes("b"), bytes("a")];
    assert_eq!(count(store, key, Op::SetAdd { members: &first }).await, 2);
    let second = [bytes("b"), bytes("c")];
    assert_eq!(count(store, key, Op::SetAdd { members: &second }).await, 1);
    let (a, z) = (bytes("a"), bytes("z"));
    assert_eq!(
        run(store, key, Op::SetContains { member: &a }).await,
        Reply::Flag(true)
    );
    assert_eq!(
        run(store, key, Op::SetContains { member: &z }).await,
        Reply::Flag(false)
    );
    assert_eq!(
        sorted_values(store, key, Op::SetMembers).await,
        ["a", "b", "c"]
    );
    assert_eq!(count(store, key, Op::SetLen).await, 3);
    let gone = [bytes("a"), bytes("z"), bytes("a")];
    assert_eq!(count(store, key, Op::SetRemove { members: &gone }).await, 1);
    assert_eq!(sorted_values(store, key, Op::SetMembers).await, ["b", "c"]);
    let rest = [bytes("b"), bytes("c")];
    assert_eq!(count(store, key, Op::SetRemove { members: &rest }).await, 2);
    assert!(
        !backend.exists(key).await.expect("exists"),
        "an emptied set must be removed"
    );
    assert!(values(store, key, Op::SetMembers).await.is_empty());
    assert_eq!(count(store, key, Op::SetLen).await, 0);
    assert_eq!(
        run(store, key, Op::SetContains { member: &a }).await,
        Reply::Flag(false)
    );
}

/// A counter with a TTL: created with it, kept (not extended) by later increments, gone
/// when it lapses; a zero TTL is refused.
pub async fn counter_with_ttl(backend: impl CacheBackend) {
    let store = store(&backend);
    let ttl = SHORT_TTL * 2;
    let increment = |delta| Op::CounterIncrement { delta, ttl };
    assert_eq!(run(store, "hits", increment(1)).await, Reply::Integer(1));
    match backend.ttl("hits").await.expect("ttl") {
        KeyTtl::ExpiresIn(left) => assert!(left <= ttl && !left.is_zero(), "ttl {left:?}"),
        other => panic!("a new counter must expire, reported {other:?}"),
    }
    tokio::time::sleep(SHORT_TTL / 2).await;
    assert_eq!(run(store, "hits", increment(2)).await, Reply::Integer(3));
    match backend.ttl("hits").await.expect("ttl") {
        KeyTtl::ExpiresIn(left) => assert!(
            left < ttl - SHORT_TTL / 4,
            "the second increment extended the TTL to {left:?}"
        ),
        other => panic!("the counter must still expire, reported {other:?}"),
    }
    assert_eq!(
        backend.get("hits").await.expect("get").as_deref(),
        Some(&b"3"[..]),
        "a counter is a plain value of digits"
    );
    assert_eq!(backend.increment("hits", 1).await.expect("increment"), 4);
    tokio::time::sleep(ttl).await;
    assert!(
        !backend.exists("hits").await.expect("exists"),
        "the counter lapsed"
    );
    assert_eq!(
        run(store, "hits", increment(5)).await,
        Reply::Integer(5),
        "a lapsed counter starts again"
    );
    let zero = Op::CounterIncrement {
        delta: 1,
        ttl: Duration::ZERO,
    };
    assert_eq!(refused(store, "zero", zero).await, ErrorKind::InvalidInput);
    assert!(!backend.exists("zero").await.expect("exists"));
}

/// 64 concurrent increments of a counter with a TTL sum exactly.
pub async fn counter_concurrent(backend: impl CacheBackend) {
    let backend = Arc::new(backend);
    let ttl = Duration::from_secs(60);
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let backend = Arc::clone(&backend);
            tokio::spawn(async move {
                run(
                    store(&backend),
                    "visits",
                    Op::CounterIncrement { delta: 1, ttl },
                )
                .await
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("an incrementing task");
    }
    assert_eq!(
        backend.get("visits").await.expect("get").as_deref(),
        Some(&b"64"[..])
    );
    match backend.ttl("visits").await.expect("ttl") {
        KeyTtl::ExpiresIn(left) => assert!(left <= ttl, "ttl {left:?}"),
        other => panic!("the counter must expire, reported {other:?}"),
    }
}

/// Take reads and deletes at once: of 64 concurrent takers exactly one gets the value.
pub async fn take_once(backend: impl CacheBackend) {
    let backend = Arc::new(backend);
    assert_eq!(
        run(store(&backend), "absent", Op::Take).await,
        Reply::Value(None)
    );
    backend
        .set("state", bytes("s3cret"), Some(Duration::from_secs(60)))
        .await
        .expect("set");
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let backend = Arc::clone(&backend);
            tokio::spawn(async move { run(store(&backend), "state", Op::Take).await })
        })
        .collect();
    let mut winners = 0;
    for task in tasks {
        match task.await.expect("a taking task") {
            Reply::Value(Some(value)) => {
                assert_eq!(value, bytes("s3cret"));
                winners += 1;
            }
            Reply::Value(None) => {}
            other => panic!("take must reply a value, got {other:?}"),
        }
    }
    assert_eq!(winners, 1, "exactly one taker gets the value");
    assert!(!backend.exists("state").await.expect("exists"));
}

/// Replace stores over an existing value with the new TTL, and never brings back a key that
/// was deleted or expired.
pub async fn replace_existing_only(backend: impl CacheBackend) {
    let store = store(&backend);
    backend
        .set("doc", bytes("v1"), Some(Duration::from_secs(60)))
        .await
        .expect("set");
    let v2 = bytes("v2");
    let replace = Op::Replace {
        value: &v2,
        ttl: Some(SHORT_TTL),
    };
    assert_eq!(run(store, "doc", replace).await, Reply::Flag(true));
    assert_eq!(backend.get("doc").await.expect("get"), Some(bytes("v2")));
    match backend.ttl("doc").await.expect("ttl") {
        KeyTtl::ExpiresIn(left) => assert!(left <= SHORT_TTL, "the old TTL stayed: {left:?}"),
        other => panic!("the replaced value must expire, reported {other:?}"),
    }
    let forever = Op::Replace {
        value: &v2,
        ttl: None,
    };
    assert_eq!(run(store, "doc", forever).await, Reply::Flag(true));
    assert_eq!(backend.ttl("doc").await.expect("ttl"), KeyTtl::Persistent);
    assert!(backend.delete("doc").await.expect("delete"));
    assert_eq!(run(store, "doc", replace).await, Reply::Flag(false));
    assert!(
        !backend.exists("doc").await.expect("exists"),
        "a deleted key came back"
    );

    backend
        .set("lapsing", bytes("v1"), Some(SHORT_TTL))
        .await
        .expect("set");
    tokio::time::sleep(SHORT_TTL * 2).await;
    assert_eq!(run(store, "lapsing", replace).await, Reply::Flag(false));
    assert!(
        !backend.exists("lapsing").await.expect("exists"),
        "an expired key came back"
    );
    assert_eq!(run(store, "never", replace).await, Reply::Flag(false));
    let zero = Op::Replace {
        value: &v2,
        ttl: Some(Duration::ZERO),
    };
    backend.set("z", bytes("v1"), None).await.expect("set");
    assert_eq!(refused(store, "z", zero).await, ErrorKind::InvalidInput);
    assert_eq!(backend.get("z").await.expect("get"), Some(bytes("v1")));
}

/// Every family of operation on a key of another kind is `WrongType`, and the key is left as
/// it was.
pub async fn wrong_type_refused(backend: impl CacheBackend) {
    let store = store(&backend);
    let (member, value) = (bytes("m"), bytes("v"));
    let queue_ops = [
        Op::QueuePush {
            values: std::slice::from_ref(&value),
        },
        Op::QueuePop { count: 1 },
        Op::QueueRange { start: 0, stop: -1 },
        Op::QueueLen,
    ];
    let fields = [("f", value.clone())];
    let hash_ops = [
        Op::HashSet { fields: &fields },
        Op::HashGet { fields: &["f"] },
        Op::HashGetAll,
        Op::HashDelete { fields: &["f"] },
        Op::HashLen,
    ];
    let scored = [(member.clone(), 1.0)];
    let sorted_ops = [
        Op::SortedAdd { members: &scored },
        Op::SortedIncrement {
            member: &member,
            by: 1.0,
        },
        Op::SortedRange {
            start: 0,
            stop: -1,
            order: Order::Ascending,
        },
        Op::SortedRank {
            member: &member,
            order: Order::Descending,
        },
        Op::SortedScore { member: &member },
        Op::SortedLen,
    ];
    let members = std::slice::from_ref(&member);
    let set_ops = [
        Op::SetAdd { members },
        Op::SetRemove { members },
        Op::SetContains { member: &member },
        Op::SetMembers,
        Op::SetLen,
    ];
    let plain_ops = [
        Op::CounterIncrement {
            delta: 1,
            ttl: Duration::from_secs(60),
        },
        Op::Take,
        Op::Replace {
            value: &value,
            ttl: None,
        },
    ];

    backend
        .set("plain", bytes("text"), None)
        .await
        .expect("set");
    run(
        store,
        "queue",
        Op::QueuePush {
            values: &[bytes("q")],
        },
    )
    .await;
    run(
        store,
        "hash",
        Op::HashSet {
            fields: &[("k", bytes("h"))],
        },
    )
    .await;
    run(
        store,
        "sorted",
        Op::SortedAdd {
            members: &[(bytes("z"), 2.0)],
        },
    )
    .await;
    run(
        store,
        "set",
        Op::SetAdd {
            members: &[bytes("s")],
        },
    )
    .await;

    let families: [(&str, &[Op<'_>]); 5] = [
        ("plain", &plain_ops),
        ("queue", &queue_ops),
        ("hash", &hash_ops),
        ("sorted", &sorted_ops),
        ("set", &set_ops),
    ];
    for (key, _) in &families {
        for (family, ops) in &families {
            if family == key {
                continue;
            }
            for op in *ops {
                assert_eq!(
                    refused(store, key, *op).await,
                    ErrorKind::WrongType,
                    "{} on `{key}` (holding a {key} value)",
                    op.name()
                );
            }
        }
    }
    for key in ["queue", "hash", "sorted", "set"] {
        let increment = backend.increment(key, 1).await;
        assert_eq!(
            increment.map_err(|error| error.kind()).err(),
            Some(ErrorKind::WrongType),
            "increment of `{key}`"
        );
        let get = backend.get(key).await;
        assert_eq!(
            get.map_err(|error| error.kind()).err(),
            Some(ErrorKind::WrongType),
            "get of `{key}`"
        );
    }
    assert_eq!(
        backend.get("plain").await.expect("get"),
        Some(bytes("text"))
    );
    assert_eq!(
        values(store, "queue", Op::QueueRange { start: 0, stop: -1 }).await,
        ["q"]
    );
    assert_eq!(
        run(store, "hash", Op::HashGetAll).await,
        Reply::Fields(vec![("k".to_owned(), bytes("h"))])
    );
    assert_eq!(
        run(
            store,
            "sorted",
            Op::SortedRange {
                start: 0,
                stop: -1,
                order: Order::Ascending
            }
        )
        .await,
        Reply::Scored(vec![(bytes("z"), 2.0)])
    );
    assert_eq!(values(store, "set", Op::SetMembers).await, ["s"]);
}

/// Structures are keys: `exists`, `ttl`, `expire`, the deletes and `clear` see them, and
/// `set` over one replaces it.
pub async fn key_space_shared(backend: impl CacheBackend) {
    let store = store(&backend);
    run(
        store,
        "ks:q",
        Op::QueuePush {
            values: &[bytes("1")],
        },
    )
    .await;
    run(
        store,
        "ks:h",
        Op::HashSet {
            fields: &[("f", bytes("1"))],
        },
    )
    .await;
    run(
        store,
        "ks:z",
        Op::SortedAdd {
            members: &[(bytes("m"), 1.0)],
        },
    )
    .await;
    run(
        store,
        "ks:s",
        Op::SetAdd {
            members: &[bytes("m")],
        },
    )
    .await;
    for key in ["ks:q", "ks:h", "ks:z", "ks:s"] {
        assert!(backend.exists(key).await.expect("exists"), "`{key}` exists");
        assert_eq!(
            backend.ttl(key).await.expect("ttl"),
            KeyTtl::Persistent,
            "`{key}`"
        );
    }
    assert!(backend.expire("ks:q", SHORT_TTL).await.expect("expire"));
    assert!(matches!(
        backend.ttl("ks:q").await.expect("ttl"),
        KeyTtl::ExpiresIn(_)
    ));
    tokio::time::sleep(SHORT_TTL * 2).await;
    assert!(
        !backend.exists("ks:q").await.expect("exists"),
        "the queue expired"
    );
    assert_eq!(count(store, "ks:q", Op::QueueLen).await, 0);
    assert!(backend.delete("ks:h").await.expect("delete"));
    assert!(!backend.exists("ks:h").await.expect("exists"));
    assert_eq!(count(store, "ks:h", Op::HashLen).await, 0);
    assert!(!backend.delete("ks:h").await.expect("delete again"));
    assert_eq!(
        backend
            .delete_many(&["ks:z", "ks:none"])
            .await
            .expect("delete_many"),
        1
    );
    run(
        store,
        "ks:q2",
        Op::QueuePush {
            values: &[bytes("1")],
        },
    )
    .await;
    backend.set("ks:v", bytes("1"), None).await.expect("set");
    backend.set("other", bytes("1"), None).await.expect("set");
    assert_eq!(
        backend
            .delete_pattern("ks:*")
            .await
            .expect("delete_pattern"),
        3,
        "the set, the queue and the value"
    );
    assert!(!backend.exists("ks:s").await.expect("exists"));
    assert!(backend.exists("other").await.expect("exists"));

    run(
        store,
        "over",
        Op::QueuePush {
            values: &[bytes("1")],
        },
    )
    .await;
    backend
        .set("over", bytes("plain"), Some(SHORT_TTL))
        .await
        .expect("set over a queue");
    assert_eq!(
        backend.get("over").await.expect("get"),
        Some(bytes("plain"))
    );
    assert_eq!(
        refused(store, "over", Op::QueueLen).await,
        ErrorKind::WrongType,
        "the queue was replaced by a plain value"
    );
    tokio::time::sleep(SHORT_TTL * 2).await;
    assert!(
        !backend.exists("over").await.expect("exists"),
        "the queue that a plain value replaced came back when the value expired"
    );
    assert_eq!(count(store, "over", Op::QueueLen).await, 0);
    run(
        store,
        "taken",
        Op::SetAdd {
            members: &[bytes("m")],
        },
    )
    .await;
    assert!(
        !backend
            .set_if_absent("taken", bytes("v"), None)
            .await
            .expect("set_if_absent"),
        "a structure is there"
    );
    assert_eq!(count(store, "taken", Op::SetLen).await, 1);

    run(
        store,
        "cleared",
        Op::SetAdd {
            members: &[bytes("m")],
        },
    )
    .await;
    backend.clear().await.expect("clear");
    assert!(!backend.exists("cleared").await.expect("exists"));
    assert_eq!(count(store, "cleared", Op::SetLen).await, 0);
}

/// Every key matching `pattern`, walked a page of `count` at a time to the end.
async fn scan_all(scan: &dyn KeyScan, pattern: &str, count: usize) -> Vec<String> {
    let mut cursor = ScanCursor::START;
    let mut keys = Vec::new();
    for _ in 0..100_000 {
        let page = scan.scan(pattern, cursor, count).await.expect("scan");
        keys.extend(page.keys);
        match page.next {
            Some(next) => cursor = next,
            None => {
                keys.sort();
                keys.dedup();
                return keys;
            }
        }
    }
    panic!("a scan for `{pattern}` did not end");
}

fn scanner(backend: &impl CacheBackend) -> &dyn KeyScan {
    backend.key_scan().expect("the backend must list keys")
}

/// A key scan lists the values and structures matching a pattern, escaped specials
/// literally, each key as the caller named it, and nothing else.
pub async fn key_scan_patterns(backend: impl CacheBackend) {
    let store = store(&backend);
    for key in ["scan:a*b", "scan:axb", "scan:a?", "other:1", "scanx:1"] {
        backend.set(key, bytes("v"), None).await.expect("set");
    }
    run(
        store,
        "scan:q1",
        Op::QueuePush {
            values: &[bytes("1")],
        },
    )
    .await;
    run(
        store,
        "scan:h1",
        Op::HashSet {
            fields: &[("f", bytes("1"))],
        },
    )
    .await;
    run(
        store,
        "scan:zz",
        Op::SetAdd {
            members: &[bytes("m")],
        },
    )
    .await;
    let scan = scanner(&backend);
    assert_eq!(
        scan_all(scan, "scan:*", 100).await,
        [
            "scan:a*b", "scan:a?", "scan:axb", "scan:h1", "scan:q1", "scan:zz"
        ]
    );
    assert_eq!(
        scan_all(scan, &format!("{}*", glob_escape("scan:a*")), 100).await,
        ["scan:a*b"],
        "an escaped `*` is literal"
    );
    assert_eq!(scan_all(scan, r"scan:a\?", 100).await, ["scan:a?"]);
    assert_eq!(scan_all(scan, "scan:?1", 100).await, ["scan:h1", "scan:q1"]);
    assert_eq!(
        scan_all(scan, "scan:a?b", 100).await,
        ["scan:a*b", "scan:axb"]
    );
    assert!(scan_all(scan, "nothing:*", 100).await.is_empty());
    backend
        .set("lapsing:1", bytes("v"), Some(SHORT_TTL))
        .await
        .expect("set");
    run(
        store,
        "lapsing:2",
        Op::SetAdd {
            members: &[bytes("m")],
        },
    )
    .await;
    assert!(
        backend
            .expire("lapsing:2", SHORT_TTL)
            .await
            .expect("expire")
    );
    tokio::time::sleep(SHORT_TTL * 2).await;
    assert!(
        scan_all(scan, "lapsing:*", 100).await.is_empty(),
        "expired keys are not listed"
    );
}

/// Paging with a small count reaches every key.
pub async fn key_scan_paging(backend: impl CacheBackend) {
    let store = store(&backend);
    let mut expected = Vec::new();
    for i in 0..200 {
        let key = format!("page:{i:03}");
        backend.set(&key, bytes("v"), None).await.expect("set");
        expected.push(key);
    }
    for i in 0..50 {
        let key = format!("page:s{i:02}");
        run(
            store,
            &key,
            Op::SetAdd {
                members: &[bytes("m")],
            },
        )
        .await;
        expected.push(key);
    }
    expected.sort();
    assert_eq!(scan_all(scanner(&backend), "page:*", 10).await, expected);
    assert_eq!(scan_all(scanner(&backend), "page:*", 1).await, expected);
}

fn pubsub(backend: &impl CacheBackend) -> &dyn PubSubStore {
    backend.pubsub().expect("the backend must offer pub/sub")
}

async fn publish(pubsub: &dyn PubSubStore, channel: &str, payload: &str) -> u64 {
    pubsub
        .publish(channel, bytes(payload))
        .await
        .unwrap_or_else(|error| panic!("publish on `{channel}` failed: {error}"))
}

/// Messages on two channels arrive in order, each with its channel's name, and `publish`
/// counts the subscribers.
pub async fn pubsub_order_and_counts(backend: impl CacheBackend) {
    let pubsub = pubsub(&backend);
    let mut both = pubsub
        .subscribe(&["news", "sport"])
        .await
        .expect("subscribe");
    let mut news_only = pubsub.subscribe(&["news"]).await.expect("subscribe");
    assert_eq!(publish(pubsub, "news", "n1").await, 2);
    assert_eq!(publish(pubsub, "sport", "s1").await, 1);
    assert_eq!(publish(pubsub, "news", "n2").await, 2);
    assert_eq!(publish(pubsub, "sport", "s2").await, 1);
    assert_eq!(publish(pubsub, "unheard", "x").await, 0);
    let mut received = Vec::new();
    for _ in 0..4 {
        let message = tokio::time::timeout(LONG_WAIT, both.next())
            .await
            .expect("a message within the wait")
            .expect("the subscription goes on");
        received.push((
            message.channel,
            String::from_utf8_lossy(&message.payload).into_owned(),
        ));
    }
    let on = |channel: &str| -> Vec<String> {
        received
            .iter()
            .filter(|(name, _)| name == channel)
            .map(|(_, payload)| payload.clone())
            .collect()
    };
    assert_eq!(on("news"), ["n1", "n2"], "received {received:?}");
    assert_eq!(on("sport"), ["s1", "s2"], "received {received:?}");
    for expected in ["n1", "n2"] {
        let message = tokio::time::timeout(LONG_WAIT, news_only.next())
            .await
            .expect("a message within the wait")
            .expect("the subscription goes on");
        assert_eq!(message.channel, "news");
        assert_eq!(message.payload, bytes(expected));
    }
    assert_eq!(
        pubsub
            .subscribe(&[])
            .await
            .map(|_| ())
            .map_err(|e| e.kind())
            .err(),
        Some(ErrorKind::InvalidInput)
    );
}

/// A dropped subscription stops counting.
pub async fn pubsub_dropped_subscription(backend: impl CacheBackend) {
    let pubsub = pubsub(&backend);
    let first = pubsub.subscribe(&["alerts"]).await.expect("subscribe");
    let mut second = pubsub.subscribe(&["alerts"]).await.expect("subscribe");
    assert_eq!(publish(pubsub, "alerts", "1").await, 2);
    drop(first);
    let settled = |expected: u64| async move {
        // Unsubscribing may take a round trip to land on a server.
        let mut last = u64::MAX;
        for _ in 0..100 {
            last = publish(pubsub, "alerts", "probe").await;
            if last == expected {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("publish still counts {last} subscribers, not {expected}");
    };
    settled(1).await;
    let message = tokio::time::timeout(LONG_WAIT, second.next())
        .await
        .expect("a message within the wait")
        .expect("the remaining subscription goes on");
    assert_eq!(message.channel, "alerts");
    drop(second);
    settled(0).await;
}

/// Generates one `#[tokio::test]` per check of
/// [`testing::conformance::structures`](crate::testing::conformance::structures) for a backend,
/// as [`conformance_tests!`](crate::conformance_tests) does for the byte store.
#[macro_export]
macro_rules! structure_conformance_tests {
    (paused, $make:expr) => {
        $crate::structure_conformance_tests!(@each tokio::test(start_paused = true), $make);
    };
    (real, $make:expr) => {
        $crate::structure_conformance_tests!(
            @each tokio::test(flavor = "multi_thread", worker_threads = 2), $make);
    };
    (@each $attr:meta, $make:expr) => {
        $crate::structure_conformance_tests!(@tests $attr, $make,
            queue_fifo, queue_exactly_once, queue_pop_wait, hash_fields, hash_expiry,
            sorted_set_leaderboard, sorted_set_nan_refused, set_members, counter_with_ttl,
            counter_concurrent, take_once, replace_existing_only, wrong_type_refused,
            key_space_shared, key_scan_patterns, key_scan_paging, pubsub_order_and_counts,
            pubsub_dropped_subscription);
    };
    (@tests $attr:meta, $make:expr, $($check:ident),*) => {$(
        #[$attr]
        async fn $check() {
            if let Some(backend) = $crate::testing::conformance::Setup::backend($make.await) {
                $crate::testing::conformance::structures::$check(backend).await;
            }
        }
    )*};
}
