use cache_core::rate_limited;

#[rate_limited(key = "config", limit = 1, window = 60)]
struct Config;

fn main() {}
