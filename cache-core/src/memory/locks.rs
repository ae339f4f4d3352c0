//! The memory backend's [`LockStore`]: leases and fences in one table beside the values, so a
//! fenced write checks the fence and stores the value under one lock.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;

use super::{Entry, MemoryBackend};
use crate::lock::{Acquire, Fill, LockStore, LockToken, Wakeup, Wakeups};
use crate::util::clock::Instant;
use crate::{Error, ErrorKind, Result};

/// Every lock name's state, and who waits for which.
#[derive(Default)]
pub(super) struct Locks {
    table: Mutex<Table>,
    wakeups: Wakeups,
}

#[derive(Default)]
struct Table {
    by_name: HashMap<Box<str>, Cell>,
    /// The last fence handed out: one counter for every name, so each name's fences only grow
    /// even after its cell was dropped.
    last_fence: u64,
    /// The table's size after its last sweep of dead cells.
    swept_at: usize,
}

struct Cell {
    holder: Option<Holder>,
    /// The name's current fence: fenced writes carrying another are refused.
    fence: u64,
    /// Until when the fence is kept: twice the last lease, renewed with it (as Redis keeps
    /// its fence key). A write fenced by a cell that has gone is refused.
    fence_until: Instant,
}

struct Holder {
    token: LockToken,
    until: Instant,
}

impl Cell {
    fn holder(&self, now: Instant) -> Option<&Holder> {
        self.holder.as_ref().filter(|holder| holder.until > now)
    }

    fn is_dead(&self, now: Instant) -> bool {
        self.holder(now).is_none() && self.fence_until <= now
    }

    fn held_by(&self, token: &LockToken, now: Instant) -> bool {
        self.holder(now)
            .is_some_and(|holder| holder.token == *token)
    }

    fn lease(&mut self, token: LockToken, lease: Duration, now: Instant) {
        self.holder = Some(Holder {
            token,
            until: now + lease,
        });
        self.fence_until = self.fence_until.max(now + 2 * lease);
    }
}

impl Table {
    fn live(&mut self, name: &str, now: Instant) -> Option<&mut Cell> {
        self.by_name.get_mut(name).filter(|cell| !cell.is_dead(now))
    }

    fn next_fence(&mut self) -> u64 {
        self.last_fence += 1;
        self.last_fence
    }

    /// Drops dead cells whenever the table has doubled since the last sweep: amortised O(1).
    fn sweep(&mut self, now: Instant) {
        if self.by_name.len() > 2 * self.swept_at.max(64) {
            self.by_name.retain(|_, cell| !cell.is_dead(now));
            self.swept_at = self.by_name.len();
        }
    }
}

impl Locks {
    fn table(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn clear(&self) {
        let mut table = self.table();
        table.by_name.clear();
        table.swept_at = 0;
    }
}

fn check_lease(lease: Duration) -> Result<()> {
    if lease.is_zero() {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            "a lock lease of zero is not allowed",
        ));
    }
    Ok(())
}

/// Takes `name` for `token` unless another owner holds it (see [`LockStore::acquire`]).
fn take(table: &mut Table, name: &str, token: &LockToken, lease: Duration) -> Acquire {
    let now = Instant::now();
    if let Some(cell) = table.live(name, now) {
        match cell.holder(now) {
            Some(holder) if holder.token != *token => {
                return Acquire::Held {
                    remaining: Some(holder.until.saturating_duration_since(now)),
                };
            }
            Some(_) => {
                cell.lease(*token, lease, now);
                return Acquire::Acquired { fence: cell.fence };
            }
            None => {}
        }
    }
    let fence = table.next_fence();
    let mut cell = Cell {
        holder: None,
        fence,
        fence_until: now,
    };
    cell.lease(*token, lease, now);
    table.by_name.insert(name.into(), cell);
    table.sweep(now);
    Acquire::Acquired { fence }
}

#[async_trait]
impl LockStore for MemoryBackend {
    async fn acquire(&self, name: &str, token: &LockToken, lease: Duration) -> Result<Acquire> {
        check_lease(lease)?;
        Ok(take(&mut self.inner.locks.table(), name, token, lease))
    }

    async fn claim(&self, name: &str, token: &LockToken, lease: Duration) -> Result<Acquire> {
        check_lease(lease)?;
        // Under the table's lock, so no fill can land between the look and the take.
        let mut table = self.inner.locks.table();
        if let Some(value) = self.live(name, |entry| entry.bytes.clone()) {
            return Ok(Acquire::Filled { value });
        }
        Ok(take(&mut table, name, token, lease))
    }

    async fn extend(&self, name: &str, token: &LockToken, lease: Duration) -> Result<bool> {
        check_lease(lease)?;
        let now = Instant::now();
        let mut table = self.inner.locks.table();
        Ok(match table.live(name, now) {
            Some(cell) if cell.held_by(token, now) => {
                cell.lease(*token, lease, now);
                true
            }
            _ => false,
        })
    }

    async fn release(&self, name: &str, token: &LockToken) -> Result<bool> {
        let now = Instant::now();
        let released = {
            let mut table = self.inner.locks.table();
            match table.live(name, now) {
                Some(cell) if cell.held_by(token, now) => {
                    cell.holder = None;
                    true
                }
                _ => false,
            }
        };
        if released {
            self.inner.locks.wakeups.wake(name);
        }
        Ok(released)
    }

    fn watch(&self, name: &str) -> Wakeup {
        self.inner.locks.wakeups.watch(name)
    }

    async fn fill(&self, name: &str, token: &LockToken, fence: u64, fill: Fill) -> Result<bool> {
        crate::check_ttl(fill.ttl)?;
        let now = Instant::now();
        let stored = {
            let mut table = self.inner.locks.table();
            match table.live(name, now) {
                Some(cell) => {
                    let current = cell.fence == fence;
                    if cell.held_by(token, now) {
                        cell.holder = None;
                    }
                    if current {
                        // Under the table's lock: no supersede comes between check and write.
                        self.insert(name, Entry::new(fill.bytes, fill.decoded, fill.ttl));
                    }
                    current
                }
                None => false,
            }
        };
        self.inner.locks.wakeups.wake(name);
        Ok(stored)
    }

    async fn supersede(&self, name: &str, value: Option<Fill>) -> Result<bool> {
        if let Some(fill) = &value {
            crate::check_ttl(fill.ttl)?;
        }
        let now = Instant::now();
        let existed = {
            let mut table = self.inner.locks.table();
            let fence = table.next_fence();
            if let Some(cell) = table.live(name, now) {
                cell.fence = fence;
            }
            let existed = self.remove_value(name, now);
            if let Some(fill) = value {
                self.insert(name, Entry::new(fill.bytes, fill.decoded, fill.ttl));
            }
            existed
        };
        self.inner.locks.wakeups.wake(name);
        Ok(existed)
    }
}
