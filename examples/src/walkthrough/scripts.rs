//! Lua scripts: what the guide's three scripts do, as the library's atomic operations on any
//! backend, then the scripts themselves on Redis (registered, run by SHA, `EVAL`, and
//! recovered after `SCRIPT FLUSH`).

use std::io::Write;
use std::sync::LazyLock;
use std::time::Duration;

use cache_core::lock::Lock;
use cache_core::rate_limit::{RateLimitPolicy, RateLimiter};
use cache_core::structures::Counter;
use cache_core::{Bytes, CacheBackend, DynBackend};
use cache_redis::RedisBackend;
use cache_redis::redis::{self, Script};

use super::{StepError, section};

/// The guide's rate-limit script: `{allowed, count}` for `ARGV[1]` calls per `ARGV[2]` s.
static RATE_LIMIT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"local current = redis.call('GET', KEYS[1])
if current and tonumber(current) >= tonumber(ARGV[1]) then
  return {0, tonumber(current)}
end
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return {1, count}",
    )
});

/// The guide's check-and-set: 1 if `KEYS[1]` held `ARGV[1]` and now holds `ARGV[2]`.
const CHECK_AND_SET: &str = r"if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2])
  return 1
end
return 0";

/// The guide's counter with metadata: `{new value, TTL in s}`.
const COUNTER_WITH_TTL: &str = r"local value = redis.call('INCRBY', KEYS[1], ARGV[1])
return {value, redis.call('TTL', KEYS[1])}";

pub(super) async fn run(
    backend: &DynBackend,
    redis: Option<&RedisBackend>,
    out: &mut impl Write,
) -> Result<(), StepError> {
    atomic_operations(backend, out).await?;
    section(out, "Lua scripts")?;
    match redis {
        Some(redis) => lua(redis, out).await,
        None => {
            writeln!(
                out,
                "needs Redis (REDIS_URL): the steps above are the library's own"
            )?;
            Ok(())
        }
    }
}

/// The jobs of the guide's scripts, done by library calls that are atomic on every backend
/// (on Redis they are Lua scripts themselves).
async fn atomic_operations(backend: &DynBackend, out: &mut impl Write) -> Result<(), StepError> {
    section(out, "atomic operations (what the guide's scripts do)")?;
    let limiter = RateLimiter::new(RateLimitPolicy::fixed_window(10, Duration::from_secs(60)))
        .backend(backend.clone());
    let mut allowed = 0;
    for _ in 0..11 {
        allowed += u32::from(limiter.check("user:123").await?.allowed());
    }
    writeln!(out, "rate limit 10 per 60 s, 11 calls -> {allowed} allowed")?;
    let calls = Counter::new(
        backend.clone(),
        "counter:api_calls",
        Duration::from_secs(3600),
    );
    let value = calls.increment(1).await?;
    let ttl = super::seconds(calls.ttl().await?);
    writeln!(out, "counter with ttl -> value {value}, ttl {ttl}")?;
    backend
        .set("inventory:item123", Bytes::from_static(b"10"), None)
        .await?;
    for attempt in ["first", "second"] {
        let swapped = check_and_set(backend, "inventory:item123", b"10", b"9").await?;
        writeln!(out, "check-and-set 10 -> 9, {attempt} try -> {swapped}")?;
    }
    Ok(())
}

/// Compare-and-swap of a plain value, made atomic for every process using the same lock name.
async fn check_and_set(
    backend: &DynBackend,
    key: &str,
    expected: &'static [u8],
    new: &'static [u8],
) -> Result<bool, StepError> {
    let guard = Lock::new(backend.clone(), format!("cas:{key}"))
        .lease(Duration::from_secs(5))
        .wait(Duration::from_secs(1))
        .acquire()
        .await?;
    let swapped = backend.get(key).await?.as_deref() == Some(expected);
    if swapped {
        backend.set(key, Bytes::from_static(new), None).await?;
    }
    guard.release().await?;
    Ok(swapped)
}

async fn lua(redis: &RedisBackend, out: &mut impl Write) -> Result<(), StepError> {
    let key = ["rate_limit:user:lua"];
    let (allowed, count): (i64, i64) = redis.eval(&RATE_LIMIT, &key, &[10, 60]).await?;
    writeln!(
        out,
        "registered rate_limit, run by SHA -> allowed {allowed}, count {count}"
    )?;
    redis.set("stock", Bytes::from_static(b"10"), None).await?;
    let swapped: i64 = redis
        .eval(&Script::new(CHECK_AND_SET), &["stock"], &["10", "9"])
        .await?;
    let again: i64 = redis
        .eval(&Script::new(CHECK_AND_SET), &["stock"], &["10", "9"])
        .await?;
    writeln!(
        out,
        "eval check_and_set 10 -> 9 -> {swapped}, again -> {again}"
    )?;
    let counter = Script::new(COUNTER_WITH_TTL);
    let (value, ttl): (i64, i64) = redis.eval(&counter, &["counter:lua"], &[1]).await?;
    writeln!(out, "eval counter_with_ttl -> value {value}, ttl {ttl}")?;
    // Direct Redis work goes through the backend's own connection.
    let mut connection = redis.connection();
    redis::cmd("SCRIPT")
        .arg("FLUSH")
        .query_async::<()>(&mut connection)
        .await?;
    let (allowed, count): (i64, i64) = redis.eval(&RATE_LIMIT, &key, &[10, 60]).await?;
    writeln!(
        out,
        "after SCRIPT FLUSH, by SHA again -> allowed {allowed}, count {count}"
    )?;
    Ok(())
}
