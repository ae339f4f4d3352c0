//! Key templates: `"user:<id>"`, `"repo:<self.tenant>:<id>"`, `"doc:<query.lang>"`.
//!
//! Text outside `<...>` is copied into the key as it is; `<<` stands for a literal `<`. A
//! placeholder is a parameter name, or `self`, followed by any number of `.field` accesses
//! (named or tuple fields). Placeholders are resolved against the function's parameters by
//! the macro that uses the template.

use syn::LitStr;

/// A parsed template, with the literal it came from (for spans).
pub(crate) struct KeyTemplate {
    pub(crate) lit: LitStr,
    pub(crate) segments: Vec<Segment>,
}

pub(crate) enum Segment {
    /// Text copied into the key unescaped.
    Literal(String),
    Placeholder(Placeholder),
}

/// `<root.field.field>`.
pub(crate) struct Placeholder {
    /// A parameter name or `self`.
    pub(crate) root: String,
    pub(crate) fields: Vec<String>,
}

impl Placeholder {
    /// The placeholder as written, e.g. `<self.tenant>`.
    pub(crate) fn display(&self) -> String {
        let mut text = format!("<{}", self.root);
        for field in &self.fields {
            text.push('.');
            text.push_str(field);
        }
        text.push('>');
        text
    }
}

/// Parses `lit` as a template; errors are spanned at the literal (a string's inside cannot be
/// spanned on stable Rust) and quote the offending part.
pub(crate) fn parse(lit: &LitStr) -> syn::Result<KeyTemplate> {
    let text = lit.value();
    let error = |message: String| syn::Error::new(lit.span(), message);
    if text.is_empty() {
        return Err(error(
            "the key template is empty; write e.g. `key = \"user:<id>\"`".to_owned(),
        ));
    }
    let mut segments = Vec::new();
    let mut literal = String::new();
    let mut rest = text.as_str();
    while let Some(open) = rest.find('<') {
        literal.push_str(&rest[..open]);
        rest = &rest[open + 1..];
        if let Some(after) = rest.strip_prefix('<') {
            literal.push('<');
            rest = after;
            continue;
        }
        let close = match rest.find(['>', '<']) {
            Some(close) if rest.as_bytes()[close] == b'>' => close,
            _ => {
                return Err(error(format!(
                    "unclosed `<` in key template `{text}`; close the placeholder with `>`, or write `<<` for a literal `<`"
                )));
            }
        };
        let placeholder = parse_placeholder(rest[..close].trim()).map_err(&error)?;
        if !literal.is_empty() {
            segments.push(Segment::Literal(std::mem::take(&mut literal)));
        }
        segments.push(Segment::Placeholder(placeholder));
        rest = &rest[close + 1..];
    }
    literal.push_str(rest);
    if !literal.is_empty() {
        segments.push(Segment::Literal(literal));
    }
    Ok(KeyTemplate {
        lit: lit.clone(),
        segments,
    })
}

fn parse_placeholder(inner: &str) -> Result<Placeholder, String> {
    if inner.is_empty() {
        return Err(
            "empty placeholder `<>` in key template; name a parameter, e.g. `<id>`".to_owned(),
        );
    }
    let mut parts = inner.split('.').map(str::trim);
    let root = parts.next().unwrap_or_default();
    if !is_ident(root) {
        return Err(format!(
            "invalid placeholder `<{inner}>` in key template; expected a parameter name, `self`, or a field path such as `<user.id>`"
        ));
    }
    let mut fields = Vec::new();
    for field in parts {
        if !(is_ident(field) || (!field.is_empty() && field.bytes().all(|b| b.is_ascii_digit()))) {
            return Err(format!(
                "invalid field `{field}` in placeholder `<{inner}>`; expected a field name or a tuple index"
            ));
        }
        fields.push(field.to_owned());
    }
    Ok(Placeholder {
        root: root.to_owned(),
        fields,
    })
}

fn is_ident(text: &str) -> bool {
    let mut chars = text.chars();
    chars
        .next()
        .is_some_and(|first| first == '_' || first.is_alphabetic())
        && chars.all(|c| c == '_' || c.is_alphanumeric())
        && text != "_"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segments(text: &str) -> Result<Vec<String>, String> {
        let lit = LitStr::new(text, proc_macro2::Span::call_site());
        parse(&lit)
            .map(|template| {
                template
                    .segments
                    .iter()
                    .map(|segment| match segment {
                        Segment::Literal(text) => format!("lit({text})"),
                        Segment::Placeholder(p) => p.display(),
                    })
                    .collect()
            })
            .map_err(|error| error.to_string())
    }

    #[test]
    fn templates() {
        assert_eq!(
            segments("user:<id>").as_deref(),
            Ok(&["lit(user:)".to_owned(), "<id>".to_owned()][..])
        );
        assert_eq!(
            segments("repo:<self.tenant>:<id>").map(|s| s.join(" ")),
            Ok("lit(repo:) <self.tenant> lit(:) <id>".to_owned())
        );
        assert_eq!(
            segments("a<<b>c").map(|s| s.join(" ")),
            Ok("lit(a<b>c)".to_owned())
        );
        assert_eq!(
            segments("<p.0.name>").map(|s| s.join(" ")),
            Ok("<p.0.name>".to_owned())
        );
        assert_eq!(
            segments("const").map(|s| s.join(" ")),
            Ok("lit(const)".to_owned())
        );
    }

    #[test]
    fn bad_templates() {
        assert!(segments("").is_err());
        assert!(
            segments("user:<id")
                .err()
                .unwrap_or_default()
                .contains("unclosed")
        );
        assert!(
            segments("user:<id:<x>")
                .err()
                .unwrap_or_default()
                .contains("unclosed")
        );
        assert!(
            segments("user:<>")
                .err()
                .unwrap_or_default()
                .contains("empty placeholder")
        );
        assert!(
            segments("user:<1d>")
                .err()
                .unwrap_or_default()
                .contains("invalid placeholder")
        );
        assert!(
            segments("user:<a.>")
                .err()
                .unwrap_or_default()
                .contains("invalid field")
        );
        assert!(segments("user:<_>").is_err());
    }
}
