//! The backend conformance suites (`cache_tests::conformance` and
//! `cache_tests::structure_conformance`, unchanged) on a real standalone Redis and on a real
//! 3-primary Redis Cluster, and on standalone with the near cache on, each test under its own
//! key prefix.
//!
//! Without `redis-server` the tests fail, saying how to install it; with
//! `CACHE_TESTS_SKIP_REDIS=1` they skip with a notice (see `cache_tests::redis_harness`).
#![allow(clippy::unwrap_used, clippy::panic, missing_docs)]

use cache_tests::redis_harness::{shared_cluster, shared_server, unique_prefix};

/// One `#[tokio::test]` per check of the suite `$suite`, for a backend made by `$make` (an
/// `Option` future: `None` skips). The lists are checked against the suites' sources by
/// `every_check_runs_on_redis`.
macro_rules! redis_conformance {
    ($suite:ident, $make:expr; $($check:ident),* $(,)?) => {
        #[allow(dead_code)]
        pub(super) const CHECKS: &[&str] = &[$(stringify!($check)),*];
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let Some(backend) = $make(stringify!($check)).await else { return };
                cache_tests::$suite::$check(backend).await;
            }
        )*
    };
}

/// Every `pub async fn` check of the suite whose source is `source` is in `checks`.
fn assert_all_run(source: &str, checks: &[&str]) {
    let defined: Vec<&str> = source
        .lines()
        .filter_map(|line| line.strip_prefix("pub async fn "))
        .filter_map(|rest| rest.split('(').next())
        .collect();
    assert!(!defined.is_empty());
    for check in defined {
        assert!(
            checks.contains(&check),
            "conformance check `{check}` is not run on Redis"
        );
    }
}

/// Both suites, every check, for the `make` in scope.
macro_rules! every_check {
    () => {
        redis_conformance!(conformance, make;
            get_set_roundtrip, ttl_expiry, ttl_none_and_zero, set_if_absent_semantics,
            set_if_absent_race, delete_and_exists, expire_semantics, increment_semantics,
            increment_concurrent, batch_operations, delete_pattern_escaped, delete_pattern_many,
            clear_and_ping, wrappers_keep_capabilities, lock_acquire_release_fences,
            lock_lease_lapses, lock_fill_fenced, lock_supersede, lock_watch_wakes,
            lock_zero_lease_refused, lock_state_invisible);

        mod structures {
            use super::*;

            redis_conformance!(structure_conformance, make;
                queue_fifo, queue_exactly_once, queue_pop_wait, hash_fields, hash_expiry,
                sorted_set_leaderboard, sorted_set_nan_refused, set_members, counter_with_ttl,
                counter_concurrent, take_once, replace_existing_only, wrong_type_refused,
                key_space_shared, key_scan_patterns, key_scan_paging, pubsub_order_and_counts,
                pubsub_dropped_subscription);
        }
    };
}

mod standalone {
    use super::*;

    async fn make(name: &str) -> Option<cache_redis::RedisBackend> {
        Some(shared_server()?.backend(&unique_prefix(name)).await)
    }

    every_check!();

    /// Every check of both suites is in the lists.
    #[test]
    fn every_check_runs_on_redis() {
        assert_all_run(include_str!("../src/conformance.rs"), CHECKS);
        assert_all_run(
            include_str!("../src/structure_conformance.rs"),
            structures::CHECKS,
        );
    }
}

/// With the near cache on: the contract holds through it.
mod near {
    use super::*;

    async fn make(name: &str) -> Option<cache_redis::RedisBackend> {
        let config = shared_server()?
            .config(&unique_prefix(name))
            .near_cache(1_000);
        let redis = cache_redis::RedisBackend::connect(config).await.unwrap();
        for _ in 0..500 {
            if redis.near_cache_stats().unwrap().serving {
                return Some(redis);
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("the near cache never started serving");
    }

    every_check!();
}

mod cluster {
    use super::*;

    async fn make(name: &str) -> Option<cache_redis::RedisBackend> {
        Some(shared_cluster()?.backend(&unique_prefix(name)).await)
    }

    every_check!();
}
