//! The cache interface of seed guide `003`: one interface ([`CacheBackend`]), a memory and a
//! Redis implementation chosen at start-up ([`crate::backend::from_env`]), the guide's
//! operations run through it step by step, and what a caller sees while Redis is down.
//!
//! [`CacheBackend`]: cache_core::CacheBackend

mod operations;
mod outage;
mod profiles;

use std::io::Write;

use cache_core::DynBackend;

/// What a step can fail with: writing the output, or the backend.
pub type StepError = Box<dyn std::error::Error + Send + Sync>;

/// Runs every section on `backend`, printing each step to `out`, then the outage section on a
/// Redis that is not there (whatever `backend` is).
///
/// # Errors
///
/// Writing to `out` failed, or `backend` failed an operation (the outage section expects its
/// errors and prints them instead).
///
/// ```no_run
/// # async fn demo() -> Result<(), examples::cache_interface::StepError> {
/// let backend = std::sync::Arc::new(cache_core::MemoryBackend::new());
/// examples::cache_interface::run(backend, &mut std::io::stdout()).await?;
/// # Ok(()) }
/// ```
pub async fn run(backend: DynBackend, out: &mut impl Write) -> Result<(), StepError> {
    operations::run(&backend, out).await?;
    outage::run(out).await
}

/// Prints a section title.
fn section(out: &mut impl Write, title: &str) -> std::io::Result<()> {
    writeln!(out, "\n== {title}")
}
