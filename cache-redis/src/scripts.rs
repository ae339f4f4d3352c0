//! The Lua scripts behind the backend's atomic compound operations.
//!
//! Each is a `static` [`Script`] (its SHA-1 computed once) and is only ever called through
//! [`Script::invoke_async`], which sends `EVALSHA` and, on `NOSCRIPT` (after `SCRIPT FLUSH`, a
//! restart or a failover to a node that never saw it), loads the script and retries once.
//! Scripts never go into pipelines, where that recovery does not happen.
//!
//! Rules every script here follows (see the research note on Redis Lua):
//! - every key is declared in `KEYS`, and multi-key scripts take keys of one hash slot;
//! - numbers stay integers (no `tostring` on big numbers, integer replies only);
//! - where time matters it is the server's (`TIME`), never the client's; TTLs are relative.

use std::sync::LazyLock;

use redis::Script;

/// Increment with a TTL (`scripts/increment_with_ttl.lua`): `KEYS[1]` counter, `ARGV[1]`
/// delta, `ARGV[2]` TTL in ms → the new value.
///
/// `INCRBY`, then `PEXPIRE` when the key has no TTL (just created, or left without one by a
/// crash between two separate commands: this heals it).
pub(crate) static INCREMENT_WITH_TTL: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("scripts/increment_with_ttl.lua")));

/// Compare-and-delete (`scripts/delete_if_equals.lua`): `KEYS[1]` key, `ARGV[1]` expected
/// value → 1 if it held exactly that value and was removed, 0 otherwise (as a lock release
/// needs).
pub(crate) static DELETE_IF_EQUALS: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("scripts/delete_if_equals.lua")));

/// Value and TTL (`scripts/get_with_ttl.lua`): `KEYS[1]` key → `{value or false, remaining
/// TTL in ms (-1 none, -2 missing)}` read at one instant, so the TTL belongs to the value
/// returned.
pub(crate) static GET_WITH_TTL: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("scripts/get_with_ttl.lua")));

/// GCRA rate-limit decision (`scripts/gcra.lua`): `KEYS[1]` the TAT, `ARGV` and reply as
/// `rate_limit::wire` writes and reads them.
pub(crate) static RATE_LIMIT_GCRA: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("scripts/gcra.lua")));

/// Fixed-window rate-limit decision (`scripts/fixed_window.lua`), same contract as
/// [`RATE_LIMIT_GCRA`].
pub(crate) static RATE_LIMIT_FIXED_WINDOW: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("scripts/fixed_window.lua")));

/// Sliding-log rate-limit decision (`scripts/sliding_log.lua`), same contract as
/// [`RATE_LIMIT_GCRA`] plus `ARGV[4]`, a member prefix unique to the call.
pub(crate) static RATE_LIMIT_SLIDING_LOG: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("scripts/sliding_log.lua")));

/// Lock acquisition (`scripts/lock_acquire.lua`): `KEYS` the lock and fence keys, `ARGV` the
/// token and the lease in ms → `{1, fence}` taken, `{0, pttl}` held by another token.
pub(crate) static LOCK_ACQUIRE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("scripts/lock_acquire.lua")));

/// Lock renewal (`scripts/lock_extend.lua`): `KEYS` the lock and fence keys, `ARGV` the token
/// and the lease in ms → 1 renewed, 0 not held by the token.
pub(crate) static LOCK_EXTEND: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("scripts/lock_extend.lua")));

/// Lock release (`scripts/lock_release.lua`): `KEYS[1]` the lock key, `ARGV` the token, the
/// wake-up channel and the name → 1 released (and published), 0 not held by the token.
pub(crate) static LOCK_RELEASE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("scripts/lock_release.lua")));

/// Fenced write (`scripts/lock_fill.lua`): `KEYS` the value, lock and fence keys → 1 stored,
/// 0 refused as stale; releases the writer's hold and publishes either way.
pub(crate) static LOCK_FILL: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("scripts/lock_fill.lua")));

/// Supersede (`scripts/lock_supersede.lua`): `KEYS` the value and fence keys → whether the
/// value key held a value; moves the fence past every one handed out, then stores or deletes.
pub(crate) static LOCK_SUPERSEDE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("scripts/lock_supersede.lua")));

/// All scripts, for pre-loading.
pub(crate) fn all() -> [&'static Script; 11] {
    [
        &INCREMENT_WITH_TTL,
        &DELETE_IF_EQUALS,
        &GET_WITH_TTL,
        &RATE_LIMIT_GCRA,
        &RATE_LIMIT_FIXED_WINDOW,
        &RATE_LIMIT_SLIDING_LOG,
        &LOCK_ACQUIRE,
        &LOCK_EXTEND,
        &LOCK_RELEASE,
        &LOCK_FILL,
        &LOCK_SUPERSEDE,
    ]
}

/// The Redis Cluster hash slot of `key` (CRC16/XMODEM of the key, or of its first non-empty
/// `{hash tag}`, modulo 16384).
pub(crate) fn slot(key: &[u8]) -> u16 {
    crc16(hash_tag(key).unwrap_or(key)) % 16384
}

/// The `{hash tag}` of `key` as the Cluster spec defines it: what lies between the first `{`
/// and the first `}` after it, if that is not empty. `None`: the whole key is hashed.
pub(crate) fn hash_tag(key: &[u8]) -> Option<&[u8]> {
    let open = key.iter().position(|&b| b == b'{')?;
    let len = key[open + 1..].iter().position(|&b| b == b'}')?;
    (len > 0).then(|| &key[open + 1..open + 1 + len])
}

fn crc16(bytes: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &byte in bytes {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::slot;

    #[test]
    fn slots_match_redis() {
        // Values from `CLUSTER KEYSLOT` on Redis 7.
        assert_eq!(slot(b"foo"), 12182);
        assert_eq!(slot(b"123456789"), 12739);
        assert_eq!(slot(b"{user1000}.following"), slot(b"{user1000}.followers"));
        assert_eq!(slot(b"foo{}{bar}"), slot(b"foo{}{bar}"));
        assert_eq!(slot(b"{}x"), crc16_all(b"{}x"));
    }

    fn crc16_all(key: &[u8]) -> u16 {
        super::crc16(key) % 16384
    }
}
