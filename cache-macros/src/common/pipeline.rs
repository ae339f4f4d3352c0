//! The one shape every attribute macro of the crate has: parse → validate → expand, and on any
//! error the function unchanged next to all the errors, so editors keep working and no knock-on
//! errors appear.

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::ItemFn;

use super::errors::{Errors, with_error};
use super::item_fn::{AsyncFn, display};

/// Which macro runs, for the messages of the steps they share.
pub(crate) struct Macro {
    /// `cached`, as in `#[cached]`.
    pub(crate) name: &'static str,
    /// What the generated code consults with `.await`: "the cache".
    pub(crate) consults: &'static str,
}

/// Runs `#[name]` on `item`. `expand` is given the options as written, for the function's
/// listing (`cache_core::functions`). `CACHE_MACROS_DEBUG` set in the environment prints
/// expansions.
pub(crate) fn run<Args, Model>(
    tool: &Macro,
    args: TokenStream,
    item: TokenStream,
    parse: impl FnOnce(TokenStream, &mut Errors) -> Args,
    validate: impl FnOnce(Args, AsyncFn, &mut Errors) -> Option<Model>,
    expand: impl FnOnce(&Model, &str) -> TokenStream,
) -> TokenStream {
    let name = tool.name;
    let written = display(&args);
    let func: ItemFn = match syn::parse2(item.clone()) {
        Ok(func) => func,
        Err(mut error) => {
            // syn's error where syn found it, then what the attribute needs.
            error.combine(syn::Error::new(
                Span::call_site(),
                format!("`#[{name}]` goes on an `async fn` with a body"),
            ));
            return with_error(item, error);
        }
    };
    let mut errors = Errors::new();
    let args = parse(args, &mut errors);
    let checked = AsyncFn::check(func.clone(), tool, &mut errors);
    let model = validate(args, checked, &mut errors);
    let expanded = match (errors.finish(), model) {
        (Ok(()), Some(model)) => expand(&model, &written),
        (Err(error), _) => with_error(quote!(#func), error),
        (Ok(()), None) => with_error(
            quote!(#func),
            syn::Error::new(
                Span::call_site(),
                "cache-macros bug: validation failed without an error",
            ),
        ),
    };
    if std::env::var_os("CACHE_MACROS_DEBUG").is_some() {
        eprintln!("#[{name}] expansion of `{}`:\n{expanded}", func.sig.ident);
    }
    expanded
}
