//! The Flask-Caching patterns of seed guide `001` on the memory backend, or on Redis when
//! `REDIS_URL` is set: memoize and delete-memoized, the batch calls, cache-aside,
//! write-through and warming, counters, a leaderboard, pub/sub, sessions, a rate-limited
//! endpoint and the hit rate. See `examples::flask_patterns`.
//!
//! Run with `cargo run -p examples --bin flask_patterns`.

#[tokio::main]
async fn main() -> Result<(), examples::flask_patterns::StepError> {
    let (backend, name) = examples::backend::from_env("flask_patterns:").await?;
    println!("backend: {name}");
    examples::flask_patterns::run(backend, &mut std::io::stdout()).await
}
