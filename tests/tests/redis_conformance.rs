//! The backend conformance suite (`cache_tests::conformance`, unchanged) on a real standalone
//! Redis and on a real 3-primary Redis Cluster, each test under its own key prefix.
//!
//! Without `redis-server` the tests fail, saying how to install it; with
//! `CACHE_TESTS_SKIP_REDIS=1` they skip with a notice (see `cache_tests::redis_harness`).
#![allow(clippy::unwrap_used, clippy::panic, missing_docs)]

use cache_tests::redis_harness::{shared_cluster, shared_server, unique_prefix};

/// One `#[tokio::test]` per check, for a backend made by `$make` (an `Option` future: `None`
/// skips). The list is checked against the suite's source by `every_check_runs_on_redis`.
macro_rules! redis_conformance {
    ($make:expr; $($check:ident),* $(,)?) => {
        #[allow(dead_code)]
        const CHECKS: &[&str] = &[$(stringify!($check)),*];
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let Some(backend) = $make(stringify!($check)).await else { return };
                cache_tests::conformance::$check(backend).await;
            }
        )*
    };
}

mod standalone {
    use super::*;

    async fn make(name: &str) -> Option<cache_redis::RedisBackend> {
        Some(shared_server()?.backend(&unique_prefix(name)).await)
    }

    redis_conformance!(make;
        get_set_roundtrip, ttl_expiry, ttl_none_and_zero, set_if_absent_semantics,
        set_if_absent_race, delete_and_exists, expire_semantics, increment_semantics,
        increment_concurrent, batch_operations, delete_pattern_escaped, delete_pattern_many,
        clear_and_ping, wrappers_keep_capabilities, lock_acquire_release_fences,
        lock_lease_lapses, lock_fill_fenced, lock_supersede, lock_watch_wakes,
        lock_zero_lease_refused, lock_state_invisible);

    /// Every `pub async fn` check of the suite is in the list above.
    #[test]
    fn every_check_runs_on_redis() {
        let source = include_str!("../src/conformance.rs");
        let checks: Vec<&str> = source
            .lines()
            .filter_map(|line| line.strip_prefix("pub async fn "))
            .filter_map(|rest| rest.split('(').next())
            .collect();
        assert!(!checks.is_empty());
        for check in checks {
            assert!(
                CHECKS.contains(&check),
                "conformance check `{check}` is not run on Redis"
            );
        }
    }
}

mod cluster {
    use super::*;

    async fn make(name: &str) -> Option<cache_redis::RedisBackend> {
        Some(shared_cluster()?.backend(&unique_prefix(name)).await)
    }

    redis_conformance!(make;
        get_set_roundtrip, ttl_expiry, ttl_none_and_zero, set_if_absent_semantics,
        set_if_absent_race, delete_and_exists, expire_semantics, increment_semantics,
        increment_concurrent, batch_operations, delete_pattern_escaped, delete_pattern_many,
        clear_and_ping, wrappers_keep_capabilities, lock_acquire_release_fences,
        lock_lease_lapses, lock_fill_fenced, lock_supersede, lock_watch_wakes,
        lock_zero_lease_refused, lock_state_invisible);
}
