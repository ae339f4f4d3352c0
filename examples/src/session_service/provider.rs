//! The fake identity provider inside the app (no network): its authorize URL, its code
//! exchange, and its key set, served at `/.well-known/jwks.json` through a cached fetch.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::response::IntoResponse;
use cache_core::{cached, with_backend};
use serde::{Deserialize, Serialize};

use super::Shared;

/// The provider's name, kept in pending logins and sessions.
pub(super) const NAME: &str = "example-idp";

/// Where the user would be sent to log in, carrying `state`.
pub(super) fn authorize_url(state: &str) -> String {
    format!(
        "https://idp.example.test/authorize?client_id=session-service&redirect_uri=/callback&state={state}"
    )
}

/// The user a code stands for: `good-<user>` (a user name of letters, digits, `-` and `_`),
/// anything else is rejected.
pub(super) fn exchange(code: &str) -> Option<&str> {
    let user = code.strip_prefix("good-")?;
    let valid = (1..=64).contains(&user.len())
        && user
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_');
    valid.then_some(user)
}

/// One public key of the set.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Jwk {
    kid: String,
    kty: String,
    alg: String,
    #[serde(rename = "use")]
    usage: String,
    crv: String,
    x: String,
}

/// A JWKS document.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct KeySet {
    keys: Vec<Jwk>,
}

/// The provider's key set endpoint, as slow as a remote one, counting its fetches.
pub(super) struct KeySource {
    issuer: String,
    fetches: AtomicU64,
}

impl KeySource {
    pub(super) fn new(issuer: &str) -> Self {
        Self {
            issuer: issuer.to_owned(),
            fetches: AtomicU64::new(0),
        }
    }

    /// The issuer's key set, kept an hour: keys rotate rarely, and each fetch is a round trip
    /// to the provider.
    #[cached(key = "jwks:<self.issuer>", ttl = "1h")]
    async fn key_set(&self) -> Result<KeySet, String> {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(50)).await;
        Ok(KeySet {
            keys: ["2026-11", "2026-12"]
                .into_iter()
                .map(|kid| Jwk {
                    kid: kid.to_owned(),
                    kty: "OKP".to_owned(),
                    alg: "EdDSA".to_owned(),
                    usage: "sig".to_owned(),
                    crv: "Ed25519".to_owned(),
                    x: format!("fake-ed25519-public-key-{kid}"),
                })
                .collect(),
        })
    }
}

/// `GET /.well-known/jwks.json`: the cached key set; `x-cache` says whether this call fetched
/// it (`miss`) or found it cached (`hit`), `x-jwks-fetches` how many fetches the app made.
pub(super) async fn jwks(State(app): State<Shared>) -> impl IntoResponse {
    let before = app.keys.fetches.load(Ordering::Relaxed);
    let keys = with_backend(app.backend.clone(), app.keys.key_set()).await;
    let fetches = app.keys.fetches.load(Ordering::Relaxed);
    let outcome = if fetches > before { "miss" } else { "hit" };
    let headers = [
        ("x-cache", outcome.to_owned()),
        ("x-jwks-fetches", fetches.to_string()),
    ];
    match keys {
        Ok(keys) => (headers, Json(keys)).into_response(),
        // The fake source never fails; a real one would, and its error is the answer.
        Err(error) => (
            axum::http::StatusCode::BAD_GATEWAY,
            Json(serde_json::json!({ "error": error })),
        )
            .into_response(),
    }
}
