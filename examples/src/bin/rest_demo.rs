//! The REST demo service: `cargo run -p examples --bin rest_demo`, then see
//! <http://127.0.0.1:8002/docs>. On Redis when `REDIS_URL` is set, in memory otherwise; every
//! key under `demo_api:`. The endpoints and curl lines to try are in `examples::rest_demo`.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use cache_core::MemoryBackend;
use examples::rest_demo::{DEFAULT_PREFIX, redis_router, router};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = match std::env::var("PORT") {
        Ok(port) => port
            .parse()
            .map_err(|error| format!("PORT={port}: {error}"))?,
        Err(_) => 8002,
    };
    // The demo's prefix is applied by the router (so `/stats/reset` can scope to it), not by
    // the Redis configuration.
    let (app, name) = match examples::backend::redis_from_env("").await? {
        Some(redis) => (redis_router(redis, DEFAULT_PREFIX), "redis"),
        None => (
            router(Arc::new(MemoryBackend::new()), "memory", DEFAULT_PREFIX),
            "memory",
        ),
    };
    let listener =
        tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await?;
    let address = listener.local_addr()?;
    tracing::info!(%address, backend = name, "rest_demo listening");
    println!("rest_demo on http://{address}/docs ({name} backend)");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            if let Err(error) = tokio::signal::ctrl_c().await {
                tracing::warn!(%error, "cannot listen for Ctrl-C; serving until killed");
                std::future::pending::<()>().await;
            }
        })
        .await?;
    println!("rest_demo stopped");
    Ok(())
}
