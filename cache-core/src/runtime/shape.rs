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
