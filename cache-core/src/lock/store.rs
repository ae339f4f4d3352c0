//! [`LockStore`]: the lock capability a backend implements, and the values it trades in.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

use super::wakeups::Wakeup;
use crate::{Result, SharedValue};

/// The owner of one acquisition: 128 random bits from the operating system's CSPRNG, fresh for
/// every acquisition, so that only the acquirer can extend or release what it took.
///
/// Shown by `Debug` as `LockToken(..)`: a token is a capability and stays out of logs.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct LockToken([u8; 32]);

impl LockToken {
    /// A fresh random token.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Backend`](crate::ErrorKind) in the unlikely case that the operating
    /// system has no randomness to give.
    pub fn random() -> Result<Self> {
        crate::util::random::hex128("a lock token").map(Self)
    }

    /// The token as 32 lowercase hex digits, as backends store it.
    #[must_use]
    pub fn as_str(&self) -> &str {
        // Only ever built from hex digits, which are ASCII.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl fmt::Debug for LockToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LockToken(..)")
    }
}

/// What [`LockStore::acquire`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Acquire {
    /// The lock is ours, with this fencing number: larger than that of every earlier
    /// acquisition of the same name, and than every earlier [`supersede`](LockStore::supersede).
    Acquired {
        /// The fencing number of this acquisition.
        fence: u64,
    },
    /// Another owner holds it, for at most this much longer (`None`: unknown).
    Held {
        /// How long the current lease has left.
        remaining: Option<Duration>,
    },
    /// Only from [`claim`](LockStore::claim): the key already holds this value, so no lock
    /// was taken.
    Filled {
        /// The bytes under the key.
        value: Bytes,
    },
}

/// A value to store in a fenced write ([`LockStore::fill`]).
#[derive(Clone)]
#[non_exhaustive]
pub struct Fill {
    /// The bytes every reader sees.
    pub bytes: Bytes,
    /// The decoded value, for backends that keep one beside the bytes ([`LocalValues`](crate::LocalValues)).
    pub decoded: Option<SharedValue>,
    /// How long the value lives, or forever.
    pub ttl: Option<Duration>,
}

impl Fill {
    /// A value of `bytes`, with its decoded form if there is one, living `ttl`.
    #[must_use]
    pub fn new(bytes: Bytes, decoded: Option<SharedValue>, ttl: Option<Duration>) -> Self {
        Self {
            bytes,
            decoded,
            ttl,
        }
    }
}

impl fmt::Debug for Fill {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fill")
            .field("bytes", &self.bytes.len())
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

/// The lock capability: leases on names, owned by a [`LockToken`], with a fencing number per
/// name that only grows. Offered by [`MemoryBackend`](crate::MemoryBackend) and the Redis
/// backend through [`CacheBackend::locks`](crate::CacheBackend::locks); used by
/// [`Lock`](super::Lock), `#[locked]` and `#[cached]`'s one-execution-per-key.
///
/// # Contract
///
/// - **Leases are measured by the store's clock** (Redis: the server's), never the caller's.
/// - **Only the owner** (the token that acquired) can [`extend`](Self::extend) or
///   [`release`](Self::release); both are refused (`false`) for any other token, and for an
///   owner whose lease has ended.
/// - **Fences only grow.** Every acquisition of a name gets a fencing number larger than any
///   handed out before for that name, and every [`supersede`](Self::supersede) of it moves the
///   name's current fence past them all.
/// - **A fenced write is refused once it is stale.** [`fill`](Self::fill) stores only while
///   the fence it carries is still the name's current one: no later acquisition and no
///   supersede happened since. A holder stalled past its lease, whose name another process has
///   taken since, writes nothing.
/// - **Waiters are woken**: [`watch`](Self::watch) resolves when the name is released or
///   filled, so nobody polls at a fixed interval.
/// - A lock name is a key of the store's key space, the lock state of a cached key lives
///   beside the key's value: `lock:<id>`'s lock and `lock:<id>`'s cached value are one
///   name's. The byte operations never see lock state.
#[async_trait]
pub trait LockStore: Send + Sync {
    /// Takes `name` for `lease` as `token` if nobody holds it. Taking it again with the token
    /// that holds it renews the lease and keeps its fence (a retried request is harmless).
    /// A zero lease is [`ErrorKind::InvalidInput`](crate::ErrorKind).
    async fn acquire(&self, name: &str, token: &LockToken, lease: Duration) -> Result<Acquire>;

    /// [`acquire`](Self::acquire), unless the key `name` holds a value: then
    /// [`Acquire::Filled`] with it, and no lock is taken. Checked and taken atomically, so a
    /// process that missed a key just before another filled it finds the value instead of
    /// computing it again. `#[cached]` claims a key before running its body.
    async fn claim(&self, name: &str, token: &LockToken, lease: Duration) -> Result<Acquire>;

    /// Gives the lease `token` holds on `name` a new length from now. `false` if `token`
    /// does not hold it (never did, released it, or its lease ended).
    async fn extend(&self, name: &str, token: &LockToken, lease: Duration) -> Result<bool>;

    /// Frees `name` if `token` holds it and wakes its watchers. `false` if it did not hold it.
    async fn release(&self, name: &str, token: &LockToken) -> Result<bool>;

    /// A wakeup registered now, that fires at the next release or fill of `name`. It may fire
    /// spuriously, or never (a notification lost with a connection): a waiter also bounds its
    /// wait by the holder's remaining lease.
    fn watch(&self, name: &str) -> Wakeup;

    /// The fenced write of a cached value: stores `fill` under the key `name` only if `fence`
    /// is still `name`'s current fence, then releases `token`'s hold on `name` (if it still
    /// holds it) and wakes the watchers, all atomically. Returns whether the value was stored.
    async fn fill(&self, name: &str, token: &LockToken, fence: u64, fill: Fill) -> Result<bool>;

    /// Moves `name`'s fence past every one handed out, so that no fenced write begun before
    /// lands afterwards, then stores `value` under the key `name` (`Some`: a newer write) or
    /// deletes it (`None`: an invalidation), atomically. Returns whether the key held a value.
    async fn supersede(&self, name: &str, value: Option<Fill>) -> Result<bool>;
}
