//! `#[locked]` behaviour on the memory backend, on tokio's paused clock: who runs, who is
//! refused, who waits, and that every way a body can end releases its lock.
//!
//! Each test serves its calls from a backend of its own through `with_backend`; tasks spawned
//! in a test are wrapped in the same backend (a scope does not follow `tokio::spawn`). The
//! functions take a [`Probe`] that is not part of the key, so tests running in parallel never
//! share a counter.
#![allow(missing_docs, clippy::unwrap_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use cache_core::{
    CacheBackend, DynBackend, ErrorKind, LockBusy, MemoryBackend, RateLimited, cached, locked,
    rate_limited, with_backend,
};
use cache_tests::bare::Bare;
use cache_tests::logs;
use tokio::time::Instant;

const SECOND: Duration = Duration::from_secs(1);

/// An application error with a variant for each refusal.
#[derive(Debug)]
enum AppError {
    Busy(LockBusy),
    Limited,
    Failed,
}

impl From<LockBusy> for AppError {
    fn from(busy: LockBusy) -> Self {
        Self::Busy(busy)
    }
}

impl From<RateLimited> for AppError {
    fn from(_: RateLimited) -> Self {
        Self::Limited
    }
}

impl AppError {
    fn busy(&self) -> &LockBusy {
        match self {
            Self::Busy(busy) => busy,
            other => panic!("expected `LockBusy`, got {other:?}"),
        }
    }
}

/// Who is inside a body now, the most ever inside at once, and how many bodies ran.
#[derive(Default)]
struct Probe {
    inside: AtomicUsize,
    most: AtomicUsize,
    ran: AtomicUsize,
}

impl Probe {
    fn new() -> Arc<Self> {
        Arc::default()
    }

    async fn run(&self, hold: Duration) {
        let now = self.inside.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(now, Ordering::SeqCst);
        self.ran.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(hold).await;
        self.inside.fetch_sub(1, Ordering::SeqCst);
    }

    fn ran(&self) -> usize {
        self.ran.load(Ordering::SeqCst)
    }

    fn most(&self) -> usize {
        self.most.load(Ordering::SeqCst)
    }
}

fn memory() -> DynBackend {
    Arc::new(MemoryBackend::new())
}

// Three ways to take `job:<id>`: without waiting, waiting 2 s, waiting a minute. The same
// template, so the same lock.

#[locked(key = "job:<id>", ttl = 30)]
async fn now(id: u64, hold: Duration, probe: Arc<Probe>) -> Result<u64, AppError> {
    probe.run(hold).await;
    Ok(id)
}

#[locked(key = "job:<id>", ttl = 30, wait = "2s")]
async fn within_2s(id: u64, hold: Duration, probe: Arc<Probe>) -> Result<u64, AppError> {
    probe.run(hold).await;
    Ok(id)
}

#[locked(key = "job:<id>", ttl = "30s", wait = "1m")]
async fn within_1m(id: u64, hold: Duration, probe: Arc<Probe>) -> Result<u64, AppError> {
    probe.run(hold).await;
    Ok(id)
}

#[locked(key = "job:<id>")]
async fn failing(id: u64, probe: Arc<Probe>) -> Result<u64, AppError> {
    probe.run(Duration::ZERO).await;
    let _ = id;
    Err(AppError::Failed)
}

#[locked(key = "job:<id>")]
async fn panicking(id: u64) -> Result<u64, AppError> {
    panic!("the body of job {id} panicked");
}

/// `call` spawned `n` times, each in `backend`, and the results in spawn order.
async fn spawn_n<F, Fut>(backend: &DynBackend, n: usize, call: F) -> Vec<Result<u64, AppError>>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Result<u64, AppError>> + Send + 'static,
{
    let tasks: Vec<_> = (0..n)
        .map(|i| tokio::spawn(with_backend(Arc::clone(backend), call(i))))
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }
    results
}

#[tokio::test(start_paused = true)]
async fn without_wait_exactly_one_caller_runs_and_the_others_are_busy() {
    for n in [2, 3, 7, 50] {
        let backend = memory();
        let probe = Probe::new();
        let results = spawn_n(&backend, n, |_| now(1, SECOND, Arc::clone(&probe))).await;
        let ran: Vec<_> = results.iter().filter(|result| result.is_ok()).collect();
        assert_eq!(ran.len(), 1, "{n} callers: {results:?}");
        assert_eq!(probe.ran(), 1, "{n} callers");
        for refused in results.iter().filter_map(|result| result.as_ref().err()) {
            let busy = refused.busy();
            assert!(busy.is_held(), "{busy}");
            assert!(busy.cause().is_none());
            assert_eq!(busy.waited(), Duration::ZERO, "refused at once");
            assert_eq!(busy.name(), "job:1");
        }
    }
}

#[tokio::test(start_paused = true)]
async fn different_keys_do_not_block_each_other() {
    let backend = memory();
    let probe = Probe::new();
    let started = Instant::now();
    let results = spawn_n(&backend, 10, |i| now(i as u64, SECOND, Arc::clone(&probe))).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(probe.most(), 10, "all ten held their own lock at once");
    assert_eq!(
        started.elapsed(),
        SECOND,
        "side by side, not one after another"
    );
}

#[tokio::test(start_paused = true)]
async fn waiting_callers_all_run_one_at_a_time() {
    let backend = memory();
    let probe = Probe::new();
    let started = Instant::now();
    let hold = Duration::from_millis(100);
    let results = spawn_n(&backend, 20, |_| within_1m(1, hold, Arc::clone(&probe))).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(probe.ran(), 20);
    assert_eq!(probe.most(), 1, "never two inside at once");
    // Each woken by the previous release, not by a lease running out.
    assert!(
        started.elapsed() < 20 * hold + SECOND,
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn a_caller_whose_wait_runs_out_is_busy_after_exactly_its_wait() {
    let backend = memory();
    let probe = Probe::new();
    let holder = tokio::spawn(with_backend(
        Arc::clone(&backend),
        now(1, 10 * SECOND, Arc::clone(&probe)),
    ));
    tokio::task::yield_now().await; // the holder takes the lock
    let refused = with_backend(Arc::clone(&backend), within_2s(1, SECOND, Probe::new()))
        .await
        .unwrap_err();
    let busy = refused.busy();
    assert!(busy.is_held(), "{busy}");
    assert_eq!(busy.waited(), 2 * SECOND);
    assert_eq!(holder.await.unwrap().unwrap(), 1);
    assert_eq!(probe.ran(), 1);
}

/// Takes `job:<id>` with `within_1m` and says how long that took: zero when the lock was
/// free (or released at once), the rest of the 30 s lease when nobody released it.
async fn time_to_acquire(backend: &DynBackend, id: u64) -> Duration {
    let started = Instant::now();
    with_backend(
        Arc::clone(backend),
        within_1m(id, Duration::ZERO, Probe::new()),
    )
    .await
    .unwrap();
    started.elapsed()
}

#[tokio::test(start_paused = true)]
async fn an_err_return_releases_the_lock_before_the_call_returns() {
    let backend = memory();
    let probe = Probe::new();
    with_backend(Arc::clone(&backend), async {
        assert!(matches!(
            failing(1, Arc::clone(&probe)).await,
            Err(AppError::Failed)
        ));
        // Without waiting: the release happened in line, not on a task still to run.
        assert_eq!(now(1, Duration::ZERO, Arc::clone(&probe)).await.unwrap(), 1);
    })
    .await;
    assert_eq!(probe.ran(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_panic_in_the_body_releases_the_lock() {
    let backend = memory();
    let panicked = tokio::spawn(with_backend(Arc::clone(&backend), panicking(1))).await;
    assert!(panicked.unwrap_err().is_panic());
    assert_eq!(time_to_acquire(&backend, 1).await, Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_call_releases_the_lock() {
    let backend = memory();
    let probe = Probe::new();
    let call = with_backend(
        Arc::clone(&backend),
        now(1, 60 * SECOND, Arc::clone(&probe)),
    );
    // Dropped a second into its minute-long body.
    assert!(tokio::time::timeout(SECOND, call).await.is_err());
    assert_eq!(probe.ran(), 1, "the body had started");
    assert_eq!(time_to_acquire(&backend, 1).await, Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn the_lease_bounds_how_long_an_unreleased_lock_keeps_others_out() {
    let backend = memory();
    // Taken and never released nor renewed, as by a process that died holding it.
    let store = backend.locks().unwrap();
    let token = cache_core::lock::LockToken::random().unwrap();
    store.acquire("job:1", &token, 5 * SECOND).await.unwrap();
    let waited = time_to_acquire(&backend, 1).await;
    assert!(waited >= 5 * SECOND && waited < 6 * SECOND, "{waited:?}");
}

#[tokio::test(start_paused = true)]
async fn the_lease_is_renewed_while_a_long_body_runs() {
    let backend = memory();
    let probe = Probe::new();
    let holder = tokio::spawn(with_backend(
        Arc::clone(&backend),
        now(1, 100 * SECOND, Arc::clone(&probe)),
    ));
    tokio::time::sleep(90 * SECOND).await; // three leases of 30 s later
    let refused = with_backend(Arc::clone(&backend), now(1, Duration::ZERO, Probe::new()))
        .await
        .unwrap_err();
    assert!(refused.busy().is_held(), "still held: the guard renewed it");
    holder.await.unwrap().unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn a_backend_without_locks_refuses_every_call_and_logs_each() {
    // Its byte operations work; it offers no locks.
    let no_locks = Bare::default();
    assert!(no_locks.locks().is_none());
    let probe = Probe::new();
    let (guard, captured) = logs::capture(tracing::Level::WARN);
    with_backend(no_locks, async {
        for _ in 0..2 {
            let refused = now(7, Duration::ZERO, Arc::clone(&probe))
                .await
                .unwrap_err();
            let busy = refused.busy();
            assert!(!busy.is_held(), "{busy}");
            assert_eq!(busy.cause().unwrap().kind(), ErrorKind::Unsupported);
        }
    })
    .await;
    drop(guard);
    assert_eq!(probe.ran(), 0, "a lock fails closed: the body never ran");
    let events = captured.events();
    assert_eq!(events.len(), 2, "once per refused call: {events:?}");
    for event in &events {
        assert_eq!(event.level, tracing::Level::ERROR);
        assert!(
            event
                .fields
                .contains("function=locked_behaviour::now key=job:7")
                && event.fields.contains("offers no locks"),
            "{event:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_lock_held_by_another_is_not_logged() {
    let backend = memory();
    let (guard, captured) = logs::capture(tracing::Level::WARN);
    let results = spawn_n(&backend, 3, |_| now(1, SECOND, Probe::new())).await;
    drop(guard);
    assert_eq!(results.iter().filter(|result| result.is_err()).count(), 2);
    assert_eq!(captured.events(), []);
}

// ------------------------------------------------------------------ methods

struct Ledger {
    account: String,
    probe: Arc<Probe>,
}

impl Ledger {
    #[locked(key = "ledger:<self.account>", ttl = 10)]
    async fn post(&self, cents: i64) -> Result<i64, AppError> {
        self.probe.run(SECOND).await;
        Ok(cents)
    }

    #[locked(key = "ledger:<self.account>")]
    async fn close(self: Arc<Self>) -> Result<String, AppError> {
        Ok(self.account.clone())
    }
}

#[tokio::test(start_paused = true)]
async fn methods_lock_by_their_fields() {
    let backend = memory();
    let probe = Probe::new();
    let ledger = |account: &str| {
        Arc::new(Ledger {
            account: account.to_owned(),
            probe: Arc::clone(&probe),
        })
    };
    let (acme, initech) = (ledger("acme"), ledger("initech"));
    let results = spawn_n(&backend, 3, |i| {
        let ledger = if i == 2 {
            Arc::clone(&initech)
        } else {
            Arc::clone(&acme)
        };
        async move { ledger.post(5).await.map(i64::unsigned_abs) }
    })
    .await;
    assert!(results[0].is_ok(), "{results:?}");
    assert!(results[1].as_ref().unwrap_err().busy().is_held());
    assert!(results[2].is_ok(), "another account, another lock");
    let closed = with_backend(Arc::clone(&backend), acme.close()).await;
    assert_eq!(closed.unwrap(), "acme");
}

// ------------------------------------------------------------------ composition

/// Lower attributes wrap the upper ones: `#[cached]` is outside, so a hit takes no lock.
#[locked(key = "report-lock:<id>")]
#[cached(key = "report:<id>", ttl = 60)]
async fn report(id: u64, probe: Arc<Probe>) -> Result<u64, AppError> {
    probe.run(SECOND).await;
    Ok(id)
}

#[tokio::test(start_paused = true)]
async fn a_cache_hit_takes_no_lock() {
    let backend = memory();
    let probe = Probe::new();
    with_backend(Arc::clone(&backend), async {
        assert_eq!(report(1, Arc::clone(&probe)).await.unwrap(), 1);
        // Someone holds the locks (misses elsewhere, say): hits are still served.
        let lock = |name| cache_core::lock::Lock::new(Arc::clone(&backend), name);
        let _held = (
            lock("report-lock:1").acquire().await.unwrap(),
            lock("report-lock:2").acquire().await.unwrap(),
        );
        assert_eq!(report(1, Arc::clone(&probe)).await.unwrap(), 1, "a hit");
        let refused = report(2, Arc::clone(&probe)).await.unwrap_err();
        assert_eq!(refused.busy().name(), "report-lock:2", "a miss locks");
    })
    .await;
    assert_eq!(probe.ran(), 1);
}

/// `#[locked]` is outside: every call takes the lock, hits included.
#[cached(key = "audit:<id>", ttl = 60)]
#[locked(key = "audit-lock:<id>")]
async fn audited(id: u64) -> Result<u64, AppError> {
    Ok(id)
}

#[tokio::test(start_paused = true)]
async fn a_lock_outside_the_cache_is_taken_by_hits_too() {
    let backend = memory();
    with_backend(Arc::clone(&backend), async {
        assert_eq!(audited(1).await.unwrap(), 1);
        let lock = cache_core::lock::Lock::new(Arc::clone(&backend), "audit-lock:1");
        let _held = lock.acquire().await.unwrap();
        assert!(audited(1).await.unwrap_err().busy().is_held());
    })
    .await;
}

/// One name for the lock and the cached key, `#[cached]` outside: the miss's claim is the
/// lock, so the `#[locked]` inside finds it already this task's.
#[locked(key = "same:<id>")]
#[cached(key = "same:<id>", ttl = 60)]
async fn same_name_cache_outside(id: u64, probe: Arc<Probe>) -> Result<u64, AppError> {
    probe.run(SECOND).await;
    Ok(id)
}

/// The same, `#[locked]` outside: the claim inside finds the lock already this task's.
#[cached(key = "same-too:<id>", ttl = 60)]
#[locked(key = "same-too:<id>")]
async fn same_name_lock_outside(id: u64, probe: Arc<Probe>) -> Result<u64, AppError> {
    probe.run(SECOND).await;
    Ok(id)
}

#[tokio::test(start_paused = true)]
async fn a_lock_named_like_the_cached_key_does_not_wait_for_itself() {
    let backend = memory();
    let probe = Probe::new();
    with_backend(Arc::clone(&backend), async {
        let started = tokio::time::Instant::now();
        assert_eq!(
            same_name_cache_outside(1, Arc::clone(&probe))
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            same_name_lock_outside(1, Arc::clone(&probe)).await.unwrap(),
            1
        );
        // Each body's one second, not the ten of a claim's `lock_wait`.
        assert_eq!(started.elapsed(), 2 * SECOND);
        assert_eq!(
            same_name_cache_outside(1, Arc::clone(&probe))
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            same_name_lock_outside(1, Arc::clone(&probe)).await.unwrap(),
            1
        );
        assert_eq!(probe.ran(), 2, "then both are hits");
        // Another task still finds the name held while a miss computes it.
        let (busy, value) = tokio::join!(
            async {
                tokio::time::sleep(SECOND / 2).await;
                cache_core::lock::Lock::new(Arc::clone(&backend), "same:2")
                    .try_acquire()
                    .await
                    .unwrap()
                    .is_none()
            },
            same_name_cache_outside(2, Arc::clone(&probe)),
        );
        assert!(busy, "held while the miss runs");
        assert_eq!(value.unwrap(), 2);
    })
    .await;
}

/// `#[rate_limited]` is outside: a denied call takes no lock.
#[locked(key = "charge:<user>")]
#[rate_limited(key = "charge:<user>", limit = 2, window = "1h")]
async fn charge(user: u64, probe: Arc<Probe>) -> Result<u64, AppError> {
    probe.run(SECOND).await;
    Ok(user)
}

/// `#[locked]` is outside: only the holder is counted against the limit.
#[rate_limited(key = "refund:<user>", limit = 2, window = "1h")]
#[locked(key = "refund:<user>")]
async fn refund(user: u64, probe: Arc<Probe>) -> Result<u64, AppError> {
    probe.run(SECOND).await;
    Ok(user)
}

#[tokio::test(start_paused = true)]
async fn composes_with_rate_limited_both_ways() {
    let backend = memory();
    let probe = Probe::new();
    // Three at once: one holds the lock, one is busy, and both were counted, so the third
    // is denied by the limiter.
    let results = spawn_n(&backend, 3, |_| charge(1, Arc::clone(&probe))).await;
    assert!(results[0].is_ok(), "{results:?}");
    assert!(results[1].as_ref().unwrap_err().busy().is_held());
    assert!(matches!(results[2], Err(AppError::Limited)), "{results:?}");
    // Three at once: one holds the lock and is counted; the two refused by the lock are not,
    // so the limit's second call is still there.
    let results = spawn_n(&backend, 3, |_| refund(1, Arc::clone(&probe))).await;
    assert!(results[0].is_ok(), "{results:?}");
    assert!(
        results[1..]
            .iter()
            .all(|result| matches!(result, Err(AppError::Busy(_))))
    );
    let again = with_backend(Arc::clone(&backend), refund(1, Arc::clone(&probe))).await;
    assert_eq!(again.unwrap(), 1, "the second admitted call");
    assert_eq!(probe.ran(), 3);
}
