//! Basic operations (get/set/delete/TTL, exists and keys, counters) and the data structures
//! (hashes, lists as queues, sets).

use std::io::Write;
use std::time::Duration;

use cache_core::structures::{HashRecord, Op, Queue, Reply, Set, scan_keys};
use cache_core::{Bytes, CacheBackend, CacheBackendExt, DynBackend, Error, ErrorKind};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{StepError, section};

const HOUR: Duration = Duration::from_secs(3600);

pub(super) async fn run(backend: &DynBackend, out: &mut impl Write) -> Result<(), StepError> {
    set_and_get(backend, out).await?;
    delete_and_expire(backend, out).await?;
    exists_and_keys(backend, out).await?;
    counters(backend, out).await?;
    hashes(backend, out).await?;
    lists(backend, out).await?;
    sets(backend, out).await
}

async fn set_and_get(backend: &DynBackend, out: &mut impl Write) -> Result<(), StepError> {
    section(out, "set and get")?;
    let john = json!({"name": "John", "email": "john@example.com"});
    backend.set_value("user:123", &john, Some(HOUR)).await?;
    let user: Option<serde_json::Value> = backend.get_value("user:123").await?;
    writeln!(out, "get user:123 -> {}", json!(user))?;
    let session = json!({"user_id": 123});
    let five_minutes = Some(Duration::from_secs(300));
    backend
        .set_value("session:abc", &session, five_minutes)
        .await?;
    writeln!(
        out,
        "ttl session:abc -> {}",
        super::seconds(backend.ttl("session:abc").await?)
    )?;
    let locked = Bytes::from_static(b"locked");
    let first = backend
        .set_if_absent("lock:resource", locked.clone(), None)
        .await?;
    let second = backend.set_if_absent("lock:resource", locked, None).await?;
    writeln!(out, "set nx lock:resource -> {first}, again -> {second}")?;
    writeln!(
        out,
        "set xx counter (absent) -> {}",
        replace(backend, "counter").await?
    )?;
    backend.set_value("counter", &1, None).await?;
    writeln!(
        out,
        "set xx counter (present) -> {}",
        replace(backend, "counter").await?
    )?;
    let missing: Option<String> = backend.get_value("missing_key").await?;
    let value = missing.unwrap_or_else(|| "fallback".to_owned());
    writeln!(out, "get missing_key or default -> {value}")?;
    Ok(())
}

/// `SET counter 100 XX`: stores only over a value that is there.
async fn replace(backend: &DynBackend, key: &str) -> Result<bool, StepError> {
    let store = backend.structures().ok_or_else(|| {
        Error::new(
            ErrorKind::Unsupported,
            "this backend has no data structures",
        )
    })?;
    let value = Bytes::from_static(b"100");
    match store
        .apply(
            key,
            Op::Replace {
                value: &value,
                ttl: None,
            },
        )
        .await?
    {
        Reply::Flag(stored) => Ok(stored),
        other => Err(format!("SET XX answered {other:?}").into()),
    }
}

async fn delete_and_expire(backend: &DynBackend, out: &mut impl Write) -> Result<(), StepError> {
    section(out, "delete and expire")?;
    writeln!(
        out,
        "delete user:123 -> {}",
        backend.delete("user:123").await?
    )?;
    for id in [456, 789] {
        backend
            .set_value(&format!("user:{id}"), &json!({"id": id}), Some(HOUR))
            .await?;
    }
    let removed = backend
        .delete_many(&["user:123", "user:456", "user:789"])
        .await?;
    writeln!(out, "delete user:123 user:456 user:789 -> {removed}")?;
    let ten_minutes = Duration::from_secs(600);
    let extended = backend.expire("session:abc", ten_minutes).await?;
    writeln!(out, "expire session:abc 600 -> {extended}")?;
    writeln!(
        out,
        "ttl session:abc -> {}",
        super::seconds(backend.ttl("session:abc").await?)
    )?;
    writeln!(
        out,
        "ttl user:123 -> {}",
        super::seconds(backend.ttl("user:123").await?)
    )?;
    Ok(())
}

async fn exists_and_keys(backend: &DynBackend, out: &mut impl Write) -> Result<(), StepError> {
    section(out, "exists and keys")?;
    backend
        .set_value("user:123", &json!({"name": "John"}), Some(HOUR))
        .await?;
    let mut present = 0;
    for key in ["user:123", "user:456"] {
        present += u8::from(backend.exists(key).await?);
    }
    writeln!(out, "exists user:123 user:456 -> {present}")?;
    backend
        .set_value("user:456", &json!({"name": "Jo"}), Some(HOUR))
        .await?;
    // SCAN, never KEYS: the listing walks the key space in pages without blocking a server.
    let mut keys = scan_keys(backend.clone(), "user:*")
        .page_size(100)
        .collect()
        .await?;
    keys.sort();
    writeln!(out, "scan user:* -> {keys:?}")?;
    Ok(())
}

async fn counters(backend: &DynBackend, out: &mut impl Write) -> Result<(), StepError> {
    section(out, "increment and decrement")?;
    backend.set_value("views", &0, None).await?;
    let steps = [
        ("increment views", 1),
        ("increment views 10", 10),
        ("decrement views 5", -5),
    ];
    for (step, delta) in steps {
        writeln!(
            out,
            "{step} -> {}",
            backend.increment("views", delta).await?
        )?;
    }
    let views: Option<i64> = backend.get_value("views").await?;
    writeln!(out, "get views -> {views:?}")?;
    Ok(())
}

/// The profile the hash section stores field by field and reads back whole.
#[derive(Debug, Serialize, Deserialize)]
struct Profile {
    name: String,
    email: String,
    age: Option<u32>,
}

async fn hashes(backend: &DynBackend, out: &mut impl Write) -> Result<(), StepError> {
    section(out, "hashes")?;
    let profile = HashRecord::new(backend.clone(), "profile:123");
    profile.set("name", "Alice").await?;
    profile.set("email", "alice@example.com").await?;
    profile.set("age", &30).await?;
    let name: Option<String> = profile.get("name").await?;
    writeln!(out, "hget name -> {name:?}")?;
    let all: Option<Profile> = profile.load().await?;
    writeln!(out, "hgetall -> {all:?}")?;
    writeln!(out, "hdel age -> {}", profile.delete(&["age"]).await?)?;
    writeln!(out, "hlen -> {}", profile.len().await?)?;
    Ok(())
}

/// A task on the list section's queue.
#[derive(Debug, Serialize, Deserialize)]
struct Task {
    id: u32,
    task: String,
}

async fn lists(backend: &DynBackend, out: &mut impl Write) -> Result<(), StepError> {
    section(out, "lists (queues)")?;
    let tasks = Queue::<Task>::new(backend.clone(), "tasks");
    let new = |id: u32, task: &str| Task {
        id,
        task: task.to_owned(),
    };
    tasks.push(&new(1, "Send email")).await?;
    let length = tasks.push(&new(2, "Process order")).await?;
    writeln!(out, "rpush 2 tasks -> length {length}")?;
    let first_ten: Vec<Task> = tasks.peek(0, 9).await?;
    writeln!(out, "lrange 0 9 -> {first_ten:?}")?;
    writeln!(out, "lpop (FIFO) -> {:?}", tasks.pop().await?)?;
    writeln!(out, "lpop -> {:?}", tasks.pop().await?)?;
    writeln!(out, "lpop (empty) -> {:?}", tasks.pop().await?)?;
    Ok(())
}

async fn sets(backend: &DynBackend, out: &mut impl Write) -> Result<(), StepError> {
    section(out, "sets")?;
    let tags = Set::<String>::new(backend.clone(), "tags:post:123");
    let owned = |names: &[&str]| {
        names
            .iter()
            .map(|name| (*name).to_owned())
            .collect::<Vec<_>>()
    };
    let added = tags
        .add_all(&owned(&["python", "redis", "caching"]))
        .await?;
    writeln!(out, "sadd python redis caching -> {added}")?;
    writeln!(
        out,
        "sadd python again -> {}",
        tags.add(&"python".to_owned()).await?
    )?;
    let mut members = tags.members().await?;
    members.sort();
    writeln!(out, "smembers -> {members:?}")?;
    writeln!(
        out,
        "sismember python -> {}",
        tags.contains(&"python".to_owned()).await?
    )?;
    writeln!(
        out,
        "srem caching -> {}",
        tags.remove(&"caching".to_owned()).await?
    )?;
    writeln!(out, "scard -> {}", tags.len().await?)?;
    Ok(())
}
