//! The cache interface of seed guide `003`: its operations on the memory implementation, or on
//! Redis when `REDIS_URL` is set, then what a caller sees while Redis is down. See
//! `examples::cache_interface`.
//!
//! Run with `cargo run -p examples --bin cache_interface`.

#[tokio::main]
async fn main() -> Result<(), examples::cache_interface::StepError> {
    let (backend, name) = examples::backend::from_env("cache_interface:").await?;
    println!("implementation: {name}");
    examples::cache_interface::run(backend, &mut std::io::stdout()).await
}
