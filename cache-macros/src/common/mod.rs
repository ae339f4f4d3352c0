//! Pieces shared by every macro of the crate: option parsing, error collection, key templates
//! and building keys, the function's shape, durations and the runtime path.

pub(crate) mod async_trait;
pub(crate) mod attr;
pub(crate) mod crate_path;
pub(crate) mod duration;
pub(crate) mod errors;
pub(crate) mod item_fn;
pub(crate) mod key;
pub(crate) mod key_template;
pub(crate) mod listing;
pub(crate) mod options;
pub(crate) mod pipeline;
pub(crate) mod required;
pub(crate) mod result_return;
