//! The decorated function: its parameters, attributes and return type, and the pieces of the
//! body rewrite every macro shares.

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned as _;
use syn::{
    AttrStyle, Attribute, Block, FnArg, GenericArgument, GenericParam, Ident, ItemFn, Pat, PatType,
    PathArguments, ReturnType, Signature, Type, TypePath,
};

use super::async_trait::{self, AsyncTraitBody};
use super::errors::Errors;
use super::pipeline::Macro;

/// The decorated function, checked to be an `async fn` the macro can wrap.
pub(crate) struct AsyncFn {
    pub(crate) func: ItemFn,
    /// Set when `#[async_trait]` already rewrote the method: the macro wraps its inner future.
    pub(crate) async_trait: Option<AsyncTraitBody>,
    /// What the future returns, or `None` for `()`.
    pub(crate) output: Option<Type>,
}

impl AsyncFn {
    /// Reports a function that is not `async` (nor rewritten by `#[async_trait]`): the
    /// generated code awaits the runtime. Reports a variadic one too: only foreign functions
    /// are, and syn parses them without a complaint the compiler would make later, far from
    /// the attribute.
    pub(crate) fn check(func: ItemFn, tool: &Macro, errors: &mut Errors) -> Self {
        let async_trait = async_trait::detect(&func);
        if func.sig.asyncness.is_none() && async_trait.is_none() {
            errors.at(
                func.sig.fn_token.span,
                format!(
                    "`#[{}]` needs an `async fn`: {} is consulted with `.await`",
                    tool.name, tool.consults
                ),
            );
        }
        if let Some(variadic) = &func.sig.variadic {
            errors.spanned(
                variadic,
                format!("`#[{}]` does not support variadic functions", tool.name),
            );
        }
        let output = async_trait
            .as_ref()
            .map_or_else(|| declared_output(&func), |body| Some(body.output.clone()));
        Self {
            func,
            async_trait,
            output,
        }
    }
}

/// A named parameter (not the receiver), as placeholders can name it.
pub(crate) struct Param<'a> {
    pub(crate) ident: &'a Ident,
}

/// The named parameters of `func`; patterns such as `(a, b): (u8, u8)` have no name and are
/// left out.
pub(crate) fn named_params(func: &ItemFn) -> Vec<Param<'_>> {
    func.sig
        .inputs
        .iter()
        .filter_map(|input| match input {
            FnArg::Typed(PatType { pat, .. }) => match &**pat {
                Pat::Ident(pat) if pat.subpat.is_none() => Some(Param { ident: &pat.ident }),
                _ => None,
            },
            FnArg::Receiver(_) => None,
        })
        .collect()
}

pub(crate) fn has_receiver(func: &ItemFn) -> bool {
    matches!(func.sig.inputs.first(), Some(FnArg::Receiver(_)))
}

/// Outer attributes (re-emitted on the function) and inner ones (`#![...]`, kept at the top
/// of the new body).
fn split_attrs(attrs: &[Attribute]) -> (Vec<&Attribute>, Vec<&Attribute>) {
    attrs
        .iter()
        .partition(|attr| matches!(attr.style, AttrStyle::Outer))
}

/// The declared return type, or `None` for `()`.
fn declared_output(func: &ItemFn) -> Option<Type> {
    match &func.sig.output {
        ReturnType::Default => None,
        ReturnType::Type(_, ty) => match &**ty {
            Type::Tuple(tuple) if tuple.elems.is_empty() => None,
            ty => Some(ty.clone()),
        },
    }
}

/// The function with attributes, visibility and signature as written, and its body replaced by
/// `body(original)`: the function's own, or for an `#[async_trait]` method that of the async
/// block it boxes, which keeps the parameters (and `self`) in scope.
pub(crate) fn with_body(
    func: &ItemFn,
    async_trait: Option<&AsyncTraitBody>,
    body: impl FnOnce(&Block) -> TokenStream,
) -> TokenStream {
    let (outer, inner) = split_attrs(&func.attrs);
    let vis = &func.vis;
    let sig = &func.sig;
    let body = match async_trait {
        None => body(&func.block),
        Some(async_trait) => {
            let stmts = body(&async_trait.future.block);
            let call = async_trait.with_block(syn::parse_quote!({ #stmts }));
            quote!(#call)
        }
    };
    quote! {
        #(#outer)*
        #vis #sig {
            #(#inner)*
            #body
        }
    }
}

/// `if false { let <fake>: <ret> = loop {}; return <fake>; }`: put first in the `async move`
/// block holding the original body, it pins the block's return type before the body is
/// checked, so `?` and early `return` infer as they did.
fn fake_return_edge(ret: &Type, fake: &Ident) -> TokenStream {
    quote_spanned! {ret.span()=>
        #[allow(
            unknown_lints,
            unreachable_code,
            clippy::diverging_sub_expression,
            clippy::empty_loop,
            clippy::let_unit_value,
            clippy::let_with_type_underscore,
            clippy::needless_return,
            clippy::unreachable
        )]
        if false {
            let #fake: #ret = loop {};
            return #fake;
        }
    }
}

/// `async move { <fake return edge> body }`: the original body, unchanged, in a block that
/// owns the parameters, so `self`, `?`, early `return`, generics and lifetimes keep working.
pub(crate) fn async_body(ret: &Type, fake: &Ident, block: &Block) -> TokenStream {
    let fake_return_edge = fake_return_edge(&erase_impl_trait(ret), fake);
    let stmts = &block.stmts;
    quote!(async move { #fake_return_edge #(#stmts)* })
}

/// `let <local>: &'static <ty> = { static <name>: <ty> = <init>; &<name> };`. Items are not
/// hygienic: a `static` in the body's own scope would clash with a parameter of the same name
/// ("let bindings cannot shadow statics"), so it sits in a block of its own, out of the
/// parameters' scope, and the body reaches it through a hygienic local. `name` is what the
/// compiler calls the static when evaluating it fails.
pub(crate) fn static_local(
    local: &Ident,
    name: &str,
    ty: &TokenStream,
    init: &TokenStream,
) -> TokenStream {
    let name = Ident::new(name, Span::mixed_site());
    quote! {
        let #local: &'static #ty = {
            static #name: #ty = #init;
            &#name
        };
    }
}

/// Tokens as a user would write them, for messages: `Result<u64, MyError>`.
pub(crate) fn display(tokens: &impl ToTokens) -> String {
    tokens
        .to_token_stream()
        .to_string()
        .replace(" < ", "<")
        .replace(" >", ">")
        .replace("< ", "<")
        .replace(" ,", ",")
        .replace(" :: ", "::")
}

/// `ty` with every `impl Trait` replaced by `_`, for a `let` annotation in the fake return
/// edge (`impl Trait` is not allowed there).
fn erase_impl_trait(ty: &Type) -> Type {
    struct Eraser;
    impl syn::visit_mut::VisitMut for Eraser {
        fn visit_type_mut(&mut self, ty: &mut Type) {
            if let Type::ImplTrait(impl_trait) = ty {
                *ty = Type::Infer(syn::TypeInfer {
                    underscore_token: syn::Token![_](impl_trait.impl_token.span),
                });
            } else {
                syn::visit_mut::visit_type_mut(self, ty);
            }
        }
    }
    let mut ty = ty.clone();
    syn::visit_mut::VisitMut::visit_type_mut(&mut Eraser, &mut ty);
    ty
}

/// The first `impl Trait` in `ty`, if any.
pub(crate) fn find_impl_trait(ty: &Type) -> Option<&Type> {
    match ty {
        Type::ImplTrait(_) => Some(ty),
        Type::Path(TypePath { path, .. }) => {
            path.segments
                .iter()
                .find_map(|segment| match &segment.arguments {
                    PathArguments::AngleBracketed(generics) => {
                        generics.args.iter().find_map(|arg| match arg {
                            GenericArgument::Type(inner) => find_impl_trait(inner),
                            _ => None,
                        })
                    }
                    _ => None,
                })
        }
        Type::Tuple(tuple) => tuple.elems.iter().find_map(find_impl_trait),
        Type::Array(array) => find_impl_trait(&array.elem),
        Type::Slice(slice) => find_impl_trait(&slice.elem),
        Type::Reference(reference) => find_impl_trait(&reference.elem),
        Type::Paren(paren) => find_impl_trait(&paren.elem),
        Type::Group(group) => find_impl_trait(&group.elem),
        _ => None,
    }
}

/// Whether a parameter is `impl Trait` (or holds one): the function's generics cannot then be
/// given explicitly.
pub(crate) fn has_impl_trait_param(sig: &Signature) -> bool {
    sig.inputs.iter().any(|input| match input {
        FnArg::Typed(PatType { ty, .. }) => find_impl_trait(ty).is_some(),
        FnArg::Receiver(_) => false,
    })
}

/// Whether the function's arguments and result can outlive the call: no receiver, no generic
/// type or lifetime parameter, no `impl Trait`, no `Self`, and no reference or lifetime other
/// than `'static` in any type. Decided here, from the syntax, because the compiler's trait
/// selection cannot tell lifetimes apart (an autoref probe would accept `&str`, then fail to
/// borrow-check).
pub(crate) fn owns_everything(sig: &Signature) -> bool {
    fn borrows(tokens: TokenStream) -> bool {
        let mut tokens = tokens.into_iter().peekable();
        while let Some(token) = tokens.next() {
            let borrowed = match token {
                TokenTree::Punct(punct) if punct.as_char() == '&' => true,
                TokenTree::Punct(punct) if punct.as_char() == '\'' => {
                    !matches!(tokens.peek(), Some(TokenTree::Ident(name)) if name == "static")
                }
                TokenTree::Ident(ident) => ident == "Self" || ident == "impl",
                TokenTree::Group(group) => borrows(group.stream()),
                _ => false,
            };
            if borrowed {
                return true;
            }
        }
        false
    }
    let generic = sig
        .generics
        .params
        .iter()
        .any(|param| !matches!(param, GenericParam::Const(_)));
    let inputs = sig.inputs.iter().any(|input| match input {
        FnArg::Receiver(_) => true,
        FnArg::Typed(PatType { ty, .. }) => borrows(ty.to_token_stream()),
    });
    let output = match &sig.output {
        ReturnType::Default => false,
        ReturnType::Type(_, ty) => borrows(ty.to_token_stream()),
    };
    !(generic || inputs || output)
}

/// Whether `Self` appears in the signature: the function is then an associated one.
pub(crate) fn names_self_type(sig: &Signature) -> bool {
    fn walk(tokens: TokenStream) -> bool {
        tokens.into_iter().any(|token| match token {
            TokenTree::Ident(ident) => ident == "Self",
            TokenTree::Group(group) => walk(group.stream()),
            TokenTree::Punct(_) | TokenTree::Literal(_) => false,
        })
    }
    walk(sig.to_token_stream())
}
