//! Small pieces the hot paths share: the clocks and short-key byte helpers; and the random
//! secrets of locks and sessions.

pub(crate) mod clock;
pub(crate) mod random;
pub(crate) mod short_bytes;
