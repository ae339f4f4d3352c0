//! The backend conformance suites of the test kit (`cache_core::testing::conformance`, the
//! checks any backend runs) on a real standalone Redis and on a real 3-primary Redis Cluster,
//! and on standalone with the near cache on, each test under its own key prefix.
//!
//! Without `redis-server` the tests fail, saying how to install it; with
//! `CACHE_TESTS_SKIP_REDIS=1` they skip with a notice (see `cache_tests::redis_harness`): the
//! factories below give `None` then, which the suites' macros take as a skip.
#![allow(clippy::unwrap_used, clippy::panic, missing_docs)]

use cache_tests::redis_harness::{shared_cluster, shared_server, unique_prefix};

/// Both suites, every check, for the `make` in scope.
macro_rules! every_check {
    () => {
        cache_core::conformance_tests!(real, make());

        mod structures {
            use super::*;

            cache_core::structure_conformance_tests!(real, make());
        }
    };
}

mod standalone {
    use super::*;

    async fn make() -> Option<cache_redis::RedisBackend> {
        Some(
            shared_server()?
                .backend(&unique_prefix("conformance"))
                .await,
        )
    }

    every_check!();
}

/// With the near cache on: the contract holds through it.
mod near {
    use super::*;

    async fn make() -> Option<cache_redis::RedisBackend> {
        let config = shared_server()?
            .config(&unique_prefix("conformance"))
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

    async fn make() -> Option<cache_redis::RedisBackend> {
        Some(
            shared_cluster()?
                .backend(&unique_prefix("conformance"))
                .await,
        )
    }

    every_check!();
}
