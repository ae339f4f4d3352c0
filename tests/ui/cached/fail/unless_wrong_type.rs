use cache_core::cached;

#[cached(key = "name:<id>", unless = |count: &u64| *count == 0)]
async fn name(id: u64) -> String {
    id.to_string()
}

fn main() {}
