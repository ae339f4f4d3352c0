//! Distributed locking: a basic lock, a lock with a wait timeout, and five concurrent workers
//! of which one at a time holds the lock.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use cache_core::DynBackend;
use cache_core::lock::Lock;

use super::{StepError, section};

pub(super) async fn run(backend: &DynBackend, out: &mut impl Write) -> Result<(), StepError> {
    section(out, "distributed locking")?;
    basic(backend, out).await?;
    with_timeout(backend, out).await?;
    workers(backend, out).await
}

async fn basic(backend: &DynBackend, out: &mut impl Write) -> Result<(), StepError> {
    let lock = Lock::new(backend.clone(), "order-processing").lease(Duration::from_secs(10));
    let guard = lock.acquire().await?;
    writeln!(out, "order-processing: acquired, critical section runs")?;
    writeln!(
        out,
        "order-processing: released -> {}",
        guard.release().await?
    )?;
    Ok(())
}

async fn with_timeout(backend: &DynBackend, out: &mut impl Write) -> Result<(), StepError> {
    let lock = |wait| {
        Lock::new(backend.clone(), "report-generation")
            .lease(Duration::from_secs(30))
            .wait(wait)
    };
    let holder = lock(Duration::ZERO).acquire().await?;
    match lock(Duration::from_millis(100)).acquire().await {
        Ok(_) => writeln!(out, "report-generation: a second holder got in")?,
        Err(busy) => writeln!(
            out,
            "report-generation, waiting 100 ms: busy -> {}",
            busy.is_held()
        )?,
    }
    holder.release().await?;
    Ok(())
}

/// How many workers are inside the lock now, and the most there ever were.
#[derive(Default)]
struct Occupancy {
    inside: AtomicUsize,
    most: AtomicUsize,
    done: AtomicUsize,
}

async fn workers(backend: &DynBackend, out: &mut impl Write) -> Result<(), StepError> {
    let occupancy = Arc::new(Occupancy::default());
    let mut tasks = Vec::new();
    for _ in 0..5 {
        let lock = Lock::new(backend.clone(), "shared-resource")
            .lease(Duration::from_secs(5))
            .wait(Duration::from_secs(5));
        let occupancy = occupancy.clone();
        tasks.push(tokio::spawn(async move {
            let guard = lock.acquire().await?;
            let now = occupancy.inside.fetch_add(1, Ordering::SeqCst) + 1;
            occupancy.most.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await;
            occupancy.inside.fetch_sub(1, Ordering::SeqCst);
            occupancy.done.fetch_add(1, Ordering::SeqCst);
            guard.release().await.map_err(StepError::from)
        }));
    }
    for task in tasks {
        task.await??;
    }
    writeln!(
        out,
        "5 workers on shared-resource -> {} done, at most {} inside at once",
        occupancy.done.load(Ordering::SeqCst),
        occupancy.most.load(Ordering::SeqCst)
    )?;
    Ok(())
}
