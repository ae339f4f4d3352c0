//! Resolving a key template (or the default key) against the function it decorates, and
//! generating the code that builds the key into a `KeyBuf`, borrowing every value.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::{FnArg, Ident, ItemFn, Pat, PatType, Path};

use super::errors::{Errors, one_of, suggest};
use super::item_fn::{Param, has_receiver, named_params};
use super::key_template::{KeyTemplate, Placeholder, Segment};

/// One step of building the key.
pub(crate) enum KeyPiece {
    /// Text appended as it is.
    Literal(TokenStream),
    /// A value appended in its escaped key form. `span` is where a missing `KeyPart` bound is
    /// reported: the parameter's type, or the template for a field path.
    Value { expr: TokenStream, span: Span },
}

/// The pieces of a `key = "..."` template, each placeholder resolved against the parameters.
pub(crate) fn template_key(
    template: &KeyTemplate,
    func: &ItemFn,
    errors: &mut Errors,
) -> Vec<KeyPiece> {
    let params = named_params(func);
    let mut pieces = Vec::new();
    for segment in &template.segments {
        match segment {
            Segment::Literal(text) => pieces.push(KeyPiece::Literal(quote!(#text))),
            Segment::Placeholder(placeholder) => {
                if let Some(piece) = resolve(placeholder, template, func, &params, errors) {
                    pieces.push(piece);
                }
            }
        }
    }
    pieces
}

fn resolve(
    placeholder: &Placeholder,
    template: &KeyTemplate,
    func: &ItemFn,
    params: &[Param<'_>],
    errors: &mut Errors,
) -> Option<KeyPiece> {
    // At the template, but resolved as generated code: rustc then reports e.g. an unknown
    // field at the template without suggesting to rewrite the whole literal.
    let span = Span::call_site().located_at(template.lit.span());
    let fields = placeholder
        .fields
        .iter()
        .map(|field| match field.parse::<u32>() {
            Ok(index) => syn::Member::Unnamed(syn::Index { index, span }),
            Err(_) => syn::Member::Named(Ident::new(field, span)),
        });
    if placeholder.root == "self" {
        if !has_receiver(func) {
            errors.at(
                span,
                format!(
                    "placeholder `{}` needs a method with a `self` receiver; this function has none",
                    placeholder.display()
                ),
            );
            return None;
        }
        let this = syn::Token![self](span);
        return Some(KeyPiece::Value {
            expr: quote!(#this #(.#fields)*),
            span,
        });
    }
    let Some(param) = params
        .iter()
        .find(|param| param.ident == placeholder.root.as_str())
    else {
        let names: Vec<String> = params.iter().map(|param| param.ident.to_string()).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let mut message = format!(
            "unknown placeholder `{}` in key template",
            placeholder.display()
        );
        if let Some(suggestion) = suggest(&placeholder.root, &names) {
            message.push_str(&format!("; did you mean `<{suggestion}>`?"));
        } else if names.is_empty() {
            message.push_str("; this function has no named parameters");
        } else {
            message.push_str(&format!("; the parameters are {}", one_of(&names)));
        }
        errors.at(span, message);
        return None;
    };
    if placeholder.fields.is_empty() {
        // A missing `KeyPart` is reported at the parameter's name in the signature.
        let ident = param.ident;
        Some(KeyPiece::Value {
            expr: quote!(#ident),
            span: ident.span(),
        })
    } else {
        let mut ident = param.ident.clone();
        ident.set_span(span);
        Some(KeyPiece::Value {
            expr: quote!(#ident #(.#fields)*),
            span,
        })
    }
}

/// `module::path::fn_name` then `:` and the key form of each argument; the receiver is left
/// out (instances do not have a key form; use `<self.field>` in a template).
pub(crate) fn default_key(func: &ItemFn, errors: &mut Errors) -> Vec<KeyPiece> {
    let name = func.sig.ident.to_string();
    let mut pieces = vec![KeyPiece::Literal(quote!(
        ::core::concat!(::core::module_path!(), "::", #name)
    ))];
    for input in &func.sig.inputs {
        let FnArg::Typed(PatType { pat, .. }) = input else {
            continue;
        };
        match &**pat {
            Pat::Ident(pat) if pat.subpat.is_none() => {
                let ident = &pat.ident;
                pieces.push(KeyPiece::Literal(quote!(":")));
                pieces.push(KeyPiece::Value {
                    expr: quote!(#ident),
                    span: ident.span(),
                });
            }
            other => errors.spanned(
                other,
                "this parameter has no name to put in the default key; bind it to a name, or give the key with `key = \"...\"`",
            ),
        }
    }
    pieces
}

/// `let mut <key> = KeyBuf::new();` and one push per piece. Values are borrowed, so the body
/// can still take them by value afterwards.
pub(crate) fn build(krate: &Path, key: &Ident, pieces: &[KeyPiece]) -> TokenStream {
    let pushes = pieces.iter().map(|piece| match piece {
        KeyPiece::Literal(text) => quote!(#key.push_literal(#text);),
        KeyPiece::Value { expr, span } => {
            // Spanned so that a value without `KeyPart` is reported at the parameter.
            quote_spanned!(*span=> #krate::__private::KeyBuf::push_part(&mut #key, &#expr);)
        }
    });
    quote! {
        let mut #key = #krate::__private::KeyBuf::new();
        #(#pushes)*
    }
}
