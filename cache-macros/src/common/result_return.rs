//! Functions whose refusals come back through their own error type, as `#[rate_limited]`'s
//! and `#[locked]`'s do: recognising a `Result<T, E>` return, and converting the refusal into
//! `E` with the compiler's complaint about a missing `From` placed at `E`.

use proc_macro2::{Span, TokenStream};
use quote::quote_spanned;
use syn::spanned::Spanned;
use syn::{GenericArgument, Ident, ItemFn, PathArguments, Type, TypePath};

use super::crate_path;
use super::errors::Errors;
use super::item_fn::display;

/// A `Result<T, E>` return type, checked.
pub(crate) struct ResultReturn {
    /// The function's return type as written.
    pub(crate) ret: Type,
    /// `E` where the return type names it, or the whole return type (a one-argument alias such
    /// as `anyhow::Result<T>`): a missing `From` is reported there.
    pub(crate) error_span: Span,
}

/// Checks that `output` is `…::Result<…>`; `needs` opens the message when it is not, e.g.
/// "`#[locked]` needs a function returning `Result<T, E>` where `E: From<LockBusy>`".
pub(crate) fn check(
    func: &ItemFn,
    output: Option<Type>,
    needs: &str,
    errors: &mut Errors,
) -> Option<ResultReturn> {
    let Some(ret) = output else {
        errors.at(
            func.sig.ident.span(),
            format!("{needs}; this function returns `()`"),
        );
        return None;
    };
    let Some(arguments) = result_arguments(&ret) else {
        errors.spanned(
            &ret,
            format!("{needs}; this one returns `{}`", display(&ret)),
        );
        return None;
    };
    let error_span = arguments.get(1).map_or_else(|| ret.span(), Spanned::span);
    Some(ResultReturn { ret, error_span })
}

/// The type arguments of `…::Result<…>`, if `ty` is one.
fn result_arguments(ty: &Type) -> Option<Vec<Type>> {
    let Type::Path(TypePath { qself: None, path }) = ty else {
        return None;
    };
    let last = path.segments.last()?;
    if last.ident != "Result" {
        return None;
    }
    let PathArguments::AngleBracketed(generics) = &last.arguments else {
        return None;
    };
    let types: Vec<Type> = generics
        .args
        .iter()
        .filter_map(|arg| match arg {
            GenericArgument::Type(ty) => Some(ty.clone()),
            _ => None,
        })
        .collect();
    (!types.is_empty()).then_some(types)
}

/// `convert(refusal)`, a call of the runtime's conversion into `E` (bounded by its `From`),
/// with every token at `E`: that is where the compiler reports a missing `From`. The local
/// `refusal` keeps its hygiene.
pub(crate) fn convert_error(
    convert: TokenStream,
    refusal: &Ident,
    error_span: Span,
) -> TokenStream {
    let at_error = Span::call_site().located_at(error_span);
    let convert = crate_path::respan_tokens(convert, at_error);
    let refusal = Ident::new(
        &refusal.to_string(),
        Span::mixed_site().located_at(error_span),
    );
    quote_spanned!(at_error=> #convert(#refusal))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_are_recognised_by_their_last_segment() {
        let arguments = |ty: Type| result_arguments(&ty).map(|types| types.len());
        assert_eq!(arguments(syn::parse_quote!(Result<u8, E>)), Some(2));
        assert_eq!(
            arguments(syn::parse_quote!(std::result::Result<u8, E>)),
            Some(2)
        );
        assert_eq!(arguments(syn::parse_quote!(anyhow::Result<u8>)), Some(1));
        assert_eq!(arguments(syn::parse_quote!(Option<u8>)), None);
        assert_eq!(arguments(syn::parse_quote!(Result)), None);
    }
}
