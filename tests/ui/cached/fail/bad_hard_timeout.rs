use cache_core::cached;

#[cached(ttl = 60, hard_timeout = "2s")]
async fn not_a_result(id: u64) -> u64 {
    id
}

#[cached(ttl = 60, hard_timeout = "2s", cache_err)]
async fn caches_errors(id: u64) -> Result<u64, String> {
    Ok(id)
}

#[cached(ttl = 60, fail_safe = "1h", soft_timeout = "2s", hard_timeout = "1s")]
async fn soft_after_hard(id: u64) -> Result<u64, cache_core::Error> {
    Ok(id)
}

pub struct NoConversion;

#[cached(ttl = 60, hard_timeout = "2s")]
async fn error_without_from(id: u64) -> Result<u64, NoConversion> {
    Ok(id)
}

fn main() {}
