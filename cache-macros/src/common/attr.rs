//! `name = value` options: reading them off an attribute, and storing each with its keyword so
//! that duplicates are caught in one place and later errors can point at the option.

use proc_macro2::{Span, TokenStream};
use syn::ext::IdentExt as _;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, Ident, Lit, LitBool, LitStr, Token};

use super::errors::{Errors, one_of, suggest};

/// One option as written: `name = value`, or a bare `name` (a flag, meaning `name = true`).
pub(crate) struct RawOption {
    pub(crate) name: Ident,
    pub(crate) value: Option<Expr>,
}

impl Parse for RawOption {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        // `crate` is a keyword, so accept any identifier, keywords included.
        let name = Ident::parse_any(input)?;
        let value = if input.peek(Token![=]) {
            input.parse::<Token![=]>()?;
            Some(input.parse()?)
        } else {
            None
        };
        Ok(Self { name, value })
    }
}

/// The options of an attribute, separated by commas (a trailing one is fine).
struct RawOptions(Vec<RawOption>);

impl Parse for RawOptions {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let options = Punctuated::<RawOption, Token![,]>::parse_terminated(input)?;
        Ok(Self(options.into_iter().collect()))
    }
}

/// The options of an attribute, or `None` after a syntax error (reported).
pub(crate) fn parse_options(tokens: TokenStream, errors: &mut Errors) -> Option<Vec<RawOption>> {
    errors
        .handle(syn::parse2::<RawOptions>(tokens))
        .map(|RawOptions(options)| options)
}

/// An option's value together with the keyword that set it.
pub(crate) struct Opt<T> {
    pub(crate) keyword: Ident,
    pub(crate) value: T,
}

impl<T> Opt<T> {
    pub(crate) fn span(&self) -> Span {
        self.keyword.span()
    }
}

/// Stores `value` in `slot`, or reports a duplicate at the second keyword.
pub(crate) fn set_once<T>(
    slot: &mut Option<Opt<T>>,
    keyword: Ident,
    value: T,
    errors: &mut Errors,
) {
    if slot.is_some() {
        errors.at(keyword.span(), format!("duplicate option `{keyword}`"));
    } else {
        *slot = Some(Opt { keyword, value });
    }
}

/// Reports an option name that is not one of `known`, suggesting the closest one; `renamed`
/// maps names users reach for (from other caching crates) to the option that does the job.
/// Returns the suggestion, so that the caller need not also report it as missing.
pub(crate) fn unknown_option<'a>(
    name: &Ident,
    known: &[&'a str],
    renamed: &[(&str, &'a str)],
    errors: &mut Errors,
) -> Option<&'a str> {
    let written = name.unraw().to_string();
    let replacement = renamed
        .iter()
        .find(|(old, _)| *old == written)
        .map(|(_, new)| *new);
    let suggestion = replacement.or_else(|| suggest(&written, known));
    let message = match suggestion {
        Some(suggestion) => format!("unknown option `{written}`; did you mean `{suggestion}`?"),
        None => format!(
            "unknown option `{written}`; expected one of {}",
            one_of(known)
        ),
    };
    errors.at(name.span(), message);
    suggestion
}

/// The value of an option that needs one: `name = value`.
pub(crate) fn require_value<'a>(
    option: &'a RawOption,
    expected: &str,
    errors: &mut Errors,
) -> Option<&'a Expr> {
    if option.value.is_none() {
        errors.at(
            option.name.span(),
            format!(
                "option `{}` needs a value: `{} = {expected}`",
                option.name, option.name
            ),
        );
    }
    option.value.as_ref()
}

/// Stores a flag in `slot`: bare `name` (true), `name = true` or `name = false`.
pub(crate) fn set_flag(slot: &mut Option<Opt<bool>>, option: &RawOption, errors: &mut Errors) {
    if let Some(value) = flag(option, errors) {
        set_once(slot, option.name.clone(), value, errors);
    }
}

fn flag(option: &RawOption, errors: &mut Errors) -> Option<bool> {
    match &option.value {
        None => Some(true),
        Some(Expr::Lit(ExprLit {
            lit: Lit::Bool(LitBool { value, .. }),
            ..
        })) => Some(*value),
        Some(other) => {
            errors.spanned(
                other,
                format!("expected `true` or `false` for `{}`", option.name),
            );
            None
        }
    }
}

/// A string literal value: `name = "text"`.
pub(crate) fn string(option: &RawOption, expected: &str, errors: &mut Errors) -> Option<LitStr> {
    match require_value(option, expected, errors)? {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => Some(lit.clone()),
        other => {
            errors.spanned(
                other,
                format!(
                    "expected a string literal for `{}`, e.g. `{} = {expected}`",
                    option.name, option.name
                ),
            );
            None
        }
    }
}
