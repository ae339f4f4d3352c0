//! [`with_current_backend`]: a spawned task in the backend scope of the test that spawns it.

use std::future::Future;

use crate::{backend, with_backend};

/// `future`, run in the scope of the backend its caller resolves now: for tasks a test spawns
/// inside [`with_backend`], which a spawned task does not inherit (the scope is task-local).
///
/// ```
/// use cache_core::testing::with_current_backend;
///
/// #[cache_core::cached(key = "greeting:<name>")]
/// async fn greeting(name: String) -> String {
///     format!("hello {name}")
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let scoped = cache_core::MemoryBackend::new();
/// cache_core::with_backend(scoped.clone(), async {
///     let task = tokio::spawn(with_current_backend(greeting("ada".into())));
///     assert_eq!(task.await.unwrap(), "hello ada");
/// })
/// .await;
/// assert!(!scoped.is_empty(), "the spawned call cached into the test's backend");
/// # }
/// ```
pub fn with_current_backend<F>(future: F) -> impl Future<Output = F::Output> + Send + 'static
where
    F: Future + Send + 'static,
    F::Output: Send,
{
    with_backend(backend(None), future)
}
