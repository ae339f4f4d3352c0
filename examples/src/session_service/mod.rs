//! The session service of the seed guide `004`: an OAuth-style login (one-time `state`, a
//! callback that exchanges a code with a fake provider inside the app), user sessions in a
//! cookie (validate, rotate, log out, list, log out everywhere), a health endpoint with the
//! Redis `INFO` summary, data with a fallback and a cached JWKS-style key set.
//!
//! Everything lives in the backend the router is given: memory or Redis, the same way.

mod auth;
mod cookie;
mod data;
mod error;
mod health;
mod provider;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use cache_core::DynBackend;
use cache_core::session::{OneTimeTokens, Sessions};
use cache_redis::RedisBackend;
use serde::{Deserialize, Serialize};

use data::DataSource;
use provider::KeySource;

/// How long a login may take between `/login` and `/callback`.
const STATE_TTL: Duration = Duration::from_secs(600);
/// How long a session lives after its last write.
const SESSION_TTL: Duration = Duration::from_secs(3600);

/// What a user session holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Login {
    user: String,
    provider: String,
}

/// What a pending login remembers between `/login` and `/callback`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PendingLogin {
    provider: String,
}

/// The state every handler shares.
struct App {
    backend: DynBackend,
    redis: Option<RedisBackend>,
    states: OneTimeTokens<PendingLogin>,
    sessions: Sessions<Login>,
    keys: KeySource,
    data: DataSource,
}

type Shared = Arc<App>;

/// The service's routes over `backend`; give `redis` too when `backend` is that Redis, so that
/// `/health` reports its `INFO` summary.
///
/// ```
/// let app = examples::session_service::router(
///     std::sync::Arc::new(cache_core::MemoryBackend::new()),
///     None,
/// );
/// # let _ = app;
/// ```
pub fn router(backend: DynBackend, redis: Option<RedisBackend>) -> Router {
    let app = App {
        states: OneTimeTokens::new(backend.clone()).namespace("session_service:state:"),
        sessions: Sessions::new(backend.clone())
            .namespace("session_service:session:")
            .ttl(SESSION_TTL),
        keys: KeySource::new("https://auth.example.test"),
        data: DataSource::default(),
        backend,
        redis,
    };
    Router::new()
        .route("/login", get(auth::login))
        .route("/callback", get(auth::callback))
        .route("/me", get(auth::me))
        .route("/rotate", post(auth::rotate))
        .route("/logout", post(auth::logout))
        .route("/sessions", get(auth::sessions))
        .route("/logout-all", post(auth::logout_all))
        .route("/health", get(health::health))
        .route("/data/{id}", get(data::data))
        .route("/.well-known/jwks.json", get(provider::jwks))
        .with_state(Arc::new(app))
}
