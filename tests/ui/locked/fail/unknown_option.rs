use cache_core::{LockBusy, locked};

#[locked(key = "payment:<id>", tll = 30)]
async fn misspelt(id: u64) -> Result<u64, LockBusy> {
    Ok(id)
}

#[locked(key = "payment:<id>", lease = 30, max_wait = "2s")]
async fn renamed(id: u64) -> Result<u64, LockBusy> {
    Ok(id)
}

#[locked(name = "payment:<id>", retries = 3)]
async fn unknown(id: u64) -> Result<u64, LockBusy> {
    Ok(id)
}

#[locked(key = "payment:<id>", ttl = 30, ttl = 60)]
async fn twice(id: u64) -> Result<u64, LockBusy> {
    Ok(id)
}

fn main() {}
