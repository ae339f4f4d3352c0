use cache_core::cached;

#[cached(crate = "not a path")]
async fn get_user(id: u64) -> u64 {
    id
}

#[cached(crate = "missing_crate")]
async fn get_other(id: u64) -> u64 {
    id
}

fn main() {}
