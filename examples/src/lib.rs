//! The example apps of the seed guides, as libraries their binaries (`src/bin/`) start and the
//! test suite drives over HTTP, on the embedded memory backend or on Redis.

pub mod backend;
pub mod cache_interface;
pub mod flask_patterns;
pub mod rest_demo;
pub mod session_service;
pub mod walkthrough;
