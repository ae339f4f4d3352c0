use cache_core::{RateLimited, rate_limited};

#[rate_limited(key = "search:<id>", window = 60)]
async fn no_limit(id: u64) -> Result<u64, RateLimited> {
    Ok(id)
}

#[rate_limited(key = "search:<id>", limit = 10)]
async fn no_window(id: u64) -> Result<u64, RateLimited> {
    Ok(id)
}

#[rate_limited]
async fn no_options(id: u64) -> Result<u64, RateLimited> {
    Ok(id)
}

fn main() {}
