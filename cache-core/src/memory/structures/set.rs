//! Sets (Redis `SADD`, `SREM`, `SISMEMBER`, `SMEMBERS`, `SCARD`): a `HashSet` of members.

use std::collections::HashSet;

use bytes::Bytes;

use super::{Slot, count, created, existing};
use crate::Result;
use crate::structures::Reply;

type Set = HashSet<Bytes>;

/// O(k).
pub(super) fn add(slot: &mut Option<Slot>, key: &str, members: &[Bytes]) -> Result<Reply> {
    let set = created::<Set>(slot, key)?;
    Ok(count(
        members
            .iter()
            .filter(|member| set.insert(Bytes::clone(member)))
            .count(),
    ))
}

/// O(k).
pub(super) fn remove(slot: &mut Option<Slot>, key: &str, members: &[Bytes]) -> Result<Reply> {
    let removed = existing::<Set>(slot, key)?.map_or(0, |set| {
        members.iter().filter(|member| set.remove(*member)).count()
    });
    Ok(count(removed))
}

/// O(1).
pub(super) fn contains(slot: &mut Option<Slot>, key: &str, member: &Bytes) -> Result<Reply> {
    let found = existing::<Set>(slot, key)?.is_some_and(|set| set.contains(member));
    Ok(Reply::Flag(found))
}

/// O(n).
pub(super) fn members(slot: &mut Option<Slot>, key: &str) -> Result<Reply> {
    let members = existing::<Set>(slot, key)?
        .map(|set| set.iter().cloned().collect())
        .unwrap_or_default();
    Ok(Reply::Values(members))
}

/// O(1).
pub(super) fn len(slot: &mut Option<Slot>, key: &str) -> Result<Reply> {
    Ok(count(
        existing::<Set>(slot, key)?.map_or(0, |set| set.len()),
    ))
}
