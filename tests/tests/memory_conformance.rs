//! The backend and data-structure conformance suites on the in-memory backend, on tokio's
//! paused clock.

cache_tests::conformance_tests!(paused, async { cache_core::MemoryBackend::new() });

mod prefixed {
    cache_tests::conformance_tests!(paused, async {
        cache_core::layer::Prefix::new("app:", cache_core::MemoryBackend::new())
    });
}

mod structures {
    cache_tests::structure_conformance_tests!(paused, async { cache_core::MemoryBackend::new() });

    mod prefixed {
        cache_tests::structure_conformance_tests!(paused, async {
            cache_core::layer::Prefix::new("app:", cache_core::MemoryBackend::new())
        });
    }
}

/// What `wrappers_keep_capabilities` checks is kept: every capability there is.
#[test]
fn the_memory_backend_offers_every_capability() {
    assert_eq!(
        cache_core::capability_names(&cache_core::MemoryBackend::new()),
        [
            "local",
            "rate_limits",
            "locks",
            "structures",
            "pubsub",
            "key_scan"
        ]
    );
}
