use cache_core::{LockBusy, locked};

#[locked(key = "payment:<id>", wait = "2 parsecs")]
async fn parsecs(id: u64) -> Result<u64, LockBusy> {
    Ok(id)
}

#[locked(key = "payment:<id>", ttl = 1.5, timeout = -1)]
async fn fractions(id: u64) -> Result<u64, LockBusy> {
    Ok(id)
}

fn main() {}
