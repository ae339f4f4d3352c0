//! Parameters named like everything the expansion generates are neither captured nor refused:
//! generated locals are hygienic, and the generated `static` is out of the parameters' scope;
//! `__cache_arg<n>` is how the refresh companion names a pattern parameter.
#![deny(warnings, clippy::all)]
#![allow(non_snake_case)]

use cache_core::{MemoryBackend, cached, with_backend};

#[cached(
    key = "hygiene:<__CACHE_SITE>:<__cache_arg1>:<__cache_site>:<__cache_key>",
    unless = |value: &u64| *value == 0
)]
async fn generated_names(
    __CACHE_SITE: u64,
    __cache_arg1: u64,
    __cache_site: u64,
    __cache_key: u64,
    __cache_unless: u64,
    __cache_result: u64,
    __cache_value: u64,
    __cache_fake_return: u64,
    (__cache_arg8, __cache_arg9): (u64, u64),
) -> u64 {
    __CACHE_SITE
        + __cache_arg1
        + __cache_site
        + __cache_key
        + __cache_unless
        + __cache_result
        + __cache_value
        + __cache_fake_return
        + __cache_arg8
        + __cache_arg9
}

/// The default key names every parameter.
#[cached]
async fn default_key(__CACHE_SITE: u64, __cache_key: u64) -> Option<u64> {
    Some(__CACHE_SITE + __cache_key)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    with_backend(MemoryBackend::new(), async {
        assert_eq!(generated_names(1, 2, 3, 4, 5, 6, 7, 8, (9, 10)).await, 55);
        assert_eq!(
            generated_names(1, 2, 3, 4, 0, 0, 0, 0, (0, 0)).await,
            55,
            "a hit"
        );
        assert_eq!(
            generated_names_cache_key(1, 2, 3, 4, 0, 0, 0, 0, (0, 0)),
            "hygiene:1:2:3:4"
        );
        assert_eq!(
            generated_names_refresh(1, 2, 3, 4, 5, 0, 0, 0, (0, 0)).await,
            15
        );
        assert_eq!(
            generated_names_invalidate(1, 2, 3, 4, 0, 0, 0, 0, (0, 0))
                .await
                .ok(),
            Some(true)
        );
        assert_eq!(default_key(1, 2).await, Some(3));
        assert_eq!(default_key_refresh(1, 2).await, Some(3));
    })
    .await;
}
