//! `#[rate_limited]` behaviour, written once and run on any backend.
//!
//! Each function takes a fresh, empty backend (`DynBackend`, e.g. `Arc::new(MemoryBackend::new())`
//! or a Redis backend under a unique prefix) and serves every limited call through it with
//! `with_backend`. Limiters keep no state of their own (it lives in the backend), so functions
//! may run concurrently with a different backend each.
//!
//! Time: the roll-over and `wait` tests sleep with `tokio::time::sleep` and windows of about a
//! second, so they are instant under `#[tokio::test(start_paused = true)]` on the memory
//! backend and take a few seconds on Redis (which uses the server's clock).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use cache_core::{DynBackend, RateLimited, cached, rate_limited, with_backend};
use tokio::time::Instant;

/// An application error with a variant for denied calls, as `#[rate_limited]` needs.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    Limited(RateLimited),
    NotFound(u64),
}

impl From<RateLimited> for ApiError {
    fn from(limited: RateLimited) -> Self {
        Self::Limited(limited)
    }
}

impl ApiError {
    /// The denial, or a panic naming what came instead.
    #[allow(clippy::panic)]
    pub fn limited(&self) -> &RateLimited {
        match self {
            Self::Limited(limited) => limited,
            other => panic!("expected a rate-limit denial, got {other:?}"),
        }
    }
}

/// Counts body runs.
pub struct Calls(AtomicUsize);

impl Calls {
    pub const fn new() -> Self {
        Self(AtomicUsize::new(0))
    }

    pub fn bump(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }

    pub fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

// ------------------------------------------------------------------ exactness

#[rate_limited(key = "search:<user_id>", limit = 10, window = "1h")]
pub async fn search_gcra(user_id: u64, query: &str) -> Result<String, ApiError> {
    Ok(format!("{user_id}:{query}"))
}

#[rate_limited(key = "search:<user_id>", limit = 10, window = "1h", algorithm = fixed_window)]
pub async fn search_fixed(user_id: u64, query: &str) -> Result<String, ApiError> {
    Ok(format!("{user_id}:{query}"))
}

#[rate_limited(key = "search:<user_id>", limit = 10, window = "1h", algorithm = sliding_log)]
pub async fn search_sliding(user_id: u64, query: &str) -> Result<String, ApiError> {
    Ok(format!("{user_id}:{query}"))
}

/// 200 calls at once with limit 10: exactly 10 run, 190 are denied with a `retry_after`.
/// Spawns tasks, so run it on a multi-threaded runtime for real parallelism.
pub async fn exactly_limit_under_concurrency(backend: DynBackend) {
    for algorithm in ["gcra", "fixed_window", "sliding_log"] {
        let barrier = Arc::new(tokio::sync::Barrier::new(200));
        let calls: Vec<_> = (0..200)
            .map(|i| {
                let barrier = Arc::clone(&barrier);
                let backend = Arc::clone(&backend);
                tokio::spawn(with_backend(backend, async move {
                    barrier.wait().await;
                    let query = format!("q{i}");
                    match algorithm {
                        "gcra" => search_gcra(7, &query).await,
                        "fixed_window" => search_fixed(7, &query).await,
                        _ => search_sliding(7, &query).await,
                    }
                }))
            })
            .collect();
        let (mut allowed, mut denied) = (0, 0);
        for call in calls {
            match call.await.expect("the call panicked") {
                Ok(_) => allowed += 1,
                Err(error) => {
                    let limited = error.limited();
                    assert!(
                        limited.retry_after() > Duration::ZERO,
                        "{algorithm}: a denial says when to retry"
                    );
                    assert_eq!(limited.decision().limit(), 10, "{algorithm}");
                    assert_eq!(limited.decision().remaining(), 0, "{algorithm}");
                    denied += 1;
                }
            }
        }
        assert_eq!((allowed, denied), (10, 190), "{algorithm}");
        // Another key has its own budget.
        let other = with_backend(Arc::clone(&backend), search_gcra(8, "q")).await;
        assert!(other.is_ok(), "{algorithm}: another key is another budget");
    }
}

// ------------------------------------------------------------------ windows

#[rate_limited(key = "roll:<id>", limit = 3, window = "1s", algorithm = fixed_window)]
pub async fn roll_fixed(id: u64) -> Result<u64, ApiError> {
    Ok(id)
}

#[rate_limited(key = "roll:<id>", limit = 3, window = "1s", algorithm = sliding_log)]
pub async fn roll_sliding(id: u64) -> Result<u64, ApiError> {
    Ok(id)
}

/// One cell every 500 ms, bursts of 2.
#[rate_limited(key = "roll:<id>", limit = 2, window = "1s")]
pub async fn roll_gcra(id: u64) -> Result<u64, ApiError> {
    Ok(id)
}

async fn admitted<F, Fut>(mut call: F, n: usize) -> usize
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<u64, ApiError>>,
{
    let mut admitted = 0;
    for _ in 0..n {
        if call().await.is_ok() {
            admitted += 1;
        }
    }
    admitted
}

/// 3 of 5 pass, then none until the window has passed, then 3 again.
async fn roll_over<F, Fut>(name: &str, call: F)
where
    F: Fn(u64) -> Fut,
    Fut: Future<Output = Result<u64, ApiError>>,
{
    assert_eq!(admitted(|| call(1), 5).await, 3, "{name}: 3 of 5 pass");
    let denied = call(1).await.expect_err("the budget is spent");
    assert!(denied.limited().retry_after() <= Duration::from_secs(1));
    tokio::time::sleep(Duration::from_millis(1_050)).await;
    assert_eq!(
        admitted(|| call(1), 5).await,
        3,
        "{name}: a new window, a new budget"
    );
}

/// Budgets come back when the window rolls over (and, for GCRA, one cell at a time).
pub async fn windows_roll_over(backend: DynBackend) {
    with_backend(backend, async {
        roll_over("fixed_window", roll_fixed).await;
        roll_over("sliding_log", roll_sliding).await;

        assert_eq!(admitted(|| roll_gcra(1), 4).await, 2, "gcra: a burst of 2");
        tokio::time::sleep(Duration::from_millis(550)).await;
        assert_eq!(admitted(|| roll_gcra(1), 4).await, 1, "gcra: one cell back");
        tokio::time::sleep(Duration::from_millis(1_050)).await;
        assert_eq!(admitted(|| roll_gcra(1), 4).await, 2, "gcra: full again");
    })
    .await;
}

// ------------------------------------------------------------------ wait

/// One call per second; waits up to 2 s for a slot.
#[rate_limited(key = "wait:<id>", limit = 1, window = "1s", wait = "2s")]
pub async fn patient(id: u64) -> Result<u64, ApiError> {
    Ok(id)
}

/// One call per second; waits at most 100 ms.
#[rate_limited(key = "wait:<id>", limit = 1, window = "1s", wait = "100ms")]
pub async fn impatient(id: u64) -> Result<u64, ApiError> {
    Ok(id)
}

/// `wait` waits for a slot within its bound, and gives up at once when the slot is further.
pub async fn wait_for_a_slot(backend: DynBackend) {
    with_backend(backend, async {
        assert_eq!(patient(1).await, Ok(1));
        let start = Instant::now();
        assert_eq!(patient(1).await, Ok(1), "waited for the next slot");
        let waited = start.elapsed();
        assert!(
            waited >= Duration::from_millis(900) && waited <= Duration::from_millis(2_000),
            "waited {waited:?}"
        );

        assert_eq!(impatient(2).await, Ok(2));
        let start = Instant::now();
        let denied = impatient(2)
            .await
            .expect_err("the next slot is past the bound");
        assert!(denied.limited().retry_after() > Duration::from_millis(100));
        assert!(
            start.elapsed() < Duration::from_millis(100),
            "gave up without sleeping"
        );
    })
    .await;
}

// ------------------------------------------------------------------ methods

pub struct Tenant {
    pub name: String,
    pub exports: usize,
}

impl Tenant {
    #[rate_limited(key = "export:<self.name>:<kind>", limit = 2, window = "1h")]
    pub async fn export(&self, kind: &str) -> Result<String, ApiError> {
        Ok(format!("{}/{kind}", self.name))
    }

    /// `&mut self`, the key from a field and the default cost of a heavier call.
    #[rate_limited(key = "bulk:<self.name>", limit = 4, window = "1h", cost = 2)]
    pub async fn bulk_export(&mut self) -> Result<usize, ApiError> {
        self.exports += 1;
        Ok(self.exports)
    }
}

/// `<self.field>` keys: each tenant has its own budget.
pub async fn method_keys_use_self(backend: DynBackend) {
    with_backend(backend, async {
        let mut acme = Tenant {
            name: "acme".to_owned(),
            exports: 0,
        };
        let globex = Tenant {
            name: "globex".to_owned(),
            exports: 0,
        };
        assert_eq!(acme.export("csv").await, Ok("acme/csv".to_owned()));
        assert!(acme.export("csv").await.is_ok());
        assert!(acme.export("csv").await.is_err(), "acme's budget is spent");
        assert!(
            acme.export("pdf").await.is_ok(),
            "another kind, another key"
        );
        assert!(
            globex.export("csv").await.is_ok(),
            "globex has its own budget"
        );

        assert_eq!(acme.bulk_export().await, Ok(1));
        assert_eq!(acme.bulk_export().await, Ok(2));
        assert!(acme.bulk_export().await.is_err(), "cost 2 of 4 per hour");
        assert_eq!(acme.exports, 2, "a denied call does not run the body");
    })
    .await;
}

// ------------------------------------------------------------------ with #[cached]

pub static LIMIT_EVERY_CALL: Calls = Calls::new();
pub static LIMIT_MISSES: Calls = Calls::new();

/// `#[cached]` written first: `#[rate_limited]` wraps the cached function, so every call is
/// limited, hits included.
#[cached(key = "every:<id>")]
#[rate_limited(key = "every:<id>", limit = 2, window = "1h")]
pub async fn limit_every_call(id: u64) -> Result<u64, ApiError> {
    LIMIT_EVERY_CALL.bump();
    Ok(id)
}

/// `#[rate_limited]` written first: `#[cached]` wraps the limited body, so only calls that
/// run the body (misses) are limited; hits are free.
#[rate_limited(key = "misses", limit = 2, window = "1h")]
#[cached(key = "misses:<id>")]
pub async fn limit_misses(id: u64) -> Result<u64, ApiError> {
    LIMIT_MISSES.bump();
    Ok(id)
}

/// Both orders of `#[cached]` and `#[rate_limited]` on one function.
pub async fn composes_with_cached(backend: DynBackend) {
    with_backend(backend, async {
        let before = LIMIT_EVERY_CALL.get();
        assert_eq!(limit_every_call(1).await, Ok(1));
        assert_eq!(limit_every_call(1).await, Ok(1), "a hit, still counted");
        assert!(
            limit_every_call(1).await.is_err(),
            "the third call is limited although it would hit"
        );
        assert_eq!(LIMIT_EVERY_CALL.get() - before, 1, "the body ran once");

        let before = LIMIT_MISSES.get();
        for _ in 0..5 {
            assert_eq!(limit_misses(1).await, Ok(1), "hits are not limited");
        }
        assert_eq!(limit_misses(2).await, Ok(2), "the second miss");
        assert!(limit_misses(3).await.is_err(), "the third miss is limited");
        assert_eq!(limit_misses(1).await, Ok(1), "hits still pass");
        assert_eq!(LIMIT_MISSES.get() - before, 2, "two misses ran the body");
    })
    .await;
}
