//! `hard_timeout`: the most a call of a `#[cached]` function waits for its body, old value or
//! not.

use std::future::Future;
use std::time::Duration;

use crate::{Error, ErrorKind};

/// A return type that can say "the body took longer than its `hard_timeout`": a `Result`
/// whose error converts from [`Error`].
#[diagnostic::on_unimplemented(
    message = "`hard_timeout` needs the return type `{Self}` to be a `Result` whose error implements `From<cache_core::Error>`",
    label = "a call that outlives its `hard_timeout` returns `Err(cache_core::Error)` converted into this type's error",
    note = "implement `From<cache_core::Error>` for the error type, or return one that has it (`Box<dyn Error + Send + Sync>`, `anyhow::Error`)"
)]
pub trait FromHardTimeout {
    /// The result of a call whose body took longer than its `hard_timeout`.
    fn timed_out(error: Error) -> Self;
}

impl<T, E: From<Error>> FromHardTimeout for Result<T, E> {
    fn timed_out(error: Error) -> Self {
        Err(E::from(error))
    }
}

/// `body`, or an [`ErrorKind::Timeout`] error once `limit` has passed (the body is dropped
/// there). A failure like any other to the runtime: not cached, an old value returned where
/// `fail_safe` keeps one, shared with the callers waiting for the same run.
pub async fn bounded<R: FromHardTimeout>(
    limit: Duration,
    function: &'static str,
    body: impl Future<Output = R>,
) -> R {
    match tokio::time::timeout(limit, body).await {
        Ok(result) => result,
        Err(_) => {
            tracing::warn!(
                function,
                ?limit,
                "the body outlived its hard_timeout; the call fails"
            );
            R::timed_out(Error::new(
                ErrorKind::Timeout,
                format!("`{function}` took longer than its hard_timeout of {limit:?}"),
            ))
        }
    }
}
