//! The local upstream the client calls: an axum server on a free loopback port standing in for
//! the guide's weather, payment and OAuth2 services, counting the requests it serves.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The token `/oauth/token` issues.
pub(super) const ACCESS_TOKEN: &str = "token-1";
/// `Authorization` for user `admin`, password `password123`.
const BASIC_ADMIN: &str = "Basic YWRtaW46cGFzc3dvcmQxMjM=";

/// Requests served, per kind.
#[derive(Default)]
pub(super) struct Counts {
    /// Every request but token requests.
    pub(super) calls: AtomicU64,
    /// Tokens issued.
    pub(super) tokens: AtomicU64,
}

impl Counts {
    pub(super) fn calls(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }

    pub(super) fn tokens(&self) -> u64 {
        self.tokens.load(Ordering::SeqCst)
    }

    fn call(&self) -> u64 {
        self.calls.fetch_add(1, Ordering::SeqCst) + 1
    }
}

/// A running upstream; stopped when dropped.
pub(super) struct Upstream {
    pub(super) base_url: String,
    pub(super) counts: Arc<Counts>,
    server: JoinHandle<()>,
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Upstream {
    /// Starts the server on `127.0.0.1:0`.
    pub(super) async fn start() -> std::io::Result<Self> {
        let counts = Arc::new(Counts::default());
        let app = Router::new()
            .route("/whoami", get(whoami))
            .route("/weather/{city}", get(weather))
            .route("/flaky", get(flaky))
            .route("/down", get(down))
            .route("/oauth/token", post(token))
            .with_state(counts.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let server = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                tracing::warn!(%error, "the walkthrough's upstream stopped");
            }
        });
        Ok(Self {
            base_url,
            counts,
            server,
        })
    }

    /// Clears the counts, between steps.
    pub(super) fn reset(&self) {
        self.counts.calls.store(0, Ordering::SeqCst);
        self.counts.tokens.store(0, Ordering::SeqCst);
    }
}

/// Which credentials the request carried, or 401.
async fn whoami(
    State(counts): State<Arc<Counts>>,
    headers: HeaderMap,
) -> (StatusCode, Json<Value>) {
    counts.call();
    let has = |name: &str, value: &str| headers.get(name).is_some_and(|got| got == value);
    let bearer = format!("Bearer {ACCESS_TOKEN}");
    let auth = if has("x-api-key", "your-api-key") {
        "api_key"
    } else if has(header::AUTHORIZATION.as_str(), &bearer) {
        "bearer"
    } else if has(header::AUTHORIZATION.as_str(), BASIC_ADMIN) {
        "basic"
    } else if has("x-custom-auth", "secret-key") {
        "custom"
    } else {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "no credentials"})),
        );
    };
    (StatusCode::OK, Json(json!({ "auth": auth })))
}

async fn weather(State(counts): State<Arc<Counts>>, Path(city): Path<String>) -> Json<Value> {
    counts.call();
    Json(json!({"city": city, "temperature_c": 14}))
}

/// Unavailable for the first two calls, then fine.
async fn flaky(State(counts): State<Arc<Counts>>) -> (StatusCode, Json<Value>) {
    if counts.call() <= 2 {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"error": "try later"})),
        );
    }
    (StatusCode::OK, Json(json!({"ok": true})))
}

async fn down(State(counts): State<Arc<Counts>>) -> StatusCode {
    counts.call();
    StatusCode::INTERNAL_SERVER_ERROR
}

async fn token(
    State(counts): State<Arc<Counts>>,
    Json(request): Json<Value>,
) -> (StatusCode, Json<Value>) {
    if request["client_secret"] != "client-secret" {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid_client"})),
        );
    }
    counts.tokens.fetch_add(1, Ordering::SeqCst);
    (
        StatusCode::OK,
        Json(json!({"access_token": ACCESS_TOKEN, "expires_in": 3600})),
    )
}
