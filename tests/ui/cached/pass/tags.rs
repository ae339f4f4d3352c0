//! Tags compile on every shape of function: owned and borrowed arguments, fields of
//! arguments, methods with `self` fields, `Result` and `Option` returns, and names colliding
//! with the generated locals.
#![deny(warnings, clippy::all)]

use cache_core::{MemoryBackend, cached, invalidate_tag, with_backend};

pub struct Query {
    pub org: u32,
}

#[cached(key = "tags:owned:<id>", ttl = 60, tags = ["user:<id>"])]
async fn owned(id: u64) -> u64 {
    id
}

#[cached(key = "tags:borrowed:<name>", tags = ["name:<name>", "org:<query.org>", "all"])]
async fn borrowed(name: &str, query: &Query) -> String {
    format!("{name}@{}", query.org)
}

#[cached(key = "tags:result:<id>", ttl = 60, tags = ["user:<id>"])]
async fn result(id: u64) -> Result<u64, String> {
    Ok(id)
}

#[cached(key = "tags:option:<id>", ttl = 60, tags = ["user:<id>"], lock = false)]
async fn option(id: u64) -> Option<u64> {
    Some(id)
}

/// Serving past the TTL: spawned refreshes (owned arguments) and the caller's (borrowed).
#[cached(key = "tags:stale:<id>", ttl = 60, stale = "1h", tags = ["user:<id>"])]
async fn stale(id: u64) -> u64 {
    id
}

#[cached(
    key = "tags:fail_safe:<name>",
    ttl = 60,
    fail_safe = "1h",
    soft_timeout = "1s",
    tags = ["name:<name>"]
)]
async fn fail_safe(name: &str) -> Result<String, String> {
    Ok(name.to_owned())
}

/// Parameters named like the generated locals.
#[cached(key = "tags:names:<__cache_tag0>", tags = ["<__cache_key>", "<__cache_tag0>"])]
async fn names(__cache_tag0: u64, __cache_key: u64) -> u64 {
    __cache_tag0 + __cache_key
}

pub struct Repo {
    pub tenant: u32,
}

impl Repo {
    #[cached(key = "tags:repo:<self.tenant>:<id>", ttl = 60, tags = ["tenant:<self.tenant>"])]
    pub async fn find(&self, id: u64) -> u64 {
        u64::from(self.tenant) + id
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(with_backend(MemoryBackend::new(), async {
        assert_eq!(owned(1).await, 1);
        assert_eq!(borrowed("a", &Query { org: 2 }).await, "a@2");
        assert_eq!(result(3).await, Ok(3));
        assert_eq!(option(4).await, Some(4));
        assert_eq!(names(5, 6).await, 11);
        assert_eq!(Repo { tenant: 7 }.find(8).await, 15);
        assert_eq!(stale(9).await, 9);
        assert_eq!(fail_safe("b").await.as_deref(), Ok("b"));
        assert_eq!(stale_refresh(9).await, 9);
        invalidate_tag("all").await.unwrap();
        assert_eq!(owned_refresh(1).await, 1);
        assert!(owned_invalidate(1).await.unwrap());
    }));
}
