//! Locks on Redis: [`LockStore`] for [`RedisBackend`], one Lua script per operation on the
//! server's clock (`src/scripts/lock_*.lua`), and the wake-up subscription ([`wakeups`]). The
//! key layout, the channel and the failure behaviour are documented on the impl, where users
//! see them.

mod wakeups;

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use cache_core::lock::{Acquire, Fill, LockToken, Wakeup};
use cache_core::{Error, ErrorKind, LockStore, Result};

pub(crate) use wakeups::LockWakeups;

use redis::Value;

use crate::backend::{RedisBackend, ttl_millis};
use crate::near::Written;
use crate::scripts;

/// The keys of one lock name (see the `LockStore` impl).
#[derive(Debug, PartialEq, Eq)]
struct LockKeys {
    /// `K`: the name's value.
    value: String,
    /// `L`: the owner's token.
    lock: String,
    /// `F`: the current fence.
    fence: String,
    /// Whether `L` and `F` hash to `K`'s slot (always, unless `K` has a `}` but no tag).
    same_slot: bool,
}

impl LockKeys {
    fn new(prefix: &str, name: &str) -> Self {
        let mut value = String::with_capacity(prefix.len() + name.len());
        value.push_str(prefix);
        value.push_str(name);
        if scripts::hash_tag(value.as_bytes()).is_some() {
            return Self {
                lock: format!("{value}:{{lock}}"),
                fence: format!("{value}:{{fence}}"),
                same_slot: true,
                value,
            };
        }
        Self {
            lock: format!("{{{value}}}:lock"),
            fence: format!("{{{value}}}:fence"),
            // With a `}` inside, `{K}` is no longer a tag of all of `K`.
            same_slot: !value.contains('}'),
            value,
        }
    }
}

/// The lease in milliseconds, rounded up; a zero lease is refused, as by every store.
fn lease_millis(lease: Duration) -> Result<u64> {
    if lease.is_zero() {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            "a lock lease of zero is not allowed",
        ));
    }
    Ok(ttl_millis(lease))
}

/// `error` with the lock it concerns in front, keeping its kind.
fn about(name: &str, keys: &LockKeys, error: Error) -> Error {
    Error::new(
        error.kind(),
        format!(
            "lock `{name}` (keys `{}`, `{}`): {}",
            keys.lock,
            keys.fence,
            error.message()
        ),
    )
    .with_source(error)
}

impl RedisBackend {
    /// The keys of `name`; on a Cluster they must share the value's slot.
    fn lock_keys(&self, name: &str) -> Result<LockKeys> {
        let keys = LockKeys::new(self.config().prefix(), name);
        if !keys.same_slot && self.connection.is_cluster() {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "the lock name `{name}` (key `{}`) has a `}}` but no hash tag, so no lock \
                     key can share its Cluster slot; use a name without `}}`, or with a `{{tag}}`",
                    keys.value
                ),
            ));
        }
        Ok(keys)
    }

    /// The channel the backend's lock wake-ups go through: `<prefix>__cache_locks`.
    pub(crate) fn lock_channel(&self) -> String {
        self.prefixed_key("__cache_locks")
    }
}

impl RedisBackend {
    /// `acquire`, or with `claim` the `claim` that first looks for the name's value: one
    /// script either way (`lock_acquire.lua`, given the value's key for a claim).
    async fn take(
        &self,
        name: &str,
        token: &LockToken,
        lease: Duration,
        claim: bool,
    ) -> Result<Acquire> {
        let lease = lease_millis(lease)?;
        let keys = self.lock_keys(name)?;
        let script_keys: &[&str] = if claim {
            &[&keys.lock, &keys.fence, &keys.value]
        } else {
            &[&keys.lock, &keys.fence]
        };
        let (outcome, reply): (i64, Value) = self
            .script(
                if claim { "lock claim" } else { "lock acquire" },
                true,
                &scripts::LOCK_ACQUIRE,
                script_keys,
                |inv| {
                    inv.arg(token.as_str()).arg(lease);
                },
            )
            .await
            .map_err(|error| about(name, &keys, error))?;
        let unexpected = |what: &str| {
            about(
                name,
                &keys,
                Error::new(
                    ErrorKind::Backend,
                    format!("the lock script answered {what}"),
                ),
            )
        };
        match (outcome, reply) {
            (1, Value::Int(number)) => {
                let fence = u64::try_from(number)
                    .map_err(|_| unexpected(&format!("a negative fence: {number}")))?;
                Ok(Acquire::Acquired { fence })
            }
            // A negative PTTL: the holder's key has no TTL (written by hand), so no known end.
            (0, Value::Int(pttl)) => Ok(Acquire::Held {
                remaining: u64::try_from(pttl).ok().map(Duration::from_millis),
            }),
            (2, Value::BulkString(value)) => Ok(Acquire::Filled {
                value: Bytes::from(value),
            }),
            (outcome, reply) => Err(unexpected(&format!("{outcome} with {reply:?}"))),
        }
    }
}

/// Locks: one Lua script per operation, on the server's clock, with waiters woken through
/// pub/sub.
///
/// # What is stored
///
/// A lock name is a key of the backend's key space: for the name `user:7` on a backend with
/// prefix `app:`, the value lives under `K` = `app:user:7`, and its lock state under two keys
/// beside it, in the same Cluster hash slot (a fenced write touches all three in one script):
///
/// | `K` | lock key `L` (the owner's token, the lease as its TTL) | fence key `F` (the current fence) |
/// |---|---|---|
/// | without a hash tag: `app:user:7` | `{app:user:7}:lock` | `{app:user:7}:fence` |
/// | with a hash tag: `app:{tenant}:user:7` | `app:{tenant}:user:7:{lock}` | `app:{tenant}:user:7:{fence}` |
///
/// Wrapping a key without a tag in `{}` makes all of it the tag, so `L` and `F` hash like `K`
/// itself; a key with a tag keeps it by being a prefix of `L` and `F`. The values in keys built
/// by `#[cached]` templates never hold `{` or `}` (they are `%`-escaped, see
/// [`cache_core::key`]), so a cached key is never one of these by accident; and the two forms
/// end differently (`}:lock` is a key without a tag, `:{lock}` one with a tag), so no two names
/// share lock state. A key with a `}` but no valid tag (`a}b`, `x{}y`) has no form in its own
/// slot: on a Cluster every lock operation on it is refused with [`ErrorKind::InvalidInput`]
/// (on a single server it gets the `{K}:lock` form like any key without a tag).
///
/// `L` is a string holding the 32 hex digits of the owner's [`LockToken`], with the lease as its
/// TTL. `F` holds the name's current fence (decimal) and lives twice the lease, renewed with
/// it. A new acquisition's fence is `max(F + 1, server time in µs)`: past every fence handed out
/// while `F` lives, and still growing after `F` expired, as long as the server's clock does not
/// step back. [`CacheBackend::clear`](cache_core::CacheBackend::clear) and `delete_pattern` match
/// keys by their text: they remove the lock state of names with a hash tag (whose `L` and `F`
/// start with the prefix) and leave the others'. A lock whose `L` is removed is lost to its
/// holder (its renewal is refused); a fence whose `F` is removed refuses every fenced write.
/// A fenced write stores its value as `set` does: with its TTL, or the configured default TTL
/// ([`RedisConfig::fallback_ttl`](crate::RedisConfig::fallback_ttl)) when it has none.
///
/// # Wake-ups
///
/// [`release`](LockStore::release), [`fill`](LockStore::fill) and
/// [`supersede`](LockStore::supersede) `PUBLISH` the name (without the prefix) on the channel
/// `<prefix>__cache_locks` (`app:__cache_locks`; `__cache_locks` without a prefix). Every clone
/// of a backend shares one subscription to it, opened on the first
/// [`watch`](LockStore::watch) (on a Cluster to any one node: a `PUBLISH` reaches every node)
/// and reopened with a backoff when it drops. Each time it is (re)opened every watcher is woken,
/// since notifications may have been missed meanwhile, including by watches made before the
/// subscription first came up: a waiter then simply looks again. Waiters also bound their wait
/// by the holder's lease, so a wake-up lost anyway costs at most that. The subscription ends when
/// the last clone of the backend is dropped.
///
/// # Calls
///
/// Each operation is one `EVALSHA`, through the backend's error mapping (`WRONGTYPE` under `L`
/// or `F` is [`ErrorKind::WrongType`], naming the lock) and bounded like every other call.
/// [`acquire`](LockStore::acquire) (a retried acquisition by the same token renews and keeps
/// its fence), [`extend`](LockStore::extend) and [`release`](LockStore::release) are retried
/// after connection errors; [`fill`](LockStore::fill) and [`supersede`](LockStore::supersede)
/// are not, since a retry could land after a newer write.
#[async_trait]
impl LockStore for RedisBackend {
    async fn acquire(&self, name: &str, token: &LockToken, lease: Duration) -> Result<Acquire> {
        self.take(name, token, lease, false).await
    }

    async fn claim(&self, name: &str, token: &LockToken, lease: Duration) -> Result<Acquire> {
        self.take(name, token, lease, true).await
    }

    async fn extend(&self, name: &str, token: &LockToken, lease: Duration) -> Result<bool> {
        let lease = lease_millis(lease)?;
        let keys = self.lock_keys(name)?;
        let renewed: i64 = self
            .script(
                "lock extend",
                true,
                &scripts::LOCK_EXTEND,
                &[&keys.lock, &keys.fence],
                |inv| {
                    inv.arg(token.as_str()).arg(lease);
                },
            )
            .await
            .map_err(|error| about(name, &keys, error))?;
        Ok(renewed == 1)
    }

    async fn release(&self, name: &str, token: &LockToken) -> Result<bool> {
        let keys = self.lock_keys(name)?;
        let channel = self.lock_channel();
        let released: i64 = self
            .script(
                "lock release",
                true,
                &scripts::LOCK_RELEASE,
                &[&keys.lock],
                |inv| {
                    inv.arg(token.as_str()).arg(&channel).arg(name);
                },
            )
            .await
            .map_err(|error| about(name, &keys, error))?;
        Ok(released == 1)
    }

    fn watch(&self, name: &str) -> Wakeup {
        self.lock_wakeups.watch(self, name)
    }

    async fn fill(&self, name: &str, token: &LockToken, fence: u64, fill: Fill) -> Result<bool> {
        // The value is written under `name` itself: its near-cache copy is stale.
        let _written = self.near_write(|| Written::Key(name));
        let ttl = self.effective_ttl(fill.ttl)?.map_or(0, ttl_millis);
        let keys = self.lock_keys(name)?;
        let channel = self.lock_channel();
        let stored: i64 = self
            .script(
                "lock fill",
                false,
                &scripts::LOCK_FILL,
                &[&keys.value, &keys.lock, &keys.fence],
                |inv| {
                    inv.arg(token.as_str())
                        .arg(fence)
                        .arg(&fill.bytes[..])
                        .arg(ttl)
                        .arg(&channel)
                        .arg(name);
                },
            )
            .await
            .map_err(|error| about(name, &keys, error))?;
        Ok(stored == 1)
    }

    async fn supersede(&self, name: &str, value: Option<Fill>) -> Result<bool> {
        // The value is written under `name` itself: its near-cache copy is stale.
        let _written = self.near_write(|| Written::Key(name));
        let ttl = match &value {
            Some(fill) => self.effective_ttl(fill.ttl)?.map_or(0, ttl_millis),
            None => 0,
        };
        let keys = self.lock_keys(name)?;
        let channel = self.lock_channel();
        let existed: i64 = self
            .script(
                "lock supersede",
                false,
                &scripts::LOCK_SUPERSEDE,
                &[&keys.value, &keys.fence],
                |inv| {
                    match &value {
                        Some(fill) => inv.arg(1).arg(&fill.bytes[..]),
                        None => inv.arg(0).arg(""),
                    };
                    inv.arg(ttl).arg(&channel).arg(name);
                },
            )
            .await
            .map_err(|error| about(name, &keys, error))?;
        Ok(existed == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::LockKeys;
    use crate::scripts::slot;

    fn keys(prefix: &str, name: &str) -> LockKeys {
        LockKeys::new(prefix, name)
    }

    #[test]
    fn a_key_without_a_tag_becomes_the_tag() {
        let k = keys("app:", "user:7");
        assert_eq!(k.value, "app:user:7");
        assert_eq!(k.lock, "{app:user:7}:lock");
        assert_eq!(k.fence, "{app:user:7}:fence");
        assert!(k.same_slot);
        for key in [&k.lock, &k.fence] {
            assert_eq!(slot(key.as_bytes()), slot(b"app:user:7"), "{key}");
        }
        // An unmatched `{` is part of the key, and of the tag.
        let k = keys("", "a{b");
        assert_eq!(k.lock, "{a{b}:lock");
        assert_eq!(slot(k.lock.as_bytes()), slot(b"a{b"));
        assert!(k.same_slot);
    }

    #[test]
    fn a_key_with_a_tag_keeps_it() {
        for (prefix, name, tag) in [
            ("app:", "{tenant}:user:7", &b"tenant"[..]),
            ("{app}:", "user:7", b"app"),
            ("", "a{b}c}", b"b"),
        ] {
            let k = keys(prefix, name);
            assert_eq!(k.lock, format!("{prefix}{name}:{{lock}}"));
            assert_eq!(k.fence, format!("{prefix}{name}:{{fence}}"));
            assert!(k.same_slot);
            let value_slot = slot(k.value.as_bytes());
            assert_eq!(value_slot, crate::scripts::slot(tag), "{name}");
            assert_eq!(slot(k.lock.as_bytes()), value_slot, "{name}");
            assert_eq!(slot(k.fence.as_bytes()), value_slot, "{name}");
        }
    }

    #[test]
    fn a_key_with_a_brace_but_no_tag_cannot_share_its_slot() {
        for name in ["a}b", "x{}y", "x{}{y}z", "{}", "}{"] {
            let k = keys("", name);
            assert!(!k.same_slot, "{name}");
            assert_eq!(k.lock, format!("{{{name}}}:lock"));
        }
    }

    #[test]
    fn names_never_share_lock_state() {
        // `{x}` (a tag) and `x` (none) are different names with different keys.
        let tagged = keys("", "{x}");
        let plain = keys("", "x");
        assert_ne!(tagged.lock, plain.lock);
        assert_ne!(tagged.fence, plain.fence);
        assert_ne!(tagged.lock, plain.fence);
        assert_ne!(plain.lock, tagged.fence);
    }
}
