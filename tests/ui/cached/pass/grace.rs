//! Serving past the TTL compiles on every shape of function: owned arguments (refreshes
//! spawned), borrowed ones and methods (refreshed by the caller; their bodies need not be
//! `Send`), `unless`, `Result` and `Option` returns, and names colliding with the generated
//! locals.
#![deny(warnings, clippy::all)]

use std::rc::Rc;

use cache_core::{MemoryBackend, cached, with_backend};

#[cached(key = "grace:owned:<id>", ttl = 60, stale = "1h", refresh_ahead = 0.8)]
async fn owned(id: u64) -> u64 {
    id
}

#[cached(key = "grace:borrowed:<name>", ttl = 60, stale = "1h")]
async fn borrowed(name: &str) -> String {
    name.to_owned()
}

#[cached(key = "grace:local:<id>", ttl = 60, fail_safe = "1d", soft_timeout = "100ms")]
async fn not_send(id: &u64) -> u64 {
    let held = Rc::new(*id);
    std::future::ready(()).await;
    *held
}

#[cached(
    key = "grace:result:<id>",
    ttl = 60,
    fail_safe = "1d",
    fail_safe_throttle = "5s",
    unless = |value: &Result<u64, String>| value.is_err()
)]
async fn result(id: u64) -> Result<u64, String> {
    Ok(id)
}

#[cached(key = "grace:option:<__cache_detach>", ttl = 60, stale = "10m")]
async fn option(__cache_detach: u64, __cache_shape: u64, __cache_run: u64) -> Option<u64> {
    Some(__cache_detach + __cache_shape + __cache_run)
}

/// A hard timeout on a spawned refresh and on a borrowing, non-`Send` body alike.
#[cached(key = "grace:hard:<id>", ttl = 60, stale = "1h", hard_timeout = "2s")]
async fn hard(id: u64) -> Result<u64, cache_core::Error> {
    Ok(id)
}

#[cached(key = "grace:hard_local:<id>", hard_timeout = "2s")]
async fn hard_local(id: &u64) -> Result<u64, Box<dyn std::error::Error + Send + Sync>> {
    let held = Rc::new(*id);
    std::future::ready(()).await;
    Ok(*held)
}

struct Repo;

impl Repo {
    #[cached(key = "grace:method:<id>", ttl = 60, stale = "1h")]
    async fn find(&self, id: u64) -> u64 {
        id
    }
}

#[tokio::main]
async fn main() {
    with_backend(MemoryBackend::new(), async {
        assert_eq!(owned(1).await, 1);
        assert_eq!(borrowed("a").await, "a");
        assert_eq!(not_send(&2).await, 2);
        assert_eq!(result(3).await, Ok(3));
        assert_eq!(option(1, 2, 3).await, Some(6));
        assert_eq!(Repo.find(4).await, 4);
        assert_eq!(hard(5).await.unwrap(), 5);
        assert_eq!(hard_local(&6).await.unwrap(), 6);
    })
    .await;
}
