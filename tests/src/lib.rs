//! Shared pieces of the cross-crate test suite.

// Test support: a failed expectation is a panic by design.
#![allow(clippy::panic, clippy::unwrap_used)]

pub mod bare;
pub mod browser;
pub mod logs;
pub mod near_hunt;
pub mod packages;
pub mod redis_harness;
pub mod sections;
