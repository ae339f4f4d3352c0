//! External API configuration and a client built on it, calling a local upstream this module
//! starts itself: every authentication type, then calls that are cached, retried with
//! backoff, rate limited and cut off by a circuit breaker.

mod client;
mod config;
mod upstream;

use std::io::Write;
use std::time::Duration;

use cache_core::DynBackend;
use cache_core::rate_limit::RateLimitPolicy;

pub use config::{ApiAuth, ApiConfig, BreakerPolicy, CachePolicy};

use self::client::{ApiClient, ApiError};
use self::upstream::{ACCESS_TOKEN, Upstream};
use super::{StepError, section};

pub(super) async fn run(backend: &DynBackend, out: &mut impl Write) -> Result<(), StepError> {
    let upstream = Upstream::start().await?;
    configuration(&upstream, out)?;
    authentication(backend, &upstream, out).await?;
    section(out, "external API client")?;
    caching(backend, &upstream, out).await?;
    retries(backend, &upstream, out).await?;
    let limited = (rate_limited(&upstream), "/weather/paris", 4);
    in_a_row(backend, &upstream, limited, "3 calls a minute", out).await?;
    let broken = (breaking(&upstream), "/down", 3);
    in_a_row(backend, &upstream, broken, "opens after 2 failures", out).await
}

/// The guide's weather API: an API key, responses cached 10 minutes, 100 calls a minute.
fn weather_api(upstream: &Upstream) -> ApiConfig {
    ApiConfig {
        auth: ApiAuth::ApiKey {
            header: "X-API-Key".into(),
            key: "your-api-key".into(),
        },
        cache: Some(CachePolicy::new(Duration::from_secs(600)).key_prefix("weather:")),
        rate_limit: Some(RateLimitPolicy::fixed_window(100, Duration::from_secs(60))),
        timeout: Duration::from_secs(5),
        ..ApiConfig::new("weather-api", &upstream.base_url)
    }
}

/// An API on the upstream with `auth` and nothing around its calls but quick retries.
fn plain_api(upstream: &Upstream, name: &str, auth: ApiAuth) -> ApiConfig {
    ApiConfig {
        auth,
        retry_backoff: Duration::from_millis(10),
        timeout: Duration::from_secs(5),
        ..ApiConfig::new(name, &upstream.base_url)
    }
}

fn configuration(upstream: &Upstream, out: &mut impl Write) -> Result<(), StepError> {
    section(out, "external API configuration")?;
    let weather = weather_api(upstream);
    writeln!(out, "{} auth -> {:?}", weather.name, weather.auth)?;
    writeln!(
        out,
        "{} cache key prefix -> {}",
        weather.name,
        weather.cache_key_prefix()
    )?;
    let limit = weather
        .rate_limit
        .map(|policy| (policy.limit(), policy.window()));
    writeln!(out, "{} rate limit -> {limit:?}", weather.name)?;
    writeln!(
        out,
        "{} timeout -> {:?}, retries -> {}",
        weather.name, weather.timeout, weather.max_retries
    )?;
    Ok(())
}

/// One call per authentication type, answered by the upstream with what it saw.
async fn authentication(
    backend: &DynBackend,
    upstream: &Upstream,
    out: &mut impl Write,
) -> Result<(), StepError> {
    let oauth2 = ApiAuth::OAuth2 {
        token_url: format!("{}/oauth/token", upstream.base_url),
        client_id: "client-id".into(),
        client_secret: "client-secret".into(),
        scope: "read write".into(),
    };
    let auths = [
        ApiAuth::None,
        ApiAuth::Bearer(ACCESS_TOKEN.into()),
        ApiAuth::Basic {
            username: "admin".into(),
            password: "password123".into(),
        },
        ApiAuth::ApiKey {
            header: "X-API-Key".into(),
            key: "your-api-key".into(),
        },
        oauth2.clone(),
        ApiAuth::Custom(vec![("X-Custom-Auth".into(), "secret-key".into())]),
    ];
    for auth in auths {
        let kind = auth.kind();
        let client = ApiClient::new(plain_api(upstream, kind, auth), backend.clone())?;
        match client.get("/whoami").await {
            Ok(fetched) => writeln!(out, "auth {kind} -> {}", fetched.body)?,
            Err(error) => writeln!(out, "auth {kind} -> {error}")?,
        }
    }
    upstream.reset();
    let client = ApiClient::new(
        plain_api(upstream, "oauth-service", oauth2),
        backend.clone(),
    )?;
    for _ in 0..2 {
        client.get("/whoami").await?;
    }
    writeln!(
        out,
        "oauth2, two calls -> {} token request(s)",
        upstream.counts.tokens()
    )?;
    Ok(())
}

async fn caching(
    backend: &DynBackend,
    upstream: &Upstream,
    out: &mut impl Write,
) -> Result<(), StepError> {
    upstream.reset();
    let client = ApiClient::new(weather_api(upstream), backend.clone())?;
    for call in ["first", "second"] {
        let fetched = client.get("/weather/london").await?;
        writeln!(
            out,
            "{call} GET /weather/london -> {} (cached: {}, upstream calls: {})",
            fetched.body,
            fetched.cached,
            upstream.counts.calls()
        )?;
    }
    Ok(())
}

async fn retries(
    backend: &DynBackend,
    upstream: &Upstream,
    out: &mut impl Write,
) -> Result<(), StepError> {
    upstream.reset();
    let client = ApiClient::new(
        plain_api(upstream, "flaky-api", ApiAuth::None),
        backend.clone(),
    )?;
    let fetched = client.get("/flaky").await?;
    writeln!(
        out,
        "GET /flaky (503 twice) -> {} after {} attempts",
        fetched.body, fetched.attempts
    )?;
    Ok(())
}

/// A payment API allowed 3 calls a minute: the 4th is refused without reaching it.
fn rate_limited(upstream: &Upstream) -> ApiConfig {
    ApiConfig {
        rate_limit: Some(RateLimitPolicy::fixed_window(3, Duration::from_secs(60))),
        consumer_id: "payment-service-v1".into(),
        ..plain_api(upstream, "payments", ApiAuth::None)
    }
}

/// A failing API whose circuit opens after 2 failures: the 3rd call is not sent.
fn breaking(upstream: &Upstream) -> ApiConfig {
    ApiConfig {
        max_retries: 0,
        circuit_breaker: Some(BreakerPolicy {
            threshold: 2,
            cool_down: Duration::from_secs(60),
        }),
        ..plain_api(upstream, "legacy-api", ApiAuth::None)
    }
}

/// `calls` GETs of `path` in a row on a client for `config`: what each returned, and how many
/// reached the upstream.
async fn in_a_row(
    backend: &DynBackend,
    upstream: &Upstream,
    (config, path, calls): (ApiConfig, &str, usize),
    what: &str,
    out: &mut impl Write,
) -> Result<(), StepError> {
    upstream.reset();
    let client = ApiClient::new(config, backend.clone())?;
    let outcomes = outcomes(&client, path, calls).await;
    let reached = upstream.counts.calls();
    writeln!(
        out,
        "{what}, {calls} calls -> {outcomes:?} (upstream calls: {reached})"
    )?;
    Ok(())
}

/// What `calls` GETs of `path` in a row return, in words.
async fn outcomes(client: &ApiClient, path: &str, calls: usize) -> Vec<String> {
    let mut outcomes = Vec::with_capacity(calls);
    for _ in 0..calls {
        outcomes.push(match client.get(path).await {
            Ok(_) => "ok".to_owned(),
            // The wait is the window's rest, which depends on when in it the call came.
            Err(ApiError::RateLimited(after)) if after <= Duration::from_secs(60) => {
                "rate limited for the rest of the minute".to_owned()
            }
            Err(error) => error.to_string(),
        });
    }
    outcomes
}
