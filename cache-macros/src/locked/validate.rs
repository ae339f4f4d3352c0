//! Checking the options against the function they decorate, producing the [`Locked`] model
//! that `expand` turns into code. Every problem is recorded; nothing here emits tokens.

use proc_macro2::Span;
use syn::Type;
use syn::spanned::Spanned as _;

use super::args::Args;
use crate::common::duration::DurationValue;
use crate::common::errors::Errors;
use crate::common::item_fn::AsyncFn;
use crate::common::options::Target;
use crate::common::result_return::{self, ResultReturn};

/// Everything `expand` needs, checked.
pub(crate) struct Locked {
    /// The function, the key (the lock's name), `backend`, `timeout` and `crate`.
    pub(crate) target: Target,
    /// The lease, with where a zero one behind a constant is reported: the constant.
    pub(crate) ttl: Option<(DurationValue, Span)>,
    pub(crate) wait: Option<DurationValue>,
    /// The function's return type (`Result<T, E>`).
    pub(crate) ret: Type,
    /// `E` where the return type names it, or the return type: a missing `From<LockBusy>` is
    /// reported there.
    pub(crate) error_span: Span,
}

/// Checks `args` against `func`.
pub(crate) fn validate(args: Args, func: AsyncFn, errors: &mut Errors) -> Option<Locked> {
    let AsyncFn {
        func,
        async_trait,
        output,
    } = func;
    let result = result_return::check(
        &func,
        output,
        "`#[locked]` needs a function returning `Result<T, E>` where `E: From<LockBusy>`",
        errors,
    );
    // No default key: a lock's name says what it excludes, so it is always written out.
    args.written.require("key", "\"payment:<id>\"", errors);
    let Args {
        shared, ttl, wait, ..
    } = args;
    // Checked even when the return type is wrong, so that one build reports both.
    let target = shared
        .key
        .is_some()
        .then(|| shared.check(func, async_trait, errors));
    let ResultReturn { ret, error_span } = result?;
    let ttl = ttl.map(|ttl| {
        let span = match &ttl.value {
            DurationValue::Expr(expr) => expr.span(),
            DurationValue::Literal { .. } => ttl.span(),
        };
        (ttl.value, span)
    });
    let model = Locked {
        target: target?,
        ttl,
        wait: wait.map(|wait| wait.value),
        ret,
        error_span,
    };
    errors.is_empty().then_some(model)
}
