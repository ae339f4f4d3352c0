//! What a caller sees while Redis is down: the backend exists at once (`connect_lazy`), each
//! operation fails within its timeout with a `Connection` error, and a cached function still
//! answers by running its body.

use std::io::Write;
use std::time::{Duration, Instant};

use cache_core::{Bytes, CacheBackend, DynBackend, with_backend};
use cache_redis::{RedisBackend, RedisConfig};

use super::profiles::Profiles;
use super::{StepError, section};

/// The bound on each operation against the missing server.
const TIMEOUT: Duration = Duration::from_millis(500);

pub(super) async fn run(out: &mut impl Write) -> Result<(), StepError> {
    section(out, "while Redis is down")?;
    let port = closed_port()?;
    let config = RedisConfig::new("127.0.0.1", port)
        .connect_timeout(TIMEOUT)
        .response_timeout(TIMEOUT);
    let down: DynBackend = std::sync::Arc::new(RedisBackend::connect_lazy(config)?);
    writeln!(
        out,
        "connect_lazy to 127.0.0.1:<closed port> -> a backend, at once"
    )?;

    let started = Instant::now();
    let got = down.get("user:123").await;
    writeln!(
        out,
        "get user:123 -> {} ({})",
        outcome(&got),
        bound(started)
    )?;
    let started = Instant::now();
    let set = down.set("user:123", Bytes::from_static(b"x"), None).await;
    writeln!(
        out,
        "set user:123 -> {} ({})",
        outcome(&set),
        bound(started)
    )?;

    let profiles = Profiles::default();
    for call in ["first", "second"] {
        let profile = with_backend(down.clone(), profiles.get(7)).await;
        // Nothing is stored while the backend is down: each call loads again.
        writeln!(
            out,
            "cached {call} call -> {profile} (store loads: {})",
            profiles.loads()
        )?;
    }
    Ok(())
}

/// A loopback port nothing listens on: bound, then released.
fn closed_port() -> std::io::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

fn outcome<T>(result: &cache_core::Result<T>) -> String {
    match result {
        Ok(_) => "ok".to_owned(),
        Err(error) => format!("error {:?}", error.kind()),
    }
}

/// Whether the call stayed within its timeout, the figure a caller can count on.
fn bound(started: Instant) -> &'static str {
    if started.elapsed() <= TIMEOUT * 2 {
        "within the timeout"
    } else {
        "slower than the timeout"
    }
}
