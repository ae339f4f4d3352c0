use cache_core::{RateLimited, rate_limited};

#[rate_limited(limt = 10, window = 60)]
async fn limit(id: u64) -> Result<u64, RateLimited> {
    Ok(id)
}

#[rate_limited(limit = 10, per = 60)]
async fn renamed(id: u64) -> Result<u64, RateLimited> {
    Ok(id)
}

#[rate_limited(limit = 10, window = 60, algorithm = gcar, fail = opne)]
async fn values(id: u64) -> Result<u64, RateLimited> {
    Ok(id)
}

#[rate_limited(limit = 10, window = 60, algorithm = "sliding_log", fail = "closed")]
async fn quoted(id: u64) -> Result<u64, RateLimited> {
    Ok(id)
}

fn main() {}
