use cache_core::locked;

#[locked(key = "payment:<id>")]
async fn plain(id: u64) -> u64 {
    id
}

#[locked(key = "payment:<id>")]
async fn option(id: u64) -> Option<u64> {
    Some(id)
}

#[locked(key = "payment:<id>")]
async fn nothing(id: u64) {
    let _ = id;
}

fn main() {}
