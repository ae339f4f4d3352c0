//! The test kit (feature `test-util`): check your own backend against the contract, and test
//! your cached functions under faults, by the operations they cause and by their hits and
//! misses.
//!
//! - [`conformance`]: the backend conformance suite as public checks, and
//!   [`conformance_tests!`](crate::conformance_tests) /
//!   [`structure_conformance_tests!`](crate::structure_conformance_tests) to turn them into one
//!   `#[tokio::test]` each. The project's own backends run exactly these.
//! - [`Faults`] and [`Faulty`]: a wrapper injecting latency, errors, hangs and corrupt bytes
//!   per [`Operation`], scripted or at random from a seed.
//! - [`Recorder`] and [`Recording`]: a wrapper writing down each operation and its keys.
//! - [`FunctionCalls`]: one cached function's hits and misses since a point of the test.
//! - [`with_current_backend`]: a task spawned inside [`with_backend`](crate::with_backend) in the
//!   test's backend scope (a spawned task does not inherit it).
//! - [`Intercept`] and [`Interceptor`]: the wrapper both are made of, for a kit of your own.
//!
//! Both wrappers make the backend inside look remote (no in-process values), so every hit is an
//! operation they see; they combine (`recorder.wrap(faults.wrap(backend))`). The feature also
//! puts the memory backend's TTLs on tokio's clock, so tests can pause time: enable it in
//! `[dev-dependencies]` only.
//!
//! Testing an app's cached function:
//!
//! ```
//! use cache_core::testing::{Fault, Faults, FunctionCalls, Operation, Recorder};
//! use cache_core::{MemoryBackend, with_backend};
//!
//! #[cache_core::cached(key = "user:<id>", ttl = 60, timeout = "50ms")]
//! async fn get_user(id: u64) -> Result<String, cache_core::Error> {
//!     Ok(format!("user {id}")) // the app's slow source
//! }
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> cache_core::Result<()> {
//! // What it costs the backend: a miss reads, claims the key and stores with a fenced fill;
//! // a hit is one read.
//! let recorder = Recorder::new();
//! with_backend(recorder.wrap(MemoryBackend::new()), async {
//!     let calls = FunctionCalls::track("get_user");
//!     get_user(7).await?;
//!     let miss = [Operation::Get, Operation::LockClaim, Operation::LockFill];
//!     assert_eq!(recorder.take().iter().map(|call| call.operation).collect::<Vec<_>>(), miss);
//!     assert_eq!(get_user(7).await?, "user 7");
//!     assert_eq!(recorder.operations(), [Operation::Get]);
//!     assert_eq!(recorder.keys(Operation::Get), ["user:7"]);
//!     calls.assert_hits_misses(1, 1);
//!     Ok::<_, cache_core::Error>(())
//! })
//! .await?;
//!
//! // What it does when the backend hangs: the timeout answers, the body runs, no error.
//! let faults = Faults::new();
//! faults.always(Operation::ALL, Fault::Hang);
//! with_backend(faults.wrap(MemoryBackend::new()), async {
//!     assert_eq!(get_user(8).await?, "user 8");
//!     Ok::<_, cache_core::Error>(())
//! })
//! .await?;
//! assert!(faults.injected() > 0);
//! # Ok(()) }
//! ```

pub mod conformance;
mod faults;
mod function_calls;
mod intercept;
mod recorder;
mod scope;

pub use faults::{Fault, Faults, Faulty};
pub use function_calls::FunctionCalls;
pub use intercept::{Intercept, Interceptor, Operation, Verdict};
pub use recorder::{Call, Recorder, Recording};
pub use scope::with_current_backend;
