//! [`SessionId`]: the secret that names a session.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use crate::util::random::{HEX128_LEN, constant_time_eq, hex128, is_hex128};
use crate::{Error, ErrorKind, Result};

/// A session's id: 128 random bits from the operating system's CSPRNG, written as 32
/// lowercase hex digits (URL- and cookie-safe).
///
/// An id is a bearer secret: whoever presents it is the session's user. So `Debug` shows
/// `SessionId(..)`, there is no `Display`, and the text is reached only through
/// [`expose`](Self::expose), for writing the cookie. Ids compare in constant time.
///
/// ```
/// use cache_core::session::SessionId;
///
/// let id = SessionId::random()?;
/// assert_eq!(id.expose().len(), 32);
/// assert_eq!(format!("{id:?}"), "SessionId(..)");
/// assert_eq!(id.expose().parse::<SessionId>()?, id);
/// assert!("not an id".parse::<SessionId>().is_err());
/// # Ok::<(), cache_core::Error>(())
/// ```
#[derive(Clone, Copy)]
pub struct SessionId([u8; HEX128_LEN]);

impl SessionId {
    /// A fresh random id.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Backend`] in the unlikely case that the operating system has no
    /// randomness to give.
    pub fn random() -> Result<Self> {
        hex128("a session id").map(Self)
    }

    /// Reads an id back from its text (a cookie's value), strictly: exactly 32 lowercase hex
    /// digits, as [`expose`](Self::expose) writes them.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] for any other text (which the error does not repeat).
    pub fn parse(text: &str) -> Result<Self> {
        let bytes = text.as_bytes();
        if !is_hex128(bytes) {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "a session id is {HEX128_LEN} lowercase hex digits; got {} bytes that are not one",
                    bytes.len()
                ),
            ));
        }
        let mut id = [0; HEX128_LEN];
        id.copy_from_slice(bytes);
        Ok(Self(id))
    }

    /// The id's text, to put in a cookie or a response. Keep it out of logs.
    #[must_use]
    pub fn expose(&self) -> &str {
        // Only ever built from hex digits, which are ASCII.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl FromStr for SessionId {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        Self::parse(text)
    }
}

impl PartialEq for SessionId {
    fn eq(&self, other: &Self) -> bool {
        constant_time_eq(&self.0, &other.0)
    }
}

impl Eq for SessionId {}

impl Hash for SessionId {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionId(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_fresh_and_round_trip() {
        let a = SessionId::random().expect("randomness");
        let b = SessionId::random().expect("randomness");
        assert_ne!(a, b);
        assert_eq!(SessionId::parse(a.expose()).expect("parses"), a);
    }

    #[test]
    fn bad_text_is_invalid_input_without_echo() {
        for text in [
            "",
            "abc",
            "0123456789ABCDEF0123456789abcdef",
            "secret-cookie-value-that-is-long!",
        ] {
            let error = SessionId::parse(text).expect_err(text);
            assert_eq!(error.kind(), ErrorKind::InvalidInput);
            assert!(text.is_empty() || !error.to_string().contains(text));
        }
    }

    #[test]
    fn debug_hides_the_id() {
        let id = SessionId::random().expect("randomness");
        assert_eq!(format!("{id:?}"), "SessionId(..)");
        assert!(!format!("{:?}", Some(id)).contains(id.expose()));
    }
}
