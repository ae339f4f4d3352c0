//! The statement that lists a `#[rate_limited]` or `#[locked]` function in
//! `cache_core::functions()` at its first call (a `#[cached]` function is listed by its site).

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::Ident;
use syn::spanned::Spanned as _;

use super::item_fn::static_local;
use super::key;
use super::options::Target;

/// `{ static SITE: FunctionSite = ..; SITE.listed(); }`: one relaxed load after the first call.
/// `kind` names a `FunctionKind` variant; `options` are the macro's options as written.
pub(crate) fn listing(target: &Target, kind: &str, options: &str) -> TokenStream {
    let krate = &target.krate;
    let private = quote!(#krate::__private);
    let kind = Ident::new(kind, Span::call_site());
    let name = target.func.sig.ident.to_string();
    let template = key::template(&target.key);
    let backend = match &target.backend {
        Some(backend) => quote_spanned!(backend.span()=> #private::Some(#backend)),
        None => quote!(#private::None),
    };
    let local = Ident::new("__cache_listed", Span::mixed_site());
    let init = quote! {
        #private::FunctionSite::new(
            #private::FunctionKind::#kind,
            ::core::concat!(::core::module_path!(), "::", #name),
            #template,
            #options,
            #backend,
        )
    };
    let site = static_local(
        &local,
        "__CACHE_LISTED",
        &quote!(#private::FunctionSite),
        &init,
    );
    quote!({
        #site
        #local.listed();
    })
}
