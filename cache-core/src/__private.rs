//! The runtime that macro expansions call. Not a public API: it changes without notice, and
//! only generated code should name it.

pub use crate::Result as CacheResult;
pub use crate::key::{KeyBuf, KeyPart};
pub use crate::runtime::{Cacheable, Shape, Site, cached, invalidate, refresh};
pub use std::clone::Clone;
pub use std::marker::PhantomData;
pub use std::option::Option::{self, None, Some};
pub use std::result::Result::{self, Err, Ok};
pub use std::string::String;
pub use std::time::Duration;

/// Fails to compile, spanned at the user's type, unless `T` can be part of a key.
pub const fn assert_key_part<T: KeyPart + ?Sized>(_: &T) {}

/// Fails to compile, spanned at the return type, unless `T` can be cached.
pub const fn assert_cacheable<T: Cacheable>() {}

/// Passes an `unless = ...` predicate through, fixing its argument type to `&R` so that a
/// closure's parameter needs no annotation (and a wrong one is reported once, here).
pub fn unless<R, F: Fn(&R) -> bool>(predicate: F) -> impl Fn(&R) -> bool {
    predicate
}
