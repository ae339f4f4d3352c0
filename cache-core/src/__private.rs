//! The runtime that macro expansions call. Not a public API: it changes without notice, and
//! only generated code should name it. Only re-exports: the code lives in
//! the private `runtime` module and [`rate_limit`](crate::rate_limit).

pub use crate::Result as CacheResult;
pub use crate::key::{KeyBuf, KeyPart};
pub use crate::lock::DEFAULT_LEASE;
pub use crate::rate_limit::expansion::{
    FromRateLimited, checked_burst, checked_cost, checked_limit, checked_window, rate_limit,
    rate_limited_error,
};
pub use crate::rate_limit::{
    Algorithm, FailureMode, RateLimitDecision, RateLimitPolicy, RateLimited, RateLimiter,
};
pub use crate::runtime::cached::{cached, invalidate, invalidate_all};
pub use crate::runtime::checks::{assert_cacheable, assert_key_part, unless};
pub use crate::runtime::functions::{FunctionKind, FunctionSite};
pub use crate::runtime::grace::{Grace, Stamped};
pub use crate::runtime::graceful::{Detach, cached_graceful, spawned};
pub use crate::runtime::hard_timeout::{FromHardTimeout, bounded};
pub use crate::runtime::locked::{
    FromLockBusy, LockedSite, checked_lease, lock_busy_error, locked,
};
pub use crate::runtime::refresh_mode::refresh;
pub use crate::runtime::shape::{
    CacheShape, Cacheable, Shape, Share, ShareByClone, ShareNot, ShareProbe, SharedResult, Sharing,
};
pub use crate::runtime::site::{Site, SiteConfig};
pub use crate::runtime::tagged::{cached_graceful_tagged, cached_tagged, spawned_tagged};
pub use crate::runtime::tags::{TAG_KEY_PREFIX, Tagged, Tagging};
pub use std::clone::Clone;
pub use std::marker::PhantomData;
pub use std::option::Option::{self, None, Some};
pub use std::result::Result::{self, Err, Ok};
pub use std::string::String;
pub use std::time::Duration;
