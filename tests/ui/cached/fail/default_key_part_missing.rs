use cache_core::cached;

pub struct Connection;

#[cached]
async fn load(db: &Connection, id: u64) -> u64 {
    let _ = db;
    id
}

fn main() {}
