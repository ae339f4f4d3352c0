//! How a function's return value maps to what is cached: [`Shape`] and [`Cacheable`].

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Bounds on a cached value: cloneable for followers, serializable for the backend.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be cached",
    label = "the cached value must be `Clone + Serialize + DeserializeOwned + Send + Sync + 'static`",
    note = "derive `Clone, serde::Serialize, serde::Deserialize` for `{Self}`, or cache an `Arc` of it (serde's `rc` feature)"
)]
pub trait Cacheable: Clone + Serialize + DeserializeOwned + Send + Sync + 'static {}
impl<T: Clone + Serialize + DeserializeOwned + Send + Sync + 'static> Cacheable for T {}

/// What of a function's result `R` is cached, and how a result is rebuilt from it.
///
/// The runtime asks for `Value: Cacheable` where it uses a shape, rather than here, so that a
/// type that cannot be cached is reported with [`Cacheable`]'s own message.
pub trait CacheShape<R> {
    /// The cached part: `Ok`'s value, `Some`'s value, or the whole value.
    type Value;

    /// The cacheable part of `result`, or `None` when it is not to be cached (an `Err`, a
    /// `None`, or a value an `unless` predicate vetoes).
    fn store(&self, result: &R) -> Option<Self::Value>;

    /// A result rebuilt from a cached value.
    fn load(&self, value: Self::Value) -> R;

    /// How to hand a result that is not cached (an `Err`) to the callers that waited for the
    /// same run, if the result can be cloned; `None` has each of them run the body itself.
    fn share(&self) -> Option<Share<R>> {
        None
    }

    /// Whether a value found on the backend may be returned by the miss path: stale values of
    /// a function serving past its TTL (`stale`, `fail_safe`) are not.
    fn fresh(&self, _value: &Self::Value) -> bool {
        true
    }
}

/// A result in a form every waiting caller of a flight can take a copy of.
pub type SharedResult = std::sync::Arc<dyn std::any::Any + Send + Sync>;

/// How a result `R` that can be cloned is shared with the callers waiting for its run.
pub struct Share<R> {
    /// Wraps a copy of the leader's result for the followers.
    pub(crate) wrap: fn(&R) -> SharedResult,
    /// A follower's copy, `None` if the wrapped value is of another type.
    pub(crate) unwrap: fn(&SharedResult) -> Option<R>,
}

impl<R> Clone for Share<R> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<R> Copy for Share<R> {}

/// The probe generated code asks whether its return type can be shared:
/// `(&&ShareProbe::<R>::new()).share()`, with [`ShareByClone`] and [`ShareNot`] in scope.
/// The method resolves to [`ShareByClone`] where `R: Clone + Send + 'static` holds, and to
/// [`ShareNot`] otherwise (autoref specialisation: no trait bound needed at the call).
pub struct ShareProbe<R>(std::marker::PhantomData<fn() -> R>);

impl<R> std::fmt::Debug for ShareProbe<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ShareProbe")
    }
}

impl<R> ShareProbe<R> {
    /// The probe for `R`.
    #[must_use]
    pub const fn new() -> Self {
        Self(std::marker::PhantomData)
    }
}

impl<R> Default for ShareProbe<R> {
    fn default() -> Self {
        Self::new()
    }
}

/// Chosen by [`ShareProbe`] for results that can be cloned and sent.
pub trait ShareByClone<R> {
    /// How to share an `R`.
    fn share(&self) -> Option<Share<R>>;
}

impl<R: Clone + Send + 'static> ShareByClone<R> for &ShareProbe<R> {
    fn share(&self) -> Option<Share<R>> {
        Some(Share {
            wrap: |result| std::sync::Arc::new(std::sync::Mutex::new(result.clone())),
            unwrap: |shared| {
                let result = shared.downcast_ref::<std::sync::Mutex<R>>()?;
                let result = result
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                Some(result.clone())
            },
        })
    }
}

/// Chosen by [`ShareProbe`] for every other result: nothing is shared.
pub trait ShareNot<R> {
    /// `None`.
    fn share(&self) -> Option<Share<R>>;
}

impl<R> ShareNot<R> for ShareProbe<R> {
    fn share(&self) -> Option<Share<R>> {
        None
    }
}

/// A [`CacheShape`] whose uncached results are shared with waiting callers as `share` says.
pub struct Sharing<Sh, R> {
    shape: Sh,
    share: Option<Share<R>>,
}

impl<R> std::fmt::Debug for Share<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Share")
    }
}

impl<Sh: std::fmt::Debug, R> std::fmt::Debug for Sharing<Sh, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sharing")
            .field("shape", &self.shape)
            .field("shares", &self.share.is_some())
            .finish()
    }
}

impl<Sh: Clone, R> Clone for Sharing<Sh, R> {
    fn clone(&self) -> Self {
        Self {
            shape: self.shape.clone(),
            share: self.share,
        }
    }
}

impl<Sh, R> Sharing<Sh, R> {
    /// `shape`, sharing uncached results by `share`.
    pub const fn new(shape: Sh, share: Option<Share<R>>) -> Self {
        Self { shape, share }
    }
}

impl<R, Sh: CacheShape<R>> CacheShape<R> for Sharing<Sh, R> {
    type Value = Sh::Value;

    fn store(&self, result: &R) -> Option<Self::Value> {
        self.shape.store(result)
    }

    fn load(&self, value: Self::Value) -> R {
        self.shape.load(value)
    }

    fn share(&self) -> Option<Share<R>> {
        self.share
    }
}

/// A [`CacheShape`] from its two halves, as generated code writes it:
/// `Shape::new(|result: &R| ..., Ok)`.
#[derive(Debug, Clone, Copy)]
pub struct Shape<Store, Load> {
    store: Store,
    load: Load,
}

impl<Store, Load> Shape<Store, Load> {
    /// A shape from its two halves.
    pub const fn new(store: Store, load: Load) -> Self {
        Self { store, load }
    }
}

impl<R, S, Store, Load> CacheShape<R> for Shape<Store, Load>
where
    Store: Fn(&R) -> Option<S>,
    Load: Fn(S) -> R,
{
    type Value = S;

    fn store(&self, result: &R) -> Option<S> {
        (self.store)(result)
    }

    fn load(&self, value: S) -> R {
        (self.load)(value)
    }
}
