//! Shared bodies of the behaviour tests, included by each test binary with `mod common;`.
#![allow(dead_code, unreachable_pub)]

pub mod cached_suite;
pub mod rate_limited_suite;
