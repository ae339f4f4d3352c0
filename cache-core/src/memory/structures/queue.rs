//! Queues (Redis `RPUSH`, `LPOP`, `BLPOP`, `LRANGE`, `LLEN`): a `VecDeque`, pushed at the
//! back and popped at the front.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::Bytes;

use super::{Kind, MemoryBackend, Slot, count, created, existing, invalid, positions};
use crate::Result;
use crate::structures::Reply;

type Queue = VecDeque<Bytes>;

/// O(k).
pub(super) fn push(slot: &mut Option<Slot>, key: &str, values: &[Bytes]) -> Result<Reply> {
    let queue = created::<Queue>(slot, key)?;
    queue.extend(values.iter().cloned());
    Ok(count(queue.len()))
}

pub(super) fn check_count(key: &str, count: usize) -> Result<()> {
    if count == 0 {
        return Err(invalid(format!(
            "a pop of zero values from `{key}` is not allowed"
        )));
    }
    Ok(())
}

/// O(k).
pub(super) fn pop(slot: &mut Option<Slot>, key: &str, count: usize) -> Result<Reply> {
    let values = existing::<Queue>(slot, key)?
        .map(|queue| queue.drain(..count.min(queue.len())).collect())
        .unwrap_or_default();
    Ok(Reply::Values(values))
}

/// O(1).
fn pop_front(slot: &mut Option<Slot>, key: &str) -> Result<Option<Bytes>> {
    Ok(existing::<Queue>(slot, key)?.and_then(VecDeque::pop_front))
}

/// O(k).
pub(super) fn range(slot: &mut Option<Slot>, key: &str, start: i64, stop: i64) -> Result<Reply> {
    let values = existing::<Queue>(slot, key)?
        .map(|queue| {
            queue
                .range(positions(start, stop, queue.len()))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    Ok(Reply::Values(values))
}

/// O(1).
pub(super) fn len(slot: &mut Option<Slot>, key: &str) -> Result<Reply> {
    Ok(count(
        existing::<Queue>(slot, key)?.map_or(0, |queue| queue.len()),
    ))
}

impl MemoryBackend {
    /// Pops the front value, waiting up to `timeout` for a push if the queue is empty. The
    /// watch is registered before each look at the queue, so a push between the look and the
    /// wait still wakes it; the pop itself is under the table's locks, so a dropped future
    /// has popped nothing.
    pub(super) async fn pop_wait(&self, key: &str, timeout: Duration) -> Result<Reply> {
        if timeout.is_zero() {
            return Err(invalid(format!(
                "a pop from `{key}` with a zero timeout is not allowed"
            )));
        }
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let pushed = self.inner.queue_wakeups.watch(key);
            if let Some(value) = self.on_structure(key, Kind::Queue, |slot| pop_front(slot, key))? {
                return Ok(Reply::Value(Some(value)));
            }
            if tokio::time::timeout_at(deadline, pushed).await.is_err() {
                return Ok(Reply::Value(None));
            }
        }
    }
}
