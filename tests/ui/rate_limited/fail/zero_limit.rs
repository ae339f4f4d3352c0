use cache_core::{RateLimited, rate_limited};

#[rate_limited(limit = 0, window = 60)]
async fn zero(id: u64) -> Result<u64, RateLimited> {
    Ok(id)
}

#[rate_limited(limit = -1, window = 60)]
async fn negative(id: u64) -> Result<u64, RateLimited> {
    Ok(id)
}

#[rate_limited(limit = 10, window = 60, burst = 0)]
async fn zero_burst(id: u64) -> Result<u64, RateLimited> {
    Ok(id)
}

#[rate_limited(limit = 5_000_000_000, window = 60)]
async fn too_large(id: u64) -> Result<u64, RateLimited> {
    Ok(id)
}

fn main() {}
