#![allow(clippy::panic)] // a reply of the wrong shape is a failed test
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use super::positions;
use crate::structures::{Op, Order, PubSubStore, Reply, StructureStore};
use crate::{CacheBackend, ErrorKind, KeyTtl, MemoryBackend};

fn b(text: &str) -> Bytes {
    Bytes::copy_from_slice(text.as_bytes())
}

async fn apply(memory: &MemoryBackend, key: &str, op: Op<'_>) -> Reply {
    match memory.apply(key, op).await {
        Ok(reply) => reply,
        Err(error) => panic!("{} on `{key}` failed: {error}", op.name()),
    }
}

async fn refused(memory: &MemoryBackend, key: &str, op: Op<'_>) -> ErrorKind {
    match memory.apply(key, op).await {
        Ok(reply) => panic!("{} on `{key}` must fail, replied {reply:?}", op.name()),
        Err(error) => error.kind(),
    }
}

#[test]
fn positions_follow_lrange() {
    assert_eq!(positions(0, -1, 5), 0..5);
    assert_eq!(positions(-2, -1, 5), 3..5);
    assert_eq!(positions(-100, 100, 5), 0..5);
    assert_eq!(positions(3, 1, 5), 0..0);
    assert_eq!(positions(5, 10, 5), 0..0);
    assert_eq!(positions(0, -6, 5), 0..0);
    assert_eq!(positions(0, 0, 0), 0..0);
    assert_eq!(positions(i64::MIN, i64::MAX, 3), 0..3);
}

#[tokio::test(start_paused = true)]
async fn sets_add_remove_and_vanish_when_empty() {
    let memory = MemoryBackend::new();
    let members = [b("a"), b("b"), b("a")];
    assert_eq!(
        apply(&memory, "s", Op::SetAdd { members: &members }).await,
        Reply::Count(2)
    );
    assert_eq!(apply(&memory, "s", Op::SetLen).await, Reply::Count(2));
    assert_eq!(
        apply(&memory, "s", Op::SetContains { member: &b("a") }).await,
        Reply::Flag(true)
    );
    assert_eq!(
        apply(
            &memory,
            "s",
            Op::SetRemove {
                members: &[b("a"), b("x")]
            }
        )
        .await,
        Reply::Count(1)
    );
    assert_eq!(
        apply(&memory, "s", Op::SetMembers).await,
        Reply::Values(vec![b("b")])
    );
    apply(&memory, "s", Op::SetRemove { members: &[b("b")] }).await;
    assert!(!memory.exists("s").await.expect("exists"));
    assert_eq!(memory.len(), 0, "an emptied set is removed");
}

#[tokio::test(start_paused = true)]
async fn structures_are_never_evicted_by_the_value_bound() {
    let memory = MemoryBackend::builder().max_entries(50).build();
    let values: Vec<Bytes> = (0..500).map(|i| b(&i.to_string())).collect();
    apply(&memory, "jobs", Op::QueuePush { values: &values }).await;
    for i in 0..1_000 {
        memory
            .set(&format!("k{i}"), b("v"), None)
            .await
            .expect("set");
    }
    assert_eq!(
        apply(&memory, "jobs", Op::QueueLen).await,
        Reply::Count(500)
    );
}

#[tokio::test(start_paused = true)]
async fn expired_structures_are_invisible_and_reclaimed() {
    let memory = MemoryBackend::new();
    for i in 0..10 {
        apply(
            &memory,
            &format!("h{i}"),
            Op::HashSet {
                fields: &[("f", b("1"))],
            },
        )
        .await;
        assert!(
            memory
                .expire(&format!("h{i}"), Duration::from_secs(1))
                .await
                .expect("expire")
        );
    }
    match memory.ttl("h0").await.expect("ttl") {
        KeyTtl::ExpiresIn(left) => assert_eq!(left, Duration::from_secs(1)),
        other => panic!("a hash with a TTL reported {other:?}"),
    }
    tokio::time::advance(Duration::from_secs(2)).await;
    assert!(!memory.exists("h0").await.expect("exists"));
    assert_eq!(apply(&memory, "h0", Op::HashLen).await, Reply::Count(0));
    // Reading `h0` reclaimed it; the rest wait for a purge.
    assert_eq!(memory.len(), 9);
    assert_eq!(memory.purge_expired(), 9);
    assert_eq!(memory.len(), 0);
    assert!(!memory.inner.structures.in_use(), "the gate closes again");
}

#[tokio::test(start_paused = true)]
async fn expired_slots_are_swept_as_a_shard_grows() {
    let memory = MemoryBackend::new();
    for i in 0..20_000 {
        let key = format!("old{i}");
        apply(&memory, &key, Op::SetAdd { members: &[b("m")] }).await;
        memory
            .expire(&key, Duration::from_secs(1))
            .await
            .expect("expire");
    }
    tokio::time::advance(Duration::from_secs(2)).await;
    for i in 0..20_000 {
        apply(
            &memory,
            &format!("new{i}"),
            Op::SetAdd { members: &[b("m")] },
        )
        .await;
    }
    assert!(
        memory.len() < 35_000,
        "expired sets were not swept: {}",
        memory.len()
    );
}

#[tokio::test(start_paused = true)]
async fn a_plain_value_and_a_structure_never_share_a_key() {
    let memory = MemoryBackend::new();
    memory.set("v", b("1"), None).await.expect("set");
    assert_eq!(
        refused(&memory, "v", Op::SetAdd { members: &[b("m")] }).await,
        ErrorKind::WrongType
    );
    apply(&memory, "q", Op::QueuePush { values: &[b("x")] }).await;
    assert_eq!(
        memory.get("q").await.map_err(|e| e.kind()).err(),
        Some(ErrorKind::WrongType)
    );
    assert_eq!(
        memory.get_many(&["q"]).await.expect("get_many"),
        vec![None],
        "MGET answers nil for a structure, as Redis does"
    );
    assert!(
        !memory
            .set_if_absent("q", b("v"), None)
            .await
            .expect("set_if_absent")
    );
    assert_eq!(refused(&memory, "q", Op::Take).await, ErrorKind::WrongType);
    memory
        .set("q", b("plain"), None)
        .await
        .expect("set over it");
    assert_eq!(memory.get("q").await.expect("get"), Some(b("plain")));
    assert_eq!(memory.len(), 2);
}

#[tokio::test(start_paused = true)]
async fn counters_take_and_replace_are_plain_values() {
    let memory = MemoryBackend::new();
    let ttl = Duration::from_secs(10);
    let op = Op::CounterIncrement { delta: 2, ttl };
    assert_eq!(apply(&memory, "c", op).await, Reply::Integer(2));
    tokio::time::advance(Duration::from_secs(4)).await;
    assert_eq!(apply(&memory, "c", op).await, Reply::Integer(4));
    assert_eq!(
        memory.ttl("c").await.expect("ttl"),
        KeyTtl::ExpiresIn(Duration::from_secs(6))
    );
    assert_eq!(memory.get("c").await.expect("get"), Some(b("4")));
    tokio::time::advance(Duration::from_secs(6)).await;
    assert_eq!(
        apply(&memory, "c", op).await,
        Reply::Integer(2),
        "a new counter"
    );

    let replace = Op::Replace {
        value: &b("new"),
        ttl: None,
    };
    assert_eq!(apply(&memory, "c", replace).await, Reply::Flag(true));
    assert_eq!(memory.ttl("c").await.expect("ttl"), KeyTtl::Persistent);
    assert_eq!(
        apply(&memory, "c", Op::Take).await,
        Reply::Value(Some(b("new")))
    );
    assert_eq!(apply(&memory, "c", Op::Take).await, Reply::Value(None));
    assert_eq!(apply(&memory, "c", replace).await, Reply::Flag(false));
    assert!(!memory.exists("c").await.expect("exists"));

    let zero = Op::CounterIncrement {
        delta: 1,
        ttl: Duration::ZERO,
    };
    assert_eq!(refused(&memory, "z", zero).await, ErrorKind::InvalidInput);
    let zero = Op::Replace {
        value: &b("v"),
        ttl: Some(Duration::ZERO),
    };
    assert_eq!(refused(&memory, "z", zero).await, ErrorKind::InvalidInput);
}

#[tokio::test(start_paused = true)]
async fn sorted_sets_order_like_redis() {
    let memory = MemoryBackend::new();
    let members = [
        (b("b"), 1.0),
        (b("a"), 1.0),
        (b("c"), -0.0),
        (b("d"), 0.0),
        (b("e"), f64::INFINITY),
        (b("f"), f64::NEG_INFINITY),
    ];
    assert_eq!(
        apply(&memory, "z", Op::SortedAdd { members: &members }).await,
        Reply::Count(6)
    );
    let names = |reply: Reply| match reply {
        Reply::Scored(scored) => scored
            .into_iter()
            .map(|(member, _)| String::from_utf8_lossy(&member).into_owned())
            .collect::<Vec<_>>()
            .join(""),
        other => panic!("not scored: {other:?}"),
    };
    let all = Op::SortedRange {
        start: 0,
        stop: -1,
        order: Order::Ascending,
    };
    assert_eq!(names(apply(&memory, "z", all).await), "fcdabe");
    let rev = Op::SortedRange {
        start: 0,
        stop: -1,
        order: Order::Descending,
    };
    assert_eq!(names(apply(&memory, "z", rev).await), "ebadcf");
    let by_score = |min, max, order| Op::SortedRangeByScore {
        min,
        max,
        order,
        limit: None,
    };
    assert_eq!(
        names(apply(&memory, "z", by_score(0.0, 1.0, Order::Ascending)).await),
        "cdab"
    );
    assert_eq!(
        names(apply(&memory, "z", by_score(0.0, 1.0, Order::Descending)).await),
        "badc"
    );
    assert_eq!(
        names(apply(&memory, "z", by_score(2.0, 1.0, Order::Descending)).await),
        ""
    );
    let everything = by_score(f64::NEG_INFINITY, f64::INFINITY, Order::Descending);
    assert_eq!(names(apply(&memory, "z", everything).await), "ebadcf");
    let a = b("a");
    let rank = |order| Op::SortedRank { member: &a, order };
    assert_eq!(
        apply(&memory, "z", rank(Order::Ascending)).await,
        Reply::Rank(Some(3))
    );
    assert_eq!(
        apply(&memory, "z", rank(Order::Descending)).await,
        Reply::Rank(Some(2))
    );

    let nan = Op::SortedAdd {
        members: &[(b("g"), 2.0), (b("h"), f64::NAN)],
    };
    assert_eq!(refused(&memory, "z", nan).await, ErrorKind::InvalidInput);
    let to_nan = Op::SortedIncrement {
        member: &b("e"),
        by: f64::NEG_INFINITY,
    };
    assert_eq!(refused(&memory, "z", to_nan).await, ErrorKind::InvalidInput);
    assert_eq!(
        apply(&memory, "z", Op::SortedLen).await,
        Reply::Count(6),
        "nothing changed"
    );
    assert_eq!(
        apply(&memory, "z", Op::SortedScore { member: &b("e") }).await,
        Reply::Score(Some(f64::INFINITY))
    );
}

#[tokio::test(start_paused = true)]
async fn a_waiting_pop_is_woken_by_a_push() {
    let memory = MemoryBackend::new();
    let waiter = {
        let memory = memory.clone();
        tokio::spawn(async move {
            let started = tokio::time::Instant::now();
            let reply = memory
                .apply(
                    "q",
                    Op::QueuePopWait {
                        timeout: Duration::from_secs(60),
                    },
                )
                .await;
            (reply.expect("pop"), started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    apply(
        &memory,
        "q",
        Op::QueuePush {
            values: &[b("job")],
        },
    )
    .await;
    let (reply, waited) = waiter.await.expect("the waiter");
    assert_eq!(reply, Reply::Value(Some(b("job"))));
    assert_eq!(
        waited,
        Duration::from_secs(1),
        "woken by the push, not by a poll"
    );
    let timeout = Duration::from_secs(3);
    let started = tokio::time::Instant::now();
    assert_eq!(
        apply(&memory, "q", Op::QueuePopWait { timeout }).await,
        Reply::Value(None)
    );
    assert_eq!(started.elapsed(), timeout);
}

#[tokio::test(start_paused = true)]
async fn a_dropped_waiting_pop_loses_nothing() {
    let memory = MemoryBackend::new();
    let op = Op::QueuePopWait {
        timeout: Duration::from_secs(60),
    };
    let cancelled = tokio::time::timeout(Duration::from_secs(1), memory.apply("q", op)).await;
    assert!(cancelled.is_err());
    apply(
        &memory,
        "q",
        Op::QueuePush {
            values: &[b("kept")],
        },
    )
    .await;
    assert_eq!(apply(&memory, "q", Op::QueueLen).await, Reply::Count(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_poppers_share_the_items() {
    let memory = Arc::new(MemoryBackend::new());
    let values: Vec<Bytes> = (0..2_000).map(|i| b(&i.to_string())).collect();
    apply(&memory, "q", Op::QueuePush { values: &values }).await;
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let memory = Arc::clone(&memory);
            tokio::spawn(async move {
                let mut got = Vec::new();
                loop {
                    match memory
                        .apply("q", Op::QueuePop { count: 3 })
                        .await
                        .expect("pop")
                    {
                        Reply::Values(values) if values.is_empty() => return got,
                        Reply::Values(values) => got.extend(values),
                        other => panic!("{other:?}"),
                    }
                }
            })
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.expect("popper"));
    }
    all.sort();
    let mut expected = values;
    expected.sort();
    assert_eq!(all, expected);
}

#[tokio::test]
async fn a_lagging_subscriber_skips_with_one_warning() {
    let memory = MemoryBackend::new();
    let mut slow = memory.subscribe(&["news"]).await.expect("subscribe");
    for i in 0..crate::memory::pubsub::CAPACITY + 10 {
        memory
            .publish("news", b(&i.to_string()))
            .await
            .expect("publish");
    }
    let first = slow.next().await.expect("a message after the gap");
    assert_eq!(first.payload, b("10"), "the 10 oldest were skipped");
    drop(slow);
    assert_eq!(memory.publish("news", b("x")).await.expect("publish"), 0);
    assert!(
        memory.inner.channels.is_empty(),
        "an unheard channel is dropped"
    );
}

#[tokio::test(start_paused = true)]
async fn a_key_scan_lists_values_structures_and_limiters() {
    use crate::structures::{KeyScan, ScanCursor};
    use crate::{RateLimitPolicy, RateLimitStore};

    let memory = MemoryBackend::new();
    memory.set("k:value", b("v"), None).await.expect("set");
    apply(&memory, "k:set", Op::SetAdd { members: &[b("m")] }).await;
    let policy = RateLimitPolicy::fixed_window(5, Duration::from_secs(60));
    memory
        .rate_limit("k:limit", &policy, 1)
        .await
        .expect("decide");
    memory.set("other", b("v"), None).await.expect("set");
    let mut cursor = ScanCursor::START;
    let mut keys = Vec::new();
    let mut pages = 0;
    loop {
        let page = memory.scan("k:*", cursor, 1).await.expect("scan");
        keys.extend(page.keys);
        pages += 1;
        match page.next {
            Some(next) => cursor = next,
            None => break,
        }
    }
    keys.sort();
    assert_eq!(keys, ["k:limit", "k:set", "k:value"]);
    assert!(pages > 1, "a count of 1 takes more than one page");
    let past_the_end = memory.scan("*", ScanCursor::new(u32::MAX, 0), 10).await;
    assert_eq!(past_the_end.expect("scan").next, None);
}
