//! The slow database the caches sit in front of: users and posts in memory, counting its
//! queries so each step can show whether the cache or the database answered.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::RwLock;

/// How long one query takes: enough to make a cache worth having, short enough for a demo.
const QUERY_TIME: Duration = Duration::from_millis(5);

/// A user, as `User.to_dict()` gives it in the guide.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct User {
    pub(super) id: u64,
    pub(super) name: String,
}

/// A post, as `Post.to_dict()` gives it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct Post {
    pub(super) id: u64,
    pub(super) author: u64,
    pub(super) title: String,
    pub(super) views: u64,
}

/// `get_user_statistics`' result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct UserStats {
    pub(super) total_posts: u64,
    pub(super) total_views: u64,
}

/// The database: two users, three posts, and a query counter.
pub(super) struct Db {
    users: RwLock<BTreeMap<u64, User>>,
    posts: RwLock<BTreeMap<u64, Post>>,
    queries: AtomicU64,
}

impl Default for Db {
    fn default() -> Self {
        let users = [(42, "Ada"), (7, "Bob")].map(|(id, name)| {
            (
                id,
                User {
                    id,
                    name: name.to_owned(),
                },
            )
        });
        let posts = [
            (1, 42, "Caching 101", 120),
            (2, 42, "Redis tips", 300),
            (3, 7, "Hello", 15),
        ]
        .map(|(id, author, title, views)| {
            let post = Post {
                id,
                author,
                title: title.to_owned(),
                views,
            };
            (id, post)
        });
        Self {
            users: RwLock::new(users.into_iter().collect()),
            posts: RwLock::new(posts.into_iter().collect()),
            queries: AtomicU64::new(0),
        }
    }
}

impl Db {
    /// How many queries ran so far.
    pub(super) fn queries(&self) -> u64 {
        self.queries.load(Ordering::Relaxed)
    }

    async fn query(&self) {
        self.queries.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(QUERY_TIME).await;
    }

    /// `User.query.get(id)`.
    pub(super) async fn user(&self, id: u64) -> Option<User> {
        self.query().await;
        self.users.read().await.get(&id).cloned()
    }

    /// Every user (`User.query.filter_by(is_active=True)`).
    pub(super) async fn users(&self) -> Vec<User> {
        self.query().await;
        self.users.read().await.values().cloned().collect()
    }

    /// Renames a user (`setattr` and `db.session.commit()`).
    pub(super) async fn rename(&self, id: u64, name: &str) -> bool {
        self.query().await;
        let mut users = self.users.write().await;
        users
            .get_mut(&id)
            .map(|user| user.name = name.to_owned())
            .is_some()
    }

    /// The `n` most viewed posts.
    pub(super) async fn popular_posts(&self, n: usize) -> Vec<Post> {
        self.query().await;
        let mut posts: Vec<Post> = self.posts.read().await.values().cloned().collect();
        posts.sort_by_key(|post| std::cmp::Reverse(post.views));
        posts.truncate(n);
        posts
    }

    /// The posts of one author.
    pub(super) async fn posts_of(&self, author: u64) -> Vec<Post> {
        self.query().await;
        let posts = self.posts.read().await;
        posts
            .values()
            .filter(|post| post.author == author)
            .cloned()
            .collect()
    }

    /// Inserts a post and returns it with its new id.
    pub(super) async fn insert_post(&self, author: u64, title: &str) -> Post {
        self.query().await;
        let mut posts = self.posts.write().await;
        let id = posts.keys().next_back().map_or(1, |last| last + 1);
        let post = Post {
            id,
            author,
            title: title.to_owned(),
            views: 0,
        };
        posts.insert(id, post.clone());
        post
    }
}
