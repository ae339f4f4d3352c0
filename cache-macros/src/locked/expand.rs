//! Code generation for a validated [`Locked`] function: the function itself, with only its
//! body replaced. No other item is generated.
//!
//! ```text
//! #[locked(key = "payment:<id>", ttl = 30)]
//! async fn pay(id: u64) -> Result<Receipt, PayError> { body }
//! ```
//! becomes, in essence,
//! ```text
//! async fn pay(id: u64) -> Result<Receipt, PayError> {
//!     let __cache_lock: &'static LockedSite = {      // out of the parameters' scope
//!         static __CACHE_LOCK: LockedSite = LockedSite {
//!             name: concat!(module_path!(), "::", "pay"),
//!             backend: None,
//!             lease: checked_lease(30s),              // spanned at the option
//!             wait: Duration::ZERO,
//!             timeout: None,
//!         };
//!         &__CACHE_LOCK
//!     };
//!     let mut __cache_key = KeyBuf::new();            // built by reference
//!     __cache_key.push_literal("payment:");
//!     __cache_key.push_part(&id);                     // spanned at `id`
//!     match locked(__cache_lock, __cache_key.as_str(), async move { body }).await {
//!         Ok(__cache_result) => __cache_result,       // the body ran holding the lock
//!         Err(__cache_busy) => Err(lock_busy_error(__cache_busy)), // spanned at `PayError`
//!     }
//! }
//! ```

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned as _;
use syn::{Block, Ident};

use super::validate::Locked;
use crate::common::crate_path::checked_call;
use crate::common::item_fn::{async_body, static_local, with_body};
use crate::common::key;
use crate::common::listing::listing;
use crate::common::result_return::convert_error;

/// Generated locals: `Span::mixed_site()` keeps them apart from the user's names.
struct Names {
    site: Ident,
    key: Ident,
    result: Ident,
    busy: Ident,
    fake_return: Ident,
}

impl Names {
    fn new() -> Self {
        let name = |text: &str| Ident::new(text, Span::mixed_site());
        Self {
            site: name("__cache_lock"),
            key: name("__cache_key"),
            result: name("__cache_result"),
            busy: name("__cache_busy"),
            fake_return: name("__cache_fake_return"),
        }
    }
}

/// The user's function: attributes, visibility and signature as written, new body.
pub(crate) fn expand(model: &Locked, options: &str) -> TokenStream {
    let names = Names::new();
    let listing = listing(&model.target, "Locked", options);
    let site = site(model, &names);
    let key = key::build(&model.target.krate, &names.key, &model.target.key);
    // `{ site; key; match locked(.., async move { original }).await { .. } }`
    with_body(
        &model.target.func,
        model.target.async_trait.as_ref(),
        |original| {
            let call = call_runtime(model, &names, original);
            quote! {
                #listing
                #site
                #key
                #call
            }
        },
    )
}

/// `let __cache_lock = &LockedSite { name, backend, lease, wait, timeout };`, a `static` (see
/// [`static_local`]) evaluated at compile time, so a zero lease behind a constant fails the
/// build too.
fn site(model: &Locked, names: &Names) -> TokenStream {
    let krate = &model.target.krate;
    let private = quote!(#krate::__private);
    let name = model.target.func.sig.ident.to_string();
    let option = |value: Option<TokenStream>| match value {
        Some(value) => quote!(#private::Some(#value)),
        None => quote!(#private::None),
    };
    let backend = option(
        model
            .target
            .backend
            .as_ref()
            .map(|backend| quote_spanned!(backend.span()=> #backend)),
    );
    let lease = match &model.ttl {
        Some((ttl, span)) => checked_call(krate, "checked_lease", ttl.to_tokens(krate), *span),
        None => quote!(#private::DEFAULT_LEASE),
    };
    let wait = model.wait.as_ref().map_or_else(
        || quote!(#private::Duration::ZERO),
        |wait| wait.to_tokens(krate),
    );
    let timeout = option(
        model
            .target
            .timeout
            .as_ref()
            .map(|timeout| timeout.to_tokens(krate)),
    );
    let init = quote! {
        #private::LockedSite {
            name: ::core::concat!(::core::module_path!(), "::", #name),
            backend: #backend,
            lease: #lease,
            wait: #wait,
            timeout: #timeout,
        }
    };
    static_local(
        &names.site,
        "__CACHE_LOCK",
        &quote!(#private::LockedSite),
        &init,
    )
}

/// Runs the original body under the lock, or returns `Err(E::from(LockBusy))`.
fn call_runtime(model: &Locked, names: &Names, original: &Block) -> TokenStream {
    let krate = &model.target.krate;
    let private = quote!(#krate::__private);
    let Names {
        site,
        key,
        result,
        busy,
        fake_return,
    } = names;
    let body = async_body(&model.ret, fake_return, original);
    let convert = convert_error(quote!(#private::lock_busy_error), busy, model.error_span);
    quote! {
        match #private::locked(#site, #key.as_str(), #body).await {
            #private::Ok(#result) => #result,
            #private::Err(#busy) => #private::Err(#convert),
        }
    }
}
