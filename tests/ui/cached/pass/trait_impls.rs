//! Trait methods: native `async fn` in a trait impl with `companions = false`, and
//! `#[async_trait]` impls (companions switched off automatically).
#![deny(warnings, clippy::all)]

use cache_core::{async_trait, cached};

/// Native async fn in traits.
pub trait Lookup {
    /// Looks up.
    fn lookup(&self, id: u64) -> impl std::future::Future<Output = u64> + Send;
}

/// The implementor.
pub struct Service {
    offset: u64,
}

impl Lookup for Service {
    #[cached(key = "lookup:<self.offset>:<id>", companions = false)]
    async fn lookup(&self, id: u64) -> u64 {
        id + self.offset
    }
}

/// With async-trait: `#[async_trait]` on the impl, `#[cached]` on the method.
#[async_trait]
pub trait DynLookup: Sync {
    /// Looks up.
    async fn lookup(&self, id: u64) -> Result<u64, String>;

    /// A default method can be cached too.
    #[cached(key = "default:<id>")]
    async fn defaulted(&self, id: u64) -> u64 {
        id
    }
}

#[async_trait]
impl DynLookup for Service {
    #[cached(key = "dyn_lookup:<self.offset>:<id>", ttl = "1m")]
    async fn lookup(&self, id: u64) -> Result<u64, String> {
        if id == 0 {
            return Err("zero".to_owned());
        }
        let checked = id.checked_add(self.offset).ok_or("overflow")?;
        Ok(checked)
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let service = Service { offset: 1 };
    assert_eq!(Lookup::lookup(&service, 1).await, 2);
    let dynamic: &dyn DynLookup = &service;
    assert_eq!(dynamic.lookup(1).await, Ok(2));
    assert_eq!(dynamic.defaulted(3).await, 3);
}
