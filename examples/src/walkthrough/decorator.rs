//! The cache decorator: `#[cached]` with a key template, several parameters, and
//! invalidation by key and by pattern.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use cache_core::{CacheBackend, DynBackend, cached, with_backend};
use serde::{Deserialize, Serialize};

use super::{StepError, section};

/// A profile as the slow store returns it.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct UserProfile {
    id: u64,
    name: String,
}

/// The slow store behind the cached functions, counting its queries.
#[derive(Default)]
struct Database {
    queries: AtomicU64,
}

impl Database {
    #[cached(key = "user:profile:<user_id>", ttl = 300)]
    async fn user_profile(&self, user_id: u64) -> UserProfile {
        self.query().await;
        UserProfile {
            id: user_id,
            name: format!("User {user_id}"),
        }
    }

    #[cached(key = "product:<category>:<product_id>", ttl = 600)]
    async fn product(&self, category: &str, product_id: u64) -> String {
        self.query().await;
        format!("{category} #{product_id}")
    }

    async fn query(&self) {
        self.queries.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    fn queries(&self) -> u64 {
        self.queries.load(Ordering::Relaxed)
    }
}

pub(super) async fn run(backend: &DynBackend, out: &mut impl Write) -> Result<(), StepError> {
    section(out, "cache decorator")?;
    // The cached functions use whichever backend this run serves on, without a global.
    with_backend(backend.clone(), steps(backend, out)).await
}

async fn steps(backend: &DynBackend, out: &mut impl Write) -> Result<(), StepError> {
    let db = Database::default();
    for call in ["first", "second"] {
        let profile = db.user_profile(123).await;
        writeln!(
            out,
            "{call} user_profile(123) -> {profile:?} (queries: {})",
            db.queries()
        )?;
    }
    for (category, id) in [("electronics", 123), ("books", 456), ("electronics", 123)] {
        let product = db.product(category, id).await;
        writeln!(
            out,
            "product({category}, {id}) -> {product} (queries: {})",
            db.queries()
        )?;
    }
    let removed = db.user_profile_invalidate(123).await?;
    writeln!(out, "invalidate user:profile:123 -> {removed}")?;
    db.user_profile(123).await;
    db.user_profile(124).await;
    writeln!(
        out,
        "after invalidating: user_profile(123) and user_profile(124) -> (queries: {})",
        db.queries()
    )?;
    let removed = backend.delete_pattern("user:profile:*").await?;
    writeln!(out, "delete_pattern user:profile:* -> {removed} removed")?;
    Ok(())
}
