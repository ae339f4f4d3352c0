//! A rate-limited HTTP endpoint: `/api/search` behind the library's tower layer, keyed by
//! the `X-API-Key` header or else the client's address, as the guide's limiter is.

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::routing::get;
use cache_core::DynBackend;
use cache_core::http::{Parts, RateLimitLayer};
use cache_core::rate_limit::{RateLimitPolicy, RateLimiter};
use tokio::net::TcpListener;

use super::{StepError, section};

/// The guide's `@rate_limit(max_requests=10, window=60)`, with a budget of 3 to keep it short.
const SEARCH: RateLimitPolicy = RateLimitPolicy::fixed_window(3, Duration::from_secs(60));

/// The limiter's key: the API key when the client sends one, its address otherwise.
fn client(request: &Parts) -> Option<String> {
    if let Some(key) = request
        .headers
        .get("x-api-key")
        .and_then(|key| key.to_str().ok())
    {
        // Tagged, so that no API key can spend an address's budget or the other way round.
        return Some(format!("key:{key}"));
    }
    let ConnectInfo(peer) = request.extensions.get::<ConnectInfo<SocketAddr>>()?;
    Some(format!("ip:{}", peer.ip()))
}

/// The app: one search route, limited on `backend` (every process sharing it shares the
/// budget).
fn app(backend: &DynBackend) -> Router {
    let limiter = RateLimiter::new(SEARCH)
        .backend(backend.clone())
        .namespace("rate_limit:search:");
    Router::new()
        .route(
            "/api/search",
            get(|| async { axum::Json(["Caching 101", "Redis tips"]) }),
        )
        .layer(RateLimitLayer::new(limiter, client))
}

/// Serves the app on a loopback port until the returned task is aborted.
async fn serve(backend: &DynBackend) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = app(backend).into_make_service_with_connect_info::<SocketAddr>();
    let server = tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::error!(%error, "the search server stopped");
        }
    });
    Ok((addr, server))
}

/// One request's outcome as a step line: the status and the limiter's headers.
async fn search(
    client: &reqwest::Client,
    addr: SocketAddr,
    api_key: Option<&str>,
) -> reqwest::Result<String> {
    let mut request = client.get(format!("http://{addr}/api/search?q=redis"));
    if let Some(key) = api_key {
        request = request.header("x-api-key", key);
    }
    let response = request.send().await?;
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    };
    let status = response.status();
    let line = match header("retry-after").and_then(|secs| secs.parse::<u64>().ok()) {
        // The exact figure depends on when the window opened; its bound does not.
        Some(secs) if secs <= 60 => format!("{status}, Retry-After within the 60 s window"),
        Some(secs) => format!("{status}, Retry-After {secs} s"),
        None => format!(
            "{status}, X-RateLimit-Remaining {}",
            header("x-ratelimit-remaining").unwrap_or_default()
        ),
    };
    Ok(line)
}

pub(super) async fn run(backend: &DynBackend, out: &mut impl Write) -> Result<(), StepError> {
    section(out, "rate-limited endpoint")?;
    let (addr, server) = serve(backend).await?;
    let client = reqwest::Client::new();
    let result = requests(&client, addr, out).await;
    server.abort();
    result
}

async fn requests(
    client: &reqwest::Client,
    addr: SocketAddr,
    out: &mut impl Write,
) -> Result<(), StepError> {
    for _ in 0..4 {
        writeln!(
            out,
            "GET /api/search?q=redis -> {}",
            search(client, addr, None).await?
        )?;
    }
    let line = search(client, addr, Some("partner")).await?;
    writeln!(out, "GET /api/search?q=redis with X-API-Key -> {line}")?;
    Ok(())
}
