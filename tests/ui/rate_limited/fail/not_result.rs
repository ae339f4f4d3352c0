use cache_core::rate_limited;

#[rate_limited(limit = 10, window = 60)]
async fn plain(id: u64) -> u64 {
    id
}

#[rate_limited(limit = 10, window = 60)]
async fn option(id: u64) -> Option<u64> {
    Some(id)
}

#[rate_limited(limit = 10, window = 60)]
async fn nothing(id: u64) {
    let _ = id;
}

fn main() {}
