use cache_core::cached;

#[cached(ttl = "5 minutes")]
async fn words(id: u64) -> u64 {
    id
}

#[cached(ttl = 0)]
async fn zero(id: u64) -> u64 {
    id
}

#[cached(ttl = 1.5)]
async fn fraction(id: u64) -> u64 {
    id
}

#[cached(ttl = -3)]
async fn negative(id: u64) -> u64 {
    id
}

#[cached(ttl = "90")]
async fn no_unit(id: u64) -> u64 {
    id
}

#[cached(timeout = "2w")]
async fn bad_timeout_unit(id: u64) -> u64 {
    id
}

fn main() {}
