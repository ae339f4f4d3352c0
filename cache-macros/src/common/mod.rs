//! Pieces shared by every macro of the crate: option parsing, error collection, key templates,
//! durations and the runtime path.

pub(crate) mod attr;
pub(crate) mod crate_path;
pub(crate) mod duration;
pub(crate) mod errors;
pub(crate) mod key_template;
