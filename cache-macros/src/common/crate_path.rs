//! The path generated code reaches the runtime through: `::cache_core` unless the user
//! renamed the dependency with `crate = "path"`.

use proc_macro2::{Group, Span, TokenStream, TokenTree};
use quote::{quote, quote_spanned};
use syn::{Expr, ExprLit, ExprPath, Ident, Lit, Path};

use super::errors::Errors;

/// `::cache_core`, spanned at the call site so it resolves in the user's crate.
pub(crate) fn default_path() -> Path {
    syn::parse_quote!(::cache_core)
}

/// Reads `crate = "path"` (or `crate = path`).
pub(crate) fn parse(value: &Expr, errors: &mut Errors) -> Option<Path> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => match lit.parse_with(Path::parse_mod_style) {
            // Located at the literal for errors, but resolved (and linted) as generated code.
            Ok(path) => Some(respan(&path, Span::call_site().located_at(lit.span()))),
            Err(_) => {
                errors.spanned(
                    lit,
                    format!(
                        "`{}` is not a path, e.g. `crate = \"my_cache\"`",
                        lit.value()
                    ),
                );
                None
            }
        },
        Expr::Path(ExprPath {
            path, qself: None, ..
        }) => Some(path.clone()),
        other => {
            errors.spanned(
                other,
                "expected a path for `crate`, e.g. `crate = \"my_cache\"`",
            );
            None
        }
    }
}

fn respan(path: &Path, span: Span) -> Path {
    let tokens = quote!(#path);
    let respanned: proc_macro2::TokenStream = tokens
        .into_iter()
        .map(|mut token| {
            token.set_span(span);
            token
        })
        .collect();
    syn::parse2(respanned).unwrap_or_else(|_| path.clone())
}

/// `tokens` with every token (groups included) at `span`, e.g. the path of a call into the
/// runtime spanned at the user's tokens, so that the compiler reports a failed check in it
/// there. Give `span` the call site's resolution (`Span::call_site().located_at(..)`).
pub(crate) fn respan_tokens(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|token| match token {
            TokenTree::Group(group) => {
                let mut respanned =
                    Group::new(group.delimiter(), respan_tokens(group.stream(), span));
                respanned.set_span(span);
                TokenTree::Group(respanned)
            }
            mut other => {
                other.set_span(span);
                other
            }
        })
        .collect()
}

/// `krate::__private::name(args)`, a compile-time check, with the call's own tokens at `span`
/// (resolved at the call site): the compiler reports a failed check there.
pub(crate) fn checked_call(krate: &Path, name: &str, args: TokenStream, span: Span) -> TokenStream {
    let name = Ident::new(name, Span::call_site());
    let function = respan_tokens(quote!(#krate::__private::#name), span);
    quote_spanned!(span=> #function(#args))
}
