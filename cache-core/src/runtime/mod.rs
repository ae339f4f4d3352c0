//! The runtime that `#[cached]` and `#[locked]` expansions call, one file per concern:
//!
//! - [`cached`]: the cached call itself: the in-process hit, then the miss path.
//! - [`graceful`]: the cached call of a function serving past its TTL, with [`grace`] (its
//!   stamps and per-key state) and [`freshness`] (telling stale answers from fresh ones).
//! - [`tagged`]: the cached call of a function with `tags`, with [`tags`] (versions and
//!   [`invalidate_tag`](crate::invalidate_tag)).
//! - [`functions`]: every cached, rate-limited and locked function, listed at its first call.
//! - [`hard_timeout`]: the bound on a body's run (`hard_timeout`).
//! - [`aside`]: the same call without the macro ([`CacheAside`](crate::CacheAside)).
//! - [`site`]: one cached function's options and state ([`Site`](site::Site)).
//! - [`backend_call`]: a backend call under the function's timeout, failing open; the one
//!   lookup (decode and warn) and the one store.
//! - [`single_flight`]: one body run per key for concurrent callers.
//! - [`fleet`]: one body run per key across processes, and fenced writes.
//! - [`health`]: the circuit breaker that skips a backend while it keeps failing.
//! - [`locked`]: a `#[locked]` call: the body run while holding the lock its key names.
//! - [`refresh_mode`]: how `<fn>_refresh` asks its function to overwrite.
//! - [`registry`]: which backend serves a function (global, named, task-scoped).
//! - [`settings`]: the process-wide switches (on/off, default timeout).
//! - [`stats`]: per-function counters.
//!
//! Generated code reaches these through [`crate::__private`] only; none of it is public API.

pub(crate) mod aside;
pub(crate) mod backend_call;
pub(crate) mod cached;
pub(crate) mod checks;
pub(crate) mod fleet;
pub(crate) mod freshness;
pub(crate) mod functions;
pub(crate) mod grace;
pub(crate) mod graceful;
pub(crate) mod hard_timeout;
pub mod health;
pub(crate) mod locked;
pub(crate) mod refresh_mode;
pub(crate) mod registry;
pub(crate) mod settings;
pub(crate) mod shape;
pub(crate) mod single_flight;
pub(crate) mod site;
pub mod stats;
pub(crate) mod tagged;
pub(crate) mod tags;
