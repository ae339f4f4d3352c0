use cache_core::{LockBusy, locked};

#[locked(ttl = 30)]
async fn no_key(id: u64) -> Result<u64, LockBusy> {
    Ok(id)
}

#[locked]
async fn no_options(id: u64) -> Result<u64, LockBusy> {
    Ok(id)
}

fn main() {}
