use cache_core::{RateLimited, rate_limited};

pub struct Filter {
    pub name: String,
}

#[rate_limited(key = "search:<filter>", limit = 10, window = 60)]
async fn search(filter: Filter) -> Result<String, RateLimited> {
    Ok(filter.name)
}

fn main() {}
