//! Parsing `#[cached(...)]`'s options. Every option is read independently and every problem
//! is recorded, so that one compile reports all of them; checks that need the function's
//! signature live in `validate`.

use proc_macro2::TokenStream;
use syn::{Expr, LitStr, Path};

use crate::common::attr::{
    Opt, RawOption, RawOptions, flag, require_value, set_once, string, unknown_option,
};
use crate::common::crate_path;
use crate::common::duration::{self, DurationValue};
use crate::common::errors::Errors;
use crate::common::key_template::{self, KeyTemplate};

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
];

/// The options as written, each with its keyword.
#[derive(Default)]
pub(crate) struct Args {
    pub(crate) key: Option<Opt<KeyTemplate>>,
    pub(crate) ttl: Option<Opt<DurationValue>>,
    pub(crate) backend: Option<Opt<Expr>>,
    pub(crate) timeout: Option<Opt<DurationValue>>,
    pub(crate) cache_err: Option<Opt<bool>>,
    pub(crate) cache_none: Option<Opt<bool>>,
    pub(crate) unless: Option<Opt<Expr>>,
    pub(crate) companions: Option<Opt<bool>>,
    pub(crate) krate: Option<Opt<Path>>,
}

impl Args {
    /// Parses the attribute's tokens. Syntax errors end parsing; every other problem is pushed
    /// to `errors` and the option is left out.
    pub(crate) fn parse(tokens: TokenStream, errors: &mut Errors) -> Self {
        let mut args = Self::default();
        let Some(RawOptions(options)) = errors.handle(syn::parse2::<RawOptions>(tokens)) else {
            return args;
        };
        for option in options {
            args.read(option, errors);
        }
        args
    }

    fn read(&mut self, option: RawOption, errors: &mut Errors) {
        let keyword = option.name.clone();
        match keyword.to_string().as_str() {
            // key = "user:<id>"
            "key" => {
                let template = string(&option, "\"user:<id>\"", errors)
                    .and_then(|lit: LitStr| errors.handle(key_template::parse(&lit)));
                if let Some(template) = template {
                    set_once(&mut self.key, keyword, template, errors);
                }
            }
            // ttl = 300 | ttl = "5m" | ttl = CONST_DURATION
            "ttl" => {
                if let Some(ttl) = require_value(&option, "300", errors)
                    .and_then(|value| duration::parse("ttl", value, errors))
                {
                    set_once(&mut self.ttl, keyword, ttl, errors);
                }
            }
            // timeout = "200ms"
            "timeout" => {
                if let Some(timeout) = require_value(&option, "\"200ms\"", errors)
                    .and_then(|value| duration::parse("timeout", value, errors))
                {
                    set_once(&mut self.timeout, keyword, timeout, errors);
                }
            }
            // backend = "primary" | backend = PRIMARY (a `&'static str` constant)
            "backend" => {
                let Some(backend) = require_value(&option, "\"name\"", errors) else {
                    return;
                };
                if let Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(name),
                    ..
                }) = backend
                    && name.value().is_empty()
                {
                    errors.spanned(
                        name,
                        "the backend name is empty; name a backend given to `register_backend`",
                    );
                    return;
                }
                set_once(&mut self.backend, keyword, backend.clone(), errors);
            }
            // cache_err | cache_err = true
            "cache_err" => {
                if let Some(value) = flag(&option, errors) {
                    set_once(&mut self.cache_err, keyword, value, errors);
                }
            }
            // cache_none | cache_none = true
            "cache_none" => {
                if let Some(value) = flag(&option, errors) {
                    set_once(&mut self.cache_none, keyword, value, errors);
                }
            }
            // unless = path::to::predicate | unless = |result| ...
            "unless" => {
                if let Some(predicate) = require_value(&option, "|result| ...", errors) {
                    set_once(&mut self.unless, keyword, predicate.clone(), errors);
                }
            }
            // companions = false
            "companions" => {
                if let Some(value) = flag(&option, errors) {
                    set_once(&mut self.companions, keyword, value, errors);
                }
            }
            // crate = "my_cache"
            "crate" => {
                if let Some(path) = require_value(&option, "\"my_cache\"", errors)
                    .and_then(|value| crate_path::parse(value, errors))
                {
                    set_once(&mut self.krate, keyword, path, errors);
                }
            }
            _ => {
                unknown_option(&option.name, OPTIONS, RENAMED, errors);
            }
        }
    }

    /// The runtime path: `crate = ...` or `::cache_core`.
    pub(crate) fn crate_path(&self) -> Path {
        self.krate
            .as_ref()
            .map_or_else(crate_path::default_path, |krate| krate.value.clone())
    }
}
