use std::time::Duration;

use cache_core::{LockBusy, locked};

#[locked(key = "payment:<id>", ttl = 0)]
async fn literal(id: u64) -> Result<u64, LockBusy> {
    Ok(id)
}

#[locked(key = "payment:<id>", ttl = "0s", wait = 0)]
async fn text(id: u64) -> Result<u64, LockBusy> {
    Ok(id)
}

const NO_LEASE: Duration = Duration::ZERO;

#[locked(key = "payment:<id>", ttl = NO_LEASE)]
async fn constant(id: u64) -> Result<u64, LockBusy> {
    Ok(id)
}

fn main() {}
