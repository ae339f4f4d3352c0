use cache_core::{RateLimited, rate_limited};

#[rate_limited(key = "search:<user>", limit = 10, window = 60)]
async fn search(user_id: u64, query: &str) -> Result<usize, RateLimited> {
    Ok(query.len() + user_id as usize)
}

#[rate_limited(key = "search:<self.tenant>", limit = 10, window = 60)]
async fn no_receiver(query: &str) -> Result<usize, RateLimited> {
    Ok(query.len())
}

fn main() {}
