//! The plain-value operations of [`Op`](crate::structures::Op): counters with a TTL (Redis
//! `INCRBY` + `EXPIRE NX` in one step), take (`GETDEL`) and replace (`SET XX`), each one
//! atomic update of the value store under the key's shard lock. O(1).

use std::time::Duration;

use bytes::Bytes;

use super::{MemoryBackend, invalid};
use crate::memory::Entry;
use crate::structures::Reply;
use crate::util::clock::Instant;
use crate::{Error, ErrorKind, Result};

fn check_ttl(key: &str, what: &str, ttl: Option<Duration>) -> Result<()> {
    match ttl {
        Some(ttl) if ttl.is_zero() => Err(invalid(format!(
            "a {what} of `{key}` with a TTL of zero is not allowed"
        ))),
        _ => Ok(()),
    }
}

impl MemoryBackend {
    /// Adds `delta` to the integer under `key`; a missing key counts as 0 and is created with
    /// `ttl_if_new`, an existing one keeps its TTL. A structure there is
    /// [`ErrorKind::WrongType`]; digits are stored as Redis stores them.
    pub(in crate::memory) fn add_to(
        &self,
        key: &str,
        delta: i64,
        ttl_if_new: Option<Duration>,
    ) -> Result<i64> {
        self.update(key, |current| {
            let (old, expires_at) = match current {
                Some(entry) => (parse_integer(key, &entry.bytes)?, entry.expires_at),
                None => {
                    self.refuse_structure(key)?;
                    (0, ttl_if_new.map(|ttl| Instant::now() + ttl))
                }
            };
            let new = old.checked_add(delta).ok_or_else(|| {
                Error::new(
                    ErrorKind::NotAnInteger,
                    format!("incrementing `{key}` would overflow a 64-bit integer"),
                )
            })?;
            let mut digits = itoa::Buffer::new();
            let entry = Entry {
                bytes: Bytes::copy_from_slice(digits.format(new).as_bytes()),
                shared: None,
                expires_at,
            };
            Ok((Some(entry), new))
        })
    }

    pub(super) fn counter_increment(&self, key: &str, delta: i64, ttl: Duration) -> Result<Reply> {
        check_ttl(key, "counter", Some(ttl))?;
        self.add_to(key, delta, Some(ttl)).map(Reply::Integer)
    }

    pub(super) fn take(&self, key: &str) -> Result<Reply> {
        let now = Instant::now();
        match self.inner.store.take_if(key, |entry| entry.is_live(now)) {
            Some(entry) => Ok(Reply::Value(Some(entry.bytes))),
            None => {
                self.refuse_structure(key)?;
                Ok(Reply::Value(None))
            }
        }
    }

    pub(super) fn replace(&self, key: &str, value: &Bytes, ttl: Option<Duration>) -> Result<Reply> {
        check_ttl(key, "replace", ttl)?;
        self.update(key, |current| match current {
            Some(_) => Ok((Some(Entry::new(value.clone(), None, ttl)), true)),
            None => {
                self.refuse_structure(key)?;
                Ok((None, false))
            }
        })
        .map(Reply::Flag)
    }
}

fn parse_integer(key: &str, bytes: &[u8]) -> Result<i64> {
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|text| text.parse().ok())
        .ok_or_else(|| {
            Error::new(
                ErrorKind::NotAnInteger,
                format!("the value of `{key}` is not a 64-bit integer"),
            )
        })
}
