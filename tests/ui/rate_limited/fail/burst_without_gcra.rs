use cache_core::{RateLimited, rate_limited};

#[rate_limited(limit = 10, window = 60, algorithm = fixed_window, burst = 5)]
async fn fixed(id: u64) -> Result<u64, RateLimited> {
    Ok(id)
}

#[rate_limited(limit = 10, window = 60, burst = 5, algorithm = sliding_log)]
async fn sliding(id: u64) -> Result<u64, RateLimited> {
    Ok(id)
}

fn main() {}
