use cache_core::cached;

#[cached(key = "user:<id>", cache_err, cache_none)]
async fn get_user(id: u64) -> Result<u64, String> {
    Ok(id)
}

fn main() {}
