use cache_core::{RateLimited, rate_limited};

#[rate_limited(limit = 10, window = 60, cost = 11)]
async fn over_limit(id: u64) -> Result<u64, RateLimited> {
    Ok(id)
}

#[rate_limited(limit = 10, window = 60, burst = 3, cost = 5)]
async fn over_burst(id: u64) -> Result<u64, RateLimited> {
    Ok(id)
}

#[rate_limited(limit = 10, window = 60, cost = 0)]
async fn zero(id: u64) -> Result<u64, RateLimited> {
    Ok(id)
}

fn main() {}
