//! Parsing `#[cached(...)]`'s options. Every option is read independently and every problem
//! is recorded, so that one compile reports all of them; checks that need the function's
//! signature live in `validate`.

use proc_macro2::TokenStream;
use syn::Expr;

use crate::common::attr::{
    Opt, RawOption, parse_options, require_value, set_flag, set_once, unknown_option,
};
use crate::common::duration::{self, DurationValue};
use crate::common::errors::Errors;
use crate::common::key_template::{self, KeyTemplate};
use crate::common::options::SharedOptions;

/// Every option `#[cached]` accepts, in the order the docs list them.
pub(crate) const OPTIONS: &[&str] = &[
    "key",
    "ttl",
    "backend",
    "timeout",
    "cache_err",
    "cache_none",
    "unless",
    "companions",
    "lock",
    "lock_lease",
    "lock_wait",
    "jitter",
    "stale",
    "refresh_ahead",
    "fail_safe",
    "fail_safe_throttle",
    "soft_timeout",
    "hard_timeout",
    "tags",
    "crate",
];

/// Names users reach for, from other caching crates, and the option that does that job.
const RENAMED: &[(&str, &str)] = &[
    ("time", "ttl"),
    ("expire", "ttl"),
    ("expires", "ttl"),
    ("ttl_secs", "ttl"),
    ("name", "key"),
    ("convert", "key"),
    ("store", "backend"),
    ("stale_while_revalidate", "stale"),
    ("stale_ttl", "stale"),
    ("early", "refresh_ahead"),
    ("refresh_after", "refresh_ahead"),
    ("failover", "fail_safe"),
    ("tag", "tags"),
];

/// The options as written, each with its keyword.
#[derive(Default)]
pub(crate) struct Args {
    /// `key`, `backend`, `timeout` and `crate`.
    pub(crate) shared: SharedOptions,
    pub(crate) ttl: Option<Opt<DurationValue>>,
    pub(crate) cache_err: Option<Opt<bool>>,
    pub(crate) cache_none: Option<Opt<bool>>,
    pub(crate) unless: Option<Opt<Expr>>,
    pub(crate) companions: Option<Opt<bool>>,
    pub(crate) lock: Option<Opt<bool>>,
    pub(crate) lock_lease: Option<Opt<DurationValue>>,
    pub(crate) lock_wait: Option<Opt<DurationValue>>,
    /// The fraction (0 < f < 1) by which each key's TTL is spread.
    pub(crate) jitter: Option<Opt<f64>>,
    /// How long past its `ttl` a value is served while it is refreshed.
    pub(crate) stale: Option<Opt<DurationValue>>,
    /// The fraction of the `ttl` after which a hit refreshes.
    pub(crate) refresh_ahead: Option<Opt<f64>>,
    /// How long an old value is kept and served when the body fails.
    pub(crate) fail_safe: Option<Opt<DurationValue>>,
    pub(crate) fail_safe_throttle: Option<Opt<DurationValue>>,
    pub(crate) soft_timeout: Option<Opt<DurationValue>>,
    /// The most a call waits for the body, old value or not.
    pub(crate) hard_timeout: Option<Opt<DurationValue>>,
    /// Tag templates over the arguments: `tags = ["user:<id>", "org:<org>"]`.
    pub(crate) tags: Option<Opt<Vec<KeyTemplate>>>,
}

impl Args {
    /// Parses the attribute's tokens. Syntax errors end parsing; every other problem is pushed
    /// to `errors` and the option is left out.
    pub(crate) fn parse(tokens: TokenStream, errors: &mut Errors) -> Self {
        let mut args = Self::default();
        for option in parse_options(tokens, errors).unwrap_or_default() {
            args.read(option, errors);
        }
        args
    }

    fn read(&mut self, option: RawOption, errors: &mut Errors) {
        if self.shared.read(&option, "\"user:<id>\"", errors) {
            return;
        }
        let keyword = option.name.clone();
        match keyword.to_string().as_str() {
            // ttl = 300 | ttl = "5m" | ttl = CONST_DURATION
            "ttl" => {
                if let Some(ttl) = duration::option(&option, "300", errors) {
                    set_once(&mut self.ttl, keyword, ttl, errors);
                }
            }
            // unless = path::to::predicate | unless = |result| ...
            "unless" => {
                if let Some(predicate) = require_value(&option, "|result| ...", errors) {
                    set_once(&mut self.unless, keyword, predicate.clone(), errors);
                }
            }
            // cache_err | cache_err = true
            "cache_err" => set_flag(&mut self.cache_err, &option, errors),
            // cache_none | cache_none = true
            "cache_none" => set_flag(&mut self.cache_none, &option, errors),
            // companions = false
            "companions" => set_flag(&mut self.companions, &option, errors),
            // lock = false
            "lock" => set_flag(&mut self.lock, &option, errors),
            // lock_lease = "10s" | lock_wait = "10s"
            "lock_lease" => {
                if let Some(lease) = duration::option(&option, "\"10s\"", errors) {
                    set_once(&mut self.lock_lease, keyword, lease, errors);
                }
            }
            "lock_wait" => {
                if let Some(wait) = duration::option(&option, "\"10s\"", errors) {
                    set_once(&mut self.lock_wait, keyword, wait, errors);
                }
            }
            // jitter = 0.1
            "jitter" => {
                let fraction = fraction(
                    &option,
                    "0.1",
                    "`jitter` is the fraction by which each key's TTL may move, between 0 and 1 (exclusive): write e.g. `jitter = 0.1` for up to ±10%",
                    errors,
                );
                if let Some(fraction) = fraction {
                    set_once(&mut self.jitter, keyword, fraction, errors);
                }
            }
            // refresh_ahead = 0.8
            "refresh_ahead" => {
                let fraction = fraction(
                    &option,
                    "0.8",
                    "`refresh_ahead` is the fraction of the `ttl` after which a hit refreshes the value, between 0 and 1 (exclusive): write e.g. `refresh_ahead = 0.8`",
                    errors,
                );
                if let Some(fraction) = fraction {
                    set_once(&mut self.refresh_ahead, keyword, fraction, errors);
                }
            }
            // stale = "1h" | fail_safe = "1h" | fail_safe_throttle = "10s" | soft_timeout = "100ms"
            // | hard_timeout = "2s"
            "stale" => duration_option(&mut self.stale, option, "\"1h\"", errors),
            "fail_safe" => duration_option(&mut self.fail_safe, option, "\"1h\"", errors),
            "fail_safe_throttle" => {
                duration_option(&mut self.fail_safe_throttle, option, "\"10s\"", errors);
            }
            "soft_timeout" => {
                duration_option(&mut self.soft_timeout, option, "\"100ms\"", errors);
            }
            "hard_timeout" => {
                duration_option(&mut self.hard_timeout, option, "\"2s\"", errors);
            }
            // tags = ["user:<id>", "org:<org>"]
            "tags" => {
                if let Some(tags) = tags(&option, errors) {
                    set_once(&mut self.tags, keyword, tags, errors);
                }
            }
            _ => {
                unknown_option(&option.name, OPTIONS, RENAMED, errors);
            }
        }
    }
}

/// Reads a duration option into its slot, once.
fn duration_option(
    slot: &mut Option<Opt<DurationValue>>,
    option: RawOption,
    example: &str,
    errors: &mut Errors,
) {
    if let Some(value) = duration::option(&option, example, errors) {
        set_once(slot, option.name, value, errors);
    }
}

/// Reads `tags = ["...", ...]`: a non-empty array of tag templates, none written twice.
fn tags(option: &RawOption, errors: &mut Errors) -> Option<Vec<KeyTemplate>> {
    const EXAMPLE: &str = "[\"user:<id>\"]";
    let value = require_value(option, EXAMPLE, errors)?;
    let Expr::Array(array) = value else {
        errors.spanned(
            value,
            "`tags` is a list of tag templates over the arguments: write e.g. `tags = [\"user:<id>\", \"org:<org>\"]`",
        );
        return None;
    };
    if array.elems.is_empty() {
        errors.spanned(
            array,
            "`tags` is empty; list the tags each call carries, e.g. `tags = [\"user:<id>\"]`, or leave the option out",
        );
        return None;
    }
    let mut templates: Vec<KeyTemplate> = Vec::with_capacity(array.elems.len());
    for element in &array.elems {
        let Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(lit),
            ..
        }) = element
        else {
            errors.spanned(
                element,
                "each tag is a string literal template, e.g. `\"user:<id>\"`",
            );
            continue;
        };
        if templates.iter().any(|seen| seen.lit.value() == lit.value()) {
            errors.spanned(lit, format!("the tag `{}` is listed twice", lit.value()));
            continue;
        }
        if lit.value().is_empty() {
            errors.spanned(lit, "a tag cannot be empty; write e.g. `\"user:<id>\"`");
            continue;
        }
        if let Some(template) = errors.handle(key_template::parse(lit)) {
            templates.push(template);
        }
    }
    // The well-formed ones are still resolved against the parameters, so that one compile
    // reports every problem.
    Some(templates)
}

/// Reads `<option> = <fraction>`: a float literal strictly between 0 and 1; `message` says
/// what it means when it is not one.
fn fraction(option: &RawOption, example: &str, message: &str, errors: &mut Errors) -> Option<f64> {
    let value = require_value(option, example, errors)?;
    let fraction = match value {
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Float(float),
            ..
        }) => float.base10_parse::<f64>().ok(),
        _ => None,
    };
    match fraction {
        Some(fraction) if fraction > 0.0 && fraction < 1.0 => Some(fraction),
        _ => {
            errors.spanned(value, message);
            None
        }
    }
}
