use cache_core::{RateLimited, rate_limited};

#[rate_limited(limit = 10, window = "1 minute")]
async fn words(id: u64) -> Result<u64, RateLimited> {
    Ok(id)
}

#[rate_limited(limit = 10, window = 0)]
async fn zero(id: u64) -> Result<u64, RateLimited> {
    Ok(id)
}

#[rate_limited(limit = 10, window = "5x")]
async fn unit(id: u64) -> Result<u64, RateLimited> {
    Ok(id)
}

#[rate_limited(limit = 10, window = 1.5)]
async fn fraction(id: u64) -> Result<u64, RateLimited> {
    Ok(id)
}

#[rate_limited(limit = 10, window = 60, wait = "soon", timeout = "-1s")]
async fn other_durations(id: u64) -> Result<u64, RateLimited> {
    Ok(id)
}

fn main() {}
