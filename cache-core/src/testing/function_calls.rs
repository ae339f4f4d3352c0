//! [`FunctionCalls`]: one cached function's hits and misses during a test.

use crate::stats::{self, Stats};

/// The counters of one cached function from the moment it is tracked: for asserting that a
/// test's calls hit and missed as expected.
///
/// The function is named by its path (`my_app::users::get_user`, as
/// [`stats::all`](crate::stats::all) lists it) or by its last segments (`get_user`,
/// `users::get_user`), which must then name one function. The counters are the process's:
/// tests that call the same function in parallel see each other's calls.
///
/// ```
/// use cache_core::testing::FunctionCalls;
///
/// #[cache_core::cached(key = "user:<id>", ttl = 60)]
/// async fn get_user(id: u64) -> Result<String, cache_core::Error> {
///     Ok(format!("user {id}"))
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> cache_core::Result<()> {
/// cache_core::with_backend(cache_core::MemoryBackend::new(), async {
///     let calls = FunctionCalls::track("get_user");
///     get_user(7).await?;
///     get_user(7).await?;
///     calls.assert_hits_misses(1, 1);
///     assert_eq!(calls.stats().errors, 0);
///     Ok(())
/// })
/// .await
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct FunctionCalls {
    name: String,
    start: Stats,
}

impl FunctionCalls {
    /// Starts counting `function`'s calls now. A function not called yet starts at zero.
    ///
    /// # Panics
    ///
    /// When `function` is a suffix of several functions' paths: name it in full.
    #[must_use]
    #[track_caller]
    pub fn track(function: &str) -> Self {
        let start = resolve(function).map(|(_, stats)| stats);
        Self {
            name: function.to_owned(),
            start: start.unwrap_or_default(),
        }
    }

    /// What was counted since [`track`](Self::track).
    ///
    /// # Panics
    ///
    /// As [`track`](Self::track).
    #[must_use]
    #[track_caller]
    pub fn stats(&self) -> Stats {
        resolve(&self.name)
            .map(|(_, now)| now.since(&self.start))
            .unwrap_or_default()
    }

    /// Asserts the calls since [`track`](Self::track) made `hits` hits and ran the body
    /// `misses` times.
    ///
    /// # Panics
    ///
    /// When they did not, with the function's counters in the message; and as
    /// [`track`](Self::track).
    #[track_caller]
    pub fn assert_hits_misses(&self, hits: u64, misses: u64) {
        let stats = self.stats();
        assert!(
            (stats.hits, stats.misses) == (hits, misses),
            "`{}`: expected {hits} hits and {misses} misses, counted {} hits and {} misses ({stats:?})",
            self.name,
            stats.hits,
            stats.misses,
        );
    }
}

/// The full name and counters of the one function `function` names, if it was counted yet.
#[track_caller]
fn resolve(function: &str) -> Option<(&'static str, Stats)> {
    let all = stats::all();
    if let Some(exact) = all.iter().find(|(name, _)| *name == function) {
        return Some(*exact);
    }
    let suffix = format!("::{function}");
    let mut matching = all.into_iter().filter(|(name, _)| name.ends_with(&suffix));
    let first = matching.next()?;
    let others: Vec<&str> = matching.map(|(name, _)| name).collect();
    assert!(
        others.is_empty(),
        "`{function}` names several cached functions ({}, {}): name one in full",
        first.0,
        others.join(", "),
    );
    Some(first)
}
