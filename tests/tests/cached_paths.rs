//! Generated code reaches the runtime only through `::cache_core::__private`, or through the
//! path given with `crate = "..."`, and adds no warnings under strict lints.
#![deny(
    warnings,
    clippy::all,
    clippy::pedantic,
    unused_qualifications,
    dead_code,
    missing_docs
)]
#![allow(clippy::unused_async, unreachable_pub)]

/// A crate that re-exports cache-core under another name.
mod renamed {
    pub use cache_core::*;
}

/// A local `cache_core` that is not the crate: expansions must not pick it up.
mod shadowed {
    #[allow(unused_imports)]
    use std as cache_core;

    /// Doubles.
    #[cache_core_macro::cached(key = "shadowed:<id>")]
    pub async fn shadowed(id: u64) -> u64 {
        id * 2
    }

    use ::cache_core as cache_core_macro;
}

/// Triples.
#[renamed::cached(crate = "crate::renamed", key = "renamed:<id>")]
pub async fn through_renamed(id: u64) -> u64 {
    id * 3
}

#[tokio::test]
async fn paths_resolve() {
    cache_core::with_backend(cache_core::MemoryBackend::new(), async {
        assert_eq!(shadowed::shadowed(2).await, 4);
        assert_eq!(shadowed::shadowed_cache_key(2), "shadowed:2");
        assert_eq!(through_renamed(2).await, 6);
        assert_eq!(through_renamed_cache_key(2), "renamed:2");
    })
    .await;
}
