use cache_core::cached;

pub struct Filter {
    pub name: String,
}

#[cached(key = "search:<filter>")]
async fn search(filter: Filter) -> Vec<String> {
    vec![filter.name]
}

fn main() {}
