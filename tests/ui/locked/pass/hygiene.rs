//! Parameters named like everything the expansion generates are neither captured nor refused:
//! generated locals are hygienic, and the generated `static` is out of the parameters' scope.
#![deny(warnings, clippy::all)]
#![allow(non_snake_case)]

use cache_core::{LockBusy, MemoryBackend, locked, with_backend};

#[derive(Debug, PartialEq)]
struct Busy;

impl From<LockBusy> for Busy {
    fn from(_: LockBusy) -> Self {
        Self
    }
}

#[locked(key = "hygiene:<__CACHE_LOCK>:<__cache_lock>:<__cache_key>")]
async fn generated_names(
    __CACHE_LOCK: u64,
    __cache_lock: u64,
    __cache_key: u64,
    __cache_result: u64,
    __cache_busy: u64,
    __cache_fake_return: u64,
) -> Result<u64, Busy> {
    Ok(__CACHE_LOCK + __cache_lock + __cache_key + __cache_result + __cache_busy + __cache_fake_return)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    with_backend(MemoryBackend::new(), async {
        assert_eq!(generated_names(1, 2, 3, 4, 5, 6).await, Ok(21));
    })
    .await;
}
