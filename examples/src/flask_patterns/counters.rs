//! Real-time counters: page views per day and in total, and an article's views counted in
//! the cache and persisted to the database every tenth view.

use std::io::Write;
use std::time::{Duration, SystemTime};

use cache_core::structures::Counter;
use cache_core::{CacheBackend, CacheBackendExt, DynBackend, KeyTtl};

use super::{StepError, section};

/// How long a daily counter is kept: the day it counts and one more to read it back.
const DAILY_TTL: Duration = Duration::from_secs(2 * 86_400);

/// The article's views reach the database once per this many.
const PERSIST_EVERY: i64 = 10;

/// Today, as days since the Unix epoch: the guide's `%Y-%m-%d`, without a date library.
fn today() -> u64 {
    let since_epoch = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    since_epoch.as_secs() / 86_400
}

/// The page's counter for `day`: created by its first view, gone two days later, so old days
/// never need cleaning up.
fn daily(backend: &DynBackend, page: &str, day: u64) -> Counter {
    Counter::new(
        backend.clone(),
        format!("pageviews:{page}:{day}"),
        DAILY_TTL,
    )
}

fn total_key(page: &str) -> String {
    format!("pageviews:{page}:total")
}

/// `track_page_view(page_name)`.
async fn track_page_view(backend: &DynBackend, page: &str) -> cache_core::Result<()> {
    daily(backend, page, today()).increment(1).await?;
    backend.increment(&total_key(page), 1).await?;
    Ok(())
}

/// `get_page_views(page_name)`: today's count and the all-time one.
async fn page_views(backend: &DynBackend, page: &str) -> cache_core::Result<(i64, i64)> {
    let daily = daily(backend, page, today()).get().await?.unwrap_or(0);
    // The total is a plain integer key, its digits readable as JSON.
    let total = backend.get_value(&total_key(page)).await?.unwrap_or(0);
    Ok((daily, total))
}

pub(super) async fn run(backend: &DynBackend, out: &mut impl Write) -> Result<(), StepError> {
    section(out, "counters")?;
    for _ in 0..3 {
        track_page_view(backend, "home").await?;
    }
    let (daily, total) = page_views(backend, "home").await?;
    writeln!(
        out,
        "track_page_view(home) x3 -> today {daily}, total {total}"
    )?;
    let left = match daily_counter_ttl(backend).await? {
        KeyTtl::ExpiresIn(left) => format!("expires in {} h", left.as_millis().div_ceil(3_600_000)),
        other => format!("{other:?}"),
    };
    writeln!(out, "pageviews:home:<today> -> {left}")?;
    article_views(backend, out).await
}

async fn daily_counter_ttl(backend: &DynBackend) -> cache_core::Result<KeyTtl> {
    daily(backend, "home", today()).ttl().await
}

/// `Article.increment_views`: the count lives in the cache; the database hears of it only
/// every [`PERSIST_EVERY`] views.
async fn article_views(backend: &DynBackend, out: &mut impl Write) -> Result<(), StepError> {
    let mut persisted = 0;
    let mut views = 0;
    for _ in 0..12 {
        views = backend.increment("article:1:views", 1).await?;
        if views % PERSIST_EVERY == 0 {
            persisted = views;
            writeln!(out, "article 1 view {views} -> persisted to the database")?;
        }
    }
    writeln!(
        out,
        "article 1 -> {views} views counted, {persisted} in the database"
    )?;
    Ok(())
}
