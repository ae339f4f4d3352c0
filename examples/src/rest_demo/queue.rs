//! `/queue/tasks`: a FIFO task queue in one list.

use axum::extract::State;
use cache_core::structures::Queue;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::Demo;
use super::cache::check_key;
use super::errors::{ApiError, ApiResult, Json};

/// A task, as the guide posts it.
#[derive(Serialize, Deserialize)]
pub(super) struct Task {
    id: String,
    title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(default = "default_priority")]
    priority: String,
}

fn default_priority() -> String {
    "medium".to_owned()
}

/// `POST /queue/tasks`: appends the task at the back.
pub(super) async fn push(State(demo): State<Demo>, Json(task): Json<Task>) -> ApiResult {
    check_key(&task.id)?;
    let length = queue(&demo).push(&task).await?;
    Ok(axum::Json(json!({
        "message": "Task added to queue",
        "task_id": task.id,
        "queue_length": length,
    })))
}

/// `GET /queue/tasks`: the oldest task, removed; 404 when the queue is empty.
pub(super) async fn pop(State(demo): State<Demo>) -> ApiResult {
    let tasks = queue(&demo);
    let task = tasks
        .pop()
        .await?
        .ok_or_else(|| ApiError::not_found("Queue is empty"))?;
    Ok(axum::Json(
        json!({ "task": task, "remaining": tasks.len().await? }),
    ))
}

/// `GET /queue/tasks/all`: every task, oldest first, none removed.
pub(super) async fn peek_all(State(demo): State<Demo>) -> ApiResult {
    let tasks = queue(&demo).peek(0, -1).await?;
    Ok(axum::Json(json!({ "count": tasks.len(), "tasks": tasks })))
}

/// `DELETE /queue/tasks`: drops every task.
pub(super) async fn clear(State(demo): State<Demo>) -> ApiResult {
    let cleared = queue(&demo).clear().await?;
    Ok(axum::Json(
        json!({ "message": "Queue cleared", "cleared": cleared }),
    ))
}

fn queue(demo: &Demo) -> Queue<Task> {
    Queue::new(demo.store.clone(), "queue:tasks")
}
