//! The backend conformance suite on the in-memory backend, on tokio's paused clock.

cache_tests::conformance_tests!(paused, async { cache_core::MemoryBackend::new() });

mod prefixed {
    cache_tests::conformance_tests!(paused, async {
        cache_core::layer::Prefix::new("app:", cache_core::MemoryBackend::new())
    });
}
