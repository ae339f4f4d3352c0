//! Checking the options against the function they decorate, producing the [`Cached`] model
//! that `expand` turns into code. Every problem is recorded; nothing here emits tokens.

use syn::{Expr, GenericArgument, PathArguments, Type, TypePath};

use super::args::Args;
use crate::common::duration::DurationValue;
use crate::common::errors::Errors;
use crate::common::item_fn::{AsyncFn, display, find_impl_trait};
use crate::common::key::{self, KeyPiece};
use crate::common::options::Target;

/// Everything `expand` needs, checked.
pub(crate) struct Cached {
    /// The function, the key, `backend`, `timeout` and `crate`.
    pub(crate) target: Target,
    pub(crate) ttl: Option<DurationValue>,
    pub(crate) shape: ReturnShape,
    pub(crate) unless: Option<Expr>,
    pub(crate) companions: bool,
    /// Whether a miss claims the key on a backend with locks (`lock = false` turns it off).
    pub(crate) lock: bool,
    pub(crate) lock_lease: Option<DurationValue>,
    pub(crate) lock_wait: Option<DurationValue>,
    pub(crate) jitter: Option<f64>,
    /// Serving past the `ttl`: `stale`, `refresh_ahead`, `fail_safe`, ... (all `None`: plain).
    pub(crate) grace: Option<Grace>,
    /// The most a call waits for the body; the body then returns a timeout `Err`.
    pub(crate) hard_timeout: Option<DurationValue>,
    /// Each tag's pieces, resolved against the parameters like the key's (empty: no tags).
    pub(crate) tags: Vec<Vec<KeyPiece>>,
}

/// The options that serve past the `ttl`.
pub(crate) struct Grace {
    pub(crate) stale: Option<DurationValue>,
    pub(crate) refresh_ahead: Option<f64>,
    pub(crate) fail_safe: Option<DurationValue>,
    pub(crate) fail_safe_throttle: Option<DurationValue>,
    pub(crate) soft_timeout: Option<DurationValue>,
}

/// What part of the return value is cached.
pub(crate) struct ReturnShape {
    pub(crate) kind: ShapeKind,
    /// The function's return type (`R`).
    pub(crate) ret: Type,
    /// The type that is cached (`S`), for the spanned `Cacheable` check.
    pub(crate) cached: Type,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum ShapeKind {
    /// The whole value (plain types; `Result` with `cache_err`; `Option` with `cache_none`).
    Whole,
    /// `Ok`'s value.
    Ok,
    /// `Some`'s value.
    Some,
}

/// Checks `args` against `func`.
pub(crate) fn validate(args: Args, func: AsyncFn, errors: &mut Errors) -> Option<Cached> {
    let AsyncFn {
        func,
        async_trait,
        output,
    } = func;
    let shape = match output {
        Some(ret) => return_shape(&args, ret, errors),
        None => {
            errors.at(
                func.sig.ident.span(),
                "`#[cached]` needs a return value to cache; this function returns `()`",
            );
            None
        }
    };
    check_exclusive_flags(&args, errors);
    if let (Some(jitter), None) = (&args.jitter, &args.ttl) {
        errors.at(
            jitter.span(),
            "`jitter` spreads the `ttl`, and this function has none: add e.g. `ttl = 300`",
        );
    }
    check_grace(&args, errors);
    if let Some(shape) = &shape {
        check_hard_timeout(&args, shape, errors);
    }
    let tags = args.tags.as_ref().map_or_else(Vec::new, |tags| {
        tags.value
            .iter()
            .map(|tag| key::pieces(Some(tag), &func, errors))
            .collect()
    });
    let Args {
        shared,
        ttl,
        unless,
        companions,
        lock,
        lock_lease,
        lock_wait,
        jitter,
        stale,
        refresh_ahead,
        fail_safe,
        fail_safe_throttle,
        soft_timeout,
        hard_timeout,
        ..
    } = args;
    let value = |opt: Option<crate::common::attr::Opt<DurationValue>>| opt.map(|opt| opt.value);
    let grace = Grace {
        stale: value(stale),
        refresh_ahead: refresh_ahead.map(|fraction| fraction.value),
        fail_safe: value(fail_safe),
        fail_safe_throttle: value(fail_safe_throttle),
        soft_timeout: value(soft_timeout),
    };
    let graceful =
        grace.stale.is_some() || grace.refresh_ahead.is_some() || grace.fail_safe.is_some();
    let companions = companions.is_none_or(|opt| opt.value) && async_trait.is_none();
    let cached = Cached {
        target: shared.check(func, async_trait, errors),
        ttl: ttl.map(|ttl| ttl.value),
        shape: shape?,
        unless: unless.map(|unless| unless.value),
        companions,
        lock: lock.is_none_or(|opt| opt.value),
        lock_lease: lock_lease.map(|lease| lease.value),
        lock_wait: lock_wait.map(|wait| wait.value),
        jitter: jitter.map(|jitter| jitter.value),
        grace: graceful.then_some(grace),
        hard_timeout: value(hard_timeout),
        tags,
    };
    errors.is_empty().then_some(cached)
}

/// Plain `T`, `Result<T, E>` or `Option<T>`, recognised by the last path segment's name (so
/// `io::Result<T>` and `anyhow::Result<T>` count as `Result`). A type alias under another
/// name is a plain type: its whole value is cached.
fn return_shape(args: &Args, ret: Type, errors: &mut Errors) -> Option<ReturnShape> {
    if let Some(impl_trait) = find_impl_trait(&ret) {
        errors.spanned(
            impl_trait,
            "`#[cached]` cannot cache an `impl Trait` return type: the cached value is deserialized, so it needs a concrete type",
        );
        return None;
    }
    let wrapper = wrapper(&ret);
    let cache_err = args.cache_err.as_ref().is_some_and(|opt| opt.value);
    let cache_none = args.cache_none.as_ref().is_some_and(|opt| opt.value);
    let mut ok = true;
    if cache_err && cache_none {
        // Reported by `check_exclusive_flags`; one message is enough.
        return None;
    }
    if let Some(opt) = args.cache_err.as_ref().filter(|opt| opt.value)
        && !matches!(wrapper, Some(("Result", _)))
    {
        errors.at(
            opt.span(),
            format!(
                "`cache_err` applies to functions returning `Result`; this one returns `{}`",
                display(&ret)
            ),
        );
        ok = false;
    }
    if let Some(opt) = args.cache_none.as_ref().filter(|opt| opt.value)
        && !matches!(wrapper, Some(("Option", _)))
    {
        errors.at(
            opt.span(),
            format!(
                "`cache_none` applies to functions returning `Option`; this one returns `{}`",
                display(&ret)
            ),
        );
        ok = false;
    }
    if !ok {
        return None;
    }
    let (kind, cached) = match wrapper {
        Some(("Result", inner)) if !cache_err => (ShapeKind::Ok, inner),
        Some(("Option", inner)) if !cache_none => (ShapeKind::Some, inner),
        _ => (ShapeKind::Whole, ret.clone()),
    };
    Some(ReturnShape { kind, ret, cached })
}

/// `Some(("Result", T))` for `…::Result<T, …>`, likewise for `Option<T>`.
fn wrapper(ty: &Type) -> Option<(&'static str, Type)> {
    let Type::Path(TypePath { qself: None, path }) = ty else {
        return None;
    };
    let last = path.segments.last()?;
    let name = match last.ident.to_string().as_str() {
        "Result" => "Result",
        "Option" => "Option",
        _ => return None,
    };
    let PathArguments::AngleBracketed(generics) = &last.arguments else {
        return None;
    };
    match generics.args.first()? {
        GenericArgument::Type(inner) => Some((name, inner.clone())),
        _ => None,
    }
}

/// The options that serve past the `ttl` need one, and those that fall back to an old value
/// need a way to have one.
fn check_grace(args: &Args, errors: &mut Errors) {
    let past_ttl = [
        args.stale.as_ref().map(|opt| opt.span()),
        args.refresh_ahead.as_ref().map(|opt| opt.span()),
        args.fail_safe.as_ref().map(|opt| opt.span()),
    ];
    if args.ttl.is_none() {
        for span in past_ttl.into_iter().flatten() {
            errors.at(
                span,
                "this option serves values past their `ttl`, and this function has none: add e.g. `ttl = 300`",
            );
        }
    }
    let fallback = args.stale.is_some() || args.fail_safe.is_some();
    let needs_fallback = [
        args.soft_timeout
            .as_ref()
            .map(|opt| (opt.span(), "soft_timeout")),
        args.fail_safe_throttle
            .as_ref()
            .map(|opt| (opt.span(), "fail_safe_throttle")),
    ];
    if !fallback {
        for (span, name) in needs_fallback.into_iter().flatten() {
            errors.at(
                span,
                format!("`{name}` falls back to an old value, and this function keeps none: add `fail_safe = \"1h\"` (or `stale = ...`)"),
            );
        }
    }
}

/// A body that outlives `hard_timeout` returns an `Err`, which must not be cached; a
/// `soft_timeout` as long is never reached.
fn check_hard_timeout(args: &Args, shape: &ReturnShape, errors: &mut Errors) {
    let Some(hard) = &args.hard_timeout else {
        return;
    };
    if shape.kind != ShapeKind::Ok {
        errors.at(
            hard.span(),
            format!(
                "`hard_timeout` makes a call that waits longer return an `Err`, so the function must return a `Result` whose `Err` is not cached (no `cache_err`); this one returns `{}`",
                display(&shape.ret)
            ),
        );
    }
    if let (Some(soft), DurationValue::Literal { secs, nanos }) = (&args.soft_timeout, &hard.value)
        && let DurationValue::Literal {
            secs: soft_secs,
            nanos: soft_nanos,
        } = soft.value
        && (soft_secs, soft_nanos) >= (*secs, *nanos)
    {
        errors.at(
            soft.span(),
            "`soft_timeout` must be shorter than `hard_timeout`: the old value is returned at the soft one, the error at the hard one",
        );
    }
}

fn check_exclusive_flags(args: &Args, errors: &mut Errors) {
    if let (Some(err), Some(none)) = (&args.cache_err, &args.cache_none)
        && err.value
        && none.value
    {
        errors.at(
            none.span(),
            "`cache_err` and `cache_none` cannot be combined: a function returns either a `Result` or an `Option`",
        );
    }
}
