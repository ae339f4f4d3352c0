//! `#[locked]`: parse the options (`args`), check them against the function (`validate`),
//! generate code (`expand`). When anything is wrong, the function is emitted unchanged next to
//! the errors, so editors keep working and no knock-on errors appear.

mod args;
mod expand;
mod validate;

use proc_macro2::TokenStream;

use crate::common::pipeline::{self, Macro};

pub(crate) fn locked(args: TokenStream, item: TokenStream) -> TokenStream {
    pipeline::run(
        &Macro {
            name: "locked",
            consults: "the lock",
        },
        args,
        item,
        args::Args::parse,
        validate::validate,
        expand::expand,
    )
}
