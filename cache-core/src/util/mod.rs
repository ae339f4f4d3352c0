//! Small pieces the hot paths share: the clocks and short-key byte helpers.

pub(crate) mod clock;
pub(crate) mod short_bytes;
