use cache_core::cached;

#[derive(Clone)]
pub struct User {
    pub id: u64,
}

#[cached(key = "user:<id>")]
async fn get_user(id: u64) -> Result<User, String> {
    Ok(User { id })
}

fn main() {}
