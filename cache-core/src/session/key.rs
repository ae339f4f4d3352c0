//! [`SecretKey`]: a backend key that may hold a secret (a session or token id), and errors
//! about it that never show the secret.

use std::fmt;

use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{Error, ErrorKind, KeyBuf};

/// What an error shows in place of a secret.
const REDACTED: &str = "<id>";

/// A key on the backend, `namespace` + a part that is secret (an id) or public (a user's
/// index, escaped). Errors name the key with the secret part shown as `<id>`.
#[derive(Clone)]
pub(super) struct SecretKey {
    full: String,
    /// Where the secret part starts; `full.len()` for a key with none.
    secret_from: usize,
}

impl SecretKey {
    /// `namespace` + `secret`, the secret hidden in errors.
    pub(super) fn secret(namespace: &str, secret: &str) -> Self {
        Self {
            full: format!("{namespace}{secret}"),
            secret_from: namespace.len(),
        }
    }

    /// `namespace` + `literal` + `value` in its escaped key form (see [`key`](crate::key)), so
    /// a value cannot collide with another or widen a pattern; all of it shown in errors.
    pub(super) fn public(namespace: &str, literal: &str, value: &str) -> Self {
        let mut key = KeyBuf::new();
        key.push_literal(namespace);
        key.push_literal(literal);
        key.push_escaped(value);
        let full = key.into_string();
        Self {
            secret_from: full.len(),
            full,
        }
    }

    /// The key as the backend gets it.
    pub(super) fn as_str(&self) -> &str {
        &self.full
    }

    fn secret_part(&self) -> &str {
        &self.full[self.secret_from..]
    }

    /// The key as errors and logs show it.
    pub(super) fn shown(&self) -> Shown<'_> {
        Shown(self)
    }

    /// `error` with every occurrence of the secret in its message replaced by `<id>`. The
    /// source is dropped when there is a secret: it may quote the key, and it is not ours to
    /// rewrite.
    pub(super) fn redact(&self, error: Error) -> Error {
        let secret = self.secret_part();
        if secret.is_empty() {
            return error;
        }
        Error::new(error.kind(), error.message().replace(secret, REDACTED))
    }

    /// `value` as JSON, to store under the key.
    pub(super) fn encode<T: Serialize + ?Sized>(
        &self,
        value: &T,
        what: &str,
    ) -> crate::Result<Bytes> {
        encode(value, what, self.shown())
    }

    /// The JSON under the key as a `T`; [`ErrorKind::Codec`] naming the key (secret hidden)
    /// if it is not one.
    pub(super) fn decode<T: DeserializeOwned>(&self, bytes: &[u8], what: &str) -> crate::Result<T> {
        serde_json::from_slice(bytes).map_err(|error| {
            Error::new(
                ErrorKind::Codec,
                format!(
                    "`{}` holds bytes that are not {what}: {}",
                    self.shown(),
                    quiet(&error)
                ),
            )
        })
    }
}

/// `value` as JSON, to store under a fresh key in `namespace` (its id not drawn yet).
pub(super) fn encode_fresh<T: Serialize + ?Sized>(
    namespace: &str,
    value: &T,
    what: &str,
) -> crate::Result<Bytes> {
    encode(value, what, format_args!("{namespace}{REDACTED}"))
}

fn encode<T: Serialize + ?Sized>(
    value: &T,
    what: &str,
    key: impl fmt::Display,
) -> crate::Result<Bytes> {
    serde_json::to_vec(value).map(Bytes::from).map_err(|error| {
        Error::new(
            ErrorKind::Codec,
            format!(
                "{what} for `{key}` does not encode as JSON: {}",
                quiet(&error)
            ),
        )
    })
}

/// Where and what kind of JSON error, without serde's message: that may quote the value, and
/// session data is as private as the id.
fn quiet(error: &serde_json::Error) -> String {
    format!(
        "a JSON {:?} error at line {} column {}",
        error.classify(),
        error.line(),
        error.column()
    )
    .to_lowercase()
}

/// [`SecretKey::shown`].
pub(super) struct Shown<'a>(&'a SecretKey);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key = self.0;
        f.write_str(&key.full[..key.secret_from])?;
        if key.secret_from < key.full.len() {
            f.write_str(REDACTED)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_keys_hide_the_secret() {
        let key = SecretKey::secret("session:", "0123abcd");
        assert_eq!(key.as_str(), "session:0123abcd");
        assert_eq!(key.shown().to_string(), "session:<id>");
        let error = key.redact(Error::new(
            ErrorKind::Timeout,
            "`get` of `session:0123abcd` timed out",
        ));
        assert_eq!(error.kind(), ErrorKind::Timeout);
        assert_eq!(error.message(), "`get` of `session:<id>` timed out");
    }

    #[test]
    fn public_keys_are_escaped_and_shown_whole() {
        let key = SecretKey::public("session:", "user:", "a:b*");
        assert_eq!(key.as_str(), "session:user:a%3Ab%2A");
        assert_eq!(key.shown().to_string(), "session:user:a%3Ab%2A");
        let error = Error::new(ErrorKind::Backend, "boom").with_source(std::fmt::Error);
        assert!(std::error::Error::source(&key.redact(error)).is_some());
    }

    #[test]
    fn decode_errors_name_the_key_not_the_value() {
        let key = SecretKey::secret("session:", "0123abcd");
        let error = key
            .decode::<u32>(br#""private data""#, "a session record")
            .expect_err("not a number");
        assert_eq!(error.kind(), ErrorKind::Codec);
        assert!(error.message().contains("`session:<id>`"), "{error}");
        assert!(!error.message().contains("private"), "{error}");
        assert!(!error.message().contains("0123abcd"), "{error}");
    }
}
