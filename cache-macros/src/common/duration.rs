//! Durations written in macro options: whole seconds (`300`), a duration string (`"90s"`,
//! `"5m"`, `"1h30m"`, `"250ms"`), or any constant expression of type `Duration`.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned as _;
use syn::{Expr, ExprLit, ExprUnary, Lit, Path, UnOp};

use super::attr::{RawOption, require_value};
use super::errors::Errors;

/// A duration option, checked as far as the macro can.
#[derive(Clone)]
pub(crate) enum DurationValue {
    /// A literal, checked and converted at expansion time.
    Literal { secs: u64, nanos: u32 },
    /// A constant expression, left to the compiler (it must be a `const` `Duration`).
    Expr(Expr),
}

impl DurationValue {
    /// `Duration` tokens usable in a `static` initializer.
    pub(crate) fn to_tokens(&self, krate: &Path) -> TokenStream {
        match self {
            Self::Literal { secs, nanos } => {
                quote!(#krate::__private::Duration::new(#secs, #nanos))
            }
            Self::Expr(expr) => quote_spanned!(expr.span()=> #expr),
        }
    }
}

/// A duration option's value, `name = <example>` in the message when it is missing.
pub(crate) fn option(
    option: &RawOption,
    example: &str,
    errors: &mut Errors,
) -> Option<DurationValue> {
    let value = require_value(option, example, errors)?;
    parse(&option.name.to_string(), value, errors)
}

const FORMAT_HELP: &str = "expected whole seconds (`300`) or a duration string such as `\"90s\"`, `\"5m\"`, `\"1h30m\"` or `\"250ms\"`";

/// Reads a duration option's value; `name` is the option, for messages.
fn parse(name: &str, value: &Expr, errors: &mut Errors) -> Option<DurationValue> {
    let parsed = match value {
        Expr::Lit(ExprLit {
            lit: Lit::Int(int), ..
        }) => match int.base10_parse::<u64>() {
            Ok(secs) if int.suffix().is_empty() || int.suffix() == "u64" => Ok((secs, 0)),
            Ok(_) => Err(format!("`{name}` in seconds takes an unsuffixed integer")),
            Err(_) => Err(format!("`{name}` is too large")),
        },
        Expr::Lit(ExprLit {
            lit: Lit::Str(text),
            ..
        }) => parse_text(&text.value()),
        Expr::Lit(ExprLit {
            lit: Lit::Float(_), ..
        }) => Err(format!(
            "`{name}` takes whole seconds; write fractions as a string such as `\"1500ms\"`"
        )),
        Expr::Unary(ExprUnary {
            op: UnOp::Neg(_), ..
        }) => Err(format!("`{name}` cannot be negative")),
        Expr::Lit(_) => Err(format!("invalid `{name}`: {FORMAT_HELP}")),
        other => return Some(DurationValue::Expr(other.clone())),
    };
    match parsed {
        Ok((0, 0)) => {
            errors.spanned(value, format!("`{name}` must be greater than zero"));
            None
        }
        Ok((secs, nanos)) => Some(DurationValue::Literal { secs, nanos }),
        Err(message) => {
            errors.spanned(value, message);
            None
        }
    }
}

/// Parses `"1h30m"`-style text into whole seconds and nanoseconds.
fn parse_text(text: &str) -> Result<(u64, u32), String> {
    let invalid = || format!("invalid duration `{text}`: {FORMAT_HELP}");
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(invalid());
    }
    let mut total_nanos: u128 = 0;
    let mut rest = trimmed;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(invalid());
        }
        let amount: u128 = rest[..digits].parse().map_err(|_| invalid())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit_nanos: u128 = match &rest[..unit_len] {
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60 * 1_000_000_000,
            "h" => 3_600 * 1_000_000_000,
            "d" => 86_400 * 1_000_000_000,
            "" => {
                return Err(format!(
                    "missing unit in duration `{text}`; use `ms`, `s`, `m`, `h` or `d`"
                ));
            }
            unit => {
                return Err(format!(
                    "unknown unit `{unit}` in duration `{text}`; use `ms`, `s`, `m`, `h` or `d`"
                ));
            }
        };
        rest = &rest[unit_len..];
        total_nanos = amount
            .checked_mul(unit_nanos)
            .and_then(|nanos| total_nanos.checked_add(nanos))
            .ok_or_else(invalid)?;
    }
    let secs = u64::try_from(total_nanos / 1_000_000_000).map_err(|_| invalid())?;
    let nanos = u32::try_from(total_nanos % 1_000_000_000).map_err(|_| invalid())?;
    Ok((secs, nanos))
}

#[cfg(test)]
mod tests {
    use super::parse_text;

    #[test]
    fn duration_strings() {
        assert_eq!(parse_text("90s"), Ok((90, 0)));
        assert_eq!(parse_text("5m"), Ok((300, 0)));
        assert_eq!(parse_text("1h30m"), Ok((5_400, 0)));
        assert_eq!(parse_text("250ms"), Ok((0, 250_000_000)));
        assert_eq!(parse_text("1d"), Ok((86_400, 0)));
        assert_eq!(parse_text("1s500ms"), Ok((1, 500_000_000)));
        assert!(parse_text("5").is_err());
        assert!(parse_text("5 minutes").is_err());
        assert!(parse_text("m").is_err());
        assert!(parse_text("").is_err());
        assert!(parse_text("-5s").is_err());
    }
}
