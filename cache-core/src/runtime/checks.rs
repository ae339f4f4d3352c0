//! Compile-time checks and typing helpers that `#[cached]` expansions call, spanned at the
//! user's code so that a failure is reported there.

use super::shape::Cacheable;
use crate::KeyPart;

/// Fails to compile, spanned at the user's type, unless `T` can be part of a key.
pub const fn assert_key_part<T: KeyPart + ?Sized>(_: &T) {}

/// Fails to compile, spanned at the return type, unless `T` can be cached.
pub const fn assert_cacheable<T: Cacheable>() {}

/// Passes an `unless = ...` predicate through, fixing its argument type to `&R` so that a
/// closure's parameter needs no annotation (and a wrong one is reported once, here).
pub fn unless<R, F: Fn(&R) -> bool>(predicate: F) -> impl Fn(&R) -> bool {
    predicate
}
