use cache_core::cached;

#[cached(key = "user:<id")]
async fn get_user(id: u64) -> u64 {
    id
}

#[cached(key = "user:<>")]
async fn empty(id: u64) -> u64 {
    id
}

fn main() {}
