use cache_core::cached;

#[cached(key = "user:<id>", tll = 300)]
async fn get_user(id: u64) -> u64 {
    id
}

#[cached(key = "user:<id>", backnd = "primary")]
async fn get_other_user(id: u64) -> u64 {
    id
}

#[cached(key = "user:<id>", time = 60)]
async fn renamed_option(id: u64) -> u64 {
    id
}

fn main() {}
