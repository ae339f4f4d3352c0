//! The backend and data-structure conformance suites on the in-memory backend, on tokio's
//! paused clock.

cache_core::conformance_tests!(paused, async { cache_core::MemoryBackend::new() });

mod prefixed {
    cache_core::conformance_tests!(paused, async {
        cache_core::layer::Prefix::new("app:", cache_core::MemoryBackend::new())
    });
}

mod structures {
    cache_core::structure_conformance_tests!(paused, async { cache_core::MemoryBackend::new() });

    mod prefixed {
        cache_core::structure_conformance_tests!(paused, async {
            cache_core::layer::Prefix::new("app:", cache_core::MemoryBackend::new())
        });
    }
}

/// The test kit's wrappers keep the contract of what they wrap.
mod wrapped {
    use cache_core::testing::{Faults, Recorder};

    cache_core::conformance_tests!(paused, async {
        Recorder::new().wrap(cache_core::MemoryBackend::new())
    });

    mod faulty {
        use super::*;

        // A plan with no faults forwards every operation untouched.
        cache_core::conformance_tests!(paused, async {
            Faults::new().wrap(cache_core::MemoryBackend::new())
        });
        cache_core::structure_conformance_tests!(paused, async {
            Faults::new().wrap(cache_core::MemoryBackend::new())
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
