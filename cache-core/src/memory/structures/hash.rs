//! Hash records (Redis `HSET`, `HMGET`, `HGETALL`, `HDEL`, `HLEN`): a `HashMap` of fields.

use std::collections::HashMap;

use bytes::Bytes;

use super::{Slot, count, created, existing};
use crate::Result;
use crate::structures::Reply;

type Hash = HashMap<String, Bytes>;

/// O(k).
pub(super) fn set(slot: &mut Option<Slot>, key: &str, fields: &[(&str, Bytes)]) -> Result<Reply> {
    let hash = created::<Hash>(slot, key)?;
    let mut new = 0;
    for (field, value) in fields {
        match hash.get_mut(*field) {
            Some(stored) => *stored = value.clone(),
            None => {
                hash.insert((*field).to_owned(), value.clone());
                new += 1;
            }
        }
    }
    Ok(count(new))
}

/// O(k).
pub(super) fn get(slot: &mut Option<Slot>, key: &str, fields: &[&str]) -> Result<Reply> {
    let hash = existing::<Hash>(slot, key)?;
    let values = fields
        .iter()
        .map(|field| hash.as_ref().and_then(|hash| hash.get(*field).cloned()))
        .collect();
    Ok(Reply::MaybeValues(values))
}

/// O(n).
pub(super) fn get_all(slot: &mut Option<Slot>, key: &str) -> Result<Reply> {
    let fields = existing::<Hash>(slot, key)?
        .map(|hash| {
            hash.iter()
                .map(|(field, value)| (field.clone(), value.clone()))
                .collect()
        })
        .unwrap_or_default();
    Ok(Reply::Fields(fields))
}

/// O(k).
pub(super) fn delete(slot: &mut Option<Slot>, key: &str, fields: &[&str]) -> Result<Reply> {
    let removed = existing::<Hash>(slot, key)?.map_or(0, |hash| {
        fields
            .iter()
            .filter(|field| hash.remove(**field).is_some())
            .count()
    });
    Ok(count(removed))
}

/// O(1).
pub(super) fn len(slot: &mut Option<Slot>, key: &str) -> Result<Reply> {
    Ok(count(
        existing::<Hash>(slot, key)?.map_or(0, |hash| hash.len()),
    ))
}
