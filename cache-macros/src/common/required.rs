//! Options a macro cannot do without: which ones an attribute wrote, so that each one left out
//! is reported once, at the options, and never after a syntax error or a misspelling that
//! was already reported.

use proc_macro2::{Span, TokenStream};

use super::attr::{RawOption, parse_options};
use super::errors::Errors;

/// The options an attribute wrote, valid or not, and those a misspelt option was taken for.
#[derive(Default)]
pub(crate) struct Written {
    /// Where "missing option" errors point: the options as written, or the attribute.
    span: Option<TokenStream>,
    /// Whether the options parsed (nothing is reported missing after a syntax error).
    parsed: bool,
    names: Vec<&'static str>,
}

impl Written {
    /// Starts recording the options of `tokens`, the attribute's arguments.
    pub(crate) fn new(tokens: &TokenStream) -> Self {
        Self {
            span: (!tokens.is_empty()).then(|| tokens.clone()),
            parsed: false,
            names: Vec::new(),
        }
    }

    /// The options parsed: from now on, what was not written is missing.
    pub(crate) fn parsed(&mut self) {
        self.parsed = true;
    }

    /// `name` was written, or a misspelt option was taken for it.
    pub(crate) fn push(&mut self, name: &'static str) {
        self.names.push(name);
    }

    /// Reports `name` missing unless it was written: "missing option `limit`: write e.g.
    /// `limit = 10`".
    pub(crate) fn require(&self, name: &str, example: &str, errors: &mut Errors) {
        if !self.parsed || self.names.contains(&name) {
            return;
        }
        let message = format!("missing option `{name}`: write e.g. `{name} = {example}`");
        match &self.span {
            Some(tokens) => errors.spanned(tokens, message),
            None => errors.at(Span::call_site(), message),
        }
    }
}

/// The options of a macro with required ones, read one at a time.
pub(crate) trait RecordedOptions: Default {
    /// Every option the macro accepts.
    const OPTIONS: &'static [&'static str];

    /// Where the written options are recorded.
    fn written(&mut self) -> &mut Written;

    /// Reads one option (a misspelt one may record the option it was taken for).
    fn read(&mut self, option: RawOption, errors: &mut Errors);
}

/// Parses an attribute's tokens into `A`, recording every known option written. Syntax errors
/// end parsing; every other problem is pushed to `errors` and the option is left out.
pub(crate) fn parse_recorded<A: RecordedOptions>(tokens: TokenStream, errors: &mut Errors) -> A {
    let mut args = A::default();
    *args.written() = Written::new(&tokens);
    let Some(options) = parse_options(tokens, errors) else {
        return args;
    };
    args.written().parsed();
    for option in options {
        let name = option.name.to_string();
        if let Some(known) = A::OPTIONS.iter().find(|known| **known == name) {
            args.written().push(known);
        }
        args.read(option, errors);
    }
    args
}
