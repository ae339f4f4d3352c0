//! `#[rate_limited]`: parse the options (`args`), check them against each other and the
//! function (`validate`), generate code (`expand`). When anything is wrong, the function is
//! emitted unchanged next to the errors, so editors keep working and no knock-on errors appear.

mod args;
mod expand;
mod validate;

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::ItemFn;

use crate::common::errors::{Errors, with_error};

pub(crate) fn rate_limited(args: TokenStream, item: TokenStream) -> TokenStream {
    let func: ItemFn = match syn::parse2(item.clone()) {
        Ok(func) => func,
        Err(error) => {
            let error = syn::Error::new(
                Span::call_site(),
                format!("`#[rate_limited]` goes on an `async fn` with a body ({error})"),
            );
            return with_error(item, error);
        }
    };
    let mut errors = Errors::new();
    let args = args::Args::parse(args, &mut errors);
    let model = validate::validate(args, func.clone(), &mut errors);
    let expanded = match (errors.finish(), model) {
        (Ok(()), Some(model)) => expand::expand(&model),
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
        eprintln!(
            "#[rate_limited] expansion of `{}`:\n{expanded}",
            func.sig.ident
        );
    }
    expanded
}
