//! Pub/sub: a notification published when a post is created, received by a subscriber.

use std::io::Write;
use std::time::Duration;

use cache_core::DynBackend;
use cache_core::structures::Channel;
use serde::{Deserialize, Serialize};

use super::db::Db;
use super::{StepError, section};

/// How long the subscriber waits for the notification before the step reports none.
const RECEIVE_WITHIN: Duration = Duration::from_secs(2);

/// What `create_post` publishes on `new_posts`.
#[derive(Debug, Serialize, Deserialize)]
struct NewPost {
    post_id: u64,
    title: String,
    author: u64,
}

/// `create_post`: the insert, then `publish_notification('new_posts', ...)`. Returns how many
/// subscribers heard of it.
async fn create_post(
    channel: &Channel<NewPost>,
    db: &Db,
    author: u64,
    title: &str,
) -> cache_core::Result<u64> {
    let post = db.insert_post(author, title).await;
    let message = NewPost {
        post_id: post.id,
        title: post.title,
        author: post.author,
    };
    channel.publish(&message).await
}

pub(super) async fn run(backend: &DynBackend, out: &mut impl Write) -> Result<(), StepError> {
    section(out, "pub/sub notification")?;
    let channel = Channel::<NewPost>::new(backend.clone(), "new_posts");
    let mut notifications = channel.subscribe().await?;
    writeln!(out, "subscribe new_posts")?;
    let receivers = create_post(&channel, &Db::default(), 42, "Pub/sub").await?;
    writeln!(
        out,
        "create_post(42, \"Pub/sub\") -> published to {receivers} subscriber(s)"
    )?;
    match tokio::time::timeout(RECEIVE_WITHIN, notifications.next()).await {
        Ok(Some(message)) => writeln!(out, "received -> {:?}", message?)?,
        Ok(None) => writeln!(out, "received -> the subscription ended")?,
        Err(_) => writeln!(out, "received -> nothing within {RECEIVE_WITHIN:?}")?,
    }
    Ok(())
}
