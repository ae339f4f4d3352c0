//! [`Leaderboard`]: members ranked by score under one key (a Redis sorted set).

use std::marker::PhantomData;
use std::ops::RangeInclusive;

use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::handle::{Handle, expect_reply, handle_basics};
use super::{Op, Order};
use crate::{CacheBackend, Result};

/// Members of type `M` ranked by an `f64` score, highest first, under one key (Redis: a
/// sorted set of JSON members, so `ZREVRANGE` in redis-cli shows the same board).
///
/// Members with equal scores are ordered as Redis orders them: by their stored bytes,
/// reversed in the descending order of [`top`](Self::top) and [`rank`](Self::rank). Each call
/// is atomic: 64 tasks each [`increment`](Self::increment)ing a member by 1 raise it by
/// exactly 64.
///
/// ```
/// use cache_core::{MemoryBackend, structures::Leaderboard};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> cache_core::Result<()> {
/// let board = Leaderboard::<String>::new(MemoryBackend::new(), "game:scores");
/// board.add(&"ada".into(), 120.0).await?;
/// board.add(&"bob".into(), 95.0).await?;
/// board.increment(&"bob".into(), 30.0).await?;                 // bob: 125
/// assert_eq!(board.top(1).await?, [("bob".to_string(), 125.0)]);
/// assert_eq!(board.rank(&"ada".into()).await?, Some(1));       // second place
/// assert_eq!(board.score(&"ada".into()).await?, Some(120.0));
/// assert_eq!(board.range_by_score(100.0..=121.0, None).await?, [("ada".to_string(), 120.0)]);
/// # Ok(()) }
/// ```
pub struct Leaderboard<M> {
    handle: Handle,
    of: PhantomData<fn() -> M>,
}

handle_basics!(Leaderboard<M>, "leaderboard");

impl<M: Serialize + DeserializeOwned> Leaderboard<M> {
    /// The leaderboard under the key `name` on `backend`.
    pub fn new(backend: impl CacheBackend, name: impl Into<String>) -> Self {
        Self {
            handle: Handle::new(backend, name),
            of: PhantomData,
        }
    }

    /// Puts `member` on the board at `score`, or moves it there. Returns whether it is new.
    ///
    /// # Errors
    ///
    /// The backend's error; [`InvalidInput`](crate::ErrorKind::InvalidInput) for a NaN score;
    /// [`WrongType`](crate::ErrorKind::WrongType) if the key holds something else.
    pub async fn add(&self, member: &M, score: f64) -> Result<bool> {
        let members = [(self.handle.encode(member)?, score)];
        let reply = self.handle.run(Op::SortedAdd { members: &members }).await?;
        Ok(expect_reply!(self.handle, "sorted-set add", reply, Count)? == 1)
    }

    /// Adds `by` to `member`'s score (putting it on the board at `by` if it is not there).
    /// Returns the new score.
    ///
    /// # Errors
    ///
    /// As [`add`](Self::add).
    pub async fn increment(&self, member: &M, by: f64) -> Result<f64> {
        let member = self.handle.encode(member)?;
        let reply = self
            .handle
            .run(Op::SortedIncrement {
                member: &member,
                by,
            })
            .await?;
        let score = expect_reply!(self.handle, "sorted-set increment", reply, Score)?;
        score.ok_or_else(|| {
            self.handle
                .unexpected("sorted-set increment", &super::Reply::Score(None))
        })
    }

    /// The `n` best members with their scores, highest first.
    ///
    /// # Errors
    ///
    /// The backend's error; [`Codec`](crate::ErrorKind::Codec) naming the board for a member
    /// that is not an `M`.
    pub async fn top(&self, n: usize) -> Result<Vec<(M, f64)>> {
        if n == 0 {
            return Ok(Vec::new());
        }
        let stop = i64::try_from(n - 1).unwrap_or(i64::MAX);
        self.scored(Op::SortedRange {
            start: 0,
            stop,
            order: Order::Descending,
        })
        .await
    }

    /// The members whose score is within `scores` (inclusive), lowest first, at most `limit`
    /// of them (`None`: all).
    ///
    /// # Errors
    ///
    /// As [`top`](Self::top).
    pub async fn range_by_score(
        &self,
        scores: RangeInclusive<f64>,
        limit: Option<usize>,
    ) -> Result<Vec<(M, f64)>> {
        self.scored(Op::SortedRangeByScore {
            min: *scores.start(),
            max: *scores.end(),
            order: Order::Ascending,
            limit,
        })
        .await
    }

    async fn scored(&self, op: Op<'_>) -> Result<Vec<(M, f64)>> {
        let name = op.name();
        let reply = self.handle.run(op).await?;
        expect_reply!(self.handle, name, reply, Scored)?
            .iter()
            .map(|(member, score)| Ok((self.handle.decode(member)?, *score)))
            .collect()
    }

    /// `member`'s place, 0 for the highest score, or `None` if it is not on the board.
    ///
    /// # Errors
    ///
    /// The backend's error.
    pub async fn rank(&self, member: &M) -> Result<Option<u64>> {
        let member = self.handle.encode(member)?;
        let reply = self
            .handle
            .run(Op::SortedRank {
                member: &member,
                order: Order::Descending,
            })
            .await?;
        expect_reply!(self.handle, "sorted-set rank", reply, Rank)
    }

    /// `member`'s score, or `None` if it is not on the board.
    ///
    /// # Errors
    ///
    /// The backend's error.
    pub async fn score(&self, member: &M) -> Result<Option<f64>> {
        let member = self.handle.encode(member)?;
        let reply = self.handle.run(Op::SortedScore { member: &member }).await?;
        expect_reply!(self.handle, "sorted-set score", reply, Score)
    }

    /// Takes `member` off the board. Returns whether it was on it.
    ///
    /// # Errors
    ///
    /// The backend's error.
    pub async fn remove(&self, member: &M) -> Result<bool> {
        let members: [Bytes; 1] = [self.handle.encode(member)?];
        let reply = self
            .handle
            .run(Op::SortedRemove { members: &members })
            .await?;
        Ok(expect_reply!(self.handle, "sorted-set remove", reply, Count)? == 1)
    }

    /// How many members are on the board.
    ///
    /// # Errors
    ///
    /// The backend's error.
    pub async fn len(&self) -> Result<u64> {
        let reply = self.handle.run(Op::SortedLen).await?;
        expect_reply!(self.handle, "sorted-set length", reply, Count)
    }

    /// Whether the board is empty.
    ///
    /// # Errors
    ///
    /// The backend's error.
    pub async fn is_empty(&self) -> Result<bool> {
        Ok(self.len().await? == 0)
    }
}
