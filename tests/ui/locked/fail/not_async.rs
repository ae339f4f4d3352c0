use cache_core::{LockBusy, locked};

#[locked(key = "payment:<id>")]
fn pay(id: u64) -> Result<u64, LockBusy> {
    Ok(id)
}

fn main() {}
