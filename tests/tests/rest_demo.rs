//! The REST demo (`examples::rest_demo`) served on a loopback port and driven over real HTTP
//! with reqwest, on the memory backend and on a real Redis: the guide's curl sequences, and
//! bad input answered with a JSON 4xx.
#![allow(clippy::unwrap_used, clippy::panic, missing_docs)]

use std::sync::Arc;
use std::time::Duration;

use cache_core::layer::Prefix;
use cache_core::{Bytes, CacheBackend, DynBackend, MemoryBackend};
use cache_redis::RedisBackend;
use examples::rest_demo::{BODY_LIMIT, DEFAULT_PREFIX, docs::ENDPOINTS, redis_router, router};
use reqwest::{Client, Method, Response, StatusCode};
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// The backend a scenario runs on.
enum Served {
    Memory(MemoryBackend),
    Redis(Box<RedisBackend>),
}

impl Served {
    fn backend(&self) -> DynBackend {
        match self {
            Self::Memory(memory) => Arc::new(memory.clone()),
            Self::Redis(redis) => Arc::new(RedisBackend::clone(redis)),
        }
    }
}

/// The demo, serving on a free port.
struct App {
    base: String,
    client: Client,
}

impl App {
    async fn start(on: &Served) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = match on {
            Served::Memory(memory) => router(Arc::new(memory.clone()), "memory", DEFAULT_PREFIX),
            Served::Redis(redis) => redis_router(RedisBackend::clone(redis), DEFAULT_PREFIX),
        };
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            base,
            client: Client::new(),
        }
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, format!("{}{path}", self.base))
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        json_of(self.request(Method::GET, path).send().await.unwrap()).await
    }

    async fn delete(&self, path: &str) -> (StatusCode, Value) {
        json_of(self.request(Method::DELETE, path).send().await.unwrap()).await
    }

    async fn post(&self, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut request = self.request(Method::POST, path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        json_of(request.send().await.unwrap()).await
    }

    /// A POST of `body` as written, with a JSON content type.
    async fn post_raw(&self, path: &str, body: impl Into<reqwest::Body>) -> (StatusCode, Value) {
        let response = self
            .request(Method::POST, path)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        json_of(response).await
    }
}

async fn json_of(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|error| panic!("{status}: not JSON ({error}): {text}"));
    (status, body)
}

/// The `{"error": ...}` body of a 4xx.
fn assert_client_error((status, body): &(StatusCode, Value), expected: StatusCode) {
    assert_eq!(*status, expected, "{body}");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|error| !error.is_empty()),
        "no error message: {body}"
    );
}

async fn cache_set_get_delete_list(on: Served) {
    let app = App::start(&on).await;
    let set = json!({ "key": "hello", "value": "world", "ttl": 300 });
    let (status, body) = app.post("/cache", Some(set)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["ttl"], 300);

    let (status, body) = app.get("/cache/hello").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["value"], "world");
    let ttl = body["ttl_seconds"].as_i64().unwrap();
    assert!((290..=300).contains(&ttl), "{body}");

    for id in 1..=2 {
        let profile = json!({ "key": format!("user:{id}"), "value": { "id": id } });
        assert_eq!(app.post("/cache", Some(profile)).await.0, StatusCode::OK);
    }
    let (_, body) = app.get("/cache/user:2").await;
    assert_eq!(body["value"], json!({ "id": 2 }));
    let (status, body) = app.get("/cache?pattern=user:*").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut keys: Vec<&str> = body["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|key| key.as_str().unwrap())
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["user:1", "user:2"]);
    assert_eq!(app.get("/cache").await.1["count"], 3);

    let (status, body) = app.delete("/cache/hello").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_client_error(&app.get("/cache/hello").await, StatusCode::NOT_FOUND);
    assert_client_error(&app.delete("/cache/hello").await, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/cache").await.1["count"], 2);
}

async fn user_profile_is_a_hit_with_a_falling_ttl(on: Served) {
    let app = App::start(&on).await;
    let (status, body) = app.get("/users/user123").await;
    assert_client_error(&(status, body), StatusCode::NOT_FOUND);

    let profile = json!({
        "user_id": "user123", "name": "John Doe", "email": "john@example.com",
        "age": 30, "city": "San Francisco",
    });
    let (status, body) = app.post("/users", Some(profile.clone())).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["message"], "User profile cached successfully");

    let (status, first) = app.get("/users/user123").await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["cache_hit"], true);
    assert_eq!(first["profile"], profile);
    let first_ttl = first["ttl_seconds"].as_i64().unwrap();
    assert!((3590..=3600).contains(&first_ttl), "{first}");

    // Reads do not extend the record's hour: a second later it has less left. Real time,
    // since the Redis server's clock is involved.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (_, second) = app.get("/users/user123").await;
    assert_eq!(second["cache_hit"], true);
    assert!(
        second["ttl_seconds"].as_i64().unwrap() < first_ttl,
        "{second}"
    );

    assert_eq!(app.delete("/users/user123").await.0, StatusCode::OK);
    assert_client_error(&app.get("/users/user123").await, StatusCode::NOT_FOUND);
}

async fn the_eleventh_check_is_refused(on: Served) {
    let app = App::start(&on).await;
    let path = "/rate-limit/check?user_id=user123&limit=10&window=60";
    for count in 1..=12_u64 {
        let response = app.request(Method::GET, path).send().await.unwrap();
        let retry_after = response.headers().get("retry-after").cloned();
        let (status, body) = json_of(response).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        if count <= 10 {
            assert_eq!(body["allowed"], true, "check {count}: {body}");
            assert_eq!(body["current_count"], count, "{body}");
            assert_eq!(body["remaining"], 10 - count, "{body}");
            assert!(retry_after.is_none());
        } else {
            assert_eq!(body["allowed"], false, "check {count}: {body}");
            assert_eq!(body["current_count"], 10, "{body}");
            assert_eq!(body["remaining"], 0, "{body}");
            let secs = body["retry_after_seconds"].as_u64().unwrap();
            assert!((1..=60).contains(&secs), "{body}");
            assert_eq!(retry_after.unwrap().to_str().unwrap(), secs.to_string());
        }
    }
    // Another user has a budget of their own.
    let (_, body) = app
        .get("/rate-limit/check?user_id=other&limit=10&window=60")
        .await;
    assert_eq!(body["allowed"], true, "{body}");
}

async fn one_of_two_concurrent_lock_requests_is_refused(on: Served) {
    let app = App::start(&on).await;
    // Two seconds of processing: room for the second request to arrive on a loaded machine.
    let path = "/lock/payment_gateway?processing_time=2";
    let ((first, first_body), (second, second_body)) =
        tokio::join!(app.post(path, None), app.post(path, None));
    let mut statuses = [first, second];
    statuses.sort_unstable();
    assert_eq!(
        statuses,
        [StatusCode::OK, StatusCode::CONFLICT],
        "{first_body} {second_body}"
    );
    let (refused, done) = if first == StatusCode::CONFLICT {
        (first_body, second_body)
    } else {
        (second_body, first_body)
    };
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .contains("payment_gateway"),
        "{refused}"
    );
    assert_eq!(done["released"], true, "{done}");
    // Released: the next request gets it, and another resource was never blocked.
    assert_eq!(
        app.post("/lock/payment_gateway?processing_time=0", None)
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        app.post("/lock/other?processing_time=0", None).await.0,
        StatusCode::OK
    );
}

async fn tasks_come_back_fifo_then_404(on: Served) {
    let app = App::start(&on).await;
    let titles = ["Send email", "Process payment", "Generate report"];
    for (id, title) in titles.iter().enumerate() {
        let task = json!({ "id": id.to_string(), "title": title, "priority": "high" });
        let (status, body) = app.post("/queue/tasks", Some(task)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["queue_length"], id + 1);
    }
    let (_, all) = app.get("/queue/tasks/all").await;
    assert_eq!(all["count"], 3);
    assert_eq!(all["tasks"][0]["title"], "Send email");
    assert_eq!(
        app.get("/queue/tasks/all").await.1["count"],
        3,
        "peeking removes nothing"
    );

    for (popped, title) in titles.iter().enumerate() {
        let (status, body) = app.get("/queue/tasks").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["task"]["title"], *title, "{body}");
        assert_eq!(body["remaining"], titles.len() - popped - 1, "{body}");
    }
    assert_client_error(&app.get("/queue/tasks").await, StatusCode::NOT_FOUND);

    let task = json!({ "id": "x", "title": "dropped" });
    app.post("/queue/tasks", Some(task)).await;
    let (status, body) = app.delete("/queue/tasks").await;
    assert_eq!(
        (status, &body["cleared"]),
        (StatusCode::OK, &json!(true)),
        "{body}"
    );
    assert_client_error(&app.get("/queue/tasks").await, StatusCode::NOT_FOUND);
}

async fn stats_count_and_reset_only_the_demo(on: Served) {
    let other = Prefix::new("other_app:", on.backend());
    other
        .set("keep", Bytes::from_static(b"1"), None)
        .await
        .unwrap();
    let app = App::start(&on).await;
    for key in ["a", "b"] {
        app.post("/cache", Some(json!({ "key": key, "value": 1 })))
            .await;
    }
    app.post("/queue/tasks", Some(json!({ "id": "1", "title": "t" })))
        .await;

    let (status, stats) = app.get("/stats").await;
    assert_eq!(status, StatusCode::OK, "{stats}");
    assert_eq!(stats["status"], "connected");
    assert_eq!(stats["key_prefix"], DEFAULT_PREFIX);
    assert_eq!(stats["total_keys"], 3, "{stats}");
    assert!(stats["uptime_seconds"].is_u64(), "{stats}");
    match on {
        Served::Memory(_) => {
            assert_eq!(stats["backend"], "memory");
            assert!(stats["server"].is_null(), "{stats}");
        }
        Served::Redis(_) => {
            assert_eq!(stats["backend"], "redis");
            let server = &stats["server"];
            assert!(server["used_memory_bytes"].as_u64().unwrap() > 0, "{stats}");
            assert!(
                server["total_commands_processed"].as_u64().unwrap() > 0,
                "{stats}"
            );
            assert!(server["ops_per_second"].is_u64(), "{stats}");
            assert!(
                server["version"].as_str().is_some_and(|v| !v.is_empty()),
                "{stats}"
            );
        }
    }

    let (status, body) = app.post("/stats/reset", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["deleted_keys"], 3, "{body}");
    assert_eq!(app.get("/cache").await.1["count"], 0);
    assert_eq!(app.get("/stats").await.1["total_keys"], 0);
    assert!(
        other.exists("keep").await.unwrap(),
        "another prefix's key was deleted"
    );
}

async fn bad_input_is_a_json_4xx(on: Served) {
    let app = App::start(&on).await;
    let cases = [
        (
            app.post_raw("/cache", "{not json").await,
            StatusCode::BAD_REQUEST,
        ),
        (
            app.post_raw("/cache", r#"{"value": 1}"#).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            app.post_raw("/cache", r#"{"key": "k", "value": 1, "ttl": -5}"#)
                .await,
            StatusCode::BAD_REQUEST,
        ),
        (
            app.post_raw("/cache", r#"{"key": "", "value": 1}"#).await,
            StatusCode::BAD_REQUEST,
        ),
        (
            app.post_raw("/users", r#"{"user_id": "u", "name": "n"}"#)
                .await,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            app.post_raw("/queue/tasks", "[]").await,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            app.get("/rate-limit/check?limit=10").await,
            StatusCode::BAD_REQUEST,
        ),
        (
            app.get("/rate-limit/check?user_id=u&limit=abc").await,
            StatusCode::BAD_REQUEST,
        ),
        (
            app.get("/rate-limit/check?user_id=u&limit=0").await,
            StatusCode::BAD_REQUEST,
        ),
        (
            app.get("/rate-limit/check?user_id=u&window=-1").await,
            StatusCode::BAD_REQUEST,
        ),
        (
            app.post("/lock/r?processing_time=100", None).await,
            StatusCode::BAD_REQUEST,
        ),
        (
            app.post("/lock/r?processing_time=-1", None).await,
            StatusCode::BAD_REQUEST,
        ),
        (app.get("/no/such/endpoint").await, StatusCode::NOT_FOUND),
    ];
    for (answer, expected) in &cases {
        assert_client_error(answer, *expected);
    }

    let huge = json!({ "key": "big", "value": "x".repeat(BODY_LIMIT) }).to_string();
    assert_client_error(
        &app.post_raw("/cache", huge).await,
        StatusCode::PAYLOAD_TOO_LARGE,
    );
    let response = app
        .request(Method::POST, "/cache")
        .header("content-type", "text/plain")
        .body(r#"{"key": "k", "value": 1}"#)
        .send()
        .await
        .unwrap();
    assert_client_error(&json_of(response).await, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Nothing was stored by any of them.
    assert_eq!(app.get("/cache").await.1["count"], 0);
}

/// Each scenario on the memory backend and on the shared Redis (skipped without
/// `redis-server`), under a prefix of its own there.
macro_rules! on_both_backends {
    ($($scenario:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    super::$scenario(super::Served::Memory(cache_core::MemoryBackend::new())).await;
                }
            )*
        }
        mod redis {
            use cache_tests::redis_harness::{shared_server, unique_prefix};
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    let Some(server) = shared_server() else { return };
                    let backend = server.backend(&unique_prefix(stringify!($scenario))).await;
                    super::$scenario(super::Served::Redis(Box::new(backend))).await;
                }
            )*
        }
    };
}

on_both_backends!(
    cache_set_get_delete_list,
    user_profile_is_a_hit_with_a_falling_ttl,
    the_eleventh_check_is_refused,
    one_of_two_concurrent_lock_requests_is_refused,
    tasks_come_back_fifo_then_404,
    stats_count_and_reset_only_the_demo,
    bad_input_is_a_json_4xx,
);

#[tokio::test]
async fn openapi_and_docs_list_every_endpoint() {
    let app = App::start(&Served::Memory(MemoryBackend::new())).await;
    let (status, spec) = app.get("/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        spec["openapi"].as_str().unwrap().starts_with("3."),
        "{spec}"
    );
    for endpoint in ENDPOINTS {
        let operation = &spec["paths"][endpoint.path][endpoint.method.to_ascii_lowercase()];
        assert!(
            operation["summary"].is_string(),
            "{} {} missing",
            endpoint.method,
            endpoint.path
        );
    }
    let operations: usize = spec["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|methods| methods.as_object().unwrap().len())
        .sum();
    assert_eq!(operations, 18, "the router's endpoints, each once");

    let response = app.request(Method::GET, "/docs").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let page = response.text().await.unwrap();
    for endpoint in ENDPOINTS {
        let row = format!("{}</td><td><code>{}</code>", endpoint.method, endpoint.path);
        assert!(page.contains(&row), "{row} not on the page");
    }
    // Self-contained: nothing for a browser to fetch elsewhere (`docs_render_in_a_browser`
    // loads it in one).
    for outside in ["<script", "<link", "src=", "http://", "https://", "@import"] {
        assert!(!page.contains(outside), "the page refers to `{outside}`");
    }
}

/// `/metrics`: after two rate-limit checks over a limit of one, the Prometheus text counts
/// one allowed and one limited decision.
#[tokio::test]
async fn metrics_are_served_in_prometheus_text() {
    let app = App::start(&Served::Memory(MemoryBackend::new())).await;
    for _ in 0..2 {
        app.get("/rate-limit/check?user_id=metrics&limit=1&window=60")
            .await;
    }
    let response = app.request(Method::GET, "/metrics").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    for result in ["allowed", "limited"] {
        let labels =
            format!("ratelimit_name=\"ratelimit:fixed_window:\",ratelimit_result=\"{result}\"");
        assert!(
            text.lines()
                .any(|row| row.starts_with("ratelimit_decisions") && row.contains(&labels)),
            "no `ratelimit_decisions{{{labels}}}` in\n{text}"
        );
    }
}

/// `/docs` as a real browser shows it: every endpoint is a row of the table Chromium built.
#[tokio::test]
async fn docs_render_in_a_browser() {
    let app = App::start(&Served::Memory(MemoryBackend::new())).await;
    let Some(dom) = cache_tests::browser::rendered_dom(&format!("{}/docs", app.base)).await else {
        return;
    };
    assert!(dom.contains("<h1>cache-rs REST demo</h1>"), "{dom}");
    for endpoint in ENDPOINTS {
        let row = format!(
            "<td class=\"method\">{}</td><td><code>{}</code></td>",
            endpoint.method, endpoint.path
        );
        assert!(dom.contains(&row), "{row} not in the rendered page:\n{dom}");
    }
    let rows = dom.matches("<td class=\"method\">").count();
    assert_eq!(rows, ENDPOINTS.len(), "{dom}");
}
