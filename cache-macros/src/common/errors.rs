//! Collecting errors so that every bad argument is reported in one compile, and suggesting the
//! option a misspelt name was meant to be.

use std::fmt::Display;

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote};

/// Gathers errors as the arguments are parsed and validated; [`Errors::finish`] turns them
/// into one combined [`syn::Error`].
///
/// It must be finished: dropping it unchecked is a bug in the macro (the errors would be
/// lost), caught by a debug assertion, as serde's `Ctxt` and darling's `Accumulator` do.
#[must_use = "errors must be reported with `finish`"]
pub(crate) struct Errors {
    combined: Option<syn::Error>,
    finished: bool,
}

impl Errors {
    pub(crate) fn new() -> Self {
        Self {
            combined: None,
            finished: false,
        }
    }

    /// Records `error`.
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.combined {
            Some(combined) => combined.combine(error),
            None => self.combined = Some(error),
        }
    }

    /// Records an error spanned at `span`.
    pub(crate) fn at(&mut self, span: Span, message: impl Display) {
        self.push(syn::Error::new(span, message));
    }

    /// Records an error spanned at the tokens of `tokens` (all of them, where the compiler can).
    pub(crate) fn spanned(&mut self, tokens: impl ToTokens, message: impl Display) {
        self.push(syn::Error::new_spanned(tokens, message));
    }

    /// Records the error of `result`, if any, and passes its value on.
    pub(crate) fn handle<T>(&mut self, result: syn::Result<T>) -> Option<T> {
        result.map_err(|error| self.push(error)).ok()
    }

    /// Whether anything went wrong so far.
    pub(crate) fn is_empty(&self) -> bool {
        self.combined.is_none()
    }

    /// All the errors as one, or `Ok` if there were none.
    pub(crate) fn finish(mut self) -> syn::Result<()> {
        self.finished = true;
        match self.combined.take() {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}

impl Drop for Errors {
    fn drop(&mut self) {
        debug_assert!(
            self.finished || std::thread::panicking(),
            "cache-macros bug: errors were collected but never reported"
        );
    }
}

/// The item as it was, followed by the errors: editors keep working on the function, and no
/// knock-on errors appear.
pub(crate) fn with_error(item: TokenStream, error: syn::Error) -> TokenStream {
    let error = error.into_compile_error();
    quote!(#item #error)
}

/// The candidate closest to `unknown`, if it is close enough to be a likely typo.
pub(crate) fn suggest<'a>(unknown: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let limit = (unknown.chars().count() / 3).max(1);
    candidates
        .iter()
        .map(|candidate| (edit_distance(unknown, candidate), *candidate))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// `candidates` as "`a`, `b`, `c`" for "expected one of ..." messages.
pub(crate) fn one_of(candidates: &[&str]) -> String {
    candidates
        .iter()
        .map(|candidate| format!("`{candidate}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Levenshtein distance over chars, with one row of memory.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(edit_distance("ttl", "ttl"), 0);
        assert_eq!(edit_distance("tll", "ttl"), 1);
        assert_eq!(edit_distance("", "key"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn suggestions() {
        let options = ["key", "ttl", "backend", "cache_err", "cache_none"];
        assert_eq!(suggest("tll", &options), Some("ttl"));
        assert_eq!(suggest("backnd", &options), Some("backend"));
        assert_eq!(suggest("cache_errs", &options), Some("cache_err"));
        assert_eq!(suggest("zzzzzz", &options), None);
    }
}
