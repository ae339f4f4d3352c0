//! Monitoring: the hit rate of a cached function from the library's per-function counters,
//! and the guide's debugging views of one key and of a key pattern (a `SCAN`, never `KEYS`).

use std::io::Write;

use cache_core::stats::{self, Stats};
use cache_core::structures::scan_keys;
use cache_core::{CacheBackend, DynBackend, KeyTtl, cached};

use super::strategies::post_key;
use super::{StepError, section};

/// The name the counters of [`article`] are kept under: its module path and name.
const ARTICLE: &str = concat!(module_path!(), "::article");

/// The guide's aim: "Aim for 80%+ hit rate".
const AIM: f64 = 0.8;

/// `Article.get_cached(article_id)`.
#[cached(key = "article:<id>:rendered", ttl = "5m")]
async fn article(id: u64) -> String {
    format!("<h1>Article {id}</h1>")
}

/// The counters counted since `before`: they are process-wide and live as long as the
/// process, so a run reports its own calls only.
fn since(before: Stats) -> Stats {
    let now = stats::snapshot(ARTICLE).unwrap_or_default();
    let mut delta = Stats::default();
    delta.hits = now.hits.saturating_sub(before.hits);
    delta.misses = now.misses.saturating_sub(before.misses);
    delta.errors = now.errors.saturating_sub(before.errors);
    delta
}

fn hit_rate(stats: &Stats) -> String {
    let verdict = if stats.hit_ratio() >= AIM {
        "meets"
    } else {
        "under"
    };
    format!(
        "hits {}, misses {}, errors {}, hit rate {:.2}% ({verdict} the 80% aim)",
        stats.hits,
        stats.misses,
        stats.errors,
        stats.hit_ratio() * 100.0
    )
}

pub(super) async fn run(backend: &DynBackend, out: &mut impl Write) -> Result<(), StepError> {
    hit_rates(out).await?;
    debugging(backend, out).await
}

async fn hit_rates(out: &mut impl Write) -> Result<(), StepError> {
    section(out, "stats and hit rate")?;
    let before = stats::snapshot(ARTICLE).unwrap_or_default();
    for id in [1, 1, 2, 1, 2] {
        article(id).await;
    }
    writeln!(out, "article 1, 1, 2, 1, 2 -> {}", hit_rate(&since(before)))?;
    for id in [1, 2, 1, 2, 1] {
        article(id).await;
    }
    writeln!(out, "five more -> {}", hit_rate(&since(before)))?;
    Ok(())
}

async fn debugging(backend: &DynBackend, out: &mut impl Write) -> Result<(), StepError> {
    section(out, "debugging keys")?;
    let key = post_key(4);
    let ttl = match backend.ttl(&key).await? {
        KeyTtl::ExpiresIn(left) => format!("{} s", left.as_millis().div_ceil(60_000) * 60),
        other => format!("{other:?}"),
    };
    let value = backend.get(&key).await?.map(|bytes| bytes.len());
    writeln!(
        out,
        "debug_cache({key}) -> exists {}, ttl {ttl}, value of {} bytes",
        backend.exists(&key).await?,
        value.unwrap_or_default()
    )?;
    let keys = scan_keys(backend.clone(), "post:*").collect().await?;
    writeln!(out, "list_cache_keys(post:*) -> {} {keys:?}", keys.len())?;
    Ok(())
}
