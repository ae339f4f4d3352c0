use std::time::Duration;

use cache_core::{RateLimited, rate_limited};

// Constants the macro cannot read are checked when the limiter `static` is evaluated, and the
// failure is reported at the option's value.
const LIMIT: u32 = 0;
const WINDOW: Duration = Duration::ZERO;
const COST: u32 = 20;

#[rate_limited(limit = LIMIT, window = 60)]
async fn zero_limit(id: u64) -> Result<u64, RateLimited> {
    Ok(id)
}

#[rate_limited(limit = 10, window = WINDOW)]
async fn zero_window(id: u64) -> Result<u64, RateLimited> {
    Ok(id)
}

#[rate_limited(limit = 10, window = 60, cost = COST)]
async fn cost_over_limit(id: u64) -> Result<u64, RateLimited> {
    Ok(id)
}

fn main() {}
