//! Decorators that wrap a backend and are themselves backends.

mod prefix;

pub use prefix::Prefix;
