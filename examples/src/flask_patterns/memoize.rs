//! `@cache.memoize` and `cache.delete_memoized`, for one argument set and for every entry of
//! a function, and `@cache.cached` on a view whose `refresh` query skips the cached copy.

use std::io::Write;

use cache_core::key::glob_escape;
use cache_core::{CacheBackend, DynBackend, cached};

use super::db::{Db, UserStats};
use super::{StepError, section};

/// The literal start of every `user_statistics` key: its template before the first
/// placeholder, from which the pattern matching all its entries is built.
const USER_STATS_KEYS: &str = "user_stats:";

impl Db {
    /// `get_user_statistics`, memoized for ten minutes per `user_id`.
    #[cached(key = "user_stats:<user_id>", ttl = "10m")]
    pub(super) async fn user_statistics(&self, user_id: u64) -> UserStats {
        let posts = self.posts_of(user_id).await;
        UserStats {
            total_posts: u64::try_from(posts.len()).unwrap_or(u64::MAX),
            total_views: posts.iter().map(|post| post.views).sum(),
        }
    }

    /// The `/posts` view's body: the popular titles, cached for two minutes.
    #[cached(key = "view:popular_posts", ttl = "2m")]
    async fn popular_titles(&self) -> Vec<String> {
        let posts = self.popular_posts(10).await;
        posts.into_iter().map(|post| post.title).collect()
    }

    /// `GET /posts`, where `?refresh` re-renders instead of serving the cached copy (the
    /// guide's `unless=lambda: 'refresh' in request.args`): the refreshed copy is stored, so
    /// the next plain request sees it too.
    async fn posts_view(&self, refresh: bool) -> Vec<String> {
        if refresh {
            self.popular_titles_refresh().await
        } else {
            self.popular_titles().await
        }
    }
}

/// `cache.delete_memoized(get_user_statistics)`: every entry of the function, by the pattern
/// its key template starts with (escaped, so the literal text cannot widen it).
pub(super) async fn delete_all_user_statistics(backend: &DynBackend) -> cache_core::Result<u64> {
    let pattern = format!("{}*", glob_escape(USER_STATS_KEYS));
    // Unlike `user_statistics_invalidate`, a pattern delete does not fence loads already in
    // flight: one that started before it may store its entry back. Fine for a reset; use the
    // companion where a stale value must never return.
    backend.delete_pattern(&pattern).await
}

pub(super) async fn run(backend: &DynBackend, out: &mut impl Write) -> Result<(), StepError> {
    memoize(backend, out).await?;
    cached_view(out).await
}

fn stats_line(stats: &UserStats) -> String {
    format!("{} posts, {} views", stats.total_posts, stats.total_views)
}

async fn memoize(backend: &DynBackend, out: &mut impl Write) -> Result<(), StepError> {
    section(out, "memoize and delete_memoized")?;
    let db = Db::default();
    for (user, call) in [
        (42, "user_statistics(42)"),
        (42, "again"),
        (7, "user_statistics(7)"),
    ] {
        let stats = db.user_statistics(user).await;
        writeln!(
            out,
            "{call} -> {} (db queries: {})",
            stats_line(&stats),
            db.queries()
        )?;
    }
    let removed = db.user_statistics_invalidate(42).await?;
    writeln!(out, "delete_memoized(user_statistics, 42) -> {removed}")?;
    for user in [42, 7] {
        db.user_statistics(user).await;
    }
    writeln!(
        out,
        "user_statistics(42), (7) -> only 42 recomputed (db queries: {})",
        db.queries()
    )?;
    let removed = delete_all_user_statistics(backend).await?;
    writeln!(out, "delete_memoized(user_statistics) -> {removed} entries")?;
    for user in [42, 7] {
        db.user_statistics(user).await;
    }
    writeln!(
        out,
        "user_statistics(42), (7) -> both recomputed (db queries: {})",
        db.queries()
    )?;
    Ok(())
}

async fn cached_view(out: &mut impl Write) -> Result<(), StepError> {
    section(out, "a cached view, refreshed on demand")?;
    let db = Db::default();
    view(&db, "GET /posts", false, out).await?;
    view(&db, "GET /posts", false, out).await?;
    db.insert_post(7, "Fresh").await;
    writeln!(out, "new post \"Fresh\" -> the cached copy is stale")?;
    view(&db, "GET /posts", false, out).await?;
    view(&db, "GET /posts?refresh", true, out).await?;
    view(&db, "GET /posts", false, out).await
}

async fn view(
    db: &Db,
    request: &str,
    refresh: bool,
    out: &mut impl Write,
) -> Result<(), StepError> {
    let titles = db.posts_view(refresh).await;
    writeln!(
        out,
        "{request} -> {titles:?} (db queries: {})",
        db.queries()
    )?;
    Ok(())
}
