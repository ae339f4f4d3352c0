//! Shared pieces of the cross-crate test suite.

pub mod conformance;
pub mod redis_harness;
