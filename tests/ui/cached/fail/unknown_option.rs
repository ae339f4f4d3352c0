use cache_core::cached;

#[cached(key = "user:<id>", lifetime = 300)]
async fn get_user(id: u64) -> u64 {
    id
}

fn main() {}
