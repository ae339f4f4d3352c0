//! Shared by the hit-path benches: the anchor payload and an interleaved (paired) runner.
//!
//! Criterion measures one variant after another, so on a shared machine a burst of load can
//! land on one variant only. After the criterion groups, each bench also runs its variants
//! interleaved (A, B, C, A, B, C, ...) for `PAIRED_ROUNDS` rounds (default 9; `0` skips it)
//! and prints per-variant medians and the **median of per-round ratios**, the number to quote.

#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The anchor payload (see `research/anchors-cached-moka.md` §2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: u64,
    pub name: String,
    pub email: String,
    pub tags: Vec<String>,
}

pub fn load_user(id: u64) -> User {
    User {
        id,
        name: format!("user number {id}"),
        email: format!("user{id}@example.com"),
        tags: vec!["admin".into(), "beta".into(), "eu-west".into()],
    }
}

/// A multi-thread tokio runtime with 2 workers, as in the anchor measurements.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// What one batch of a variant measured.
#[derive(Clone, Copy)]
pub enum Unit {
    /// Nanoseconds per call (lower is better).
    NsPerCall,
    /// Million operations per second (higher is better).
    MopsPerSec,
}

/// One variant: runs a batch, returns how long it took and how many calls it made.
pub type Batch<'a> = Box<dyn FnMut() -> (Duration, u64) + 'a>;

/// Calls per [`batch_on`] batch.
pub const CALLS: u64 = 200_000;

/// A batch of [`CALLS`] sequential awaited calls of `call`, on `rt`.
pub fn batch_on<'a, F: std::future::Future>(
    rt: &'a tokio::runtime::Runtime,
    call: impl Fn() -> F + 'a,
) -> Batch<'a> {
    Box::new(move || {
        rt.block_on(async {
            let start = std::time::Instant::now();
            for _ in 0..CALLS {
                std::hint::black_box(call().await);
            }
            (start.elapsed(), CALLS)
        })
    })
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// How many interleaved rounds to run: `PAIRED_ROUNDS` (default 9), none under `--profile-time`.
pub fn paired_rounds() -> usize {
    if std::env::args().any(|arg| arg == "--profile-time" || arg == "--list") {
        return 0;
    }
    std::env::var("PAIRED_ROUNDS")
        .ok()
        .and_then(|rounds| rounds.parse().ok())
        .unwrap_or(9)
}

/// Runs `variants` interleaved for [`paired_rounds`] rounds and prints, for each, its median
/// and its median per-round ratio (time ratio for [`Unit::NsPerCall`], throughput ratio for
/// [`Unit::MopsPerSec`]) to every variant named in `anchors`.
pub fn paired(title: &str, unit: Unit, anchors: &[&str], variants: Vec<(&'static str, Batch<'_>)>) {
    let rounds = paired_rounds();
    if rounds == 0 {
        return;
    }
    let (names, mut batches): (Vec<_>, Vec<_>) = variants.into_iter().unzip();
    let mut values: Vec<Vec<f64>> = vec![Vec::with_capacity(rounds); names.len()];
    for _ in 0..rounds {
        for (batch, values) in batches.iter_mut().zip(&mut values) {
            let (elapsed, calls) = batch();
            values.push(match unit {
                Unit::NsPerCall => elapsed.as_nanos() as f64 / calls as f64,
                Unit::MopsPerSec => calls as f64 / elapsed.as_secs_f64() / 1e6,
            });
        }
    }
    let unit_name = match unit {
        Unit::NsPerCall => "ns/call",
        Unit::MopsPerSec => "Mops/s",
    };
    eprintln!(
        "\npaired {title}: {rounds} interleaved rounds, median {unit_name}, median per-round ratio"
    );
    for (name, mine) in names.iter().zip(&values) {
        let mut line = format!("  {name:28} {:9.2} {unit_name}", median(mine.clone()));
        for anchor in anchors {
            if let Some(index) = names.iter().position(|n| n == anchor) {
                let ratios = mine
                    .iter()
                    .zip(&values[index])
                    .map(|(a, b)| a / b)
                    .collect();
                line.push_str(&format!("  {:.2}x {anchor}", median(ratios)));
            }
        }
        eprintln!("{line}");
    }
}
