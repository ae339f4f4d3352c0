//! The leaderboard: users ranked by score in a sorted set.

use std::io::Write;

use cache_core::DynBackend;
use cache_core::structures::Leaderboard;

use super::{StepError, section};

/// The board under `leaderboard`, members named `user:<id>` as in the guide.
fn board(backend: &DynBackend) -> Leaderboard<String> {
    Leaderboard::new(backend.clone(), "leaderboard")
}

fn member(user_id: u64) -> String {
    format!("user:{user_id}")
}

/// `get_leaderboard(top_n)`, one `member score` entry each.
async fn top(board: &Leaderboard<String>, n: usize) -> cache_core::Result<Vec<String>> {
    let top = board.top(n).await?;
    Ok(top
        .into_iter()
        .map(|(member, score)| format!("{member} {score}"))
        .collect())
}

/// `get_user_rank(user_id)`: 1 for the best score.
async fn rank(board: &Leaderboard<String>, user_id: u64) -> cache_core::Result<Option<u64>> {
    Ok(board.rank(&member(user_id)).await?.map(|rank| rank + 1))
}

pub(super) async fn run(backend: &DynBackend, out: &mut impl Write) -> Result<(), StepError> {
    section(out, "leaderboard (sorted set)")?;
    let board = board(backend);
    for (user, score) in [(1, 100.0), (2, 150.0), (3, 120.0)] {
        board.add(&member(user), score).await?;
    }
    writeln!(
        out,
        "update_user_score user:1 = 100, user:2 = 150, user:3 = 120"
    )?;
    writeln!(out, "get_leaderboard(2) -> {:?}", top(&board, 2).await?)?;
    writeln!(out, "get_user_rank(1) -> {:?}", rank(&board, 1).await?)?;
    let score = board.increment(&member(1), 60.0).await?;
    writeln!(out, "increment_user_score(1, 60) -> {score}")?;
    writeln!(out, "get_leaderboard(10) -> {:?}", top(&board, 10).await?)?;
    writeln!(out, "get_user_rank(1) -> {:?}", rank(&board, 1).await?)?;
    writeln!(out, "get_user_rank(9) -> {:?}", rank(&board, 9).await?)?;
    Ok(())
}
