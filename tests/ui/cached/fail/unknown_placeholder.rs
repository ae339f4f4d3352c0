use cache_core::cached;

#[cached(key = "user:<ids>")]
async fn get_user(id: u64) -> u64 {
    id
}

#[cached(key = "user:<tenant>:<id>")]
async fn get_tenant_user(id: u64, name: String) -> String {
    format!("{name}{id}")
}

fn main() {}
