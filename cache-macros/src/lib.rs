//! The attribute macros of [`cache-core`](https://docs.rs/cache-core). Depend on `cache-core`,
//! which re-exports them; the generated code calls into `cache_core::__private`.
//!
//! Set `CACHE_MACROS_DEBUG=1` while building to print every expansion to stderr.

#![doc(test(attr(deny(warnings))))]

mod cached;
mod common;
mod locked;
mod rate_limited;

use proc_macro::TokenStream;

#[doc = include_str!("../docs/cached.md")]
#[proc_macro_attribute]
pub fn cached(args: TokenStream, item: TokenStream) -> TokenStream {
    cached::cached(args.into(), item.into()).into()
}

#[doc = include_str!("../docs/rate_limited.md")]
#[proc_macro_attribute]
pub fn rate_limited(args: TokenStream, item: TokenStream) -> TokenStream {
    rate_limited::rate_limited(args.into(), item.into()).into()
}

#[doc = include_str!("../docs/locked.md")]
#[proc_macro_attribute]
pub fn locked(args: TokenStream, item: TokenStream) -> TokenStream {
    locked::locked(args.into(), item.into()).into()
}
