use cache_core::{LockBusy, locked};

#[locked(key = "payment:<invoice>")]
async fn pay(invoice_id: u64, cents: u64) -> Result<u64, LockBusy> {
    Ok(invoice_id + cents)
}

#[locked(key = "account:<self.id>")]
async fn no_receiver(id: u64) -> Result<u64, LockBusy> {
    Ok(id)
}

fn main() {}
