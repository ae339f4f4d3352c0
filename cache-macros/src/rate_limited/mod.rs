//! `#[rate_limited]`: parse the options (`args`), check them against each other and the
//! function (`validate`), generate code (`expand`). When anything is wrong, the function is
//! emitted unchanged next to the errors, so editors keep working and no knock-on errors appear.

mod args;
mod expand;
mod validate;

use proc_macro2::TokenStream;

use crate::common::pipeline::{self, Macro};

pub(crate) fn rate_limited(args: TokenStream, item: TokenStream) -> TokenStream {
    pipeline::run(
        &Macro {
            name: "rate_limited",
            consults: "the limiter",
        },
        args,
        item,
        args::Args::parse,
        validate::validate,
        expand::expand,
    )
}
