//! Checking the options against each other and against the function they decorate, producing
//! the [`RateLimited`] model that `expand` turns into code. Every problem is recorded; nothing
//! here emits tokens.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Expr, GenericArgument, ItemFn, Path, PathArguments, Type, TypePath};

use super::args::{Algorithm, Args, Count, Fail};
use crate::common::async_trait::{self, AsyncTraitBody};
use crate::common::crate_path;
use crate::common::duration::DurationValue;
use crate::common::errors::Errors;
use crate::common::item_fn::{declared_output, display};
use crate::common::key::{KeyPiece, default_key, template_key};

/// The longest window, as `cache_core::rate_limit::MAX_SPAN`: 2^48 µs.
const MAX_SPAN_US: u128 = 1 << 48;

/// The largest sliding-log limit, as `cache_core::rate_limit::MAX_SLIDING_LOG_LIMIT`.
const MAX_SLIDING_LOG_LIMIT: u32 = 100_000;

/// Everything `expand` needs, checked.
pub(crate) struct RateLimited {
    pub(crate) krate: Path,
    pub(crate) func: ItemFn,
    pub(crate) key: Vec<KeyPiece>,
    /// `RateLimitPolicy::gcra(limit, window).burst(b)`.
    pub(crate) policy: TokenStream,
    /// A `u32` expression.
    pub(crate) cost: TokenStream,
    /// Where a `cost` the policy can never admit is reported: the `cost` option, or the
    /// attribute.
    pub(crate) cost_span: Span,
    /// A `Duration` expression.
    pub(crate) wait: Option<TokenStream>,
    pub(crate) fail: Fail,
    pub(crate) backend: Option<Expr>,
    /// A `Duration` expression.
    pub(crate) timeout: Option<TokenStream>,
    /// The function's return type (`Result<T, E>`).
    pub(crate) ret: Type,
    /// `E` where the return type names it, or the return type: a missing `From<RateLimited>`
    /// is reported there.
    pub(crate) error_span: Span,
    /// The function was already rewritten by `#[async_trait]`: limit its inner future.
    pub(crate) async_trait: Option<AsyncTraitBody>,
}

/// Checks `args` against each other and against `func`.
pub(crate) fn validate(args: Args, func: ItemFn, errors: &mut Errors) -> Option<RateLimited> {
    let krate = args.crate_path();
    let async_trait = async_trait::detect(&func);
    if func.sig.asyncness.is_none() && async_trait.is_none() {
        errors.at(
            func.sig.fn_token.span,
            "`#[rate_limited]` needs an `async fn`: the limiter is consulted with `.await`",
        );
    }
    if let Some(variadic) = &func.sig.variadic {
        errors.spanned(
            variadic,
            "`#[rate_limited]` does not support variadic functions",
        );
    }
    let output = async_trait
        .as_ref()
        .map_or_else(|| declared_output(&func), |body| Some(body.output.clone()));
    let shape = return_shape(&func, output, errors);
    let policy = policy(&args, &krate, errors);
    let cost = cost(&args, errors);
    let cost_span = args
        .cost
        .as_ref()
        .map_or_else(Span::call_site, |cost| cost.value.span());
    let key = match &args.key {
        Some(template) => template_key(&template.value, &func, errors),
        None => default_key(&func, errors),
    };
    let (ret, error) = shape?;
    let error_span = error.as_ref().map_or_else(|| ret.span(), Spanned::span);
    let model = RateLimited {
        key,
        policy: policy?,
        cost,
        cost_span,
        wait: args.wait.as_ref().map(|wait| wait.value.to_tokens(&krate)),
        fail: args.fail.as_ref().map_or(Fail::Open, |fail| fail.value),
        backend: args.backend.map(|backend| backend.value),
        timeout: args
            .timeout
            .as_ref()
            .map(|timeout| timeout.value.to_tokens(&krate)),
        ret,
        error_span,
        async_trait,
        func,
        krate,
    };
    errors.is_empty().then_some(model)
}

/// The return type and, where it is written out, its error type: `…::Result<T, E>` gives
/// `E`; a one-argument alias such as `anyhow::Result<T>` gives none (the check is then on
/// the whole type).
fn return_shape(
    func: &ItemFn,
    output: Option<Type>,
    errors: &mut Errors,
) -> Option<(Type, Option<Type>)> {
    const NEEDS: &str =
        "`#[rate_limited]` needs a function returning `Result<T, E>` where `E: From<RateLimited>`";
    let Some(ret) = output else {
        errors.at(
            func.sig.ident.span(),
            format!("{NEEDS}; this function returns `()`"),
        );
        return None;
    };
    let Some(arguments) = result_arguments(&ret) else {
        errors.spanned(
            &ret,
            format!("{NEEDS}; this one returns `{}`", display(&ret)),
        );
        return None;
    };
    let error = arguments.get(1).cloned();
    Some((ret, error))
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

/// `RateLimitPolicy::<algorithm>(limit, window)` plus `.burst(b)`, after checking what the
/// macro can: required options, `burst` only with GCRA, the limits of each algorithm. What
/// constants hide is checked when the `static` limiter is evaluated.
fn policy(args: &Args, krate: &Path, errors: &mut Errors) -> Option<TokenStream> {
    let missing = |name: &str, example: &str, errors: &mut Errors| {
        let message = format!("missing option `{name}`: write e.g. `{name} = {example}`");
        match &args.span {
            Some(tokens) => errors.spanned(tokens, message),
            None => errors.at(Span::call_site(), message),
        }
    };
    let algorithm = args
        .algorithm
        .as_ref()
        .map_or(Algorithm::Gcra, |algorithm| algorithm.value);
    if args.missing("limit") {
        missing("limit", "10", errors);
    }
    if args.missing("window") {
        missing("window", "60", errors);
    }
    if let Some(burst) = &args.burst
        && algorithm != Algorithm::Gcra
    {
        errors.at(
            burst.span(),
            format!(
                "`burst` applies only to `algorithm = gcra`; `{}` admits at most `limit` per window",
                algorithm.constructor()
            ),
        );
    }
    if let (Some(limit), Algorithm::SlidingLog) = (&args.limit, algorithm)
        && let Count::Literal { value, span } = limit.value
        && value > MAX_SLIDING_LOG_LIMIT
    {
        errors.at(
            span,
            format!(
                "a sliding log keeps one entry per admitted call, so its `limit` must be at most {MAX_SLIDING_LOG_LIMIT}; use `algorithm = gcra` for larger limits"
            ),
        );
    }
    if let Some(window) = &args.window
        && let DurationValue::Literal { secs, nanos } = window.value
        && u128::from(secs) * 1_000_000 + u128::from(nanos / 1_000) > MAX_SPAN_US
    {
        errors.at(
            window.span(),
            "`window` must be at most 2^48 µs (about 8.9 years)",
        );
    }
    let limit = &args.limit.as_ref()?.value;
    let limit_tokens = count_tokens(limit);
    let algorithm_variant = syn::Ident::new(algorithm.variant(), Span::call_site());
    let checked_limit = checked(
        krate,
        "checked_limit",
        quote!(#limit_tokens, #krate::__private::Algorithm::#algorithm_variant),
        limit.span(),
    );
    let window = args.window.as_ref()?;
    let window_span = match &window.value {
        DurationValue::Expr(expr) => expr.span(),
        DurationValue::Literal { .. } => window.span(),
    };
    let checked_window = checked(
        krate,
        "checked_window",
        window.value.to_tokens(krate),
        window_span,
    );
    let constructor = syn::Ident::new(algorithm.constructor(), Span::call_site());
    let burst = args.burst.as_ref().map(|burst| {
        let value = count_tokens(&burst.value);
        let checked_burst = checked(krate, "checked_burst", value, burst.value.span());
        quote!(.burst(#checked_burst))
    });
    Some(quote! {
        #krate::__private::RateLimitPolicy::#constructor(
            #checked_limit,
            #checked_window,
        ) #burst
    })
}

/// The cost, checked against the policy's capacity where both are literals.
fn cost(args: &Args, errors: &mut Errors) -> TokenStream {
    let Some(cost) = &args.cost else {
        return quote!(1_u32);
    };
    let algorithm = args
        .algorithm
        .as_ref()
        .map_or(Algorithm::Gcra, |algorithm| algorithm.value);
    let capacity = match (&args.burst, algorithm) {
        (Some(burst), Algorithm::Gcra) => burst
            .value
            .literal()
            .map(|burst| (burst, format!("`burst = {burst}`"))),
        _ => args
            .limit
            .as_ref()
            .and_then(|limit| limit.value.literal())
            .map(|limit| (limit, format!("`limit = {limit}`"))),
    };
    if let (Some(value), Some((capacity, because))) = (cost.value.literal(), capacity)
        && value > capacity
    {
        errors.at(
            cost.span(),
            format!(
                "`cost = {value}` can never be admitted: the policy admits at most {capacity} at once ({because})"
            ),
        );
    }
    count_tokens(&cost.value)
}

/// `krate::__private::name(args)`, a compile-time check, with the call's own tokens at `span`
/// (resolved at the call site): the compiler reports a failed check there.
fn checked(krate: &Path, name: &str, args: TokenStream, span: Span) -> TokenStream {
    let name = syn::Ident::new(name, Span::call_site());
    let function = crate_path::respan_tokens(quote!(#krate::__private::#name), span);
    quote_spanned!(span=> #function(#args))
}

fn count_tokens(count: &Count) -> TokenStream {
    match count {
        Count::Literal { value, span } => quote_spanned!(*span=> #value),
        Count::Expr(expr) => quote_spanned!(expr.span()=> #expr),
    }
}
