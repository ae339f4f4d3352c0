//! The README example, under the strictest user lints.
#![deny(warnings, clippy::all, missing_docs, unused_qualifications)]

use cache_core::cached;
use serde::{Deserialize, Serialize};

/// A user.
#[derive(Clone, Serialize, Deserialize)]
pub struct User {
    /// Its id.
    pub id: u64,
}

/// A database error.
#[derive(Debug)]
pub struct DbError;

/// Loads a user.
#[cached(key = "user:<id>", ttl = 300)]
pub async fn get_user(id: u64) -> Result<User, DbError> {
    if id == 0 {
        return Err(DbError);
    }
    Ok(User { id })
}

/// An item.
#[derive(Clone, Serialize, Deserialize)]
pub struct Item;

/// A repository.
pub struct Repo {
    tenant: String,
}

impl Repo {
    /// Finds an item.
    #[cached(key = "repo:<self.tenant>:<id>", ttl = "5m", backend = "primary")]
    pub async fn find(&self, id: u64) -> Option<Item> {
        let _ = (&self.tenant, id);
        Some(Item)
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let repo = Repo {
        tenant: "acme".to_owned(),
    };
    let _ = get_user(7).await;
    let _ = repo.find(1).await;
    assert_eq!(get_user_cache_key(7), "user:7");
    assert_eq!(repo.find_cache_key(1), "repo:acme:1");
    let _ = get_user_invalidate(7).await;
    let _ = get_user_refresh(7).await;
    let _ = repo.find_invalidate(1).await;
}
