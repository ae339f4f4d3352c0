//! The session service of seed guide `004`: an OAuth-style login flow, cookie sessions, health,
//! data with a fallback and a cached key set. See `examples::session_service`.
//!
//! Run with `cargo run -p examples --bin session_service` (memory), or with `REDIS_URL` set
//! (Redis). Listens on 127.0.0.1:`PORT` (default 8004).

use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = match std::env::var("PORT") {
        Ok(port) => port.parse()?,
        Err(_) => 8004,
    };
    let redis = examples::backend::redis_from_env("session_service:").await?;
    let (backend, kind) = examples::backend::serving(redis.as_ref());
    let app = examples::session_service::router(backend, redis);
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    tracing::info!(port, backend = kind, "session_service listening");
    println!("session_service on http://127.0.0.1:{port} ({kind} backend)");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            // Without a Ctrl-C handler there is nothing to wait for: serve until killed.
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        })
        .await?;
    Ok(())
}
