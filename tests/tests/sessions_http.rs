//! `cache_core::session::TowerSessionStore` under `tower_sessions::SessionManagerLayer` in a
//! real axum server on a loopback port, driven over TCP by a raw HTTP/1.1 client that keeps
//! its cookie: on the memory backend and on a real Redis.
#![allow(clippy::unwrap_used, clippy::panic, missing_docs)]

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use cache_core::session::TowerSessionStore;
use cache_core::{CacheBackend, MemoryBackend};
use cache_tests::redis_harness::{shared_server, unique_prefix};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tower_sessions::{Expiry, Session, SessionManagerLayer};

/// How long a session lives without a request, in the expiry check.
const IDLE: Duration = Duration::from_millis(1200);

/// Logs in as `?user`: a new id (session fixation), then the user and a zero counter.
async fn login(session: Session) -> Result<&'static str, StatusCode> {
    let failed = |_| StatusCode::INTERNAL_SERVER_ERROR;
    session.cycle_id().await.map_err(failed)?;
    session.insert("user", "alice").await.map_err(failed)?;
    session.insert("count", 0_u64).await.map_err(failed)?;
    Ok("logged in")
}

/// The logged-in user and a counter that grows with each request, or 401.
async fn count(session: Session) -> Result<String, StatusCode> {
    let failed = |_| StatusCode::INTERNAL_SERVER_ERROR;
    let Some(user) = session.get::<String>("user").await.map_err(failed)? else {
        return Err(StatusCode::UNAUTHORIZED);
    };
    let count = session
        .get::<u64>("count")
        .await
        .map_err(failed)?
        .unwrap_or(0)
        + 1;
    session.insert("count", count).await.map_err(failed)?;
    Ok(format!("{user} {count}"))
}

/// An anonymous visit, which starts a session before any login.
async fn visit(session: Session) -> Result<&'static str, StatusCode> {
    session
        .insert("visited", true)
        .await
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    Ok("hello")
}

async fn logout(session: Session) -> Result<&'static str, StatusCode> {
    session
        .flush()
        .await
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    Ok("bye")
}

async fn serve(backend: impl CacheBackend) -> SocketAddr {
    let layer = SessionManagerLayer::new(TowerSessionStore::new(backend))
        .with_secure(false)
        .with_expiry(Expiry::OnInactivity(
            time::Duration::try_from(IDLE).unwrap(),
        ));
    let app = Router::new()
        .route("/visit", get(visit))
        .route("/login", get(login))
        .route("/count", get(count))
        .route("/logout", get(logout))
        .layer(layer);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// A client that keeps the session cookie the server last set (and ignores its expiry, so
/// that a stale cookie is presented as a careless or hostile client would).
struct Client {
    addr: SocketAddr,
    cookie: Option<String>,
}

struct Response {
    status: u16,
    body: String,
}

impl Client {
    fn new(addr: SocketAddr) -> Self {
        Self { addr, cookie: None }
    }

    async fn get(&mut self, path: &str) -> Response {
        let response = send(self.addr, path, self.cookie.as_deref()).await;
        let (head, body) = response.split_once("\r\n\r\n").expect("a head and a body");
        for line in head.lines() {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            if name.eq_ignore_ascii_case("set-cookie") {
                let pair = value.trim().split(';').next().unwrap_or_default();
                let (name, value) = pair.split_once('=').expect("name=value");
                assert_eq!(name, "id", "the session cookie");
                let removed = value.is_empty() || line.to_ascii_lowercase().contains("max-age=0");
                self.cookie = (!removed).then(|| pair.to_owned());
            }
        }
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .expect("a status line");
        Response {
            status,
            body: body.to_owned(),
        }
    }
}

/// One request on its own connection, with `cookie` if given; the raw response.
async fn send(addr: SocketAddr, path: &str, cookie: Option<&str>) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let cookie = cookie
        .map(|c| format!("cookie: {c}\r\n"))
        .unwrap_or_default();
    let request = format!("GET {path} HTTP/1.1\r\nhost: test\r\n{cookie}connection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
}

/// Login, a counter across requests, logout; old cookies (before login, after logout, after
/// the idle time) do not authenticate.
async fn login_count_logout(backend: impl CacheBackend) {
    let addr = serve(backend).await;
    let mut client = Client::new(addr);

    assert_eq!(client.get("/count").await.status, 401);
    assert_eq!(client.get("/visit").await.status, 200);
    let anonymous = client.cookie.clone().expect("an anonymous session");

    assert_eq!(client.get("/login").await.body, "logged in");
    let logged_in = client.cookie.clone().expect("a session cookie");
    assert_ne!(logged_in, anonymous, "login cycles the id");
    for n in 1..=3 {
        let response = client.get("/count").await;
        assert_eq!(response.status, 200, "{}", response.body);
        assert_eq!(response.body, format!("alice {n}"));
    }
    // The pre-login id is dead: it neither authenticates nor holds the anonymous session.
    let mut fixated = Client {
        addr,
        cookie: Some(anonymous),
    };
    assert_eq!(fixated.get("/count").await.status, 401);

    assert_eq!(client.get("/logout").await.body, "bye");
    assert_eq!(client.cookie, None, "the cookie is removed");
    let mut replay = Client {
        addr,
        cookie: Some(logged_in),
    };
    assert_eq!(
        replay.get("/count").await.status,
        401,
        "the old cookie is dead"
    );

    // An idle session expires: its cookie, presented late, loads nothing.
    assert_eq!(client.get("/login").await.status, 200);
    assert_eq!(client.get("/count").await.body, "alice 1");
    tokio::time::sleep(IDLE + Duration::from_millis(400)).await;
    assert_eq!(client.get("/count").await.status, 401, "expired");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_over_http_on_memory() {
    login_count_logout(MemoryBackend::new()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_over_http_on_redis() {
    let Some(server) = shared_server() else {
        return;
    };
    login_count_logout(server.backend(&unique_prefix("sessions_http")).await).await;
}
