//! [`CacheAside`]: `#[cached]`'s runtime without the macro, for keys built at run time.

use std::future::Future;
use std::time::Duration;

use super::cached::{cached, invalidate};
use super::shape::{Cacheable, Shape, ShareByClone as _, ShareProbe, Sharing};
use super::site::{Site, SiteConfig};
use crate::Result;

/// A cache-aside call site: what `#[cached]` does for one function, for code that builds its
/// keys itself. The same single flight (one body run per key, across processes where the
/// backend has locks), fenced fills, fail-open, timeout, circuit breaker and stats, counted
/// under `name`.
///
/// Declare it once, in a `static`:
///
/// ```
/// use std::time::Duration;
/// use cache_core::CacheAside;
///
/// static PROFILES: CacheAside = CacheAside::new("app::profiles", Some(Duration::from_secs(300)));
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> cache_core::Result<()> {
/// let key = format!("profile:{}", 7);
/// let name: String = PROFILES.get_or_compute(&key, || async { "Ada".to_string() }).await;
/// assert_eq!(name, "Ada");
/// let again: String = PROFILES.get_or_compute(&key, || async { unreachable!("a hit") }).await;
/// assert!(PROFILES.invalidate(&key).await?);
/// # let _ = again; Ok(()) }
/// ```
#[derive(Debug)]
pub struct CacheAside {
    site: Site,
}

impl CacheAside {
    /// A call site counted as `name` in [`stats`](crate::stats), storing values for `ttl`
    /// (`None`: no expiry) on the global backend.
    #[must_use]
    pub const fn new(name: &'static str, ttl: Option<Duration>) -> Self {
        Self::with(name, ttl, None)
    }

    /// Like [`new`](Self::new), on the backend registered under `backend` (see
    /// [`register_backend`](crate::register_backend)).
    #[must_use]
    pub const fn on_backend(
        name: &'static str,
        ttl: Option<Duration>,
        backend: &'static str,
    ) -> Self {
        Self::with(name, ttl, Some(backend))
    }

    const fn with(
        name: &'static str,
        ttl: Option<Duration>,
        backend: Option<&'static str>,
    ) -> Self {
        Self {
            site: Site::new(SiteConfig {
                name,
                key: None,
                options: "",
                backend,
                ttl,
                timeout: None,
                lock: true,
                lock_lease: None,
                lock_wait: None,
                jitter: None,
                grace: None,
            }),
        }
    }

    /// The value under `key`, or `compute`'s, stored for the next callers. Concurrent callers
    /// of one key share one run of `compute`; a backend that fails or is slow makes this run
    /// `compute` and return its value, uncached.
    pub async fn get_or_compute<T, F, Fut>(&'static self, key: &str, compute: F) -> T
    where
        T: Cacheable,
        F: FnOnce() -> Fut,
        Fut: Future<Output = T>,
    {
        let shape = Shape::new(|value: &T| Some(value.clone()), |value| value);
        // `T: Cacheable` is `Clone + Send`: a run's value goes to every caller that waited.
        let shape = Sharing::new(shape, (&&ShareProbe::<T>::new()).share());
        cached(&self.site, key, shape, compute).await
    }

    /// Like [`get_or_compute`](Self::get_or_compute) for a fallible `compute`: only `Ok`
    /// values are stored, and an `Err` goes to the caller. The callers that waited for a run
    /// that failed each run `compute` themselves: this generic call cannot know whether `E`
    /// can be cloned (`#[cached]` can, and shares it).
    pub async fn try_get_or_compute<T, E, F, Fut>(
        &'static self,
        key: &str,
        compute: F,
    ) -> std::result::Result<T, E>
    where
        T: Cacheable,
        F: FnOnce() -> Fut,
        Fut: Future<Output = std::result::Result<T, E>>,
    {
        let shape = Shape::new(
            |result: &std::result::Result<T, E>| result.as_ref().ok().cloned(),
            Ok,
        );
        cached(&self.site, key, shape, compute).await
    }

    /// Removes the value under `key`, as a `#[cached]` function's `_invalidate` does: no
    /// caller that starts after it returns sees the removed value. Returns whether there was
    /// one.
    ///
    /// # Errors
    ///
    /// The backend failed or is marked down by its circuit breaker.
    pub async fn invalidate(&'static self, key: &str) -> Result<bool> {
        invalidate(&self.site, key).await
    }
}
