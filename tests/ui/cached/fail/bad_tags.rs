use cache_core::cached;

#[cached(ttl = 60, tags = "user:<id>")]
async fn not_a_list(id: u64) -> u64 {
    id
}

#[cached(ttl = 60, tags = [])]
async fn empty_list(id: u64) -> u64 {
    id
}

#[cached(ttl = 60, tags = ["user:<id>", 7, ""])]
async fn not_templates(id: u64) -> u64 {
    id
}

#[cached(ttl = 60, tags = ["user:<id>", "user:<id>"])]
async fn twice(id: u64) -> u64 {
    id
}

#[cached(ttl = 60, tags = ["user:<ids>", "org:<id"])]
async fn unknown_placeholder(id: u64) -> u64 {
    id
}

#[cached(ttl = 60, tag = ["user:<id>"])]
async fn named_as_elsewhere(id: u64) -> u64 {
    id
}

fn main() {}
