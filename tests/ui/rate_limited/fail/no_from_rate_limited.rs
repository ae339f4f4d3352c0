use cache_core::rate_limited;

#[derive(Debug)]
pub struct DbError;

#[rate_limited(key = "user:<id>", limit = 10, window = 60)]
async fn get_user(id: u64) -> Result<u64, DbError> {
    Ok(id)
}

fn main() {}
