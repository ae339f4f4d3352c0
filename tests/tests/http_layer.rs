//! The HTTP rate-limit layer, over real HTTP: an axum server on a loopback port, a raw
//! HTTP/1.1 client on a TCP socket.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use cache_core::MemoryBackend;
use cache_core::http::{Parts, RateLimitLayer};
use cache_core::rate_limit::{RateLimitPolicy, RateLimiter};
use cache_core::testing::Faults;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

async fn serve(limiter: RateLimiter) -> SocketAddr {
    let layer = RateLimitLayer::new(limiter, |request: &Parts| {
        request
            .headers
            .get("x-client")?
            .to_str()
            .ok()
            .map(str::to_owned)
    });
    let app = Router::new()
        .route("/", get(|| async { "hello" }))
        .layer(layer);
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    addr
}

/// Sends one request and returns the status code and the lowercased head.
async fn request(addr: SocketAddr, client: Option<&str>) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let client = client
        .map(|c| format!("x-client: {c}\r\n"))
        .unwrap_or_default();
    let req = format!("GET / HTTP/1.1\r\nhost: test\r\n{client}connection: close\r\n\r\n");
    stream.write_all(req.as_bytes()).await.expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("status line");
    (status, response.to_ascii_lowercase())
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines()
        .find_map(|line| line.strip_prefix(&format!("{name}: ")))
        .map(str::trim)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_429_with_headers_once_the_budget_is_spent() {
    let limiter = RateLimiter::new(RateLimitPolicy::fixed_window(3, Duration::from_secs(60)))
        .backend(MemoryBackend::new());
    let addr = serve(limiter).await;

    for remaining in ["2", "1", "0"] {
        let (status, head) = request(addr, Some("alice")).await;
        assert_eq!(status, 200, "{head}");
        assert_eq!(header(&head, "x-ratelimit-limit"), Some("3"));
        assert_eq!(header(&head, "x-ratelimit-remaining"), Some(remaining));
        assert!(header(&head, "retry-after").is_none());
    }
    let (status, head) = request(addr, Some("alice")).await;
    assert_eq!(status, 429, "{head}");
    assert_eq!(header(&head, "x-ratelimit-remaining"), Some("0"));
    let retry: u64 = header(&head, "retry-after")
        .and_then(|v| v.parse().ok())
        .expect("retry-after");
    assert!((1..=60).contains(&retry), "retry-after {retry}");
    let reset: u64 = header(&head, "x-ratelimit-reset")
        .and_then(|v| v.parse().ok())
        .expect("reset");
    assert!((1..=60).contains(&reset), "reset {reset}");

    // Another key has its own budget; a request without a key is not limited.
    assert_eq!(request(addr, Some("bob")).await.0, 200);
    for _ in 0..5 {
        let (status, head) = request(addr, None).await;
        assert_eq!(status, 200);
        assert!(header(&head, "x-ratelimit-limit").is_none());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_limiter_in_closed_mode_answers_503() {
    // The backend is down; fail-closed turns that into an error, the layer into a 503.
    let limiter = RateLimiter::new(RateLimitPolicy::gcra(1, Duration::from_secs(1)))
        .backend(Faults::down().wrap(cache_core::MemoryBackend::new()))
        .failure_mode(cache_core::rate_limit::FailureMode::Closed);
    let addr = serve(limiter).await;
    assert_eq!(request(addr, Some("alice")).await.0, 503);
}
