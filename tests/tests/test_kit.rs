//! The test kit (`cache_core::testing`) on its own terms: scripted, standing and seeded random
//! faults, corrupt bytes read as a miss, the recorder's view of a cached function, per-function
//! hit/miss assertions, and the wrappers around a real Redis.
#![allow(clippy::unwrap_used, clippy::panic, missing_docs)]

use std::time::Duration;

use cache_core::testing::{Fault, Faults, FunctionCalls, Operation, Recorder};
use cache_core::{CacheBackend, ErrorKind, MemoryBackend, with_backend};
use cache_tests::logs;
use cache_tests::redis_harness::{shared_server, unique_prefix};
use tokio::time::Instant;

// One function per test: the counters are per function and the tests run in parallel.

#[cache_core::cached(key = "kit:hanging:<id>", ttl = 60, timeout = "1s")]
async fn hanging(id: u64) -> Result<String, cache_core::Error> {
    Ok(format!("profile {id}"))
}

#[cache_core::cached(key = "kit:corrupted:<id>", ttl = 60)]
async fn corrupted(id: u64) -> Result<String, cache_core::Error> {
    Ok(format!("profile {id}"))
}

#[cache_core::cached(key = "kit:recorded:<id>", ttl = 60)]
async fn recorded(id: u64) -> Result<String, cache_core::Error> {
    Ok(format!("profile {id}"))
}

#[cache_core::cached(key = "kit:on_redis:<id>", ttl = 60)]
async fn on_redis(id: u64) -> Result<String, cache_core::Error> {
    Ok(format!("profile {id}"))
}

#[tokio::test(start_paused = true)]
async fn a_script_plays_its_steps_in_order_then_the_standing_fault_then_none() {
    let faults = Faults::new();
    let backend = faults.wrap(MemoryBackend::new());
    backend.set("k", "v".into(), None).await.unwrap();
    faults
        .always(&[Operation::Get], Fault::Error(ErrorKind::Backend))
        .script(
            Operation::Get,
            [
                Some(Fault::Error(ErrorKind::Connection)),
                None,
                Some(Fault::Latency(Duration::from_secs(3))),
            ],
        );

    let kind = |result: cache_core::Result<_>| result.map(|_: Option<_>| ()).map_err(|e| e.kind());
    assert_eq!(kind(backend.get("k").await), Err(ErrorKind::Connection));
    assert_eq!(kind(backend.get("k").await), Ok(()), "the `None` step");
    let started = Instant::now();
    assert!(backend.get("k").await.unwrap().is_some());
    assert_eq!(
        started.elapsed(),
        Duration::from_secs(3),
        "the latency, exactly"
    );
    assert_eq!(
        kind(backend.get("k").await),
        Err(ErrorKind::Backend),
        "standing"
    );
    assert!(backend.exists("k").await.unwrap(), "other operations work");
    assert_eq!(faults.injected(), 3);

    faults.heal();
    assert!(backend.get("k").await.unwrap().is_some());
    assert_eq!(faults.injected(), 3);
}

#[tokio::test(start_paused = true)]
async fn a_hang_is_ended_only_by_the_callers_timeout() {
    let faults = Faults::new();
    faults.always(&[Operation::Set], Fault::Hang);
    let backend = faults.wrap(MemoryBackend::new());
    let waited = tokio::time::timeout(
        Duration::from_secs(3600),
        backend.set("k", "v".into(), None),
    );
    assert!(waited.await.is_err(), "an hour later, still no answer");

    // Under a cached function: the call's timeout answers and the body runs.
    faults.always(Operation::ALL, Fault::Hang);
    with_backend(faults.wrap(MemoryBackend::new()), async {
        let started = Instant::now();
        assert_eq!(hanging(1).await.unwrap(), "profile 1");
        assert!(
            started.elapsed() >= Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
    })
    .await;
}

/// The pattern of a seeded random fault over 2000 calls: which calls failed.
async fn random_pattern(seed: u64) -> Vec<bool> {
    let faults = Faults::new();
    faults.random(
        seed,
        0.25,
        Operation::READS,
        Fault::Error(ErrorKind::Timeout),
    );
    let backend = faults.wrap(MemoryBackend::new());
    let mut failed = Vec::new();
    for _ in 0..2000 {
        failed.push(backend.get("k").await.is_err());
        // Not in the random fault's operations: never fails, and draws nothing.
        backend.exists("k").await.unwrap();
    }
    assert_eq!(
        faults.injected(),
        failed.iter().filter(|&&f| f).count() as u64
    );
    failed
}

#[tokio::test(start_paused = true)]
async fn a_random_fault_replays_with_its_seed() {
    let first = random_pattern(42).await;
    assert_eq!(
        random_pattern(42).await,
        first,
        "the same seed, the same calls fail"
    );
    assert_ne!(
        random_pattern(43).await,
        first,
        "another seed, another pattern"
    );
    let failures = first.iter().filter(|&&f| f).count();
    // 25 % of 2000 is 500; a fair generator stays well within ±100 (over 5 standard deviations).
    assert!((400..=600).contains(&failures), "{failures} of 2000");

    let faults = Faults::new();
    faults.random(7, f64::NAN, Operation::ALL, Fault::Hang);
    faults.wrap(MemoryBackend::new()).ping().await.unwrap();
    faults.random(7, 5.0, Operation::ALL, Fault::Error(ErrorKind::Backend));
    assert!(
        faults.wrap(MemoryBackend::new()).ping().await.is_err(),
        "clamped to 1"
    );
}

#[tokio::test(start_paused = true)]
async fn corrupt_bytes_are_a_miss_with_one_log_line_and_the_value_is_replaced() {
    let faults = Faults::new();
    let (_guard, captured) = logs::capture(tracing::Level::WARN);
    with_backend(faults.wrap(MemoryBackend::new()), async {
        let calls = FunctionCalls::track("test_kit::corrupted");
        assert_eq!(corrupted(2).await.unwrap(), "profile 2");
        assert_eq!(corrupted(2).await.unwrap(), "profile 2");
        calls.assert_hits_misses(1, 1);

        // A damaged read is an error (one log line); the claim that follows reads the stored
        // bytes again, which are whole: a hit, and no body run.
        faults.script(Operation::Get, [Fault::Corrupt]);
        assert_eq!(
            corrupted(2).await.unwrap(),
            "profile 2",
            "never the damaged bytes"
        );
        assert_eq!(corrupted(2).await.unwrap(), "profile 2");
        calls.assert_hits_misses(3, 1);
        assert_eq!(calls.stats().errors, 1, "the undecodable read");

        // A damaged write (a miss stores with a fenced fill): the next read cannot decode the stored bytes, and neither can its
        // claim, so the body runs again and stores a whole value, which the third call hits.
        faults.script(Operation::LockFill, [Fault::Corrupt]);
        assert_eq!(corrupted(3).await.unwrap(), "profile 3");
        assert_eq!(corrupted(3).await.unwrap(), "profile 3");
        calls.assert_hits_misses(3, 3);
        assert_eq!(corrupted(3).await.unwrap(), "profile 3");
        calls.assert_hits_misses(4, 3);
        assert_eq!(calls.stats().errors, 2);
    })
    .await;
    let undecodable: Vec<String> = captured
        .events()
        .into_iter()
        .map(|event| format!("{} {}", event.message, event.fields))
        .filter(|line| line.contains("kit:corrupted:"))
        .collect();
    assert_eq!(
        undecodable.len(),
        2,
        "one line per undecodable read: {undecodable:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn the_recorder_shows_what_a_cached_function_costs_the_backend() {
    let recorder = Recorder::new();
    with_backend(recorder.wrap(MemoryBackend::new()), async {
        recorded(4).await.unwrap();
        // On a backend with locks a miss claims the key and stores with a fenced fill.
        let miss = [Operation::Get, Operation::LockClaim, Operation::LockFill];
        assert_eq!(recorder.operations(), miss);
        assert_eq!(
            recorder
                .take()
                .iter()
                .map(|call| &call.keys[..])
                .collect::<Vec<_>>(),
            [["kit:recorded:4"]; 3]
        );
        recorded(4).await.unwrap();
        assert_eq!(recorder.operations(), [Operation::Get], "a hit is one read");
        assert_eq!(recorder.keys(Operation::Get), ["kit:recorded:4"]);
        recorder.take();
        recorded_invalidate(4).await.unwrap();
        assert_eq!(
            recorder.operations(),
            [Operation::LockSupersede],
            "a fenced delete"
        );
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn the_wrappers_combine_and_the_recorder_sees_the_failed_calls() {
    let (faults, recorder) = (Faults::down(), Recorder::new());
    let backend = recorder.wrap(faults.wrap(MemoryBackend::new()));
    assert!(backend.set("k", "v".into(), None).await.is_err());
    assert!(backend.get("k").await.is_err());
    assert_eq!(recorder.operations(), [Operation::Set, Operation::Get]);
    faults.heal();
    backend.set("k", "v".into(), None).await.unwrap();
    assert_eq!(recorder.count(Operation::Set), 2);
    assert_eq!(format!("{}", Operation::LockFill), "lock_fill");
}

#[cache_core::cached(key = "kit:twin:a:<id>")]
async fn twin(id: u64) -> u64 {
    id
}

mod other {
    #[cache_core::cached(key = "kit:twin:b:<id>")]
    pub(super) async fn twin(id: u64) -> u64 {
        id + 1
    }
}

#[tokio::test(start_paused = true)]
async fn function_calls_name_one_function_and_fail_with_the_counts() {
    with_backend(MemoryBackend::new(), async {
        let by_path = FunctionCalls::track("test_kit::twin");
        assert_eq!(twin(1).await, 1);
        assert_eq!(other::twin(1).await, 2);
        assert_eq!(other::twin(1).await, 2);
        by_path.assert_hits_misses(0, 1);
        FunctionCalls::track("other::twin").assert_hits_misses(0, 0);

        let ambiguous = std::panic::catch_unwind(|| FunctionCalls::track("twin"));
        let message = *ambiguous.unwrap_err().downcast::<String>().unwrap();
        assert!(
            message.contains("names several cached functions"),
            "{message}"
        );
        assert!(message.contains("test_kit::other::twin"), "{message}");

        let wrong = std::panic::catch_unwind(|| by_path.assert_hits_misses(1, 1));
        let message = *wrong.unwrap_err().downcast::<String>().unwrap();
        assert!(
            message.contains("expected 1 hits and 1 misses, counted 0 hits and 1 misses"),
            "{message}"
        );
        FunctionCalls::track("never_called").assert_hits_misses(0, 0);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wrappers_work_around_a_real_redis() {
    let Some(server) = shared_server() else {
        return;
    };
    let redis = server.backend(&unique_prefix("kit")).await;
    let (faults, recorder) = (Faults::new(), Recorder::new());
    with_backend(recorder.wrap(faults.wrap(redis)), async {
        let calls = FunctionCalls::track("test_kit::on_redis");
        assert_eq!(on_redis(5).await.unwrap(), "profile 5");
        assert_eq!(on_redis(5).await.unwrap(), "profile 5");
        faults.script(Operation::Get, [Fault::Error(ErrorKind::Connection)]);
        assert_eq!(on_redis(5).await.unwrap(), "profile 5", "the body answers");
        calls.assert_hits_misses(1, 2);
        assert_eq!(recorder.keys(Operation::Get), ["kit:on_redis:5"; 3]);
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn the_conformance_suite_catches_a_backend_that_breaks_the_contract() {
    // Reads that return damaged bytes: a store that does not round-trip its values.
    let faults = Faults::new();
    faults.always(&[Operation::Get], Fault::Corrupt);
    let broken = faults.wrap(MemoryBackend::new());
    let run = tokio::spawn(cache_core::testing::conformance::get_set_roundtrip(broken));
    assert!(run.await.unwrap_err().is_panic(), "the check must fail");

    // Writes that never store: `set_if_absent` has no winner.
    let faults = Faults::new();
    faults.always(&[Operation::SetIfAbsent], Fault::Error(ErrorKind::Backend));
    let broken = faults.wrap(MemoryBackend::new());
    let run = tokio::spawn(cache_core::testing::conformance::set_if_absent_race(broken));
    assert!(run.await.unwrap_err().is_panic(), "the check must fail");
}
