//! Resolving a key template (or the default key) against the function it decorates, and
//! generating the code that builds the key into a `KeyBuf`, borrowing every value.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::{FnArg, Ident, ItemFn, Member, Pat, PatType, Path};

use super::errors::{Errors, one_of, suggest};
use super::item_fn::{Param, has_receiver, named_params};
use super::key_template::{KeyTemplate, Placeholder, Segment};

/// One step of building the key, as checked against the function; [`build`] turns the pieces
/// into code.
pub(crate) enum KeyPiece {
    /// Text appended as it is.
    Literal(String),
    /// `module::path::fn_name`, where the function is: the default key's prefix.
    FunctionPath(String),
    /// `root.field.field` appended in its escaped key form; `root` is a parameter or `self`.
    /// `span` is where a missing `KeyPart` bound is reported: the parameter's name, or the
    /// template for a field path.
    Value {
        root: Ident,
        fields: Vec<Member>,
        span: Span,
    },
}

/// The pieces of the key: the `key = "..."` template's, or the default key's.
pub(crate) fn pieces(
    template: Option<&KeyTemplate>,
    func: &ItemFn,
    errors: &mut Errors,
) -> Vec<KeyPiece> {
    match template {
        Some(template) => template_key(template, func, errors),
        None => default_key(func, errors),
    }
}

/// The pieces of a `key = "..."` template, each placeholder resolved against the parameters.
fn template_key(template: &KeyTemplate, func: &ItemFn, errors: &mut Errors) -> Vec<KeyPiece> {
    let params = named_params(func);
    let mut pieces = Vec::new();
    for segment in &template.segments {
        match segment {
            Segment::Literal(text) => pieces.push(KeyPiece::Literal(text.clone())),
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
    let fields: Vec<Member> = placeholder
        .fields
        .iter()
        .map(|field| match field.parse::<u32>() {
            Ok(index) => Member::Unnamed(syn::Index { index, span }),
            Err(_) => Member::Named(Ident::new(field, span)),
        })
        .collect();
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
        return Some(KeyPiece::Value {
            root: Ident::new("self", span),
            fields,
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
    if fields.is_empty() {
        // A missing `KeyPart` is reported at the parameter's name in the signature.
        Some(KeyPiece::Value {
            root: param.ident.clone(),
            fields,
            span: param.ident.span(),
        })
    } else {
        let mut root = param.ident.clone();
        root.set_span(span);
        Some(KeyPiece::Value { root, fields, span })
    }
}

/// `module::path::fn_name` then `:` and the key form of each argument; the receiver is left
/// out (instances do not have a key form; use `<self.field>` in a template).
fn default_key(func: &ItemFn, errors: &mut Errors) -> Vec<KeyPiece> {
    let mut pieces = vec![KeyPiece::FunctionPath(func.sig.ident.to_string())];
    for input in &func.sig.inputs {
        let FnArg::Typed(PatType { pat, .. }) = input else {
            continue;
        };
        match &**pat {
            Pat::Ident(pat) if pat.subpat.is_none() => {
                pieces.push(KeyPiece::Literal(":".to_owned()));
                pieces.push(KeyPiece::Value {
                    root: pat.ident.clone(),
                    fields: Vec::new(),
                    span: pat.ident.span(),
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

/// The glob pattern every key of the function matches: each literal escaped, each value a `*`
/// (a value's key form never holds a glob character unescaped). A `&'static str` expression.
pub(crate) fn pattern(pieces: &[KeyPiece]) -> TokenStream {
    let parts = pieces.iter().map(|piece| match piece {
        KeyPiece::Literal(text) => {
            let escaped: String = text
                .chars()
                .flat_map(|c| {
                    let special = matches!(c, '*' | '?' | '[' | ']' | '\\');
                    special.then_some('\\').into_iter().chain([c])
                })
                .collect();
            quote!(#escaped)
        }
        // Paths and identifiers hold no glob character.
        KeyPiece::FunctionPath(name) => quote!(::core::module_path!(), "::", #name),
        KeyPiece::Value { .. } => quote!("*"),
    });
    quote!(::core::concat!(#(#parts),*))
}

/// The template as a user writes it, for listings: literals with `<` doubled, each value as
/// its placeholder (`<id>`, `<self.tenant>`), the default key's path as `module::fn`. A
/// `&'static str` expression.
pub(crate) fn template(pieces: &[KeyPiece]) -> TokenStream {
    let parts = pieces.iter().map(|piece| match piece {
        KeyPiece::Literal(text) => {
            let text = text.replace('<', "<<");
            quote!(#text)
        }
        KeyPiece::FunctionPath(name) => quote!(::core::module_path!(), "::", #name),
        KeyPiece::Value { root, fields, .. } => {
            let mut placeholder = format!("<{root}");
            for field in fields {
                match field {
                    Member::Named(name) => placeholder.push_str(&format!(".{name}")),
                    Member::Unnamed(index) => placeholder.push_str(&format!(".{}", index.index)),
                }
            }
            placeholder.push('>');
            quote!(#placeholder)
        }
    });
    quote!(::core::concat!(#(#parts),*))
}

/// `let mut <key> = KeyBuf::new();` and one push per piece. Values are borrowed, so the body
/// can still take them by value afterwards.
pub(crate) fn build(krate: &Path, key: &Ident, pieces: &[KeyPiece]) -> TokenStream {
    let pushes = pushes(krate, key, pieces);
    quote! {
        let mut #key = #krate::__private::KeyBuf::new();
        #pushes
    }
}

/// One push onto the `KeyBuf` named `key` per piece.
pub(crate) fn pushes(krate: &Path, key: &Ident, pieces: &[KeyPiece]) -> TokenStream {
    let pushes = pieces.iter().map(|piece| match piece {
        KeyPiece::Literal(text) => quote!(#key.push_literal(#text);),
        KeyPiece::FunctionPath(name) => quote! {
            #key.push_literal(::core::concat!(::core::module_path!(), "::", #name));
        },
        KeyPiece::Value { root, fields, span } => {
            let value = quote!(#root #(.#fields)*);
            // Spanned so that a value without `KeyPart` is reported at the parameter.
            quote_spanned!(*span=> #krate::__private::KeyBuf::push_part(&mut #key, &#value);)
        }
    });
    quote!(#(#pushes)*)
}
