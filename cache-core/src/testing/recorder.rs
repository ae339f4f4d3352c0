//! [`Recorder`]: the operations and keys a backend saw, for assertions like "one GET and one
//! SET".

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;

use super::intercept::{Intercept, Interceptor, Operation, Verdict};
use crate::{CacheBackend, Result};

/// A backend whose operations its [`Recorder`] writes down.
pub type Recording<B> = Intercept<B, Recorder>;

/// One operation as a [`Recorder`] saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Call {
    /// What was called.
    pub operation: Operation,
    /// The keys it named, as the backend saw them (behind any prefix of the wrapped backend's
    /// own): one for most operations, the pattern for `DeletePattern` and `Scan`, none for
    /// `Clear` and `Ping`.
    pub keys: Vec<String>,
}

/// The list of operations of a [`Recording`] backend: a cheap handle (clones share the list),
/// kept by the test to look at what the code under test did.
///
/// A call is written down before it reaches the backend, in the order calls begin, whether it
/// then succeeds or not.
///
/// ```
/// use cache_core::testing::{Operation, Recorder};
/// use cache_core::{CacheBackend, MemoryBackend};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> cache_core::Result<()> {
/// let recorder = Recorder::new();
/// let backend = recorder.wrap(MemoryBackend::new());
/// backend.set("user:7", "ada".into(), None).await?;
/// backend.get("user:7").await?;
///
/// assert_eq!(recorder.operations(), [Operation::Set, Operation::Get]);
/// assert_eq!(recorder.keys(Operation::Get), ["user:7"]);
/// # Ok(()) }
/// ```
#[derive(Clone, Default)]
pub struct Recorder {
    calls: Arc<Mutex<Vec<Call>>>,
}

impl Recorder {
    /// An empty list.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// `backend` behind this recorder (the list stays shared with `self`).
    #[must_use]
    pub fn wrap<B: CacheBackend>(&self, backend: B) -> Recording<B> {
        Intercept::new(backend, self.clone())
    }

    /// Every call so far, oldest first.
    #[must_use]
    pub fn calls(&self) -> Vec<Call> {
        self.list().clone()
    }

    /// The operation of every call so far, oldest first.
    #[must_use]
    pub fn operations(&self) -> Vec<Operation> {
        self.list().iter().map(|call| call.operation).collect()
    }

    /// How many calls of `operation` there were.
    #[must_use]
    pub fn count(&self, operation: Operation) -> usize {
        self.list()
            .iter()
            .filter(|call| call.operation == operation)
            .count()
    }

    /// The keys named by the calls of `operation`, in order.
    #[must_use]
    pub fn keys(&self, operation: Operation) -> Vec<String> {
        self.list()
            .iter()
            .filter(|call| call.operation == operation)
            .flat_map(|call| call.keys.iter().cloned())
            .collect()
    }

    /// Every call so far, oldest first, leaving the list empty: for looking at one step of a
    /// test at a time.
    pub fn take(&self) -> Vec<Call> {
        std::mem::take(&mut *self.list())
    }

    fn list(&self) -> std::sync::MutexGuard<'_, Vec<Call>> {
        // A push is one call: a test that panicked while holding the list left it whole.
        self.calls.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for Recorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recorder")
            .field("calls", &*self.list())
            .finish()
    }
}

#[async_trait]
impl Interceptor for Recorder {
    async fn before(&self, op: Operation, keys: &[&str]) -> Result<Verdict> {
        self.list().push(Call {
            operation: op,
            keys: keys.iter().map(|&key| key.to_owned()).collect(),
        });
        Ok(Verdict::Forward)
    }
}
