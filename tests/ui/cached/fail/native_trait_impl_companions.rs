use cache_core::cached;

pub trait Lookup {
    fn lookup(&self, id: u64) -> impl std::future::Future<Output = u64> + Send;
}

pub struct Service;

// A trait impl cannot hold the companions: write `companions = false` here.
impl Lookup for Service {
    #[cached(key = "lookup:<id>")]
    async fn lookup(&self, id: u64) -> u64 {
        id
    }
}

fn main() {}
