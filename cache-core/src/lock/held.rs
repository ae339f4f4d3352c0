//! The lock names the current task holds through `#[locked]` or a `#[cached]` claim, so that
//! the two on one name (`#[locked(key = "x:<id>")]` with `#[cached(key = "x:<id>")]`, in either
//! order) do not wait for each other: the lock state of a name is one, and the task already
//! has it.

use std::future::Future;

tokio::task_local! {
    static HELD: Vec<String>;
}

/// Runs `work` with `name` counted as held by this task.
pub(crate) async fn holding<F: Future>(name: &str, work: F) -> F::Output {
    let mut names = HELD.try_with(Clone::clone).unwrap_or_default();
    names.push(name.to_owned());
    HELD.scope(names, work).await
}

/// Whether this task holds `name` (an enclosing [`holding`]).
pub(crate) fn by_this_task(name: &str) -> bool {
    HELD.try_with(|names| names.iter().any(|held| held == name))
        .unwrap_or(false)
}
