//! Attribute macros for `cache-core`. Depend on `cache-core`, which re-exports them.

use proc_macro::TokenStream;

/// Caches an async function's results. See `cache_core` for the documentation.
#[proc_macro_attribute]
pub fn cached(args: TokenStream, item: TokenStream) -> TokenStream {
    let _ = args;
    item
}
