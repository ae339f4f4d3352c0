//! Seed guide `000` section by section: configuration, health, basic operations, data
//! structures, Lua scripts, locks, pipelines, the cache decorator and an external API client,
//! on the memory backend, or on Redis when `REDIS_URL` is set. See `examples::walkthrough`.
//!
//! Run with `cargo run -p examples --bin walkthrough`.

#[tokio::main]
async fn main() -> Result<(), examples::walkthrough::StepError> {
    let redis = examples::backend::redis_from_env("walkthrough:").await?;
    examples::walkthrough::run(redis, &mut std::io::stdout()).await
}
