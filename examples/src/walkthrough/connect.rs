//! Configuration from the environment, then connect and health.

use std::collections::HashMap;
use std::io::Write;

use cache_core::{CacheBackend, DynBackend};
use cache_redis::{RedisBackend, RedisConfig};

use super::{StepError, section};

/// The guide's `.env` file, read through the same parser as the process environment.
const DOT_ENV: [(&str, &str); 6] = [
    ("REDIS_HOST", "cache.internal"),
    ("REDIS_PORT", "6380"),
    ("REDIS_PASSWORD", "your-password"),
    ("REDIS_DB", "2"),
    ("REDIS_KEY_PREFIX", "myapp:"),
    ("REDIS_DEFAULT_TTL", "3600"),
];

pub(super) async fn run(
    backend: &DynBackend,
    name: &str,
    redis: Option<&RedisBackend>,
    out: &mut impl Write,
) -> Result<(), StepError> {
    configuration(out)?;
    health(backend, name, redis, out).await
}

fn configuration(out: &mut impl Write) -> Result<(), StepError> {
    section(out, "configuration from the environment")?;
    let vars = HashMap::from(DOT_ENV);
    let lookup = |name: &str| vars.get(name).map(|value| (*value).to_owned());
    let config = RedisConfig::from_lookup(lookup)?;
    writeln!(out, "topology -> {:?}", config.topology())?;
    writeln!(out, "db -> {}", config.database())?;
    writeln!(out, "key prefix -> {:?}", config.prefix())?;
    writeln!(out, "default ttl -> {:?}", config.fallback_ttl())?;
    let shown = format!("{config:?}");
    writeln!(
        out,
        "password set -> {}, shown in Debug -> {}",
        config.has_password(),
        shown.contains("your-password")
    )?;
    let bad = HashMap::from([("REDIS_PORT", "not-a-port")]);
    let refused = RedisConfig::from_lookup(|name| bad.get(name).map(|value| (*value).to_owned()));
    match refused {
        Ok(_) => writeln!(out, "REDIS_PORT=not-a-port -> accepted")?,
        Err(error) => writeln!(out, "REDIS_PORT=not-a-port -> error {:?}", error.kind())?,
    }
    Ok(())
}

async fn health(
    backend: &DynBackend,
    name: &str,
    redis: Option<&RedisBackend>,
    out: &mut impl Write,
) -> Result<(), StepError> {
    section(out, "connect and health")?;
    writeln!(out, "serving on -> {name}")?;
    backend.ping().await?;
    writeln!(out, "ping -> ok")?;
    match redis {
        Some(redis) => {
            // The round trip varies run to run; that it was measured is what is shown.
            let _round_trip = redis.health_check().await?;
            writeln!(out, "health_check -> PING answered, scripts loaded")?;
            let info = redis.info().await?;
            writeln!(
                out,
                "info -> a version, {} node(s), memory in use: {}",
                info.nodes,
                info.used_memory > 0
            )?;
        }
        None => writeln!(out, "health_check -> in process: nothing to reach")?,
    }
    Ok(())
}
