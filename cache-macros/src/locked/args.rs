//! Parsing `#[locked(...)]`'s options. Every option is read independently and every problem is
//! recorded, so that one compile reports all of them; checks that need the function's
//! signature live in `validate`.

use proc_macro2::TokenStream;

use crate::common::attr::{Opt, RawOption, set_once, unknown_option};
use crate::common::duration::{self, DurationValue};
use crate::common::errors::Errors;
use crate::common::options::SharedOptions;
use crate::common::required::{RecordedOptions, Written, parse_recorded};

/// Every option `#[locked]` accepts, in the order the docs list them.
const OPTIONS: &[&str] = &["key", "ttl", "wait", "backend", "timeout", "crate"];

/// Names users reach for, from other locking crates, and the option that does that job.
const RENAMED: &[(&str, &str)] = &[
    ("lease", "ttl"),
    ("expire", "ttl"),
    ("expiry", "ttl"),
    ("ttl_secs", "ttl"),
    ("max_wait", "wait"),
    ("wait_for", "wait"),
    ("block", "wait"),
    ("name", "key"),
    ("lock", "key"),
    ("resource", "key"),
    ("store", "backend"),
];

/// The options as written, each with its keyword.
#[derive(Default)]
pub(crate) struct Args {
    /// `key`, `backend`, `timeout` and `crate`.
    pub(crate) shared: SharedOptions,
    pub(crate) ttl: Option<Opt<DurationValue>>,
    pub(crate) wait: Option<Opt<DurationValue>>,
    /// For reporting `key` when it is left out.
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
        if self.shared.read(&option, "\"payment:<id>\"", errors) {
            return;
        }
        match name.as_str() {
            // ttl = 30 | ttl = "30s" | ttl = CONST_DURATION
            "ttl" => {
                if let Some(ttl) = duration::option(&option, "30", errors) {
                    set_once(&mut self.ttl, keyword, ttl, errors);
                }
            }
            // wait = "2s"
            "wait" => {
                if let Some(wait) = duration::option(&option, "\"2s\"", errors) {
                    set_once(&mut self.wait, keyword, wait, errors);
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
