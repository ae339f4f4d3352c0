use cache_core::cached;

#[cached(ttl = 60, refresh_ahead = 1.2)]
async fn refresh_too_late(id: u64) -> u64 {
    id
}

#[cached(stale = "1h", fail_safe = "1d")]
async fn without_ttl(id: u64) -> u64 {
    id
}

#[cached(ttl = 60, soft_timeout = "100ms", fail_safe_throttle = "5s")]
async fn nothing_to_fall_back_on(id: u64) -> u64 {
    id
}

#[cached(ttl = 60, stale = "an hour")]
async fn not_a_duration(id: u64) -> u64 {
    id
}

#[cached(ttl = 60, stale_while_revalidate = "1h")]
async fn named_as_elsewhere(id: u64) -> u64 {
    id
}

fn main() {}
