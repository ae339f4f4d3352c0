//! Every function shape `#[locked]` must keep working on, compiled under strict lints, and
//! called so that the expansion is exercised, not just type-checked. Also the paths generated
//! code takes: `crate = "..."` and a local `cache_core` that is not the crate.
#![deny(
    warnings,
    clippy::all,
    clippy::pedantic,
    unused_qualifications,
    clippy::needless_return,
    dead_code,
    missing_docs
)]
#![allow(clippy::unused_async, unreachable_pub)]

use std::fmt::Display;
use std::sync::Arc;
use std::time::Duration;

use cache_core::{KeyPart, LockBusy, MemoryBackend, async_trait, locked, with_backend};

/// An application error.
#[derive(Debug, PartialEq)]
pub enum AppError {
    /// The lock was busy.
    Busy,
    /// Anything else.
    Invalid(String),
}

impl From<LockBusy> for AppError {
    fn from(_: LockBusy) -> Self {
        Self::Busy
    }
}

/// Doc comments and visibility are kept.
#[locked(key = "free:<id>", ttl = 30)]
pub async fn free(id: u64) -> Result<u64, AppError> {
    Ok(id)
}

/// `?` and early `return` keep working.
#[locked(key = "question:<id>")]
pub(crate) async fn with_question_mark(id: u64) -> Result<u64, AppError> {
    let parsed: u64 = "41"
        .parse()
        .map_err(|_| AppError::Invalid("nan".to_owned()))?;
    if id == 0 {
        return Err(AppError::Invalid("zero".to_owned()));
    }
    Ok(parsed + id)
}

/// A lease behind a constant.
const LEASE: Duration = Duration::from_secs(10);

/// Every option set.
#[locked(key = "every:<id>", ttl = LEASE, wait = "10ms", timeout = "200ms", backend = "locks")]
async fn every_option(id: u32, name: String) -> Result<String, AppError> {
    Ok(format!("{name}{id}"))
}

#[locked(key = "generic:<value>")]
async fn generic<T>(value: T) -> Result<T, AppError>
where
    T: KeyPart + Send + Sync,
{
    Ok(value)
}

#[locked(key = "impl:<id>")]
async fn impl_trait_arg(id: u64, label: impl Display + Send) -> Result<String, AppError> {
    Ok(format!("{label}:{id}"))
}

#[locked(key = "impl_ret:<id>")]
async fn impl_trait_return(id: u64) -> Result<impl Display, AppError> {
    Ok(id)
}

#[locked(key = "refs:<name>")]
async fn references<'a>(name: &'a str, rest: &'a [u8]) -> Result<&'a [u8], AppError> {
    let _ = name;
    Ok(rest)
}

#[locked(key = "pattern:<id>")]
async fn pattern_param(id: u64, (a, b): (u8, u8)) -> Result<u64, AppError> {
    Ok(id + u64::from(a) + u64::from(b))
}

#[locked(key = "cfg:<id>")]
async fn cfg_param(id: u64, #[cfg(any())] never: u8) -> Result<u64, AppError> {
    #![allow(clippy::no_effect_underscore_binding)]
    Ok(id)
}

/// An application `Result` with one argument, as `anyhow::Result<T>`.
mod app {
    /// The error is `Box<dyn Error + Send + Sync>`.
    pub type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;
}

#[locked(key = "alias:<id>")]
async fn alias(id: u64) -> app::Result<u64> {
    Ok(id)
}

/// A service.
#[derive(Debug)]
pub struct Service {
    tenant: String,
    calls: u64,
}

impl Service {
    #[locked(key = "svc:<self.tenant>:<id>")]
    async fn by_ref(&self, id: u64) -> Result<String, AppError> {
        Ok(format!("{}:{id}", self.tenant))
    }

    #[locked(key = "svc_mut:<self.tenant>")]
    async fn by_mut(&mut self) -> Result<u64, AppError> {
        self.calls += 1;
        Ok(self.calls)
    }

    #[locked(key = "svc_owned:<self.tenant>")]
    async fn by_value(self) -> Result<String, AppError> {
        Ok(self.tenant)
    }

    #[locked(key = "svc_arc:<self.tenant>")]
    async fn by_arc(self: Arc<Self>) -> Result<usize, AppError> {
        Ok(self.tenant.len())
    }

    #[locked(key = "svc_assoc:<id>")]
    async fn associated(id: u64) -> Result<u64, AppError> {
        Ok(id)
    }
}

/// A trait served through `#[async_trait]`.
#[async_trait]
pub trait Lookup {
    /// Looks up.
    async fn lookup(&self, id: u64) -> Result<String, AppError>;
}

#[async_trait]
impl Lookup for Service {
    #[locked(key = "lookup:<self.tenant>:<id>")]
    async fn lookup(&self, id: u64) -> Result<String, AppError> {
        Ok(format!("{}:{id}", self.tenant))
    }
}

/// A native async fn in a trait.
pub trait Native {
    /// Finds.
    fn find(&self, id: u64) -> impl Future<Output = Result<u64, AppError>> + Send;
}

impl Native for Service {
    #[locked(key = "native:<id>")]
    async fn find(&self, id: u64) -> Result<u64, AppError> {
        Ok(id + self.calls)
    }
}

/// A crate that re-exports cache-core under another name.
mod renamed {
    pub use cache_core::*;
}

/// A local `cache_core` that is not the crate: expansions must not pick it up.
mod shadowed {
    #[allow(unused_imports)]
    use std as cache_core;

    /// Doubles.
    #[cache_core_macro::locked(key = "shadowed:<id>")]
    pub async fn shadowed(id: u64) -> Result<u64, cache_core_macro::LockBusy> {
        Ok(id * 2)
    }

    use ::cache_core as cache_core_macro;
}

/// Triples.
#[renamed::locked(crate = "crate::renamed", key = "renamed:<id>")]
pub async fn through_renamed(id: u64) -> Result<u64, LockBusy> {
    Ok(id * 3)
}

#[tokio::test]
async fn shapes_run() {
    with_backend(MemoryBackend::new(), async {
        assert_eq!(free(1).await, Ok(1));
        assert_eq!(with_question_mark(1).await, Ok(42));
        assert!(with_question_mark(0).await.is_err());
        assert_eq!(every_option(1, "a".to_owned()).await, Ok("a1".to_owned()));
        assert_eq!(generic(5_u8).await, Ok(5));
        assert_eq!(impl_trait_arg(1, "x").await, Ok("x:1".to_owned()));
        assert_eq!(
            impl_trait_return(3).await.map(|v| v.to_string()),
            Ok("3".to_owned())
        );
        assert_eq!(references("n", b"rest").await, Ok(&b"rest"[..]));
        assert_eq!(pattern_param(1, (2, 3)).await, Ok(6));
        assert_eq!(cfg_param(4).await, Ok(4));
        assert_eq!(alias(5).await.ok(), Some(5));

        let mut service = Service {
            tenant: "acme".to_owned(),
            calls: 0,
        };
        assert_eq!(service.by_ref(1).await, Ok("acme:1".to_owned()));
        assert_eq!(service.by_mut().await, Ok(1));
        assert_eq!(Service::associated(2).await, Ok(2));
        assert_eq!(service.lookup(1).await, Ok("acme:1".to_owned()));
        assert_eq!(service.find(1).await, Ok(2));
        let service = Arc::new(service);
        assert_eq!(Arc::clone(&service).by_arc().await, Ok(4));
        let service = Arc::try_unwrap(service).expect("one owner");
        assert_eq!(service.by_value().await, Ok("acme".to_owned()));

        assert_eq!(shadowed::shadowed(2).await.ok(), Some(4));
        assert_eq!(through_renamed(2).await.ok(), Some(6));
    })
    .await;
}
