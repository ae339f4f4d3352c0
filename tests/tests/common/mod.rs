//! Shared bodies of the behaviour tests, included by each test binary with `mod common;`.
#![allow(dead_code, unreachable_pub)]

pub mod cached_suite;
pub mod rate_limited_suite;

use std::sync::Arc;

use cache_core::DynBackend;
use cache_tests::redis_harness::{shared_server, unique_prefix};

/// A backend on the shared test `redis-server`, under a key prefix of its own; `None` (the
/// test skips) only as `redis_available` allows.
pub async fn redis(name: &str) -> Option<DynBackend> {
    let backend = shared_server()?.backend(&unique_prefix(name)).await;
    Some(Arc::new(backend))
}

/// One `#[tokio::test]` per named check of the suite imported as `suite`, each on its own
/// Redis prefix.
// Not every test binary that includes `common` runs a suite on Redis.
#[allow(unused_macros)]
macro_rules! suite_on_redis {
    ($($check:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $check() {
            let Some(backend) = common::redis(stringify!($check)).await else { return };
            suite::$check(backend).await;
        }
    )*};
}
#[allow(unused_imports)]
pub(crate) use suite_on_redis;
