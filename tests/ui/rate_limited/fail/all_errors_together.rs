use cache_core::{RateLimited, rate_limited};

// Every argument error is reported in one compile.
#[rate_limited(key = "user:<ids>", limit = 0, windw = 60, algorithm = fixed_window, burst = 2)]
async fn get_user(id: u64) -> Result<u64, RateLimited> {
    Ok(id)
}

fn main() {}
