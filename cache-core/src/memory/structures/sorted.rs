//! Sorted sets (Redis `ZADD`, `ZINCRBY`, `ZRANGE`, `ZRANK`, `ZSCORE`, `ZREM`, `ZCARD`): a
//! `BTreeSet` of `(score, member)` in Redis's order (by score, equal scores by member bytes)
//! beside a `HashMap` from member to score.
//!
//! Complexity: add, increment and remove are O(log n) per member, score and length O(1).
//! A `BTreeSet` keeps no ranks, so rank is O(rank) and a range by rank O(start + k), where
//! Redis's skip list is O(log n) and O(log n + k); a range by score is O(log n + k).

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap};
use std::ops::Bound;

use bytes::Bytes;

use super::{Slot, count, created, existing, invalid, positions};
use crate::Result;
use crate::structures::{Order, Reply};

/// A score that is not NaN, with `-0.0` stored as `0.0` (Redis compares scores with `<`, so
/// the two tie and are ordered by member).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Score(f64);

impl Score {
    fn new(key: &str, score: f64) -> Result<Self> {
        if score.is_nan() {
            return Err(invalid(format!(
                "a NaN score for a member of `{key}` is not allowed"
            )));
        }
        Ok(Self(score + 0.0))
    }
}

impl Eq for Score {}

impl PartialOrd for Score {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Score {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// One sorted set.
#[derive(Default)]
pub(super) struct SortedSet {
    scores: HashMap<Bytes, Score>,
    order: BTreeSet<(Score, Bytes)>,
}

impl SortedSet {
    pub(super) fn is_empty(&self) -> bool {
        self.scores.is_empty()
    }

    /// Puts `member` at `score`. Returns whether it is new.
    fn insert(&mut self, member: &Bytes, score: Score) -> bool {
        match self.scores.insert(member.clone(), score) {
            Some(old) if old == score => false,
            Some(old) => {
                self.order.remove(&(old, member.clone()));
                self.order.insert((score, member.clone()));
                false
            }
            None => {
                self.order.insert((score, member.clone()));
                true
            }
        }
    }

    fn remove(&mut self, member: &Bytes) -> bool {
        match self.scores.remove(member) {
            Some(score) => {
                self.order.remove(&(score, member.clone()));
                true
            }
            None => false,
        }
    }

    fn in_order(&self, order: Order) -> Box<dyn Iterator<Item = &(Score, Bytes)> + '_> {
        match order {
            Order::Ascending => Box::new(self.order.iter()),
            Order::Descending => Box::new(self.order.iter().rev()),
        }
    }
}

fn scored<'a>(members: impl Iterator<Item = &'a (Score, Bytes)>) -> Reply {
    Reply::Scored(
        members
            .map(|(score, member)| (member.clone(), score.0))
            .collect(),
    )
}

/// O(k log n). Every score is checked before anything changes.
pub(super) fn add(slot: &mut Option<Slot>, key: &str, members: &[(Bytes, f64)]) -> Result<Reply> {
    let scores = members
        .iter()
        .map(|(_, score)| Score::new(key, *score))
        .collect::<Result<Vec<_>>>()?;
    let set = created::<SortedSet>(slot, key)?;
    let new = members
        .iter()
        .zip(scores)
        .filter(|((member, _), score)| set.insert(member, *score))
        .count();
    Ok(count(new))
}

/// O(log n). An increment that would make the score NaN (`inf + -inf`) changes nothing.
pub(super) fn increment(
    slot: &mut Option<Slot>,
    key: &str,
    member: &Bytes,
    by: f64,
) -> Result<Reply> {
    let by = Score::new(key, by)?;
    let set = created::<SortedSet>(slot, key)?;
    let current = set.scores.get(member).map_or(0.0, |score| score.0);
    let score = Score::new(key, current + by.0)?;
    set.insert(member, score);
    Ok(Reply::Score(Some(score.0)))
}

/// O(start + k).
pub(super) fn range(
    slot: &mut Option<Slot>,
    key: &str,
    start: i64,
    stop: i64,
    order: Order,
) -> Result<Reply> {
    let Some(set) = existing::<SortedSet>(slot, key)? else {
        return Ok(Reply::Scored(Vec::new()));
    };
    let ranks = positions(start, stop, set.order.len());
    Ok(scored(
        set.in_order(order).skip(ranks.start).take(ranks.len()),
    ))
}

/// The scores a range by score covers, both included.
#[derive(Debug, Clone, Copy)]
pub(super) struct Bounds {
    min: Score,
    max: Score,
}

impl Bounds {
    pub(super) fn new(key: &str, min: f64, max: f64) -> Result<Self> {
        Ok(Self {
            min: Score::new(key, min)?,
            max: Score::new(key, max)?,
        })
    }
}

/// O(log n + k).
pub(super) fn range_by_score(
    slot: &mut Option<Slot>,
    key: &str,
    Bounds { min, max }: Bounds,
    order: Order,
    limit: Option<usize>,
) -> Result<Reply> {
    let Some(set) = existing::<SortedSet>(slot, key)? else {
        return Ok(Reply::Scored(Vec::new()));
    };
    let limit = limit.unwrap_or(usize::MAX);
    // The empty member is the least of its score, so these bounds take whole scores.
    let from_min = Bound::Included((min, Bytes::new()));
    let past_max = if max.0 == f64::INFINITY {
        Bound::Unbounded
    } else {
        Bound::Excluded((Score(max.0.next_up()), Bytes::new()))
    };
    Ok(match order {
        Order::Ascending => scored(
            set.order
                .range((from_min, Bound::Unbounded))
                .take_while(|(score, _)| *score <= max)
                .take(limit),
        ),
        Order::Descending => scored(
            set.order
                .range((Bound::Unbounded, past_max))
                .rev()
                .take_while(|(score, _)| *score >= min)
                .take(limit),
        ),
    })
}

/// O(rank).
pub(super) fn rank(
    slot: &mut Option<Slot>,
    key: &str,
    member: &Bytes,
    order: Order,
) -> Result<Reply> {
    let Some(set) = existing::<SortedSet>(slot, key)? else {
        return Ok(Reply::Rank(None));
    };
    let Some(score) = set.scores.get(member) else {
        return Ok(Reply::Rank(None));
    };
    let below = set.order.range(..(*score, member.clone())).count();
    let rank = match order {
        Order::Ascending => below,
        Order::Descending => set.order.len() - 1 - below,
    };
    Ok(Reply::Rank(Some(rank as u64)))
}

/// O(1).
pub(super) fn score(slot: &mut Option<Slot>, key: &str, member: &Bytes) -> Result<Reply> {
    let score = existing::<SortedSet>(slot, key)?
        .and_then(|set| set.scores.get(member))
        .map(|score| score.0);
    Ok(Reply::Score(score))
}

/// O(k log n).
pub(super) fn remove(slot: &mut Option<Slot>, key: &str, members: &[Bytes]) -> Result<Reply> {
    let removed = existing::<SortedSet>(slot, key)?.map_or(0, |set| {
        members.iter().filter(|member| set.remove(member)).count()
    });
    Ok(count(removed))
}

/// O(1).
pub(super) fn len(slot: &mut Option<Slot>, key: &str) -> Result<Reply> {
    Ok(count(
        existing::<SortedSet>(slot, key)?.map_or(0, |set| set.scores.len()),
    ))
}
