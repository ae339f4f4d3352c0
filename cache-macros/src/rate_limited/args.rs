//! Parsing `#[rate_limited(...)]`'s options. Every option is read independently and every
//! problem is recorded, so that one compile reports all of them; checks that need several
//! options or the function's signature live in `validate`.

use proc_macro2::{Span, TokenStream};
use syn::ext::IdentExt as _;
use syn::spanned::Spanned as _;
use syn::{Expr, ExprLit, ExprPath, ExprUnary, Ident, Lit, UnOp};

use crate::common::attr::{Opt, RawOption, require_value, set_once, unknown_option};
use crate::common::duration::{self, DurationValue};
use crate::common::errors::{Errors, one_of, suggest};
use crate::common::options::SharedOptions;
use crate::common::required::{RecordedOptions, Written, parse_recorded};

/// Every option `#[rate_limited]` accepts, in the order the docs list them.
pub(crate) const OPTIONS: &[&str] = &[
    "key",
    "limit",
    "window",
    "algorithm",
    "burst",
    "cost",
    "wait",
    "fail",
    "backend",
    "timeout",
    "crate",
];

/// Names users reach for, from other rate-limiting crates, and the option that does that job.
const RENAMED: &[(&str, &str)] = &[
    ("rate", "limit"),
    ("max", "limit"),
    ("max_calls", "limit"),
    ("requests", "limit"),
    ("calls", "limit"),
    ("per", "window"),
    ("period", "window"),
    ("interval", "window"),
    ("duration", "window"),
    ("strategy", "algorithm"),
    ("algo", "algorithm"),
    ("weight", "cost"),
    ("max_wait", "wait"),
    ("block", "wait"),
    ("failure_mode", "fail"),
    ("on_failure", "fail"),
    ("fail_open", "fail"),
    ("fail_closed", "fail"),
    ("store", "backend"),
    ("name", "key"),
];

/// The algorithms, as written in `algorithm = ...`.
pub(crate) const ALGORITHMS: &[&str] = &["gcra", "fixed_window", "sliding_log"];

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Algorithm {
    Gcra,
    FixedWindow,
    SlidingLog,
}

impl Algorithm {
    /// The variant of `cache_core::rate_limit::Algorithm`.
    pub(crate) fn variant(self) -> &'static str {
        match self {
            Self::Gcra => "Gcra",
            Self::FixedWindow => "FixedWindow",
            Self::SlidingLog => "SlidingLog",
        }
    }

    /// The `RateLimitPolicy` constructor.
    pub(crate) fn constructor(self) -> &'static str {
        match self {
            Self::Gcra => "gcra",
            Self::FixedWindow => "fixed_window",
            Self::SlidingLog => "sliding_log",
        }
    }
}

/// `fail = open | closed`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fail {
    Open,
    Closed,
}

/// A `u32` option: a literal the macro checks, or a constant expression left to the compiler.
#[derive(Clone)]
pub(crate) enum Count {
    Literal { value: u32, span: Span },
    Expr(Expr),
}

impl Count {
    pub(crate) fn span(&self) -> Span {
        match self {
            Self::Literal { span, .. } => *span,
            Self::Expr(expr) => expr.span(),
        }
    }

    pub(crate) fn literal(&self) -> Option<u32> {
        match self {
            Self::Literal { value, .. } => Some(*value),
            Self::Expr(_) => None,
        }
    }
}

/// The options as written, each with its keyword.
#[derive(Default)]
pub(crate) struct Args {
    /// `key`, `backend`, `timeout` and `crate`.
    pub(crate) shared: SharedOptions,
    pub(crate) limit: Option<Opt<Count>>,
    pub(crate) window: Option<Opt<DurationValue>>,
    pub(crate) algorithm: Option<Opt<Algorithm>>,
    pub(crate) burst: Option<Opt<Count>>,
    pub(crate) cost: Option<Opt<Count>>,
    pub(crate) wait: Option<Opt<DurationValue>>,
    pub(crate) fail: Option<Opt<Fail>>,
    /// For reporting `limit` and `window` when they are left out.
    pub(crate) written: Written,
}

impl Args {
    /// Parses the attribute's tokens. Syntax errors end parsing; every other problem is pushed
    /// to `errors` and the option is left out.
    pub(crate) fn parse(tokens: TokenStream, errors: &mut Errors) -> Self {
        parse_recorded(tokens, errors)
    }
}

impl RecordedOptions for Args {
    const OPTIONS: &'static [&'static str] = OPTIONS;

    fn written(&mut self) -> &mut Written {
        &mut self.written
    }

    fn read(&mut self, option: RawOption, errors: &mut Errors) {
        let keyword = option.name.clone();
        let name = keyword.to_string();
        if self.shared.read(&option, "\"search:<user_id>\"", errors) {
            return;
        }
        match name.as_str() {
            // limit = 10 | limit = MAX_SEARCHES
            "limit" => {
                if let Some(limit) = count(&option, "10", errors) {
                    set_once(&mut self.limit, keyword, limit, errors);
                }
            }
            // window = 60 | window = "1m" | window = CONST_DURATION
            "window" => {
                if let Some(window) = duration::option(&option, "60", errors) {
                    set_once(&mut self.window, keyword, window, errors);
                }
            }
            // algorithm = gcra | fixed_window | sliding_log
            "algorithm" => {
                if let Some(algorithm) = require_value(&option, "gcra", errors)
                    .and_then(|value| algorithm(value, errors))
                {
                    set_once(&mut self.algorithm, keyword, algorithm, errors);
                }
            }
            // burst = 5
            "burst" => {
                if let Some(burst) = count(&option, "5", errors) {
                    set_once(&mut self.burst, keyword, burst, errors);
                }
            }
            // cost = 2
            "cost" => {
                if let Some(cost) = count(&option, "1", errors) {
                    set_once(&mut self.cost, keyword, cost, errors);
                }
            }
            // wait = "2s"
            "wait" => {
                if let Some(wait) = duration::option(&option, "\"2s\"", errors) {
                    set_once(&mut self.wait, keyword, wait, errors);
                }
            }
            // fail = open | closed
            "fail" => {
                if let Some(fail) =
                    require_value(&option, "open", errors).and_then(|value| fail(value, errors))
                {
                    set_once(&mut self.fail, keyword, fail, errors);
                }
            }
            _ => {
                if let Some(meant) = unknown_option(&option.name, OPTIONS, RENAMED, errors) {
                    self.written.push(meant);
                }
            }
        }
    }
}

/// A `u32` option of at least 1: an unsuffixed (or `u32`) integer literal, or a constant
/// expression of type `u32`.
fn count(option: &RawOption, example: &str, errors: &mut Errors) -> Option<Count> {
    const MIN: u32 = 1;
    let name = &option.name;
    let value = require_value(option, example, errors)?;
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Int(int), ..
        }) => {
            if !(int.suffix().is_empty() || int.suffix() == "u32") {
                errors.spanned(int, format!("`{name}` takes an unsuffixed integer"));
                return None;
            }
            match int.base10_parse::<u32>() {
                Ok(count) if count < MIN => {
                    errors.spanned(int, format!("`{name}` must be at least {MIN}"));
                    None
                }
                Ok(count) => Some(Count::Literal {
                    value: count,
                    span: int.span(),
                }),
                Err(_) => {
                    errors.spanned(
                        int,
                        format!("`{name}` is too large: it is a `u32`, at most {}", u32::MAX),
                    );
                    None
                }
            }
        }
        Expr::Unary(ExprUnary {
            op: UnOp::Neg(_), ..
        }) => {
            errors.spanned(value, format!("`{name}` cannot be negative"));
            None
        }
        Expr::Lit(_) => {
            errors.spanned(
                value,
                format!("expected a whole number for `{name}`, e.g. `{name} = 10`"),
            );
            None
        }
        other => Some(Count::Expr(other.clone())),
    }
}

/// A bare name among `choices`, e.g. `algorithm = sliding_log`.
fn name<'a>(
    option: &str,
    value: &Expr,
    choices: &[&'a str],
    errors: &mut Errors,
) -> Option<&'a str> {
    let example = choices.first().copied().unwrap_or_default();
    match value {
        Expr::Path(ExprPath {
            path, qself: None, ..
        }) if path.get_ident().is_some() => {
            let ident = path.get_ident().map(Ident::unraw)?;
            let written = ident.to_string();
            if let Some(choice) = choices.iter().find(|choice| **choice == written) {
                return Some(choice);
            }
            let message = match suggest(&written, choices) {
                Some(suggestion) => {
                    format!("unknown `{option}` `{written}`; did you mean `{suggestion}`?")
                }
                None => format!(
                    "unknown `{option}` `{written}`; expected one of {}",
                    one_of(choices)
                ),
            };
            errors.at(ident.span(), message);
            None
        }
        Expr::Lit(ExprLit {
            lit: Lit::Str(text),
            ..
        }) if choices.contains(&text.value().as_str()) => {
            let written = text.value();
            errors.spanned(
                text,
                format!("write `{option} = {written}` without quotes: `{option}` takes a name"),
            );
            None
        }
        other => {
            errors.at(
                other.span(),
                format!(
                    "expected one of {} for `{option}`, e.g. `{option} = {example}`",
                    one_of(choices)
                ),
            );
            None
        }
    }
}

fn algorithm(value: &Expr, errors: &mut Errors) -> Option<Algorithm> {
    Some(match name("algorithm", value, ALGORITHMS, errors)? {
        "fixed_window" => Algorithm::FixedWindow,
        "sliding_log" => Algorithm::SlidingLog,
        _ => Algorithm::Gcra,
    })
}

fn fail(value: &Expr, errors: &mut Errors) -> Option<Fail> {
    Some(match name("fail", value, &["open", "closed"], errors)? {
        "closed" => Fail::Closed,
        _ => Fail::Open,
    })
}
