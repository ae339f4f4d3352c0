use cache_core::cached;

#[cached(key = "config")]
struct Config;

fn main() {}
