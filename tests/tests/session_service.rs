//! The `session_service` example app over real HTTP (reqwest, the cookie carried by hand from
//! `Set-Cookie`), on the memory backend and on a real Redis: each behaviour is one async fn run
//! on both.
#![allow(clippy::unwrap_used, clippy::panic, missing_docs)]

use std::sync::Arc;

use axum::Router;
use cache_core::MemoryBackend;
use cache_tests::redis_harness::{RedisServer, shared_server, unique_prefix};
use reqwest::StatusCode;
use reqwest::header::{COOKIE, SET_COOKIE};
use serde_json::Value;
use tokio::net::TcpListener;

/// The app served on a free loopback port, and a client for it.
struct Service {
    base: String,
    client: reqwest::Client,
    backend: &'static str,
}

impl Service {
    async fn start(app: Router, backend: &'static str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            base,
            client: reqwest::Client::new(),
            backend,
        }
    }

    async fn get(&self, path: &str, cookie: Option<&str>) -> reqwest::Response {
        self.send(self.client.get(format!("{}{path}", self.base)), cookie)
            .await
    }

    async fn post(&self, path: &str, cookie: Option<&str>) -> reqwest::Response {
        self.send(self.client.post(format!("{}{path}", self.base)), cookie)
            .await
    }

    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        cookie: Option<&str>,
    ) -> reqwest::Response {
        let request = match cookie {
            Some(cookie) => request.header(COOKIE, cookie),
            None => request,
        };
        request.send().await.unwrap()
    }

    /// A fresh login state from `/login`.
    async fn state(&self) -> String {
        let response = self.get("/login", None).await;
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        let state = body["state"].as_str().unwrap().to_owned();
        let url = body["authorize_url"].as_str().unwrap();
        assert!(url.ends_with(&format!("state={state}")), "{url}");
        state
    }

    async fn callback(&self, state: &str, code: &str) -> reqwest::Response {
        self.get(&format!("/callback?state={state}&code={code}"), None)
            .await
    }

    /// Logs `user` in through the whole flow; the session cookie (`sid=...`).
    async fn login(&self, user: &str) -> String {
        let state = self.state().await;
        let response = self.callback(&state, &format!("good-{user}")).await;
        assert_eq!(response.status(), StatusCode::OK);
        let cookie = session_cookie(&response);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["user"], user);
        cookie
    }

    /// The user `/me` reports for `cookie`, or the status it refused with.
    async fn me(&self, cookie: &str) -> Result<String, StatusCode> {
        let response = self.get("/me", Some(cookie)).await;
        if response.status() != StatusCode::OK {
            return Err(response.status());
        }
        let body: Value = response.json().await.unwrap();
        Ok(body["user"].as_str().unwrap().to_owned())
    }
}

/// The `name=value` part of the response's session cookie, checked for its attributes.
fn session_cookie(response: &reqwest::Response) -> String {
    let header = response
        .headers()
        .get(SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap();
    assert!(header.contains("HttpOnly"), "{header}");
    assert!(header.contains("SameSite=Lax"), "{header}");
    let pair = header.split(';').next().unwrap().trim();
    assert!(
        pair.starts_with("sid=") && pair.len() > "sid=".len(),
        "{header}"
    );
    pair.to_owned()
}

async fn error_of(response: reqwest::Response) -> String {
    let body: Value = response.json().await.unwrap();
    body["error"].as_str().unwrap().to_owned()
}

async fn full_login_flow(service: Service) {
    let cookie = service.login("alice").await;
    assert_eq!(service.me(&cookie).await, Ok("alice".to_owned()));

    let response = service.get("/me", None).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_of(response).await, "no live session");
    let forged = format!("sid={}", "0".repeat(32));
    assert_eq!(service.me(&forged).await, Err(StatusCode::UNAUTHORIZED));
    assert_eq!(
        service.me("sid=not-an-id").await,
        Err(StatusCode::UNAUTHORIZED)
    );
}

async fn state_replay_refused(service: Service) {
    let state = service.state().await;
    let first = service.callback(&state, "good-alice").await;
    assert_eq!(first.status(), StatusCode::OK);
    let replay = service.callback(&state, "good-alice").await;
    assert_eq!(replay.status(), StatusCode::UNAUTHORIZED);
    assert!(replay.headers().get(SET_COOKIE).is_none());
    assert_eq!(
        error_of(replay).await,
        "unknown, expired or already used state"
    );
}

async fn wrong_state_refused(service: Service) {
    let _issued = service.state().await;
    let forged = service.callback("forged-state", "good-alice").await;
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    assert!(forged.headers().get(SET_COOKIE).is_none());

    let missing = service.get("/callback?code=good-alice", None).await;
    assert_eq!(missing.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_of(missing).await, "state and code are required");

    // A good state with a code the provider rejects: no session, and the state is spent.
    let state = service.state().await;
    let bad_code = service.callback(&state, "stolen").await;
    assert_eq!(bad_code.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_of(bad_code).await, "the provider rejected the code");
    let retry = service.callback(&state, "good-alice").await;
    assert_eq!(retry.status(), StatusCode::UNAUTHORIZED);
}

async fn rotate_kills_the_old_cookie(service: Service) {
    let old = service.login("alice").await;
    let response = service.post("/rotate", Some(&old)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let new = session_cookie(&response);
    assert_ne!(new, old);
    assert_eq!(service.me(&old).await, Err(StatusCode::UNAUTHORIZED));
    assert_eq!(service.me(&new).await, Ok("alice".to_owned()));
    let again = service.post("/rotate", Some(&old)).await;
    assert_eq!(again.status(), StatusCode::UNAUTHORIZED);
}

async fn logout_kills_the_cookie(service: Service) {
    let cookie = service.login("alice").await;
    let other = service.login("alice").await;
    let response = service.post("/logout", Some(&cookie)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let cleared = response
        .headers()
        .get(SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap();
    assert!(
        cleared.starts_with("sid=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
    assert_eq!(service.me(&cookie).await, Err(StatusCode::UNAUTHORIZED));
    let again = service.post("/logout", Some(&cookie)).await;
    assert_eq!(again.status(), StatusCode::UNAUTHORIZED);
    // Only that session: the user's other one lives on.
    assert_eq!(service.me(&other).await, Ok("alice".to_owned()));
}

async fn logout_all_kills_every_session_of_the_user(service: Service) {
    let laptop = service.login("alice").await;
    let phone = service.login("alice").await;
    let bob = service.login("bob").await;
    let response = service.post("/logout-all", Some(&phone)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["destroyed"], 2);
    assert_eq!(service.me(&laptop).await, Err(StatusCode::UNAUTHORIZED));
    assert_eq!(service.me(&phone).await, Err(StatusCode::UNAUTHORIZED));
    assert_eq!(service.me(&bob).await, Ok("bob".to_owned()));
}

async fn sessions_listing(service: Service) {
    let laptop = service.login("alice").await;
    let _phone = service.login("alice").await;
    let _bob = service.login("bob").await;
    let response = service.get("/sessions", Some(&laptop)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["user"], "alice");
    let sessions = body["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2, "{body}");
    let current = sessions.iter().filter(|s| s["current"] == true).count();
    assert_eq!(current, 1, "{body}");
    assert!(
        sessions
            .iter()
            .all(|s| s["created_unix_ms"].as_u64().unwrap() > 0)
    );
    // The other session's id is a credential: it is not in the listing.
    let text = body.to_string();
    assert!(!text.contains(laptop.trim_start_matches("sid=")), "{text}");

    let unauthenticated = service.get("/sessions", None).await;
    assert_eq!(unauthenticated.status(), StatusCode::UNAUTHORIZED);
}

async fn health_answers(service: Service) {
    let response = service.get("/health", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "healthy", "{body}");
    assert!(body["ping_ms"].as_f64().unwrap() >= 0.0);
    assert_eq!(body["backend"]["kind"], service.backend, "{body}");
    if service.backend == "redis" {
        assert!(
            !body["backend"]["version"].as_str().unwrap().is_empty(),
            "{body}"
        );
        assert!(
            body["backend"]["connected_clients"].as_u64().unwrap() >= 1,
            "{body}"
        );
    }
}

async fn jwks_second_call_is_a_hit(service: Service) {
    let first = service.get("/.well-known/jwks.json", None).await;
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(first.headers()["x-cache"], "miss");
    assert_eq!(first.headers()["x-jwks-fetches"], "1");
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["keys"].as_array().unwrap().len(), 2);

    let second = service.get("/.well-known/jwks.json", None).await;
    assert_eq!(second.headers()["x-cache"], "hit");
    assert_eq!(second.headers()["x-jwks-fetches"], "1");
    assert_eq!(second.json::<Value>().await.unwrap(), first);
}

async fn data_is_read_once_then_cached(service: Service) {
    for _ in 0..2 {
        let response = service.get("/data/7", None).await;
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["item"]["value"], "item #7");
        assert_eq!(body["source_reads"], 1, "{body}");
    }
    let bad = service.get("/data/-1", None).await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
}

async fn on_memory() -> Service {
    let app = examples::session_service::router(Arc::new(MemoryBackend::new()), None);
    Service::start(app, "memory").await
}

async fn on_redis(name: &str) -> Option<Service> {
    let server = shared_server()?;
    let redis = server.backend(&unique_prefix(name)).await;
    let app = examples::session_service::router(Arc::new(redis.clone()), Some(redis));
    Some(Service::start(app, "redis").await)
}

/// Each behaviour as two tests: `memory::<name>` and `redis::<name>`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(#[tokio::test]
            async fn $name() {
                super::$name(super::on_memory().await).await;
            })*
        }
        mod redis {
            $(#[tokio::test]
            async fn $name() {
                if let Some(service) = super::on_redis(stringify!($name)).await {
                    super::$name(service).await;
                }
            })*
        }
    };
}

on_both_backends!(
    full_login_flow,
    state_replay_refused,
    wrong_state_refused,
    rotate_kills_the_old_cookie,
    logout_kills_the_cookie,
    logout_all_kills_every_session_of_the_user,
    sessions_listing,
    health_answers,
    jwks_second_call_is_a_hit,
    data_is_read_once_then_cached,
);

/// While Redis is down: data still answers from the source (fail-open), sessions fail closed
/// (503, never a valid session), health says unhealthy. Then Redis comes back.
#[tokio::test]
async fn redis_down_data_falls_back_sessions_fail_closed() {
    let Some(mut server) = RedisServer::start() else {
        return;
    };
    let redis = server.backend(&unique_prefix("outage")).await;
    let app = examples::session_service::router(Arc::new(redis.clone()), Some(redis));
    let service = Service::start(app, "redis").await;
    let cookie = service.login("alice").await;
    assert_eq!(service.me(&cookie).await, Ok("alice".to_owned()));

    server.kill();
    for expected_reads in 1..=2 {
        let response = service.get("/data/3", None).await;
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["item"]["value"], "item #3");
        // Nothing is stored while the cache is down: each call reads the source.
        assert_eq!(body["source_reads"], expected_reads, "{body}");
    }
    let me = service.get("/me", Some(&cookie)).await;
    assert_eq!(me.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(error_of(me).await, "session store unavailable");
    let login = service.get("/login", None).await;
    assert_eq!(login.status(), StatusCode::SERVICE_UNAVAILABLE);
    let health = service.get("/health", None).await;
    assert_eq!(health.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = health.json().await.unwrap();
    assert_eq!(body["status"], "unhealthy", "{body}");

    server.restart();
    // The client reconnects by itself. The restarted server starts empty (no persistence), so
    // a fresh login, not the old cookie, shows the service whole again.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while service.get("/health", None).await.status() != StatusCode::OK {
        assert!(
            tokio::time::Instant::now() < deadline,
            "Redis never came back"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let again = service.login("alice").await;
    assert_eq!(service.me(&again).await, Ok("alice".to_owned()));
}
