//! `#[cached(hard_timeout = ..)]`: no call waits longer for its body, whether or not an old
//! value exists; with none the call returns a timeout `Err` (not cached, shared with the
//! callers waiting on the same run), with `fail_safe`'s old value that value. Paused time on
//! the memory backend.
#![allow(clippy::unwrap_used, clippy::panic, missing_docs)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use cache_core::{
    DynBackend, ErrorKind, Freshness, MemoryBackend, cached, with_backend, with_freshness,
};
use futures_util::future::join_all;
use tokio::time::{Instant, advance, sleep};

#[derive(Debug, Clone, PartialEq, Eq)]
struct AppError(ErrorKind);

impl From<cache_core::Error> for AppError {
    fn from(error: cache_core::Error) -> Self {
        Self(error.kind())
    }
}

fn memory() -> DynBackend {
    Arc::new(MemoryBackend::new())
}

static HANGS: AtomicBool = AtomicBool::new(true);
static RUNS: AtomicU64 = AtomicU64::new(0);

#[cached(key = "hard:<id>", ttl = 60, hard_timeout = "2s")]
async fn report(id: u64) -> Result<u64, AppError> {
    RUNS.fetch_add(1, Ordering::SeqCst);
    if HANGS.load(Ordering::SeqCst) {
        sleep(Duration::from_secs(3600)).await;
    }
    Ok(id)
}

#[tokio::test(start_paused = true)]
async fn no_caller_waits_past_it_and_the_timeout_is_not_cached() {
    with_backend(memory(), async {
        // 50 callers of a key whose source hangs: all answered at the hard timeout, by one run.
        let started = Instant::now();
        let answers = join_all((0..50).map(|_| report(1))).await;
        assert_eq!(started.elapsed(), Duration::from_secs(2));
        assert!(
            answers
                .iter()
                .all(|answer| *answer == Err(AppError(ErrorKind::Timeout))),
            "{answers:?}"
        );
        assert_eq!(
            RUNS.load(Ordering::SeqCst),
            1,
            "the leader's timeout was shared"
        );

        // Not cached: once the source answers, the value is computed and cached.
        HANGS.store(false, Ordering::SeqCst);
        assert_eq!(report(1).await, Ok(1));
        assert_eq!(report(1).await, Ok(1));
        assert_eq!(RUNS.load(Ordering::SeqCst), 2);
    })
    .await;
}

static QUOTE_HANGS: AtomicBool = AtomicBool::new(false);

#[cached(
    key = "hard:quote:<id>",
    ttl = 10,
    fail_safe = "1h",
    hard_timeout = "1s"
)]
async fn quote(id: u64) -> Result<u64, AppError> {
    if QUOTE_HANGS.load(Ordering::SeqCst) {
        sleep(Duration::from_secs(3600)).await;
    }
    Ok(id * 10)
}

#[tokio::test(start_paused = true)]
async fn with_an_old_value_the_caller_gets_it_at_the_hard_timeout() {
    with_backend(memory(), async {
        assert_eq!(quote(1).await, Ok(10));
        QUOTE_HANGS.store(true, Ordering::SeqCst);
        advance(Duration::from_secs(11)).await;
        let started = Instant::now();
        let (answer, freshness) = with_freshness(quote(1)).await;
        assert_eq!(started.elapsed(), Duration::from_secs(1));
        assert_eq!((answer, freshness), (Ok(10), Freshness::Stale));
    })
    .await;
}
