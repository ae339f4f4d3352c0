//! The `cache_interface` example run to completion on the memory implementation and on a real
//! Redis, its output checked section by section.
#![allow(clippy::unwrap_used, clippy::panic, missing_docs)]

use std::sync::Arc;

use cache_core::{DynBackend, MemoryBackend};
use cache_tests::redis_harness::{shared_server, unique_prefix};
use cache_tests::sections::section;

async fn runs_every_section(backend: DynBackend) {
    let mut out = Vec::new();
    examples::cache_interface::run(backend, &mut out)
        .await
        .unwrap();
    let output = String::from_utf8(out).unwrap();

    assert_eq!(
        section(&output, "set_value / get_value (SETEX / GET)"),
        [
            "set user:123 for 1 hour",
            r#"get user:123 -> Some("{\"name\": \"John Doe\"}")"#,
            "ttl user:123 -> expires in 3600 s",
        ]
    );
    assert_eq!(
        section(&output, "updating a value"),
        [r#"get user:123 -> Some("{\"name\": \"Jane Doe\"}")"#]
    );
    assert_eq!(
        section(&output, "empty and missing values"),
        ["get empty -> Some(0) (bytes)", "get missing -> None"]
    );
    assert_eq!(
        section(&output, "expiration"),
        [
            "set flash for 300 ms",
            "exists flash -> true",
            "after 400 ms: get flash -> None",
        ]
    );
    assert_eq!(
        section(&output, "delete"),
        [
            "delete user:123 -> true",
            "get user:123 -> None",
            "delete user:123 again -> false",
        ]
    );
    let profile = r#"{"id": 7, "name": "user 7"}"#;
    assert_eq!(
        section(&output, "a cached function over the interface"),
        [
            format!("first call -> {profile} (store loads: 1)"),
            format!("second call -> {profile} (store loads: 1)"),
        ]
    );
    assert_eq!(
        section(&output, "while Redis is down"),
        [
            "connect_lazy to 127.0.0.1:<closed port> -> a backend, at once".to_owned(),
            "get user:123 -> error Connection (within the timeout)".to_owned(),
            "set user:123 -> error Connection (within the timeout)".to_owned(),
            format!("cached first call -> {profile} (store loads: 1)"),
            format!("cached second call -> {profile} (store loads: 2)"),
        ]
    );
}

#[tokio::test]
async fn on_memory() {
    runs_every_section(Arc::new(MemoryBackend::new())).await;
}

#[tokio::test]
async fn on_redis() {
    let Some(server) = shared_server() else {
        return;
    };
    let redis = server.backend(&unique_prefix("cache_interface")).await;
    runs_every_section(Arc::new(redis)).await;
}
