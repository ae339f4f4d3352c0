use cache_core::cached;

#[cached(key = "user:<id>", lock = "no", lock_lease = 0, lock_wait = "2 parsecs")]
async fn get_user(id: u64) -> u64 {
    id
}

fn main() {}
