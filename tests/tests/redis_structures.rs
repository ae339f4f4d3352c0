//! The Redis backend's data structures, pub/sub, key scan and pipelines on a real
//! `redis-server` and a real 3-primary Cluster: every operation family (smoke level; the
//! conformance suite covers the contract), `WRONGTYPE`, plain JSON both ways through
//! `redis-cli`, blocking pops on dedicated connections (and on dead or frozen servers),
//! prefixed channels, scans of every primary, and pipelines / transactions with their Cluster
//! slot rules.
//!
//! Without `redis-server` the tests fail, saying how to install it; with
//! `CACHE_TESTS_SKIP_REDIS=1` they skip with a notice (see `cache_tests::redis_harness`).
#![allow(missing_docs, clippy::unwrap_used, clippy::panic, clippy::expect_used)]

use std::time::{Duration, Instant};

use cache_core::structures::{Op, Order, Reply, ScanCursor, StructureStore, scan_keys};
use cache_core::{Bytes, CacheBackend, ErrorKind};
use cache_redis::RedisBackend;
use cache_tests::redis_harness::{RedisServer, shared_cluster, shared_server, unique_prefix};

async fn standalone(name: &str) -> Option<RedisBackend> {
    Some(shared_server()?.backend(&unique_prefix(name)).await)
}

async fn cluster(name: &str) -> Option<RedisBackend> {
    Some(shared_cluster()?.backend(&unique_prefix(name)).await)
}

fn store(backend: &RedisBackend) -> &dyn StructureStore {
    backend
        .structures()
        .expect("the Redis backend has data structures")
}

fn json(text: &str) -> Bytes {
    Bytes::copy_from_slice(text.as_bytes())
}

/// `redis-cli` against the shared server (standalone tests only).
fn cli(args: &[&str]) -> String {
    shared_server().expect("a shared server").cli(args)
}

// ------------------------------------------------------------------ every family

async fn every_family(backend: RedisBackend) {
    let s = store(&backend);
    // Queue.
    let items = [json("1"), json("2"), json("3")];
    assert_eq!(
        s.apply("q", Op::QueuePush { values: &items })
            .await
            .unwrap(),
        Reply::Count(3)
    );
    assert_eq!(
        s.apply("q", Op::QueuePush { values: &[] }).await.unwrap(),
        Reply::Count(3)
    );
    assert_eq!(s.apply("q", Op::QueueLen).await.unwrap(), Reply::Count(3));
    assert_eq!(
        s.apply("q", Op::QueueRange { start: 1, stop: -1 })
            .await
            .unwrap(),
        Reply::Values(vec![json("2"), json("3")])
    );
    assert_eq!(
        s.apply("q", Op::QueuePop { count: 2 }).await.unwrap(),
        Reply::Values(vec![json("1"), json("2")])
    );
    assert_eq!(
        s.apply(
            "q",
            Op::QueuePopWait {
                timeout: Duration::from_millis(100)
            }
        )
        .await
        .unwrap(),
        Reply::Value(Some(json("3")))
    );
    assert_eq!(
        s.apply("q", Op::QueuePop { count: 5 }).await.unwrap(),
        Reply::Values(vec![])
    );
    assert_eq!(
        s.apply(
            "q",
            Op::QueuePopWait {
                timeout: Duration::from_millis(50)
            }
        )
        .await
        .unwrap(),
        Reply::Value(None)
    );
    for zero in [
        Op::QueuePop { count: 0 },
        Op::QueuePopWait {
            timeout: Duration::ZERO,
        },
    ] {
        let error = s.apply("q", zero).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidInput, "{error}");
        assert!(error.to_string().contains("`q`"), "{error}");
    }

    // Hash.
    let fields = [
        ("name", json("\"Ada\"")),
        ("age", json("36")),
        ("name", json("\"Ada L\"")),
    ];
    assert_eq!(
        s.apply("h", Op::HashSet { fields: &fields }).await.unwrap(),
        Reply::Count(2)
    );
    assert_eq!(
        s.apply("h", Op::HashSet { fields: &[] }).await.unwrap(),
        Reply::Count(0)
    );
    assert_eq!(
        s.apply(
            "h",
            Op::HashGet {
                fields: &["name", "nope"]
            }
        )
        .await
        .unwrap(),
        Reply::MaybeValues(vec![Some(json("\"Ada L\"")), None])
    );
    let Reply::Fields(mut all) = s.apply("h", Op::HashGetAll).await.unwrap() else {
        panic!("fields")
    };
    all.sort();
    assert_eq!(
        all,
        [
            ("age".to_owned(), json("36")),
            ("name".to_owned(), json("\"Ada L\""))
        ]
    );
    assert_eq!(s.apply("h", Op::HashLen).await.unwrap(), Reply::Count(2));
    assert_eq!(
        s.apply(
            "h",
            Op::HashDelete {
                fields: &["age", "nope"]
            }
        )
        .await
        .unwrap(),
        Reply::Count(1)
    );
    assert_eq!(
        s.apply("h", Op::HashDelete { fields: &[] }).await.unwrap(),
        Reply::Count(0)
    );

    // Sorted set, with infinities and a score that needs all its digits.
    let (a, b, c) = (json("\"a\""), json("\"b\""), json("\"c\""));
    let members = [
        (a.clone(), 0.1),
        (b.clone(), f64::INFINITY),
        (c.clone(), -1e300),
    ];
    assert_eq!(
        s.apply("z", Op::SortedAdd { members: &members })
            .await
            .unwrap(),
        Reply::Count(3)
    );
    assert_eq!(
        s.apply("z", Op::SortedAdd { members: &[] }).await.unwrap(),
        Reply::Count(0)
    );
    let nan = s
        .apply(
            "z",
            Op::SortedAdd {
                members: &[(a.clone(), f64::NAN)],
            },
        )
        .await
        .unwrap_err();
    assert_eq!(nan.kind(), ErrorKind::InvalidInput, "{nan}");
    assert_eq!(
        s.apply(
            "z",
            Op::SortedIncrement {
                member: &a,
                by: 0.2
            }
        )
        .await
        .unwrap(),
        Reply::Score(Some(0.1 + 0.2))
    );
    assert_eq!(
        s.apply(
            "z",
            Op::SortedRange {
                start: 0,
                stop: -1,
                order: Order::Descending
            }
        )
        .await
        .unwrap(),
        Reply::Scored(vec![
            (b.clone(), f64::INFINITY),
            (a.clone(), 0.1 + 0.2),
            (c.clone(), -1e300)
        ])
    );
    assert_eq!(
        s.apply(
            "z",
            Op::SortedRange {
                start: 0,
                stop: 0,
                order: Order::Ascending
            }
        )
        .await
        .unwrap(),
        Reply::Scored(vec![(c.clone(), -1e300)])
    );
    let by_score = |min, max, order, limit| Op::SortedRangeByScore {
        min,
        max,
        order,
        limit,
    };
    assert_eq!(
        s.apply(
            "z",
            by_score(0.0, f64::INFINITY, Order::Descending, Some(1))
        )
        .await
        .unwrap(),
        Reply::Scored(vec![(b.clone(), f64::INFINITY)])
    );
    assert_eq!(
        s.apply(
            "z",
            by_score(f64::NEG_INFINITY, 1.0, Order::Ascending, None)
        )
        .await
        .unwrap(),
        Reply::Scored(vec![(c.clone(), -1e300), (a.clone(), 0.1 + 0.2)])
    );
    assert_eq!(
        s.apply(
            "z",
            by_score(f64::NEG_INFINITY, 1.0, Order::Ascending, Some(0))
        )
        .await
        .unwrap(),
        Reply::Scored(vec![])
    );
    assert_eq!(
        s.apply(
            "z",
            Op::SortedRank {
                member: &b,
                order: Order::Descending
            }
        )
        .await
        .unwrap(),
        Reply::Rank(Some(0))
    );
    assert_eq!(
        s.apply(
            "z",
            Op::SortedRank {
                member: &b,
                order: Order::Ascending
            }
        )
        .await
        .unwrap(),
        Reply::Rank(Some(2))
    );
    assert_eq!(
        s.apply(
            "z",
            Op::SortedRank {
                member: &json("0"),
                order: Order::Ascending
            }
        )
        .await
        .unwrap(),
        Reply::Rank(None)
    );
    assert_eq!(
        s.apply("z", Op::SortedScore { member: &c }).await.unwrap(),
        Reply::Score(Some(-1e300))
    );
    assert_eq!(
        s.apply("z", Op::SortedScore { member: &json("0") })
            .await
            .unwrap(),
        Reply::Score(None)
    );
    assert_eq!(
        s.apply(
            "z",
            Op::SortedRemove {
                members: &[c.clone(), json("0")]
            }
        )
        .await
        .unwrap(),
        Reply::Count(1)
    );
    assert_eq!(s.apply("z", Op::SortedLen).await.unwrap(), Reply::Count(2));

    // Set.
    assert_eq!(
        s.apply(
            "s",
            Op::SetAdd {
                members: &[a.clone(), b.clone(), a.clone()]
            }
        )
        .await
        .unwrap(),
        Reply::Count(2)
    );
    assert_eq!(
        s.apply("s", Op::SetContains { member: &a }).await.unwrap(),
        Reply::Flag(true)
    );
    assert_eq!(
        s.apply("s", Op::SetContains { member: &c }).await.unwrap(),
        Reply::Flag(false)
    );
    let Reply::Values(mut members) = s.apply("s", Op::SetMembers).await.unwrap() else {
        panic!("values")
    };
    members.sort();
    assert_eq!(members, [a.clone(), b.clone()]);
    assert_eq!(
        s.apply(
            "s",
            Op::SetRemove {
                members: std::slice::from_ref(&a)
            }
        )
        .await
        .unwrap(),
        Reply::Count(1)
    );
    assert_eq!(s.apply("s", Op::SetLen).await.unwrap(), Reply::Count(1));

    // Counter with expiry, take, replace.
    let ttl = Duration::from_secs(60);
    assert_eq!(
        s.apply("n", Op::CounterIncrement { delta: 5, ttl })
            .await
            .unwrap(),
        Reply::Integer(5)
    );
    assert_eq!(
        s.apply("n", Op::CounterIncrement { delta: -2, ttl })
            .await
            .unwrap(),
        Reply::Integer(3)
    );
    assert!(
        matches!(backend.ttl("n").await.unwrap(), cache_core::KeyTtl::ExpiresIn(left) if left <= ttl)
    );
    let zero = s
        .apply(
            "n",
            Op::CounterIncrement {
                delta: 1,
                ttl: Duration::ZERO,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(zero.kind(), ErrorKind::InvalidInput);
    let (v1, v2) = (json("\"v1\""), json("\"v2\""));
    assert_eq!(
        s.apply(
            "t",
            Op::Replace {
                value: &v1,
                ttl: None
            }
        )
        .await
        .unwrap(),
        Reply::Flag(false)
    );
    assert!(!backend.exists("t").await.unwrap(), "replace never creates");
    backend.set("t", v1.clone(), None).await.unwrap();
    assert_eq!(
        s.apply(
            "t",
            Op::Replace {
                value: &v2,
                ttl: Some(ttl)
            }
        )
        .await
        .unwrap(),
        Reply::Flag(true)
    );
    assert!(matches!(
        backend.ttl("t").await.unwrap(),
        cache_core::KeyTtl::ExpiresIn(_)
    ));
    let zero = s
        .apply(
            "t",
            Op::Replace {
                value: &v2,
                ttl: Some(Duration::ZERO),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(zero.kind(), ErrorKind::InvalidInput);
    assert_eq!(
        s.apply("t", Op::Take).await.unwrap(),
        Reply::Value(Some(v2))
    );
    assert_eq!(s.apply("t", Op::Take).await.unwrap(), Reply::Value(None));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_family_on_standalone() {
    let Some(backend) = standalone("families").await else {
        return;
    };
    every_family(backend).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_family_on_the_cluster() {
    let Some(backend) = cluster("families").await else {
        return;
    };
    every_family(backend).await;
}

#[test]
fn the_redis_backend_offers_every_structure_capability() {
    let Some(server) = shared_server() else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let backend = runtime.block_on(server.backend(&unique_prefix("capabilities")));
    let names = cache_core::capability_names(&backend);
    for name in ["structures", "pubsub", "key_scan"] {
        assert!(names.contains(&name), "{names:?}");
    }
}

// ------------------------------------------------------------------ WRONGTYPE, plain JSON

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_of_another_type_is_wrong_type_naming_the_key_and_left_alone() {
    let Some(backend) = standalone("wrongtype").await else {
        return;
    };
    let prefix = backend.config().prefix().to_owned();
    let list = format!("{prefix}jobs");
    let hash = format!("{prefix}profile");
    cli(&["RPUSH", &list, "a", "b"]);
    cli(&["HSET", &hash, "name", "Ada"]);
    let s = store(&backend);
    let member = json("\"x\"");
    for (key, op) in [
        (
            "jobs",
            Op::SetAdd {
                members: std::slice::from_ref(&member),
            },
        ),
        ("jobs", Op::HashGetAll),
        (
            "jobs",
            Op::Replace {
                value: &member,
                ttl: None,
            },
        ),
        ("jobs", Op::Take),
        (
            "jobs",
            Op::CounterIncrement {
                delta: 1,
                ttl: Duration::from_secs(5),
            },
        ),
        (
            "profile",
            Op::QueuePush {
                values: std::slice::from_ref(&member),
            },
        ),
        (
            "profile",
            Op::QueuePopWait {
                timeout: Duration::from_millis(100),
            },
        ),
        (
            "profile",
            Op::SortedIncrement {
                member: &member,
                by: 1.0,
            },
        ),
    ] {
        let name = op.name();
        let error = s.apply(key, op).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::WrongType, "{name}: {error}");
        assert!(
            error.to_string().contains(&format!("`{key}`")),
            "{name}: {error}"
        );
    }
    assert_eq!(cli(&["LRANGE", &list, "0", "-1"]), "a\nb\n");
    assert_eq!(cli(&["HGETALL", &hash]), "name\nAda\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn structures_are_plain_redis_values_both_ways() {
    let Some(backend) = standalone("plain").await else {
        return;
    };
    let prefix = backend.config().prefix().to_owned();
    let s = store(&backend);
    let items = [json("{\"id\":1}"), json("{\"id\":2}")];
    s.apply("jobs", Op::QueuePush { values: &items })
        .await
        .unwrap();
    assert_eq!(
        cli(&["LRANGE", &format!("{prefix}jobs"), "0", "-1"]),
        "{\"id\":1}\n{\"id\":2}\n"
    );
    s.apply(
        "board",
        Op::SortedAdd {
            members: &[(json("\"ada\""), 2.5)],
        },
    )
    .await
    .unwrap();
    assert_eq!(
        cli(&["ZRANGE", &format!("{prefix}board"), "0", "-1", "WITHSCORES"]),
        "\"ada\"\n2.5\n"
    );

    cli(&[
        "HSET",
        &format!("{prefix}user:7"),
        "name",
        "\"Grace\"",
        "age",
        "85",
    ]);
    assert_eq!(
        s.apply(
            "user:7",
            Op::HashGet {
                fields: &["name", "age"]
            }
        )
        .await
        .unwrap(),
        Reply::MaybeValues(vec![Some(json("\"Grace\"")), Some(json("85"))])
    );
    cli(&["SADD", &format!("{prefix}tags"), "\"rust\""]);
    assert_eq!(
        s.apply("tags", Op::SetMembers).await.unwrap(),
        Reply::Values(vec![json("\"rust\"")])
    );
    cli(&[
        "ZADD",
        &format!("{prefix}scores"),
        "inf",
        "top",
        "-inf",
        "bottom",
    ]);
    assert_eq!(
        s.apply(
            "scores",
            Op::SortedRange {
                start: 0,
                stop: -1,
                order: Order::Ascending
            }
        )
        .await
        .unwrap(),
        Reply::Scored(vec![
            (json("bottom"), f64::NEG_INFINITY),
            (json("top"), f64::INFINITY)
        ])
    );
}

// ------------------------------------------------------------------ blocking pops

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_pop_does_not_stall_other_commands() {
    let Some(backend) = standalone("pop-stall").await else {
        return;
    };
    backend.set("plain", json("1"), None).await.unwrap();
    let popper = backend.clone();
    let started = Instant::now();
    let pop = tokio::spawn(async move {
        store(&popper)
            .apply(
                "empty",
                Op::QueuePopWait {
                    timeout: Duration::from_secs(2),
                },
            )
            .await
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let get_started = Instant::now();
    assert_eq!(backend.get("plain").await.unwrap(), Some(json("1")));
    let get_took = get_started.elapsed();
    assert!(
        get_took < Duration::from_millis(500),
        "GET took {get_took:?} beside a BLPOP"
    );
    assert_eq!(pop.await.unwrap().unwrap(), Reply::Value(None));
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(1900),
        "the pop waited {waited:?}"
    );
    assert!(waited < Duration::from_secs(4), "the pop waited {waited:?}");
}

async fn a_push_from_another_backend_wakes_the_pop(first: RedisBackend, second: RedisBackend) {
    for queue in ["wake:a", "wake:b", "wake:c", "wake:d"] {
        let popper = first.clone();
        let waiting = tokio::spawn(async move {
            let started = Instant::now();
            let reply = store(&popper)
                .apply(
                    queue,
                    Op::QueuePopWait {
                        timeout: Duration::from_secs(10),
                    },
                )
                .await;
            (reply, started.elapsed())
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
        store(&second)
            .apply(
                queue,
                Op::QueuePush {
                    values: &[json("\"job\"")],
                },
            )
            .await
            .unwrap();
        let (reply, took) = waiting.await.unwrap();
        assert_eq!(
            reply.unwrap(),
            Reply::Value(Some(json("\"job\""))),
            "{queue}"
        );
        assert!(
            took < Duration::from_secs(3),
            "{queue}: woken after {took:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_wakes_a_waiting_pop_on_standalone() {
    let Some(server) = shared_server() else {
        return;
    };
    let prefix = unique_prefix("wake");
    a_push_from_another_backend_wakes_the_pop(
        server.backend(&prefix).await,
        server.backend(&prefix).await,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_wakes_a_waiting_pop_on_the_cluster() {
    let Some(cluster) = shared_cluster() else {
        return;
    };
    let prefix = unique_prefix("wake");
    a_push_from_another_backend_wakes_the_pop(
        cluster.backend(&prefix).await,
        cluster.backend(&prefix).await,
    )
    .await;
}

/// How many clients the server has connected.
fn clients(server: &RedisServer) -> usize {
    server.cli(&["CLIENT", "LIST"]).lines().count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pops_reuse_their_connections_and_a_cancelled_pop_takes_nothing() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let backend = server.backend("pool:").await;
    let s = store(&backend);
    let before = clients(&server);
    for _ in 0..10 {
        let wait = Op::QueuePopWait {
            timeout: Duration::from_millis(10),
        };
        assert_eq!(s.apply("q", wait).await.unwrap(), Reply::Value(None));
    }
    // redis-cli's own connection is counted each time.
    assert_eq!(
        clients(&server),
        before + 1,
        "one pooled connection, reused"
    );

    // A pop given up by its caller closes its connection, so its BLPOP cannot take a value
    // pushed afterwards.
    let popper = backend.clone();
    let cancelled = tokio::spawn(async move {
        let wait = Op::QueuePopWait {
            timeout: Duration::from_secs(10),
        };
        store(&popper).apply("q", wait).await
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        server
            .cli(&["INFO", "clients"])
            .contains("blocked_clients:1")
    );
    cancelled.abort();
    let deadline = Instant::now() + Duration::from_secs(3);
    while server
        .cli(&["INFO", "clients"])
        .contains("blocked_clients:1")
    {
        assert!(
            Instant::now() < deadline,
            "the cancelled BLPOP is still blocked"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    s.apply(
        "q",
        Op::QueuePush {
            values: &[json("1")],
        },
    )
    .await
    .unwrap();
    let wait = Op::QueuePopWait {
        timeout: Duration::from_secs(1),
    };
    assert_eq!(
        s.apply("q", wait).await.unwrap(),
        Reply::Value(Some(json("1")))
    );
}

/// A private server's backend with short timeouts, so the bound is quick to check.
async fn short_timeouts(server: &RedisServer) -> RedisBackend {
    RedisBackend::connect(
        server
            .config(&unique_prefix("dead"))
            .connect_timeout(Duration::from_millis(500))
            .response_timeout(Duration::from_millis(500)),
    )
    .await
    .unwrap()
}

/// The pop's deadline plus the backend's timeouts, plus slack for a loaded machine.
const DEADLINE: Duration = Duration::from_secs(1);
const BOUND: Duration = Duration::from_millis(1000 + 500 + 500 + 2000);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pop_on_a_killed_server_returns_within_its_bound() {
    let Some(mut server) = RedisServer::start() else {
        return;
    };
    let backend = short_timeouts(&server).await;
    // One pop first, so that a pooled connection is there to go stale.
    let reply = store(&backend)
        .apply(
            "q",
            Op::QueuePopWait {
                timeout: Duration::from_millis(10),
            },
        )
        .await;
    assert_eq!(reply.unwrap(), Reply::Value(None));
    server.kill();
    let started = Instant::now();
    let outcome = store(&backend)
        .apply("q", Op::QueuePopWait { timeout: DEADLINE })
        .await;
    let took = started.elapsed();
    let error = outcome.unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::Connection | ErrorKind::Timeout),
        "{error}"
    );
    assert!(took < BOUND, "took {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pop_on_a_frozen_server_returns_within_its_bound() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let backend = short_timeouts(&server).await;
    // One pop first, so that the pop on the frozen server is sent on a pooled connection
    // (and blocks there) rather than stuck connecting.
    let warm = Op::QueuePopWait {
        timeout: Duration::from_millis(10),
    };
    assert_eq!(
        store(&backend).apply("q", warm).await.unwrap(),
        Reply::Value(None)
    );
    server.freeze();
    let started = Instant::now();
    let outcome = store(&backend)
        .apply("q", Op::QueuePopWait { timeout: DEADLINE })
        .await;
    let took = started.elapsed();
    server.thaw();
    match outcome {
        Ok(reply) => assert_eq!(reply, Reply::Value(None)),
        Err(error) => assert_eq!(error.kind(), ErrorKind::Timeout, "{error}"),
    }
    assert!(took < BOUND, "took {took:?}");
}

// ------------------------------------------------------------------ pub/sub

async fn next_message(
    subscription: &mut cache_core::structures::Subscription,
) -> Option<cache_core::structures::Message> {
    tokio::time::timeout(Duration::from_secs(3), subscription.next())
        .await
        .ok()
        .flatten()
}

/// `listener` and `talker` share a prefix; `stranger` has another.
async fn publish_across_backends(
    listener: RedisBackend,
    talker: RedisBackend,
    stranger: RedisBackend,
) {
    let mut events = CacheBackend::pubsub(&listener)
        .unwrap()
        .subscribe(&["orders", "users"])
        .await
        .unwrap();
    let talk = CacheBackend::pubsub(&talker).unwrap();
    // Another prefix's channel of the same name is another channel.
    CacheBackend::pubsub(&stranger)
        .unwrap()
        .publish("orders", json("\"not for you\""))
        .await
        .unwrap();
    let received = talk.publish("orders", json("{\"id\":7}")).await.unwrap();
    // On a Cluster only the receiving node's subscribers are counted.
    assert!(
        received >= 1 || talker.connection().is_cluster(),
        "{received}"
    );
    talk.publish("users", json("\"ada\"")).await.unwrap();
    // Messages of one channel keep their order; on a Cluster two channels' messages may
    // travel through different nodes, so they are compared as a set.
    let mut received = Vec::new();
    for _ in 0..2 {
        let message = next_message(&mut events).await.expect("a message");
        received.push((message.channel, message.payload));
    }
    received.sort();
    assert_eq!(
        received,
        [
            ("orders".to_owned(), json("{\"id\":7}")),
            ("users".to_owned(), json("\"ada\""))
        ]
    );
    let stray = tokio::time::timeout(Duration::from_millis(300), events.next()).await;
    assert!(
        stray.is_err(),
        "another prefix's message came through: {stray:?}"
    );
    let empty = talk.subscribe(&[]).await.unwrap_err();
    assert_eq!(empty.kind(), ErrorKind::InvalidInput);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pubsub_across_backends_and_isolated_by_prefix_on_standalone() {
    let Some(server) = shared_server() else {
        return;
    };
    let prefix = unique_prefix("pubsub");
    publish_across_backends(
        server.backend(&prefix).await,
        server.backend(&prefix).await,
        server.backend(&unique_prefix("other")).await,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pubsub_across_backends_and_isolated_by_prefix_on_the_cluster() {
    let Some(cluster) = shared_cluster() else {
        return;
    };
    let prefix = unique_prefix("pubsub");
    publish_across_backends(
        cluster.backend(&prefix).await,
        cluster.backend(&prefix).await,
        cluster.backend(&unique_prefix("other")).await,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_cli_hears_the_prefixed_channel_and_a_subscription_ends_with_its_connection() {
    let Some(mut server) = RedisServer::start() else {
        return;
    };
    let backend = server.backend("app:").await;
    let mut events = CacheBackend::pubsub(&backend)
        .unwrap()
        .subscribe(&["news"])
        .await
        .unwrap();
    assert_eq!(
        server.cli(&["PUBSUB", "NUMSUB", "app:news"]),
        "app:news\n1\n"
    );
    server.cli(&["PUBLISH", "app:news", "hello"]);
    let message = next_message(&mut events)
        .await
        .expect("redis-cli's message");
    assert_eq!(
        (message.channel.as_str(), message.payload),
        ("news", json("hello"))
    );
    // A dropped subscription closes its connection, which unsubscribes.
    let extra = CacheBackend::pubsub(&backend)
        .unwrap()
        .subscribe(&["news"])
        .await
        .unwrap();
    assert_eq!(
        server.cli(&["PUBSUB", "NUMSUB", "app:news"]),
        "app:news\n2\n"
    );
    drop(extra);
    let deadline = Instant::now() + Duration::from_secs(3);
    while server.cli(&["PUBSUB", "NUMSUB", "app:news"]) != "app:news\n1\n" {
        assert!(
            Instant::now() < deadline,
            "the dropped subscription is still there"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.kill();
    let ended = tokio::time::timeout(Duration::from_secs(5), events.next()).await;
    assert_eq!(
        ended.expect("the stream ends when its connection drops"),
        None
    );
}

// ------------------------------------------------------------------ key scan

/// Lists 40 keys (and not a 41st of another pattern) in every way; returns the cursor parts
/// the hand-paged scan went through.
async fn scan_lists_every_key(backend: RedisBackend) -> Vec<u32> {
    let mut written: Vec<String> = (0..40).map(|i| format!("user:{i}")).collect();
    for key in &written {
        backend.set(key, json("{}"), None).await.unwrap();
    }
    backend.set("order:1", json("{}"), None).await.unwrap();
    written.sort();
    assert_eq!(
        scan_keys(backend.clone(), "user:*")
            .collect()
            .await
            .unwrap(),
        written
    );
    assert_eq!(
        scan_keys(backend.clone(), "user:*")
            .page_size(1)
            .collect()
            .await
            .unwrap(),
        written
    );
    // Paging by hand, COUNT 1: every page's cursor is the scan's own, and it ends.
    let scan = backend.key_scan().unwrap();
    let (mut cursor, mut found, mut parts) = (ScanCursor::START, Vec::new(), Vec::new());
    for _ in 0..100_000 {
        let page = scan.scan("*", cursor, 1).await.unwrap();
        found.extend(page.keys);
        let Some(next) = page.next else { break };
        parts.push(next.part());
        cursor = next;
    }
    found.sort();
    found.dedup();
    assert_eq!(found.len(), 41, "{found:?}");
    assert!(
        found.iter().all(|key| !key.starts_with("t:")),
        "the prefix is not shown"
    );
    parts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_scan_on_standalone() {
    let Some(backend) = standalone("scan").await else {
        return;
    };
    let parts = scan_lists_every_key(backend).await;
    assert!(parts.iter().all(|part| *part == 0), "{parts:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_scan_walks_every_primary_of_the_cluster() {
    let Some(cluster) = shared_cluster() else {
        return;
    };
    let prefix = unique_prefix("scan");
    let parts = scan_lists_every_key(cluster.backend(&prefix).await).await;
    assert!(
        parts.contains(&1) && parts.contains(&2),
        "the scan went to every primary: {parts:?}"
    );
    // The keys were spread over all three primaries, so the scan did visit each.
    for node in cluster.nodes() {
        let keys = node.cli(&["--scan", "--pattern", &format!("{prefix}user:*")]);
        assert!(
            keys.lines().count() > 0,
            "node {} holds none of the keys",
            node.addr()
        );
    }
}

// ------------------------------------------------------------------ pipelines

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipeline_prefixes_its_keys_and_replies_in_order() {
    let Some(backend) = standalone("pipe").await else {
        return;
    };
    let prefix = backend.config().prefix().to_owned();
    let mut pipe = backend.pipeline();
    pipe.set(
        "user:1",
        "{\"name\":\"Ada\"}",
        Some(Duration::from_secs(60)),
    )
    .ignore()
    .get("user:1")
    .incr("visits", 5)
    .hset("profile:1", "city", "London")
    .rpush("recent", "user:1")
    .expire("recent", Duration::from_secs(30))
    .cmd("ZADD")
    .key("board")
    .arg(3)
    .arg("ada")
    .del("nothing");
    assert_eq!(pipe.len(), 8);
    let replies: (String, i64, u64, u64, bool, u64, u64) = pipe.query().await.unwrap();
    assert_eq!(
        replies,
        ("{\"name\":\"Ada\"}".to_owned(), 5, 1, 1, true, 1, 0)
    );
    assert_eq!(
        cli(&["GET", &format!("{prefix}user:1")]),
        "{\"name\":\"Ada\"}\n"
    );
    assert_eq!(
        cli(&["HGET", &format!("{prefix}profile:1"), "city"]),
        "London\n"
    );
    assert_eq!(
        cli(&["LRANGE", &format!("{prefix}recent"), "0", "-1"]),
        "user:1\n"
    );
    assert_eq!(cli(&["ZSCORE", &format!("{prefix}board"), "ada"]), "3\n");
    let ttl: i64 = cli(&["TTL", &format!("{prefix}recent")])
        .trim()
        .parse()
        .unwrap();
    assert!((1..=30).contains(&ttl), "{ttl}");

    let empty: Vec<i64> = backend.pipeline().query().await.unwrap();
    assert!(empty.is_empty());
    let mut zero = backend.pipeline();
    zero.expire("recent", Duration::ZERO);
    assert_eq!(
        zero.query::<()>().await.unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    let mut orphan = backend.pipeline();
    orphan.key("user:1");
    assert_eq!(
        orphan.query::<()>().await.unwrap_err().kind(),
        ErrorKind::InvalidInput
    );

    let mut wrong = backend.pipeline();
    wrong.get("user:1").incr("profile:1", 1);
    let error = wrong.query::<(String, i64)>().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::WrongType, "{error}");
    assert!(error.to_string().contains("INCRBY"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_applies_all_or_nothing() {
    let Some(backend) = standalone("multi").await else {
        return;
    };
    backend.set("alice", json("100"), None).await.unwrap();
    backend.set("bob", json("0"), None).await.unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let backend = backend.clone();
        tasks.spawn(async move {
            let mut transfer = backend.pipeline();
            transfer.atomic().incr("alice", -5).incr("bob", 5);
            let (alice, bob): (i64, i64) = transfer.query().await.unwrap();
            assert_eq!(alice + bob, 100, "a transfer is seen whole");
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    let mut read = backend.pipeline();
    read.atomic().get("alice").get("bob");
    assert_eq!(read.query::<(i64, i64)>().await.unwrap(), (0, 100));

    // A command Redis refuses when queued (INCRBY without its amount) aborts the whole
    // transaction: the first INCRBY never runs.
    let mut broken = backend.pipeline();
    broken.atomic().incr("alice", 10).cmd("INCRBY").key("bob");
    let error = broken.query::<(i64, i64)>().await.unwrap_err();
    assert!(error.to_string().contains("aborted"), "{error}");
    assert_eq!(backend.get("alice").await.unwrap(), Some(json("0")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_pipelines_split_by_slot_and_transactions_stay_in_one() {
    let Some(backend) = cluster("pipe").await else {
        return;
    };
    // Across slots, a transaction is refused before anything is sent.
    let mut transfer = backend.pipeline();
    transfer.atomic().incr("alice", -5).incr("bob", 5);
    let error = transfer.query::<(i64, i64)>().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput, "{error}");
    let text = error.to_string();
    assert!(
        text.contains("`alice`") && text.contains("`bob`") && text.contains("hash tag"),
        "{text}"
    );
    assert!(!backend.exists("alice").await.unwrap(), "nothing was sent");
    // One command whose own keys span slots is refused too.
    let mut mset = backend.pipeline();
    mset.cmd("MSET").key("a").arg(1).key("b").arg(2);
    assert_eq!(
        mset.query::<()>().await.unwrap_err().kind(),
        ErrorKind::InvalidInput
    );

    // In one slot (a hash tag), the transaction runs.
    backend
        .set("{acct}:alice", json("100"), None)
        .await
        .unwrap();
    let mut tagged = backend.pipeline();
    tagged
        .atomic()
        .incr("{acct}:alice", -30)
        .incr("{acct}:bob", 30);
    assert_eq!(tagged.query::<(i64, i64)>().await.unwrap(), (70, 30));

    // A plain pipeline over many slots: split, and the replies put back in order.
    let mut batch = backend.pipeline();
    for i in 0..30 {
        batch.set(&format!("k:{i}"), i, None).ignore();
    }
    batch.cmd("PING");
    for i in 0..30 {
        batch.incr(&format!("k:{i}"), 1000);
    }
    let (pong, values): (String, Vec<i64>) = {
        let replies: Vec<cache_redis::redis::Value> = batch.query().await.unwrap();
        let mut replies = replies.into_iter();
        let pong = cache_redis::redis::from_redis_value(replies.next().unwrap()).unwrap();
        (
            pong,
            replies
                .map(|v| cache_redis::redis::from_redis_value(v).unwrap())
                .collect(),
        )
    };
    assert_eq!(pong, "PONG");
    assert_eq!(values, (0..30).map(|i| i + 1000).collect::<Vec<i64>>());
    for i in [0, 7, 29] {
        assert_eq!(
            backend.get(&format!("k:{i}")).await.unwrap(),
            Some(json(&(i + 1000).to_string()))
        );
    }
}
