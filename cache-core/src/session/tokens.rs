//! [`OneTimeTokens`]: values redeemable once, for OAuth `state`, magic links and the like.

use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::calls::{Calls, FRESH_ID_ATTEMPTS};
use super::key::{SecretKey, encode_fresh};
use super::store::no_free_id;
use crate::util::random::{constant_time_eq, hex128, is_hex128};
use crate::{CacheBackend, Result, check_ttl};

/// The key namespace of [`OneTimeTokens`] unless told otherwise.
pub const DEFAULT_TOKEN_NAMESPACE: &str = "token:";

/// What a token's key holds, as JSON: the secret half of the token and the value.
#[derive(Serialize, Deserialize)]
struct Stored<S, V> {
    secret: S,
    value: V,
}

const RECORD: &str = "a one-time token record";

/// A token issued by [`OneTimeTokens::issue`]: `<id>.<secret>`, two halves of 128 random
/// bits each as 32 lowercase hex digits (65 URL-safe characters). `Debug` shows
/// `OneTimeToken(..)`; [`expose`](Self::expose) gives the text for the link or redirect.
#[derive(Clone)]
pub struct OneTimeToken(String);

impl OneTimeToken {
    /// The token's text, to put in a URL. Keep it out of logs.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for OneTimeToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OneTimeToken(..)")
    }
}

/// Values stored with a TTL and redeemable once: [`issue`](Self::issue) gives a token,
/// [`take`](Self::take) reads and removes its value in one step (`GETDEL` on Redis), so of
/// many concurrent takers exactly one gets it.
///
/// The token's id half names the key (`<namespace><id>`); its secret half is stored with
/// the value and compared in constant time. A token with the right id and a wrong secret
/// gets `None` and spends the real one (it was taken to be compared): a forgery attempt
/// fails closed. Malformed text is `None` without a backend call. A backend error is an
/// `Err`, never a value. Tokens never appear in errors, logs or `Debug`.
///
/// ```
/// use std::time::Duration;
/// use cache_core::MemoryBackend;
/// use cache_core::session::OneTimeTokens;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> cache_core::Result<()> {
/// // OAuth: remember the provider and the PKCE verifier until the callback.
/// let states: OneTimeTokens<(String, String)> = OneTimeTokens::new(MemoryBackend::new());
/// let state = states
///     .issue(&("google".into(), "verifier".into()), Duration::from_secs(600))
///     .await?;
/// // ... redirect with `state=state.expose()`; the callback presents it back:
/// let pending = states.take(state.expose()).await?;
/// assert_eq!(pending, Some(("google".to_owned(), "verifier".to_owned())));
/// assert_eq!(states.take(state.expose()).await?, None);      // a replay gets nothing
/// assert_eq!(states.take("forged").await?, None);
/// # Ok(()) }
/// ```
pub struct OneTimeTokens<T> {
    calls: Calls,
    namespace: String,
    value: PhantomData<fn() -> T>,
}

impl<T> Clone for OneTimeTokens<T> {
    fn clone(&self) -> Self {
        Self {
            calls: self.calls.clone(),
            namespace: self.namespace.clone(),
            value: PhantomData,
        }
    }
}

impl<T> fmt::Debug for OneTimeTokens<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OneTimeTokens")
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

impl<T: Serialize + DeserializeOwned> OneTimeTokens<T> {
    /// Tokens on `backend` under [`DEFAULT_TOKEN_NAMESPACE`]. An `Arc<dyn CacheBackend>` is
    /// used as it is; any other backend is put in one.
    pub fn new(backend: impl CacheBackend) -> Self {
        Self {
            calls: Calls::new(backend),
            namespace: DEFAULT_TOKEN_NAMESPACE.to_owned(),
            value: PhantomData,
        }
    }

    /// The text in front of every token key (default `token:`).
    #[must_use]
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// The bound on each backend call, instead of [`default_timeout`](crate::default_timeout).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.calls.set_timeout(timeout);
        self
    }

    /// Stores `value` for `ttl` and returns the token that redeems it once.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for a zero `ttl`;
    /// [`ErrorKind::Codec`](crate::ErrorKind::Codec) if `value` does not encode; the
    /// backend's error or [`ErrorKind::Timeout`](crate::ErrorKind::Timeout).
    pub async fn issue(&self, value: &T, ttl: Duration) -> Result<OneTimeToken> {
        check_ttl(Some(ttl))?;
        let secret = hex128("a one-time token")?;
        let secret = std::str::from_utf8(&secret).unwrap_or_default();
        let bytes = encode_fresh(&self.namespace, &Stored { secret, value }, RECORD)?;
        for _ in 0..FRESH_ID_ATTEMPTS {
            let id = hex128("a one-time token")?;
            let id = std::str::from_utf8(&id).unwrap_or_default();
            let key = SecretKey::secret(&self.namespace, id);
            if self.calls.set_if_absent(&key, bytes.clone(), ttl).await? {
                return Ok(OneTimeToken(format!("{id}.{secret}")));
            }
        }
        Err(no_free_id(&self.namespace))
    }

    /// Redeems `token`: its value, removed in the same step, or `None` if the token is
    /// malformed, unknown, expired, already taken, or its secret is wrong (which spends it).
    ///
    /// # Errors
    ///
    /// The backend's error or [`ErrorKind::Timeout`](crate::ErrorKind::Timeout);
    /// [`ErrorKind::Codec`](crate::ErrorKind::Codec) (naming the key, not the token) for a
    /// value under the key that is not a token record holding a `T`.
    pub async fn take(&self, token: &str) -> Result<Option<T>> {
        let Some((id, secret)) = split(token) else {
            return Ok(None);
        };
        let key = SecretKey::secret(&self.namespace, id);
        let Some(bytes) = self.calls.take(&key).await? else {
            return Ok(None);
        };
        let stored: Stored<String, T> = key.decode(&bytes, RECORD)?;
        if !constant_time_eq(stored.secret.as_bytes(), secret.as_bytes()) {
            tracing::warn!(
                namespace = %self.namespace,
                "a one-time token was presented with a wrong secret; the token is spent"
            );
            return Ok(None);
        }
        Ok(Some(stored.value))
    }
}

/// The id and secret halves of a well-formed token.
fn split(token: &str) -> Option<(&str, &str)> {
    let (id, secret) = token.split_once('.')?;
    (is_hex128(id.as_bytes()) && is_hex128(secret.as_bytes())).then_some((id, secret))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::random::HEX128_LEN;

    #[test]
    fn tokens_split_strictly() {
        let half = "0123456789abcdef0123456789abcdef";
        assert!(split(&format!("{half}.{half}")).is_some());
        for bad in [
            String::new(),
            half.to_owned(),
            format!("{half}.{half}."),
            format!("{half}..{half}"),
            format!("{half}.{}", half.to_uppercase()),
            format!("{half}x.{half}"),
        ] {
            assert!(split(&bad).is_none(), "{bad}");
        }
        assert_eq!(HEX128_LEN * 2 + 1, format!("{half}.{half}").len());
    }

    #[test]
    fn debug_hides_the_token() {
        let token = OneTimeToken("secret.text".into());
        assert_eq!(format!("{token:?}"), "OneTimeToken(..)");
    }
}
