//! Pipelines and batches: `set_many`/`get_many` on any backend, then on Redis a pipeline, a
//! `MULTI`/`EXEC` transaction and a bulk insert, each one round trip.

use std::io::Write;
use std::time::Duration;

use cache_core::{Bytes, CacheBackend, DynBackend};
use cache_redis::RedisBackend;

use super::{StepError, section};

/// How many keys the bulk insert writes.
const BULK: usize = 1000;

pub(super) async fn run(
    backend: &DynBackend,
    redis: Option<&RedisBackend>,
    out: &mut impl Write,
) -> Result<(), StepError> {
    batches(backend, out).await?;
    section(out, "pipelines and transactions")?;
    match redis {
        Some(redis) => {
            pipeline(redis, out).await?;
            transaction(redis, out).await?;
            bulk(redis, out).await
        }
        None => {
            writeln!(
                out,
                "needs Redis (REDIS_URL): on memory each call is in process already"
            )?;
            Ok(())
        }
    }
}

async fn batches(backend: &DynBackend, out: &mut impl Write) -> Result<(), StepError> {
    section(out, "batches")?;
    let entries: Vec<(&str, Bytes)> = ["key1", "key2", "key3"]
        .into_iter()
        .zip(["value1", "value2", "value3"])
        .map(|(key, value)| (key, Bytes::from(value)))
        .collect();
    // One MSET-style call (a pipeline on Redis), whatever the number of keys.
    backend
        .set_many(&entries, Some(Duration::from_secs(60)))
        .await?;
    writeln!(out, "set_many key1 key2 key3 -> ok")?;
    let values = backend.get_many(&["key1", "key2", "missing"]).await?;
    let shown: Vec<Option<String>> = values
        .iter()
        .map(|value| {
            value
                .as_ref()
                .map(|bytes| String::from_utf8_lossy(bytes).into_owned())
        })
        .collect();
    writeln!(out, "get_many key1 key2 missing -> {shown:?}")?;
    Ok(())
}

async fn pipeline(redis: &RedisBackend, out: &mut impl Write) -> Result<(), StepError> {
    let mut pipe = redis.pipeline();
    for (key, value) in [("key1", "value1"), ("key2", "value2"), ("key3", "value3")] {
        pipe.set(key, value, None);
    }
    pipe.get("key1").get("key2");
    let results: (String, String, String, String, String) = pipe.query().await?;
    writeln!(out, "pipeline of 3 SET + 2 GET -> {results:?}")?;
    Ok(())
}

async fn transaction(redis: &RedisBackend, out: &mut impl Write) -> Result<(), StepError> {
    redis
        .set("counter:tx", Bytes::from_static(b"41"), None)
        .await?;
    let mut pipe = redis.pipeline();
    pipe.atomic()
        .get("counter:tx")
        .incr("counter:tx", 1)
        .expire("counter:tx", Duration::from_secs(3600));
    let (before, after, expiring): (String, i64, bool) = pipe.query().await?;
    writeln!(
        out,
        "MULTI GET, INCR, EXPIRE EXEC -> ({before}, {after}, {expiring})"
    )?;
    Ok(())
}

async fn bulk(redis: &RedisBackend, out: &mut impl Write) -> Result<(), StepError> {
    let mut pipe = redis.pipeline();
    for i in 0..BULK {
        let item = serde_json::json!({"id": i, "value": i * 10}).to_string();
        pipe.set(
            &format!("bulk:item:{i}"),
            item,
            Some(Duration::from_secs(60)),
        )
        .ignore();
    }
    pipe.query::<()>().await?;
    let last = redis.get(&format!("bulk:item:{}", BULK - 1)).await?;
    let last = last.map(|bytes| String::from_utf8_lossy(&bytes).into_owned());
    writeln!(out, "{BULK} SETs in one round trip -> last is {last:?}")?;
    Ok(())
}
