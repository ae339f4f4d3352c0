//! Data with a fallback: a slow source behind a cached read. While the cache is down, the
//! cached function runs its body (the library's fail-open), so the source still answers.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use cache_core::{cached, with_backend};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::Shared;
use super::error::ApiError;

/// A record of the source.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Item {
    id: u64,
    value: String,
}

/// The slow source (a database, another service), counting its reads.
#[derive(Default)]
pub(super) struct DataSource {
    reads: AtomicU64,
}

impl DataSource {
    /// One item, kept a minute.
    #[cached(key = "data:<id>", ttl = 60)]
    async fn item(&self, id: u64) -> Item {
        self.reads.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(100)).await;
        Item {
            id,
            value: format!("item #{id}"),
        }
    }
}

/// `GET /data/{id}`: the item, and how many reads the source has served so far.
pub(super) async fn data(
    State(app): State<Shared>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let Ok(id) = id.parse::<u64>() else {
        return Err(ApiError::BadRequest("the id is a non-negative integer"));
    };
    let item = with_backend(app.backend.clone(), app.data.item(id)).await;
    let reads = app.data.reads.load(Ordering::Relaxed);
    Ok(Json(json!({ "item": item, "source_reads": reads })))
}
