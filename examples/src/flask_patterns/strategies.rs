//! Write-through (the write updates the cache at once) and cache warming (the cache is filled
//! before the first request asks).

use std::io::Write;
use std::time::Duration;

use cache_core::{Bytes, CacheBackend, CacheBackendExt, DynBackend};

use super::db::{Db, Post, User};
use super::keys::{Source, cache_aside, user_key, user_posts};
use super::{StepError, section};

/// How long a cached post lives (the guide's `timeout=600`).
const POST_TTL: Duration = Duration::from_secs(600);

/// The key of one post.
pub(super) fn post_key(id: u64) -> String {
    format!("post:{id}")
}

/// `create_post_with_cache`: the insert, then the cache brought in line in the same call: the
/// author's post list dropped (it is recomputed on its next read), the new post stored.
async fn create_post_with_cache(
    backend: &DynBackend,
    db: &Db,
    author: u64,
    title: &str,
) -> cache_core::Result<(Post, bool)> {
    let post = db.insert_post(author, title).await;
    let dropped = backend.delete(&user_key(&author, "posts")).await?;
    backend
        .set_value(&post_key(post.id), &post, Some(POST_TTL))
        .await?;
    Ok((post, dropped))
}

/// `warm_cache`: the popular posts and active users, and each user under its own key (one
/// `set_many`, one round trip). Returns how many keys were written.
pub(super) async fn warm_cache(backend: &DynBackend, db: &Db) -> cache_core::Result<usize> {
    let popular = db.popular_posts(20).await;
    backend
        .set_value("popular_posts", &popular, Some(Duration::from_secs(3600)))
        .await?;
    let users = db.users().await;
    backend
        .set_value("active_users", &users, Some(Duration::from_secs(1800)))
        .await?;
    let keys: Vec<String> = users
        .iter()
        .map(|user| format!("user:{}", user.id))
        .collect();
    let mut entries: Vec<(&str, Bytes)> = Vec::with_capacity(users.len());
    for (key, user) in keys.iter().zip(&users) {
        entries.push((key, serde_json::to_vec(user)?.into()));
    }
    backend
        .set_many(&entries, Some(Duration::from_secs(3600)))
        .await?;
    tracing::info!(keys = entries.len() + 2, "cache warmed");
    Ok(entries.len() + 2)
}

pub(super) async fn run(backend: &DynBackend, out: &mut impl Write) -> Result<(), StepError> {
    write_through(backend, out).await?;
    warming(backend, out).await
}

async fn write_through(backend: &DynBackend, out: &mut impl Write) -> Result<(), StepError> {
    section(out, "write-through")?;
    let db = Db::default();
    let (posts, _) = user_posts(backend, &db, 42).await?;
    writeln!(out, "user posts(42) -> {} posts, now cached", posts.len())?;
    let (post, dropped) = create_post_with_cache(backend, &db, 42, "Write-through").await?;
    writeln!(
        out,
        "create_post_with_cache(42, \"Write-through\") -> post {}; user:42:posts dropped: {dropped}; {} stored",
        post.id,
        post_key(post.id)
    )?;
    let before = db.queries();
    let (cached, source) = cache_aside(backend, &post_key(post.id), POST_TTL, || async {
        Some(post.clone())
    })
    .await?;
    writeln!(
        out,
        "get {} -> {:?} from the {} (db queries since: {})",
        post_key(post.id),
        cached.map(|post: Post| post.title),
        source.as_str(),
        db.queries().saturating_sub(before)
    )?;
    let (posts, source) = user_posts(backend, &db, 42).await?;
    writeln!(
        out,
        "user posts(42) -> {} posts from the {}",
        posts.len(),
        source.as_str()
    )?;
    Ok(())
}

async fn warming(backend: &DynBackend, out: &mut impl Write) -> Result<(), StepError> {
    section(out, "cache warming")?;
    let db = Db::default();
    let written = warm_cache(backend, &db).await?;
    writeln!(
        out,
        "warm_cache -> {written} keys (db queries: {})",
        db.queries()
    )?;
    let (popular, source): (Vec<Post>, Source) =
        cache_aside(backend, "popular_posts", POST_TTL, || db.popular_posts(20)).await?;
    let titles: Vec<&str> = popular.iter().map(|post| post.title.as_str()).collect();
    writeln!(
        out,
        "popular_posts -> {titles:?} from the {}",
        source.as_str()
    )?;
    for id in [42, 7] {
        let user: Option<User> = backend.get_value(&format!("user:{id}")).await?;
        writeln!(out, "user:{id} -> {:?}", user.map(|user| user.name))?;
    }
    writeln!(out, "first requests served (db queries: {})", db.queries())?;
    Ok(())
}
