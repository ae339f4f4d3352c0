use cache_core::cached;

#[cached(key = "user:<id>", cache_err = true)]
async fn get_user(id: u64) -> Option<u64> {
    Some(id)
}

#[cached(key = "count:<id>", cache_none = true)]
async fn count(id: u64) -> u64 {
    id
}

fn main() {}
