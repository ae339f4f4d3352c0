use cache_core::cached;

#[cached(key = "numbers:<n>")]
async fn numbers(n: u64) -> Vec<impl Clone> {
    vec![n]
}

fn main() {}
