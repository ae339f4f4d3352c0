//! Checking the options against each other and against the function they decorate, producing
//! the [`RateLimited`] model that `expand` turns into code. Every problem is recorded; nothing
//! here emits tokens.

use proc_macro2::Span;
use syn::Type;
use syn::spanned::Spanned;

use super::args::{Algorithm, Args, Count, Fail};
use crate::common::duration::DurationValue;
use crate::common::errors::Errors;
use crate::common::item_fn::AsyncFn;
use crate::common::options::Target;
use crate::common::result_return::{self, ResultReturn};

/// The longest window, as `cache_core::rate_limit::MAX_SPAN`: 2^48 µs.
const MAX_SPAN_US: u128 = 1 << 48;

/// The largest sliding-log limit, as `cache_core::rate_limit::MAX_SLIDING_LOG_LIMIT`.
const MAX_SLIDING_LOG_LIMIT: u32 = 100_000;

/// Everything `expand` needs, checked.
pub(crate) struct RateLimited {
    /// The function, the key, `backend`, `timeout` and `crate`.
    pub(crate) target: Target,
    pub(crate) policy: Policy,
    /// What each call costs; 1 unless written.
    pub(crate) cost: Option<Count>,
    /// Where a `cost` the policy can never admit is reported: the `cost` option, or the
    /// attribute.
    pub(crate) cost_span: Span,
    pub(crate) wait: Option<DurationValue>,
    pub(crate) fail: Fail,
    /// The function's return type (`Result<T, E>`).
    pub(crate) ret: Type,
    /// `E` where the return type names it, or the return type: a missing `From<RateLimited>`
    /// is reported there.
    pub(crate) error_span: Span,
}

/// `RateLimitPolicy::<algorithm>(limit, window)`, plus `.burst(b)`.
pub(crate) struct Policy {
    pub(crate) algorithm: Algorithm,
    pub(crate) limit: Count,
    pub(crate) window: DurationValue,
    /// Where a window the runtime rejects is reported: the constant, or the `window` option.
    pub(crate) window_span: Span,
    pub(crate) burst: Option<Count>,
}

/// Checks `args` against each other and against `func`.
pub(crate) fn validate(args: Args, func: AsyncFn, errors: &mut Errors) -> Option<RateLimited> {
    let AsyncFn {
        func,
        async_trait,
        output,
    } = func;
    let shape = result_return::check(
        &func,
        output,
        "`#[rate_limited]` needs a function returning `Result<T, E>` where `E: From<RateLimited>`",
        errors,
    );
    let policy = policy(&args, errors);
    check_cost(&args, errors);
    let cost_span = args
        .cost
        .as_ref()
        .map_or_else(Span::call_site, |cost| cost.value.span());
    let ResultReturn { ret, error_span } = shape?;
    let Args {
        shared,
        cost,
        wait,
        fail,
        ..
    } = args;
    let target = shared.check(func, async_trait, errors);
    let model = RateLimited {
        target,
        policy: policy?,
        cost: cost.map(|cost| cost.value),
        cost_span,
        wait: wait.map(|wait| wait.value),
        fail: fail.map_or(Fail::Open, |fail| fail.value),
        ret,
        error_span,
    };
    errors.is_empty().then_some(model)
}

/// The policy, after checking what the macro can: required options, `burst` only with GCRA,
/// the limits of each algorithm. What constants hide is checked when the `static` limiter is
/// evaluated.
fn policy(args: &Args, errors: &mut Errors) -> Option<Policy> {
    let algorithm = args
        .algorithm
        .as_ref()
        .map_or(Algorithm::Gcra, |algorithm| algorithm.value);
    args.written.require("limit", "10", errors);
    args.written.require("window", "60", errors);
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
    let window = args.window.as_ref()?;
    let window_span = match &window.value {
        DurationValue::Expr(expr) => expr.span(),
        DurationValue::Literal { .. } => window.span(),
    };
    Some(Policy {
        algorithm,
        limit: args.limit.as_ref()?.value.clone(),
        window: window.value.clone(),
        window_span,
        burst: args.burst.as_ref().map(|burst| burst.value.clone()),
    })
}

/// Checks the cost against the policy's capacity, where both are literals.
fn check_cost(args: &Args, errors: &mut Errors) {
    let Some(cost) = &args.cost else {
        return;
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
}
