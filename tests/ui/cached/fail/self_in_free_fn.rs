use cache_core::cached;

#[cached(key = "user:<self.tenant>:<id>")]
async fn get_user(id: u64) -> u64 {
    id
}

fn main() {}
