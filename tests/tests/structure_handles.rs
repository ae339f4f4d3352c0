//! The typed handles of `cache_core::structures` (queue, hash record, leaderboard, set,
//! counter, channel, key scan) on the memory backend, a real Redis and a real Redis Cluster:
//! what they add over the capability (whose contract `cache_core::testing::conformance::structures` checks), that is
//! JSON values, errors naming the key, and what happens to bytes another writer left.
#![allow(clippy::unwrap_used, clippy::panic, missing_docs)]

use std::collections::HashMap;
use std::time::Duration;

use cache_core::structures::{
    Channel, Counter, HashRecord, Leaderboard, Op, Queue, Set, scan_keys,
};
use cache_core::{Bytes, CacheBackend, DynBackend, ErrorKind, KeyTtl, MemoryBackend};
use cache_tests::bare::Bare;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Job {
    id: u32,
    kind: String,
}

fn job(id: u32) -> Job {
    Job {
        id,
        kind: "email".into(),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Profile {
    name: String,
    email: String,
    visits: u32,
}

/// Pushes raw bytes that are not JSON behind the handle's back.
async fn push_raw(backend: &DynBackend, key: &str, raw: &'static [u8]) {
    let values = [Bytes::from_static(raw)];
    backend
        .structures()
        .unwrap()
        .apply(key, Op::QueuePush { values: &values })
        .await
        .unwrap();
}

async fn queue_items_are_json_and_poison_is_isolated(backend: DynBackend) {
    let jobs = Queue::<Job>::new(backend.clone(), "jobs");
    jobs.push_all(&[job(1), job(2)]).await.unwrap();
    push_raw(&backend, "jobs", b"not json").await;
    jobs.push(&job(3)).await.unwrap();
    assert_eq!(jobs.len().await.unwrap(), 4);
    assert_eq!(
        jobs.peek(0, 0).await.unwrap(),
        [job(1)],
        "peek shows the front"
    );

    assert_eq!(jobs.pop().await.unwrap(), Some(job(1)));
    assert_eq!(jobs.pop().await.unwrap(), Some(job(2)));
    let poison = jobs.pop().await.unwrap_err();
    assert_eq!(poison.kind(), ErrorKind::Codec);
    assert!(poison.message().contains("`jobs`"), "{poison}");
    assert_eq!(
        jobs.pop().await.unwrap(),
        Some(job(3)),
        "the poison item does not block the next"
    );
    assert_eq!(jobs.pop().await.unwrap(), None);
    assert!(
        !backend.exists("jobs").await.unwrap(),
        "an empty queue is gone"
    );

    // pop_many keeps the good items of a batch with a bad one in it.
    jobs.push(&job(4)).await.unwrap();
    push_raw(&backend, "jobs", b"{").await;
    jobs.push(&job(5)).await.unwrap();
    assert_eq!(jobs.pop_many(10).await.unwrap(), [job(4), job(5)]);
    assert_eq!(
        jobs.pop_many(0).await.unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
}

async fn queue_pop_wait_is_woken(backend: DynBackend) {
    let jobs = Queue::<Job>::new(backend.clone(), "waited");
    let waiter = tokio::spawn({
        let jobs = jobs.clone();
        async move { jobs.pop_wait(Duration::from_secs(20)).await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = tokio::time::Instant::now();
    jobs.push(&job(9)).await.unwrap();
    assert_eq!(waiter.await.unwrap().unwrap(), Some(job(9)));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "woken by the push, not at the deadline"
    );
    assert_eq!(
        jobs.pop_wait(Duration::from_millis(200)).await.unwrap(),
        None
    );
}

async fn hash_record_holds_a_struct_field_by_field(backend: DynBackend) {
    let record = HashRecord::new(backend.clone(), "user:7:profile");
    assert_eq!(record.load::<Profile>().await.unwrap(), None);
    let ada = Profile {
        name: "Ada".into(),
        email: "ada@example.com".into(),
        visits: 1,
    };
    record.store(&ada).await.unwrap();
    assert_eq!(record.len().await.unwrap(), 3);
    assert!(!record.set("visits", &2).await.unwrap(), "not a new field");
    assert_eq!(record.get::<u32>("visits").await.unwrap(), Some(2));
    assert_eq!(
        record
            .get_many::<String>(&["name", "missing"])
            .await
            .unwrap(),
        [Some("Ada".to_string()), None]
    );
    let loaded: Profile = record.load().await.unwrap().unwrap();
    assert_eq!(loaded.visits, 2);
    let all: HashMap<String, serde_json::Value> = record.get_all().await.unwrap();
    assert_eq!(all["email"], "ada@example.com");

    // A field of the wrong shape is an error naming the record; a struct that is not an
    // object is refused before anything is written.
    record.set("visits", &"many").await.unwrap();
    let wrong = record.load::<Profile>().await.unwrap_err();
    assert_eq!(wrong.kind(), ErrorKind::Codec);
    assert!(wrong.message().contains("`user:7:profile`"), "{wrong}");
    assert_eq!(
        record.store(&[1, 2]).await.unwrap_err().kind(),
        ErrorKind::InvalidInput
    );

    assert!(record.expire(Duration::from_secs(60)).await.unwrap());
    assert!(
        matches!(record.ttl().await.unwrap(), KeyTtl::ExpiresIn(left) if left <= Duration::from_secs(60))
    );
    assert_eq!(record.delete(&["name", "email"]).await.unwrap(), 2);
    assert!(record.clear().await.unwrap());
    assert!(record.is_empty().await.unwrap());
}

async fn leaderboard_ranks_highest_first(backend: DynBackend) {
    let board = Leaderboard::<String>::new(backend, "game:7");
    for (player, score) in [("ada", 120.0), ("bob", 95.0), ("cy", 120.0), ("di", 10.0)] {
        assert!(board.add(&player.to_string(), score).await.unwrap());
    }
    assert_eq!(board.increment(&"di".to_string(), 5.5).await.unwrap(), 15.5);
    // Ties ordered as Redis orders them: by member bytes, reversed when highest first.
    assert_eq!(
        board.top(3).await.unwrap(),
        [
            ("cy".to_string(), 120.0),
            ("ada".to_string(), 120.0),
            ("bob".to_string(), 95.0)
        ]
    );
    assert_eq!(board.rank(&"cy".to_string()).await.unwrap(), Some(0));
    assert_eq!(board.rank(&"di".to_string()).await.unwrap(), Some(3));
    assert_eq!(board.rank(&"zed".to_string()).await.unwrap(), None);
    assert_eq!(board.score(&"bob".to_string()).await.unwrap(), Some(95.0));
    assert_eq!(
        board.range_by_score(10.0..=100.0, Some(1)).await.unwrap(),
        [("di".to_string(), 15.5)]
    );
    assert!(board.top(0).await.unwrap().is_empty());
    assert_eq!(
        board
            .add(&"nan".to_string(), f64::NAN)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidInput
    );
    assert!(board.remove(&"bob".to_string()).await.unwrap());
    assert_eq!(board.len().await.unwrap(), 3);
}

async fn set_and_counter(backend: DynBackend) {
    let tags = Set::<String>::new(backend.clone(), "post:7:tags");
    assert_eq!(
        tags.add_all(&["a".into(), "b".into(), "a".into()])
            .await
            .unwrap(),
        2
    );
    assert!(tags.contains(&"a".into()).await.unwrap());
    assert!(!tags.contains(&"z".into()).await.unwrap());
    let mut members = tags.members().await.unwrap();
    members.sort();
    assert_eq!(members, ["a", "b"]);

    let hits = Counter::new(backend.clone(), "hits:7", Duration::from_secs(60));
    assert_eq!(hits.get().await.unwrap(), None);
    assert_eq!(hits.increment(5).await.unwrap(), 5);
    assert_eq!(hits.increment(-2).await.unwrap(), 3);
    assert_eq!(hits.get().await.unwrap(), Some(3));
    assert!(matches!(hits.ttl().await.unwrap(), KeyTtl::ExpiresIn(_)));

    // A handle of one kind on a key of another is an error naming the key.
    let wrong = Queue::<u32>::new(backend.clone(), "post:7:tags")
        .push(&1)
        .await
        .unwrap_err();
    assert_eq!(wrong.kind(), ErrorKind::WrongType);
    assert!(wrong.message().contains("post:7:tags"), "{wrong}");
    backend
        .set("hits:text", Bytes::from_static(b"many"), None)
        .await
        .unwrap();
    let text = Counter::new(backend, "hits:text", Duration::from_secs(60));
    assert_eq!(
        text.get().await.unwrap_err().kind(),
        ErrorKind::NotAnInteger
    );
}

async fn channel_decodes_and_goes_on(backend: DynBackend) {
    let orders = Channel::<Job>::new(backend.clone(), "orders");
    let mut events = orders.subscribe().await.unwrap();
    assert_eq!(orders.publish(&job(1)).await.unwrap(), 1);
    backend
        .pubsub()
        .unwrap()
        .publish("orders", Bytes::from_static(b"garbage"))
        .await
        .unwrap();
    orders.publish(&job(2)).await.unwrap();
    let mut received = Vec::new();
    for _ in 0..3 {
        let next = tokio::time::timeout(Duration::from_secs(5), events.next()).await;
        received.push(
            next.expect("a message within 5 s")
                .expect("the stream goes on"),
        );
    }
    assert_eq!(received[0].as_ref().unwrap(), &job(1));
    let garbage = received[1].as_ref().unwrap_err();
    assert_eq!(garbage.kind(), ErrorKind::Codec);
    assert!(garbage.message().contains("`orders`"), "{garbage}");
    assert_eq!(received[2].as_ref().unwrap(), &job(2));
}

async fn scan_lists_keys_as_named(backend: DynBackend) {
    for id in 0..25 {
        backend
            .set(&format!("user:{id}"), Bytes::from_static(b"{}"), None)
            .await
            .unwrap();
    }
    Queue::<u32>::new(backend.clone(), "user:queue")
        .push(&1)
        .await
        .unwrap();
    backend
        .set("order:1", Bytes::from_static(b"{}"), None)
        .await
        .unwrap();
    let mut expected: Vec<String> = (0..25).map(|id| format!("user:{id}")).collect();
    expected.push("user:queue".into());
    expected.sort();
    let found = scan_keys(backend.clone(), "user:*")
        .page_size(4)
        .collect()
        .await
        .unwrap();
    assert_eq!(found, expected);
}

/// One `#[tokio::test]` per check, for the backends `$make` makes (`None` skips).
macro_rules! handle_tests {
    ($attr:meta, $make:expr) => {
        handle_tests!(@each $attr, $make,
            queue_items_are_json_and_poison_is_isolated, queue_pop_wait_is_woken,
            hash_record_holds_a_struct_field_by_field, leaderboard_ranks_highest_first,
            set_and_counter, channel_decodes_and_goes_on, scan_lists_keys_as_named);
    };
    (@each $attr:meta, $make:expr, $($check:ident),*) => {$(
        #[$attr]
        async fn $check() {
            let Some(backend) = $make(stringify!($check)).await else { return };
            super::$check(backend).await;
        }
    )*};
}

mod memory {
    use super::*;

    async fn make(_: &str) -> Option<DynBackend> {
        Some(std::sync::Arc::new(MemoryBackend::new()))
    }

    handle_tests!(tokio::test(start_paused = true), make);
}

mod prefixed_memory {
    use super::*;

    async fn make(_: &str) -> Option<DynBackend> {
        Some(std::sync::Arc::new(cache_core::layer::Prefix::new(
            "tenant:",
            MemoryBackend::new(),
        )))
    }

    handle_tests!(tokio::test(start_paused = true), make);
}

mod redis {
    use super::*;
    use cache_tests::redis_harness::{shared_server, unique_prefix};

    async fn make(name: &str) -> Option<DynBackend> {
        Some(std::sync::Arc::new(
            shared_server()?.backend(&unique_prefix(name)).await,
        ))
    }

    handle_tests!(
        tokio::test(flavor = "multi_thread", worker_threads = 2),
        make
    );
}

mod cluster {
    use super::*;
    use cache_tests::redis_harness::{shared_cluster, unique_prefix};

    async fn make(name: &str) -> Option<DynBackend> {
        Some(std::sync::Arc::new(
            shared_cluster()?.backend(&unique_prefix(name)).await,
        ))
    }

    handle_tests!(
        tokio::test(flavor = "multi_thread", worker_threads = 2),
        make
    );
}

/// A backend without the capabilities: every handle says so, naming the key.
#[tokio::test]
async fn handles_on_a_backend_without_structures_say_so() {
    let error = Queue::<u32>::new(Bare(MemoryBackend::new()), "jobs")
        .len()
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unsupported);
    assert!(error.message().contains("`jobs`"), "{error}");
    let error = Channel::<u32>::new(Bare(MemoryBackend::new()), "orders")
        .publish(&1)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unsupported);
    let error = scan_keys(Bare(MemoryBackend::new()), "user:*")
        .collect()
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unsupported);
}
