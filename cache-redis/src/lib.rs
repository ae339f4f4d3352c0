//! A Redis backend for `cache-core`.
