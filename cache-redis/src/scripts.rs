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

/// All scripts, for pre-loading.
pub(crate) fn all() -> [&'static Script; 6] {
    [
        &INCREMENT_WITH_TTL,
        &DELETE_IF_EQUALS,
        &GET_WITH_TTL,
        &RATE_LIMIT_GCRA,
        &RATE_LIMIT_FIXED_WINDOW,
        &RATE_LIMIT_SLIDING_LOG,
    ]
}

/// The Redis Cluster hash slot of `key` (CRC16/XMODEM of the key, or of its first non-empty
/// `{hash tag}`, modulo 16384).
pub(crate) fn slot(key: &[u8]) -> u16 {
    let hashed = match key.iter().position(|&b| b == b'{') {
        Some(open) => match key[open + 1..].iter().position(|&b| b == b'}') {
            Some(len) if len > 0 => &key[open + 1..open + 1 + len],
            _ => key,
        },
        None => key,
    };
    crc16(hashed) % 16384
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
