//! What a cached function tells about itself: a `cache.miss` span per miss (none per hit), a
//! `cache.backend_failure` span per failed backend call, `#[cached]` under
//! `#[tracing::instrument]` in either order, and `cache_core::functions()` listing every
//! cached, rate-limited and locked function, with a warning for two cached functions whose
//! templates can make one key.
#![allow(clippy::unwrap_used, clippy::panic, missing_docs)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use cache_core::testing::Faults;
use cache_core::{
    DynBackend, FunctionKind, MemoryBackend, cached, functions, locked, rate_limited, with_backend,
};
use cache_tests::logs::capture;
use tracing::Level;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn memory() -> DynBackend {
    Arc::new(MemoryBackend::new())
}

static RUNS: AtomicU64 = AtomicU64::new(0);

#[cached(key = "obs:<id>", ttl = 60)]
async fn profile(id: u64) -> u64 {
    RUNS.fetch_add(1, Ordering::SeqCst);
    id
}

#[tokio::test(flavor = "current_thread")]
async fn a_miss_has_a_span_and_a_hit_has_none() {
    let (_guard, captured) = capture(Level::DEBUG);
    with_backend(memory(), async {
        assert_eq!(profile(7).await, 7);
        assert_eq!(profile(7).await, 7);
    })
    .await;
    let misses: Vec<_> = captured
        .spans()
        .into_iter()
        .filter(|span| span.name == "cache.miss")
        .collect();
    assert_eq!(misses.len(), 1, "{misses:?}");
    let fields = &misses[0].fields;
    for field in [
        "function=observability::profile",
        "key_template=obs:<id>",
        "key=obs:7",
        "outcome=computed",
        "duration_ms=",
    ] {
        assert!(fields.contains(field), "`{field}` not in {fields}");
    }
}

#[cached(key = "obs:down:<id>", ttl = 60)]
async fn on_a_failing_backend(id: u64) -> u64 {
    id
}

#[tokio::test(flavor = "current_thread")]
async fn a_backend_failure_has_a_span() {
    let (_guard, captured) = capture(Level::DEBUG);
    with_backend(Faults::down().wrap(MemoryBackend::new()), async {
        assert_eq!(on_a_failing_backend(1).await, 1);
    })
    .await;
    let failures: Vec<_> = captured
        .spans()
        .into_iter()
        .filter(|span| span.name == "cache.backend_failure")
        .collect();
    assert!(!failures.is_empty(), "{:?}", captured.spans());
    let fields = &failures[0].fields;
    for field in [
        "function=observability::on_a_failing_backend",
        "key_template=obs:down:<id>",
        "op=get",
        "key=obs:down:1",
        "outcome=",
    ] {
        assert!(fields.contains(field), "`{field}` not in {fields}");
    }
}

static INSTRUMENTED_RUNS: AtomicU64 = AtomicU64::new(0);

#[tracing::instrument]
#[cached(key = "obs:outer:<id>", ttl = 60)]
async fn instrument_outside(id: u64) -> u64 {
    INSTRUMENTED_RUNS.fetch_add(1, Ordering::SeqCst);
    id
}

#[cached(key = "obs:inner:<id>", ttl = 60)]
#[tracing::instrument]
async fn instrument_inside(id: u64) -> u64 {
    INSTRUMENTED_RUNS.fetch_add(1, Ordering::SeqCst);
    id
}

#[tokio::test(flavor = "current_thread")]
async fn cached_works_under_instrument_in_either_order() {
    let (_guard, captured) = capture(Level::DEBUG);
    with_backend(memory(), async {
        for _ in 0..3 {
            assert_eq!(instrument_outside(1).await, 1);
            assert_eq!(instrument_inside(2).await, 2);
        }
    })
    .await;
    assert_eq!(
        INSTRUMENTED_RUNS.load(Ordering::SeqCst),
        2,
        "one run each, then hits"
    );
    let names: Vec<String> = captured.spans().into_iter().map(|span| span.name).collect();
    // `instrument` above `cached` instruments the body: a span per run; below, it instruments
    // the cached call: a span per call.
    assert_eq!(
        names
            .iter()
            .filter(|name| *name == "instrument_outside")
            .count(),
        1
    );
    assert_eq!(
        names
            .iter()
            .filter(|name| *name == "instrument_inside")
            .count(),
        3
    );
}

#[cached(key = "obs:same:<id>", ttl = 60)]
async fn first_of_two(id: u64) -> u64 {
    id
}

#[cached(key = "obs:same:<name>", ttl = 60)]
async fn second_of_two(name: String) -> String {
    name
}

#[rate_limited(key = "obs:api:<user>", limit = 10, window = 60)]
async fn limited(user: u64) -> Result<u64, BoxError> {
    Ok(user)
}

#[locked(key = "obs:job:<id>", ttl = 30)]
async fn job(id: u64) -> Result<u64, BoxError> {
    Ok(id)
}

#[tokio::test(flavor = "current_thread")]
async fn every_function_is_listed_and_overlapping_templates_are_named() {
    let (_guard, captured) = capture(Level::WARN);
    with_backend(memory(), async {
        first_of_two(1).await;
        second_of_two("a".to_owned()).await;
        limited(1).await.unwrap();
        job(1).await.unwrap();
    })
    .await;
    let listed = functions();
    let find = |path: &str| {
        listed
            .iter()
            .find(|function| function.path == path)
            .unwrap_or_else(|| panic!("{path} not listed in {listed:?}"))
    };
    let first = find("observability::first_of_two");
    assert_eq!(first.kind, FunctionKind::Cached);
    assert_eq!(first.key, Some("obs:same:<id>"));
    assert_eq!(first.options, "key = \"obs:same:<id>\", ttl = 60");
    assert_eq!(first.stats.unwrap().misses, 1);
    let limited = find("observability::limited");
    assert_eq!(
        (limited.kind, limited.key),
        (FunctionKind::RateLimited, Some("obs:api:<user>"))
    );
    let job = find("observability::job");
    assert_eq!(
        (job.kind, job.key),
        (FunctionKind::Locked, Some("obs:job:<id>"))
    );

    let warnings: Vec<_> = captured
        .events()
        .into_iter()
        .filter(|event| {
            event
                .message
                .contains("key templates can make the same key")
        })
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let fields = &warnings[0].fields;
    assert!(
        fields.contains("observability::first_of_two")
            && fields.contains("observability::second_of_two"),
        "{fields}"
    );
}
