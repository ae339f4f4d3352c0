use cache_core::cached;

#[cached(
    key = "user:<idd>",
    ttl = "soon",
    companions = "no",
    unles = 1,
    backend
)]
async fn get_user(id: u64) -> u64 {
    id
}

fn main() {}
