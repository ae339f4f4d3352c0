//! The session cookie: read from the `Cookie` header, written as `Set-Cookie`.

use std::time::Duration;

use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue};
use cache_core::session::SessionId;

/// The cookie's name.
const NAME: &str = "sid";

/// The session id the request's cookie carries, if it is one (`None` for a missing or
/// malformed cookie: both mean "not logged in").
pub(super) fn session_id(headers: &HeaderMap) -> Option<SessionId> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == NAME)
        .and_then(|(_, value)| SessionId::parse(value).ok())
}

/// A `Set-Cookie` header for `id`, living `ttl`. HttpOnly keeps it from scripts; Lax still
/// sends it on the top-level redirect back from the provider.
pub(super) fn set(id: &SessionId, ttl: Duration) -> (axum::http::HeaderName, HeaderValue) {
    header(&format!(
        "{NAME}={}; Max-Age={}",
        id.expose(),
        ttl.as_secs()
    ))
}

/// A `Set-Cookie` header that removes the cookie.
pub(super) fn clear() -> (axum::http::HeaderName, HeaderValue) {
    header(&format!("{NAME}=; Max-Age=0"))
}

fn header(cookie: &str) -> (axum::http::HeaderName, HeaderValue) {
    let value = format!("{cookie}; Path=/; HttpOnly; SameSite=Lax");
    // A session id is hex, so the value is always a valid header; the fallback is unreachable
    // in practice and still never panics.
    let value = HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static(""));
    (SET_COOKIE, value)
}
