//! The options every macro of the crate takes, read and checked in one place: `key`,
//! `backend`, `timeout` and `crate`.

use syn::{Expr, ExprLit, ItemFn, Lit, Path};

use super::async_trait::AsyncTraitBody;
use super::attr::{Opt, RawOption, require_value, set_once, string};
use super::crate_path;
use super::duration::{self, DurationValue};
use super::errors::Errors;
use super::key::{self, KeyPiece};
use super::key_template::{self, KeyTemplate};

/// The function and the shared options, checked: what every macro's model starts with.
pub(crate) struct Target {
    /// The runtime path: `crate = ...` or `::cache_core`.
    pub(crate) krate: Path,
    pub(crate) func: ItemFn,
    /// Set when `#[async_trait]` already rewrote the method: the macro wraps its inner future.
    pub(crate) async_trait: Option<AsyncTraitBody>,
    pub(crate) key: Vec<KeyPiece>,
    /// A `&'static str` expression.
    pub(crate) backend: Option<Expr>,
    pub(crate) timeout: Option<DurationValue>,
}

/// The shared options as written, each with its keyword.
#[derive(Default)]
pub(crate) struct SharedOptions {
    pub(crate) key: Option<Opt<KeyTemplate>>,
    pub(crate) backend: Option<Opt<Expr>>,
    pub(crate) timeout: Option<Opt<DurationValue>>,
    pub(crate) krate: Option<Opt<Path>>,
}

impl SharedOptions {
    /// Reads `option` if it is a shared one, and says whether it was; `key_example` is the
    /// template the macro's messages suggest.
    pub(crate) fn read(
        &mut self,
        option: &RawOption,
        key_example: &str,
        errors: &mut Errors,
    ) -> bool {
        let keyword = option.name.clone();
        match keyword.to_string().as_str() {
            // key = "user:<id>"
            "key" => {
                if let Some(template) = string(option, key_example, errors)
                    .and_then(|lit| errors.handle(key_template::parse(&lit)))
                {
                    set_once(&mut self.key, keyword, template, errors);
                }
            }
            // backend = "primary" | backend = PRIMARY (a `&'static str` constant)
            "backend" => {
                if let Some(backend) = backend(option, errors) {
                    set_once(&mut self.backend, keyword, backend, errors);
                }
            }
            // timeout = "200ms"
            "timeout" => {
                if let Some(timeout) = duration::option(option, "\"200ms\"", errors) {
                    set_once(&mut self.timeout, keyword, timeout, errors);
                }
            }
            // crate = "my_cache"
            "crate" => {
                if let Some(path) = require_value(option, "\"my_cache\"", errors)
                    .and_then(|value| crate_path::parse(value, errors))
                {
                    set_once(&mut self.krate, keyword, path, errors);
                }
            }
            _ => return false,
        }
        true
    }

    /// Checks the key against `func`'s parameters.
    pub(crate) fn check(
        self,
        func: ItemFn,
        async_trait: Option<AsyncTraitBody>,
        errors: &mut Errors,
    ) -> Target {
        let key = key::pieces(self.key.as_ref().map(|key| &key.value), &func, errors);
        Target {
            krate: self
                .krate
                .map_or_else(crate_path::default_path, |krate| krate.value),
            func,
            async_trait,
            key,
            backend: self.backend.map(|backend| backend.value),
            timeout: self.timeout.map(|timeout| timeout.value),
        }
    }
}

/// A backend name: a string literal, which cannot be empty, or a `&'static str` constant.
fn backend(option: &RawOption, errors: &mut Errors) -> Option<Expr> {
    let backend = require_value(option, "\"name\"", errors)?;
    if let Expr::Lit(ExprLit {
        lit: Lit::Str(name),
        ..
    }) = backend
        && name.value().is_empty()
    {
        errors.spanned(
            name,
            "the backend name is empty; name a backend given to `register_backend`",
        );
        return None;
    }
    Some(backend.clone())
}
