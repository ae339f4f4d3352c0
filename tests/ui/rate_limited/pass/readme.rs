//! The examples of DESIGN.md, the docs and the README (`readme_snippets` checks the README's
//! are here as written).
use cache_core::{RateLimited, cached, rate_limited};

#[derive(Debug)]
pub enum ApiError {
    TooManyRequests { retry_after_secs: u64 },
}

impl From<RateLimited> for ApiError {
    fn from(limited: RateLimited) -> Self {
        Self::TooManyRequests {
            retry_after_secs: limited.decision().retry_after_secs(),
        }
    }
}

#[rate_limited(key = "search:<user_id>", limit = 10, window = 60)]
async fn search(user_id: u64, q: &str) -> Result<Vec<String>, ApiError> {
    Ok(vec![format!("{user_id}:{q}")])
}

#[rate_limited(key = "login:<user>", limit = 5, window = "15m", algorithm = sliding_log, fail = closed)]
async fn login(user: &str) -> Result<(), ApiError> {
    let _ = user;
    Ok(())
}

#[rate_limited(key = "export", limit = 1, window = "1s", wait = "2s", backend = "primary", timeout = "200ms")]
async fn export() -> Result<(), ApiError> {
    Ok(())
}

#[cached(key = "profile:<id>", ttl = 300)]
#[rate_limited(key = "profile:<id>", limit = 100, window = "1m")]
async fn profile(id: u64) -> Result<String, ApiError> {
    Ok(id.to_string())
}

#[rate_limited(key = "geocode", limit = 50, window = "1s", algorithm = fixed_window)]
#[cached(key = "geocode:<address>", ttl = "1d")]
async fn geocode(address: &str) -> Result<(f64, f64), ApiError> {
    let _ = address;
    Ok((0.0, 0.0))
}

fn main() {
    let _ = (search(1, "q"), login("a"), export(), profile(1), geocode("x"));
}
