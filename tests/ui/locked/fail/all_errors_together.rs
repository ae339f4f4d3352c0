use cache_core::locked;

#[locked(key = "payment:<invoice>", ttl = 0, wiat = "2s")]
fn pay(id: u64) -> u64 {
    id
}

fn main() {}
