use cache_core::{RateLimited, rate_limited};

#[rate_limited(limit = 10, window = 60, limit = 20)]
async fn twice(id: u64) -> Result<u64, RateLimited> {
    Ok(id)
}

fn main() {}
