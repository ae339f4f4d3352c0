//! The backend conformance suite: the [`CacheBackend`] contract written once as checks, for
//! every backend and every wrapper. The project's own backends (memory, Redis, Redis Cluster,
//! the near cache, [`Prefix`]) run it; run it on yours.
//!
//! Each check is a public `async fn` that takes a fresh, isolated backend (its own store, or its
//! own key prefix on a shared server) and panics with a message on a contract violation.
//! [`conformance_tests!`] turns the whole list into one `#[tokio::test]` per check for a backend
//! factory, and [`structure_conformance_tests!`] does the same for the data-structure checks in
//! [`structures`]:
//!
//! ```
//! mod my_backend_conformance {
//!     // `paused`: tokio's paused clock (an in-process backend); `real` for a server with its
//!     // own clock. The expression is evaluated once per test, so each check gets a fresh store.
//!     cache_core::conformance_tests!(paused, async { cache_core::MemoryBackend::new() });
//!     cache_core::structure_conformance_tests!(paused, async { cache_core::MemoryBackend::new() });
//! }
//! # fn main() {}
//! ```
//!
//! The factory's future gives a backend, or an `Option` of one: `None` skips the check, for a
//! harness that cannot start its server and has said so (see [`Setup`]).
//!
//! Time: every check waits with `tokio::time::sleep`, so under `paused` waiting is instant, and
//! under `real` the TTLs are short enough to keep the suite fast. The tests need `tokio` (with
//! `macros`, and `test-util` for `paused`) among the caller's dev-dependencies.
//!
//! Capabilities: the lock checks return at once on a backend without [`CacheBackend::locks`];
//! every other check needs what it checks.
//!
//! [`conformance_tests!`]: crate::conformance_tests
//! [`structure_conformance_tests!`]: crate::structure_conformance_tests

// Test support: a failed expectation is a panic with a message, as in `assert!`.
#![allow(clippy::panic, clippy::unwrap_used)]

pub mod structures;

use std::sync::Arc;
use std::time::Duration;

use crate::layer::Prefix;
use crate::lock::{Acquire, Fill, LockToken};
use crate::rate_limit::RateLimitPolicy;
use crate::structures::{Op, Reply, ScanCursor};
use crate::{Bytes, CacheBackend, ErrorKind, KeyBuf, KeyTtl, LockStore, capability_names};

/// The TTL used by expiry checks: long enough that a loaded machine does not expire a key
/// between two adjacent commands, short enough for a real-clock run.
pub const SHORT_TTL: Duration = Duration::from_millis(400);

/// The lease of the lock checks: long enough that a loaded machine does not lose a lock
/// between two adjacent commands, short enough to wait out on a real clock.
pub const SHORT_LEASE: Duration = Duration::from_millis(200);

/// A lease no check outlives.
const LONG_LEASE: Duration = Duration::from_secs(30);

fn bytes(text: &'static str) -> Bytes {
    Bytes::from_static(text.as_bytes())
}

fn token() -> LockToken {
    LockToken::random().expect("randomness")
}

/// The fence of an acquisition that must succeed.
async fn take(locks: &dyn LockStore, name: &str, token: &LockToken, lease: Duration) -> u64 {
    match locks.acquire(name, token, lease).await.expect("acquire") {
        Acquire::Acquired { fence } => fence,
        held => panic!("`{name}` must be free, got {held:?}"),
    }
}

/// Asserts `name` is held by someone else for at most `lease`.
async fn assert_held(locks: &dyn LockStore, name: &str, lease: Duration) {
    match locks.acquire(name, &token(), lease).await.expect("acquire") {
        Acquire::Held { remaining } => {
            let remaining = remaining.expect("the holder's lease is known");
            assert!(
                remaining <= lease,
                "{remaining:?} left of a {lease:?} lease"
            );
        }
        acquired => panic!("`{name}` must be held, got {acquired:?}"),
    }
}

fn value(text: &'static str) -> Fill {
    Fill::new(bytes(text), None, None)
}

/// Values round-trip byte for byte; a missing key is `None`; `set` overwrites.
pub async fn get_set_roundtrip(backend: impl CacheBackend) {
    assert_eq!(backend.get("missing").await.expect("get"), None);
    backend.set("k", bytes("v1"), None).await.expect("set");
    assert_eq!(
        backend.get("k").await.expect("get").as_deref(),
        Some(&b"v1"[..])
    );
    backend
        .set("k", bytes("v2"), None)
        .await
        .expect("overwrite");
    assert_eq!(
        backend.get("k").await.expect("get").as_deref(),
        Some(&b"v2"[..])
    );
    let binary = Bytes::from(vec![0_u8, 255, 10, 13, 0]);
    backend
        .set("bin", binary.clone(), None)
        .await
        .expect("set binary");
    assert_eq!(backend.get("bin").await.expect("get binary"), Some(binary));
}

/// A TTL is reported, honoured, and an expired key is gone for every read operation.
pub async fn ttl_expiry(backend: impl CacheBackend) {
    backend
        .set("t", bytes("v"), Some(SHORT_TTL))
        .await
        .expect("set with ttl");
    match backend.ttl("t").await.expect("ttl") {
        KeyTtl::ExpiresIn(left) => assert!(left <= SHORT_TTL && !left.is_zero(), "ttl {left:?}"),
        other => panic!("expected ExpiresIn, got {other:?}"),
    }
    assert!(backend.exists("t").await.expect("exists"));
    tokio::time::sleep(SHORT_TTL * 2).await;
    assert_eq!(
        backend.get("t").await.expect("get"),
        None,
        "expired key still readable"
    );
    assert!(!backend.exists("t").await.expect("exists"));
    assert_eq!(backend.ttl("t").await.expect("ttl"), KeyTtl::Missing);
    assert_eq!(
        backend.get_many(&["t"]).await.expect("get_many"),
        vec![None]
    );
}

/// `None` means no expiry; `set` without TTL clears a previous TTL; zero TTLs are refused.
pub async fn ttl_none_and_zero(backend: impl CacheBackend) {
    backend.set("p", bytes("v"), None).await.expect("set");
    assert_eq!(backend.ttl("p").await.expect("ttl"), KeyTtl::Persistent);
    backend
        .set("p2", bytes("v"), Some(Duration::from_secs(60)))
        .await
        .expect("set");
    backend
        .set("p2", bytes("v"), None)
        .await
        .expect("set again");
    assert_eq!(backend.ttl("p2").await.expect("ttl"), KeyTtl::Persistent);
    let zero = backend.set("z", bytes("v"), Some(Duration::ZERO)).await;
    assert_eq!(
        zero.map_err(|e| e.kind()).err(),
        Some(ErrorKind::InvalidInput)
    );
    assert_eq!(backend.get("z").await.expect("get"), None);
}

/// `set_if_absent` stores only into an empty (or expired) key and keeps the first value.
pub async fn set_if_absent_semantics(backend: impl CacheBackend) {
    assert!(
        backend
            .set_if_absent("n", bytes("first"), Some(SHORT_TTL))
            .await
            .expect("nx")
    );
    assert!(
        !backend
            .set_if_absent("n", bytes("second"), None)
            .await
            .expect("nx")
    );
    assert_eq!(
        backend.get("n").await.expect("get").as_deref(),
        Some(&b"first"[..])
    );
    assert!(matches!(
        backend.ttl("n").await.expect("ttl"),
        KeyTtl::ExpiresIn(_)
    ));
    tokio::time::sleep(SHORT_TTL * 2).await;
    assert!(
        backend
            .set_if_absent("n", bytes("third"), None)
            .await
            .expect("nx after expiry")
    );
    assert_eq!(
        backend.get("n").await.expect("get").as_deref(),
        Some(&b"third"[..])
    );
}

/// Of 64 concurrent `set_if_absent` calls on one key, exactly one wins.
pub async fn set_if_absent_race(backend: impl CacheBackend) {
    let backend = Arc::new(backend);
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let backend = backend.clone();
            tokio::spawn(async move {
                backend
                    .set_if_absent("race", Bytes::from(format!("{i}")), None)
                    .await
                    .expect("nx")
            })
        })
        .collect();
    let mut winners = 0;
    for task in tasks {
        winners += usize::from(task.await.expect("task"));
    }
    assert_eq!(winners, 1, "set_if_absent must have exactly one winner");
}

/// `delete`, `delete_many` and `exists` report what was there.
pub async fn delete_and_exists(backend: impl CacheBackend) {
    backend.set("a", bytes("1"), None).await.expect("set");
    backend.set("b", bytes("2"), None).await.expect("set");
    backend.set("c", bytes("3"), None).await.expect("set");
    assert!(backend.exists("a").await.expect("exists"));
    assert!(backend.delete("a").await.expect("delete"));
    assert!(!backend.delete("a").await.expect("delete again"));
    assert!(!backend.exists("a").await.expect("exists"));
    assert_eq!(
        backend
            .delete_many(&["b", "c", "nope"])
            .await
            .expect("delete_many"),
        2
    );
    assert_eq!(
        backend.get_many(&["b", "c"]).await.expect("get_many"),
        vec![None, None]
    );
}

/// `expire` sets a TTL on an existing key only.
pub async fn expire_semantics(backend: impl CacheBackend) {
    assert!(
        !backend
            .expire("none", SHORT_TTL)
            .await
            .expect("expire missing")
    );
    backend.set("e", bytes("v"), None).await.expect("set");
    assert!(backend.expire("e", SHORT_TTL).await.expect("expire"));
    assert!(matches!(
        backend.ttl("e").await.expect("ttl"),
        KeyTtl::ExpiresIn(_)
    ));
    tokio::time::sleep(SHORT_TTL * 2).await;
    assert!(!backend.exists("e").await.expect("exists"));
}

/// `increment` creates, adds, keeps the TTL, and refuses non-integers and overflow.
pub async fn increment_semantics(backend: impl CacheBackend) {
    assert_eq!(backend.increment("c", 1).await.expect("incr"), 1);
    assert_eq!(backend.increment("c", 41).await.expect("incr"), 42);
    assert_eq!(backend.increment("c", -50).await.expect("decr"), -8);
    assert_eq!(
        backend.get("c").await.expect("get").as_deref(),
        Some(&b"-8"[..])
    );
    assert_eq!(backend.ttl("c").await.expect("ttl"), KeyTtl::Persistent);
    backend
        .expire("c", Duration::from_secs(60))
        .await
        .expect("expire");
    backend.increment("c", 1).await.expect("incr");
    assert!(
        matches!(backend.ttl("c").await.expect("ttl"), KeyTtl::ExpiresIn(_)),
        "increment dropped the TTL"
    );
    backend.set("text", bytes("abc"), None).await.expect("set");
    let err = backend
        .increment("text", 1)
        .await
        .expect_err("increment of text");
    assert_eq!(err.kind(), ErrorKind::NotAnInteger);
    assert_eq!(
        backend.get("text").await.expect("get").as_deref(),
        Some(&b"abc"[..])
    );
    backend
        .set("max", Bytes::from(i64::MAX.to_string()), None)
        .await
        .expect("set");
    let err = backend.increment("max", 1).await.expect_err("overflow");
    assert_eq!(err.kind(), ErrorKind::NotAnInteger);
}

/// 64 tasks × 50 increments of one key add up exactly.
pub async fn increment_concurrent(backend: impl CacheBackend) {
    let backend = Arc::new(backend);
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let backend = backend.clone();
            tokio::spawn(async move {
                for _ in 0..50 {
                    backend.increment("counter", 1).await.expect("incr");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("task");
    }
    assert_eq!(
        backend.get("counter").await.expect("get").as_deref(),
        Some(&b"3200"[..])
    );
}

/// `get_many` keeps order and reports each missing key; `set_many` applies one TTL to all.
pub async fn batch_operations(backend: impl CacheBackend) {
    backend
        .set_many(
            &[("m1", bytes("1")), ("m2", bytes("2")), ("m3", bytes("3"))],
            Some(Duration::from_secs(60)),
        )
        .await
        .expect("set_many");
    let values = backend
        .get_many(&["m3", "nope", "m1", "m2"])
        .await
        .expect("get_many");
    let values: Vec<Option<&[u8]>> = values.iter().map(Option::as_deref).collect();
    assert_eq!(
        values,
        vec![Some(&b"3"[..]), None, Some(&b"1"[..]), Some(&b"2"[..])]
    );
    assert!(matches!(
        backend.ttl("m2").await.expect("ttl"),
        KeyTtl::ExpiresIn(_)
    ));
    assert_eq!(
        backend.get_many(&[]).await.expect("empty get_many"),
        Vec::<Option<Bytes>>::new()
    );
    backend.set_many(&[], None).await.expect("empty set_many");
}

fn key(prefix: &str, value: &str) -> String {
    let mut key = KeyBuf::new();
    key.push_literal(prefix);
    key.push_part(value);
    key.into_string()
}

/// Pattern delete removes exactly the matching keys, and an escaped value cannot widen the
/// pattern it is part of.
pub async fn delete_pattern_escaped(backend: impl CacheBackend) {
    let star = key("user:", "a*");
    let plain = key("user:", "ab");
    let nested = key("user:", "a*:x");
    for k in [&star, &plain, &nested, &"other:1".to_owned()] {
        backend.set(k, bytes("v"), None).await.expect("set");
    }
    // The pattern for "everything under the value `a*`": the value's key form, then `*`.
    let pattern = format!("{star}*");
    assert_eq!(
        backend
            .delete_pattern(&pattern)
            .await
            .expect("delete_pattern"),
        2
    );
    assert!(!backend.exists(&star).await.expect("exists"));
    assert!(!backend.exists(&nested).await.expect("exists"));
    assert!(
        backend.exists(&plain).await.expect("exists"),
        "escaped `*` widened the pattern"
    );
    assert_eq!(
        backend
            .delete_pattern("user:*")
            .await
            .expect("delete_pattern"),
        1
    );
    assert!(backend.exists("other:1").await.expect("exists"));
    assert_eq!(
        backend
            .delete_pattern("nothing:*")
            .await
            .expect("delete_pattern"),
        0
    );
}

/// Pattern delete walks a keyspace larger than one scan batch.
pub async fn delete_pattern_many(backend: impl CacheBackend) {
    let values: Vec<(String, Bytes)> = (0..2500)
        .map(|i| (format!("bulk:{i}"), bytes("v")))
        .collect();
    let entries: Vec<(&str, Bytes)> = values
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    backend.set_many(&entries, None).await.expect("set_many");
    backend.set("keep", bytes("v"), None).await.expect("set");
    assert_eq!(
        backend
            .delete_pattern("bulk:*")
            .await
            .expect("delete_pattern"),
        2500
    );
    assert!(backend.exists("keep").await.expect("exists"));
}

/// `clear` empties the backend; `ping` answers.
pub async fn clear_and_ping(backend: impl CacheBackend) {
    backend.ping().await.expect("ping");
    backend.set("x", bytes("1"), None).await.expect("set");
    backend
        .set("y", bytes("2"), Some(Duration::from_secs(60)))
        .await
        .expect("set");
    backend.clear().await.expect("clear");
    assert_eq!(
        backend.get_many(&["x", "y"]).await.expect("get_many"),
        vec![None, None]
    );
}

/// Locks: one holder at a time, refusals for everybody else, a retried acquisition keeps its
/// fence, and every new acquisition gets a larger fence. (Every check of locks passes trivially
/// on a backend without them.)
pub async fn lock_acquire_release_fences(backend: impl CacheBackend) {
    let Some(locks) = backend.locks() else { return };
    let (a, b) = (token(), token());
    let first = take(locks, "job", &a, LONG_LEASE).await;
    assert_held(locks, "job", LONG_LEASE).await;
    assert_eq!(
        take(locks, "job", &a, LONG_LEASE).await,
        first,
        "a retried acquisition by the holder keeps its fence"
    );
    assert!(!locks.extend("job", &b, LONG_LEASE).await.expect("extend"));
    assert!(!locks.release("job", &b).await.expect("release"));
    assert_held(locks, "job", LONG_LEASE).await;
    assert!(locks.extend("job", &a, LONG_LEASE).await.expect("extend"));
    assert!(locks.release("job", &a).await.expect("release"));
    assert!(
        !locks.release("job", &a).await.expect("release"),
        "released once"
    );
    assert!(!locks.extend("job", &a, LONG_LEASE).await.expect("extend"));
    let second = take(locks, "job", &b, LONG_LEASE).await;
    assert!(second > first, "fences grow: {second} after {first}");
    assert!(locks.release("job", &b).await.expect("release"));
    // Another name (with a hash tag: on a Cluster its lock state keeps the tag's slot).
    let other = take(locks, "job:{7}:report", &a, LONG_LEASE).await;
    assert_held(locks, "job:{7}:report", LONG_LEASE).await;
    assert!(locks.release("job:{7}:report", &a).await.expect("release"));
    let again = take(locks, "job:{7}:report", &a, LONG_LEASE).await;
    assert!(again > other, "fences grow: {again} after {other}");
}

/// A lease that is not renewed ends by itself: the holder can no longer extend or release,
/// and the next holder gets a larger fence.
pub async fn lock_lease_lapses(backend: impl CacheBackend) {
    let Some(locks) = backend.locks() else { return };
    let (a, b) = (token(), token());
    let first = take(locks, "lapsing", &a, SHORT_LEASE).await;
    assert_held(locks, "lapsing", SHORT_LEASE).await;
    tokio::time::sleep(SHORT_LEASE + Duration::from_millis(100)).await;
    assert!(
        !locks
            .extend("lapsing", &a, SHORT_LEASE)
            .await
            .expect("extend")
    );
    let second = take(locks, "lapsing", &b, LONG_LEASE).await;
    assert!(second > first, "fences grow: {second} after {first}");
    assert!(!locks.release("lapsing", &a).await.expect("release"));
    assert_held(locks, "lapsing", LONG_LEASE).await;
}

/// A fenced write stores while its fence is current and releases the writer's hold; once
/// another holder took the name, the old fence is refused and the new holder keeps the lock.
pub async fn lock_fill_fenced(backend: impl CacheBackend) {
    let Some(locks) = backend.locks() else { return };
    let (a, b) = (token(), token());
    let fence = take(locks, "report:{q1}", &a, LONG_LEASE).await;
    assert!(
        locks
            .fill("report:{q1}", &a, fence, value("v1"))
            .await
            .expect("fill")
    );
    assert_eq!(
        backend.get("report:{q1}").await.expect("get").as_deref(),
        Some(&b"v1"[..])
    );
    // The fill released the hold.
    let newer = take(locks, "report:{q1}", &b, LONG_LEASE).await;
    assert!(newer > fence);
    assert!(
        !locks
            .fill("report:{q1}", &a, fence, value("stale"))
            .await
            .expect("fill"),
        "a fill with an old fence is refused"
    );
    assert_held(locks, "report:{q1}", LONG_LEASE).await;
    assert_eq!(
        backend.get("report:{q1}").await.expect("get").as_deref(),
        Some(&b"v1"[..])
    );

    // A holder stalled past its lease, whose name another took since, writes nothing.
    let stalled = take(locks, "stalled", &a, SHORT_LEASE).await;
    tokio::time::sleep(SHORT_LEASE + Duration::from_millis(100)).await;
    let current = take(locks, "stalled", &b, LONG_LEASE).await;
    assert!(
        !locks
            .fill("stalled", &a, stalled, value("late"))
            .await
            .expect("fill")
    );
    assert_eq!(backend.get("stalled").await.expect("get"), None);
    assert_held(locks, "stalled", LONG_LEASE).await;
    let ttl = Some(Duration::from_secs(60));
    let fill = Fill::new(bytes("fresh"), None, ttl);
    assert!(
        locks
            .fill("stalled", &b, current, fill)
            .await
            .expect("fill")
    );
    assert_eq!(
        backend.get("stalled").await.expect("get").as_deref(),
        Some(&b"fresh"[..])
    );
    assert!(
        matches!(backend.ttl("stalled").await.expect("ttl"), KeyTtl::ExpiresIn(left) if left <= Duration::from_secs(60)),
        "the fill's TTL is kept"
    );
    take(locks, "stalled", &a, LONG_LEASE).await;
}

/// `supersede` outdates every fence handed out: an invalidation, or a newer value, is never
/// overwritten by a fill begun before it.
pub async fn lock_supersede(backend: impl CacheBackend) {
    let Some(locks) = backend.locks() else { return };
    let a = token();
    let fence = take(locks, "doc", &a, LONG_LEASE).await;
    backend.set("doc", bytes("old"), None).await.expect("set");
    assert!(
        locks.supersede("doc", None).await.expect("supersede"),
        "it held a value"
    );
    assert_eq!(backend.get("doc").await.expect("get"), None);
    assert!(
        !locks
            .fill("doc", &a, fence, value("computed before"))
            .await
            .expect("fill")
    );
    assert_eq!(
        backend.get("doc").await.expect("get"),
        None,
        "the invalidation stands"
    );
    assert!(
        !locks.supersede("doc", None).await.expect("supersede"),
        "nothing left"
    );

    let b = token();
    let fence = take(locks, "doc", &b, LONG_LEASE).await;
    assert!(
        !locks
            .supersede("doc", Some(value("newer")))
            .await
            .expect("supersede")
    );
    assert!(
        !locks
            .fill("doc", &b, fence, value("older"))
            .await
            .expect("fill")
    );
    assert_eq!(
        backend.get("doc").await.expect("get").as_deref(),
        Some(&b"newer"[..]),
        "the newer value stands"
    );
    let after = take(locks, "doc", &a, LONG_LEASE).await;
    assert!(after > fence, "the fence moved on: {after} after {fence}");
    assert!(
        locks
            .supersede("doc", Some(value("newest")))
            .await
            .expect("supersede")
    );
}

/// A watch fires when the name is released, and when it is filled.
pub async fn lock_watch_wakes(backend: impl CacheBackend) {
    let Some(locks) = backend.locks() else { return };
    let bound = Duration::from_secs(5);
    let a = token();
    take(locks, "watched", &a, LONG_LEASE).await;
    let woken = locks.watch("watched");
    assert!(locks.release("watched", &a).await.expect("release"));
    tokio::time::timeout(bound, woken)
        .await
        .expect("a release wakes the watchers");

    let fence = take(locks, "watched", &a, LONG_LEASE).await;
    let woken = locks.watch("watched");
    assert!(
        locks
            .fill("watched", &a, fence, value("v"))
            .await
            .expect("fill")
    );
    tokio::time::timeout(bound, woken)
        .await
        .expect("a fill wakes the watchers");
}

/// A zero lease is invalid input, for an acquisition and an extension alike.
pub async fn lock_zero_lease_refused(backend: impl CacheBackend) {
    let Some(locks) = backend.locks() else { return };
    let a = token();
    let refused = locks.acquire("zero", &a, Duration::ZERO).await.unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::InvalidInput, "{refused}");
    take(locks, "zero", &a, LONG_LEASE).await;
    let refused = locks.extend("zero", &a, Duration::ZERO).await.unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::InvalidInput, "{refused}");
    assert!(locks.release("zero", &a).await.expect("release"));
}

/// A name's lock state is invisible to the byte operations on the same key, and they do not
/// touch it.
pub async fn lock_state_invisible(backend: impl CacheBackend) {
    let Some(locks) = backend.locks() else { return };
    let a = token();
    for name in ["user:7", "tenant:{t1}:user:7"] {
        take(locks, name, &a, LONG_LEASE).await;
        assert_eq!(backend.get(name).await.expect("get"), None, "{name}");
        assert!(!backend.exists(name).await.expect("exists"), "{name}");
        assert_eq!(
            backend.ttl(name).await.expect("ttl"),
            KeyTtl::Missing,
            "{name}"
        );
        backend.set(name, bytes("v"), None).await.expect("set");
        assert!(backend.delete(name).await.expect("delete"), "{name}");
        assert_held(locks, name, LONG_LEASE).await;
        assert!(locks.release(name, &a).await.expect("release"), "{name}");
    }
}

/// Wrapping a backend (`Arc<B>`, `Box<dyn CacheBackend>`, `Prefix<B>`) keeps every
/// capability it has, and each works through the wrapper.
pub async fn wrappers_keep_capabilities(backend: impl CacheBackend) {
    let inner: Arc<dyn CacheBackend> = Arc::new(backend);
    let expected = capability_names(&*inner);
    let boxed: Box<dyn CacheBackend> = Box::new(Arc::clone(&inner));
    let wrappers: [(&str, Box<dyn CacheBackend>); 3] = [
        ("Arc<B>", Box::new(Arc::clone(&inner))),
        ("Box<dyn CacheBackend>", Box::new(boxed)),
        (
            "Prefix<B>",
            Box::new(Prefix::new("wrapped:", Arc::clone(&inner))),
        ),
    ];
    for (name, wrapper) in &wrappers {
        assert_eq!(
            capability_names(&**wrapper),
            expected,
            "{name} must keep the capabilities of what it wraps"
        );
        let key = format!("capability:{}", name.len());
        if let Some(local) = wrapper.local() {
            local
                .store(&key, Arc::new(7_u32), bytes("7"), None)
                .expect("store");
            let mut seen = None;
            local.visit(&key, &mut |entry| {
                seen = entry.value.and_then(|v| v.downcast_ref::<u32>()).copied();
            });
            assert_eq!(seen, Some(7), "{name}: a stored value is seen decoded");
            assert_eq!(
                wrapper.get(&key).await.expect("get").as_deref(),
                Some(&b"7"[..]),
                "{name}: and as bytes"
            );
        }
        if let Some(limits) = wrapper.rate_limits() {
            let policy = RateLimitPolicy::fixed_window(1, Duration::from_secs(60));
            let key = format!("{key}:limit");
            let first = limits.rate_limit(&key, &policy, 1).await.expect("decide");
            let second = limits.rate_limit(&key, &policy, 1).await.expect("decide");
            assert!(
                first.allowed() && !second.allowed(),
                "{name}: one budget per key"
            );
        }
        if let Some(locks) = wrapper.locks() {
            let key = format!("{key}:lock");
            let holder = token();
            take(locks, &key, &holder, LONG_LEASE).await;
            assert_held(locks, &key, LONG_LEASE).await;
            assert!(
                locks.release(&key, &holder).await.expect("release"),
                "{name}: released by its holder"
            );
        }
        if let Some(structures) = wrapper.structures() {
            let key = format!("{key}:queue");
            let values = [bytes("1"), bytes("2")];
            structures
                .apply(&key, Op::QueuePush { values: &values })
                .await
                .expect("push");
            assert_eq!(
                structures.apply(&key, Op::QueueLen).await.expect("length"),
                Reply::Count(2),
                "{name}: a structure through the wrapper"
            );
            assert!(wrapper.exists(&key).await.expect("exists"), "{name}");
        }
        if let Some(scan) = wrapper.key_scan() {
            let key = format!("{key}:listed");
            wrapper.set(&key, bytes("v"), None).await.expect("set");
            let mut listed = Vec::new();
            let mut cursor = Some(ScanCursor::START);
            while let Some(at) = cursor {
                let page = scan.scan(&key, at, 100).await.expect("scan");
                listed.extend(page.keys);
                cursor = page.next;
            }
            assert_eq!(listed, [key.as_str()], "{name}: listed as named");
        }
        if let Some(pubsub) = wrapper.pubsub() {
            let channel = format!("{key}:channel");
            let mut subscription = pubsub.subscribe(&[&channel]).await.expect("subscribe");
            assert_eq!(
                pubsub
                    .publish(&channel, bytes("hi"))
                    .await
                    .expect("publish"),
                1,
                "{name}: one subscriber"
            );
            let message = tokio::time::timeout(Duration::from_secs(5), subscription.next())
                .await
                .expect("a message within 5 s")
                .expect("a message");
            assert_eq!(
                (message.channel.as_str(), &message.payload[..]),
                (channel.as_str(), &b"hi"[..]),
                "{name}: received on the channel as named"
            );
        }
    }
}

/// What a conformance test's factory gives: a backend, or `None` to skip the check (a harness
/// that cannot start its server, having said why).
pub trait Setup {
    /// The backend under test.
    type Backend: CacheBackend;
    /// The backend, or `None` to skip.
    fn backend(self) -> Option<Self::Backend>;
}

impl<B: CacheBackend> Setup for B {
    type Backend = B;
    fn backend(self) -> Option<B> {
        Some(self)
    }
}

impl<B: CacheBackend> Setup for Option<B> {
    type Backend = B;
    fn backend(self) -> Option<B> {
        self
    }
}

/// Generates one `#[tokio::test]` per check of [`testing::conformance`](crate::testing::conformance)
/// for a backend.
///
/// `$time` is `paused` (tokio's paused clock; for in-process backends) or `real` (a server with
/// its own clock; a 2-thread runtime). `$make` is an expression producing a future of a fresh,
/// isolated backend (or of an `Option` of one, `None` skipping the check; see
/// [`Setup`](crate::testing::conformance::Setup)); it is evaluated once per test.
///
/// ```
/// cache_core::conformance_tests!(paused, async {
///     cache_core::layer::Prefix::new("app:", cache_core::MemoryBackend::new())
/// });
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! conformance_tests {
    (paused, $make:expr) => {
        $crate::conformance_tests!(@each tokio::test(start_paused = true), $make);
    };
    (real, $make:expr) => {
        $crate::conformance_tests!(@each tokio::test(flavor = "multi_thread", worker_threads = 2), $make);
    };
    (@each $attr:meta, $make:expr) => {
        $crate::conformance_tests!(@tests $attr, $make,
            get_set_roundtrip, ttl_expiry, ttl_none_and_zero, set_if_absent_semantics,
            set_if_absent_race, delete_and_exists, expire_semantics, increment_semantics,
            increment_concurrent, batch_operations, delete_pattern_escaped, delete_pattern_many,
            clear_and_ping, wrappers_keep_capabilities, lock_acquire_release_fences,
            lock_lease_lapses, lock_fill_fenced, lock_supersede, lock_watch_wakes,
            lock_zero_lease_refused, lock_state_invisible);
    };
    (@tests $attr:meta, $make:expr, $($check:ident),*) => {$(
        #[$attr]
        async fn $check() {
            if let Some(backend) = $crate::testing::conformance::Setup::backend($make.await) {
                $crate::testing::conformance::$check(backend).await;
            }
        }
    )*};
}
