//! The README's first snippet, exactly as written there (`readme_snippets` checks it is).
use cache_core::cached;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
struct User {
    id: u64,
    name: String,
}

#[derive(Debug)]
struct DbError;

#[cached(key = "user:<id>", ttl = 300)]
async fn get_user(id: u64) -> Result<User, DbError> {
    // your database call: runs on a miss; `Ok` values are cached for 5 minutes
    Ok(User { id, name: format!("user {id}") })
}

#[tokio::main]
async fn main() -> Result<(), DbError> {
    // Nothing installed: the embedded MemoryBackend serves. For Redis, install one first:
    // cache_core::set_global_backend(cache_redis::RedisBackend::connect(cache_redis::RedisConfig::from_env()?).await?);
    let user = get_user(7).await?; // miss: runs the body, stores `{"id":7,...}` under `user:7`
    let again = get_user(7).await?; // hit
    let removed = get_user_invalidate(7).await; // generated from the same template
    println!("{user:?} {again:?} {removed:?}");
    Ok(())
}
