//! The REST demo service: `cargo run -p examples --bin rest_demo`, then see
//! <http://127.0.0.1:8002/docs>. On Redis when `REDIS_URL` is set, in memory otherwise; every
//! key under `demo_api:`. The endpoints and curl lines to try are in `examples::rest_demo`.

use std::net::{Ipv4Addr, SocketAddr};

use examples::rest_demo::{DEFAULT_PREFIX, router};

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
    let (backend, name) = examples::backend::from_env("").await?;
    let listener =
        tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await?;
    let address = listener.local_addr()?;
    tracing::info!(%address, backend = name, "rest_demo listening");
    println!("rest_demo on http://{address}/docs ({name} backend)");
    axum::serve(listener, router(backend, name, DEFAULT_PREFIX))
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
