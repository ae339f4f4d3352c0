//! Parameters named like everything the expansion generates are neither captured nor refused:
//! generated locals are hygienic, and the generated `static` is out of the parameters' scope.
#![deny(warnings, clippy::all)]
#![allow(non_snake_case)]

use cache_core::{MemoryBackend, RateLimited, rate_limited, with_backend};

#[derive(Debug, PartialEq)]
struct Limited;

impl From<RateLimited> for Limited {
    fn from(_: RateLimited) -> Self {
        Self
    }
}

#[rate_limited(
    key = "hygiene:<__CACHE_LIMITER>:<__cache_arg1>:<__cache_limiter>:<__cache_key>",
    limit = 1,
    window = 60
)]
async fn generated_names(
    __CACHE_LIMITER: u64,
    __cache_arg1: u64,
    __cache_limiter: u64,
    __cache_key: u64,
    __cache_denied: u64,
    __cache_fake_return: u64,
) -> Result<u64, Limited> {
    Ok(__CACHE_LIMITER
        + __cache_arg1
        + __cache_limiter
        + __cache_key
        + __cache_denied
        + __cache_fake_return)
}

/// The default key names every parameter.
#[rate_limited(limit = 1, window = 60)]
async fn default_key(__CACHE_LIMITER: u64, __cache_key: u64) -> Result<u64, Limited> {
    Ok(__CACHE_LIMITER + __cache_key)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    with_backend(MemoryBackend::new(), async {
        assert_eq!(generated_names(1, 2, 3, 4, 5, 6).await, Ok(21));
        assert_eq!(
            generated_names(1, 2, 3, 4, 0, 0).await,
            Err(Limited),
            "the same key"
        );
        assert_eq!(
            generated_names(1, 2, 3, 5, 0, 0).await,
            Ok(11),
            "another key"
        );
        assert_eq!(default_key(1, 2).await, Ok(3));
        assert_eq!(default_key(1, 2).await, Err(Limited));
    })
    .await;
}
