use cache_core::cached;

#[cached(ttl = 60, jitter = 1.5)]
async fn too_much(id: u64) -> u64 {
    id
}

#[cached(ttl = 60, jitter = 10)]
async fn not_a_fraction(id: u64) -> u64 {
    id
}

#[cached(ttl = 60, jitter = "10%")]
async fn a_string(id: u64) -> u64 {
    id
}

#[cached(jitter = 0.1)]
async fn without_ttl(id: u64) -> u64 {
    id
}

fn main() {}
