use cache_core::locked;

#[derive(Debug)]
pub struct PayError;

#[locked(key = "payment:<id>", ttl = 30)]
async fn pay(id: u64) -> Result<u64, PayError> {
    Ok(id)
}

/// A one-argument alias, as `anyhow::Result<T>`: the error is reported at the whole type.
mod app {
    pub type Result<T> = std::result::Result<T, super::PayError>;
}

#[locked(key = "refund:<id>")]
async fn refund(id: u64) -> app::Result<u64> {
    Ok(id)
}

fn main() {}
