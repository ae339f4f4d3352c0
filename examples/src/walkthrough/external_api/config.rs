//! The guide's `ExternalApiConfig` as a Rust type: one value per external API, read by
//! [`ApiClient`](super::client::ApiClient).

use std::fmt;
use std::time::Duration;

use cache_core::rate_limit::RateLimitPolicy;

/// How an external API is reached: where, how to authenticate, and what the client does
/// around each call (cache, rate limit, retries, circuit breaker).
///
/// ```
/// use std::time::Duration;
/// use cache_core::rate_limit::RateLimitPolicy;
/// use examples::walkthrough::{ApiAuth, ApiConfig, CachePolicy};
///
/// let weather = ApiConfig {
///     auth: ApiAuth::ApiKey { header: "X-API-Key".into(), key: "your-key".into() },
///     cache: Some(CachePolicy::new(Duration::from_secs(600)).key_prefix("weather:")),
///     rate_limit: Some(RateLimitPolicy::fixed_window(100, Duration::from_secs(60))),
///     ..ApiConfig::new("weather-api", "https://api.weather.example/v1")
/// };
/// assert_eq!(weather.cache_key_prefix(), "weather:");
/// assert!(!format!("{weather:?}").contains("your-key"));
/// ```
#[derive(Clone, Debug)]
pub struct ApiConfig {
    /// A short name, used in logs, cache keys and rate-limit keys.
    pub name: String,
    /// The URL the request paths are appended to.
    pub base_url: String,
    /// The credentials each request carries.
    pub auth: ApiAuth,
    /// How long one attempt may take, connection included.
    pub timeout: Duration,
    /// How many times a failed attempt (a transport error or a 5xx) is tried again.
    pub max_retries: u32,
    /// The wait before the first retry, doubled before each next one.
    pub retry_backoff: Duration,
    /// Responses kept in the cache, or `None` for none.
    pub cache: Option<CachePolicy>,
    /// How many calls reach the API per window, or `None` for no limit. Shared by every
    /// process on the same backend.
    pub rate_limit: Option<RateLimitPolicy>,
    /// Stop calling an API that keeps failing, or `None` to always call.
    pub circuit_breaker: Option<BreakerPolicy>,
    /// Who calls, for the rate limit's key (the guide's `consumer_id`).
    pub consumer_id: String,
}

impl ApiConfig {
    /// An API at `base_url` without authentication, cache, rate limit or circuit breaker;
    /// 30 s per attempt, 3 retries from 100 ms.
    #[must_use]
    pub fn new(name: impl Into<String>, base_url: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            base_url: base_url.into(),
            auth: ApiAuth::None,
            timeout: Duration::from_secs(30),
            max_retries: 3,
            retry_backoff: Duration::from_millis(100),
            cache: None,
            rate_limit: None,
            circuit_breaker: None,
            consumer_id: "default".to_owned(),
        }
    }

    /// The prefix of this API's cache keys: the cache policy's, or `<name>:`.
    #[must_use]
    pub fn cache_key_prefix(&self) -> String {
        match &self.cache {
            Some(CachePolicy {
                key_prefix: Some(prefix),
                ..
            }) => prefix.clone(),
            _ => format!("{}:", self.name),
        }
    }
}

/// The credentials of an [`ApiConfig`]. `Debug` never shows a secret.
#[derive(Clone)]
pub enum ApiAuth {
    /// No credentials.
    None,
    /// `Authorization: Bearer <token>`.
    Bearer(String),
    /// `Authorization: Basic ...` with a user name and password.
    Basic {
        /// The user name.
        username: String,
        /// The password.
        password: String,
    },
    /// A key in a header of its own.
    ApiKey {
        /// The header's name, e.g. `X-API-Key`.
        header: String,
        /// The key.
        key: String,
    },
    /// OAuth2 client credentials: a token fetched from `token_url`, kept in the cache until
    /// it expires, sent as a bearer token.
    OAuth2 {
        /// Where tokens are issued (`POST`, JSON body).
        token_url: String,
        /// The client id.
        client_id: String,
        /// The client secret.
        client_secret: String,
        /// The scope asked for.
        scope: String,
    },
    /// Headers sent as they are.
    Custom(Vec<(String, String)>),
}

impl ApiAuth {
    /// The kind of credentials, as the guide names them (`"bearer"`, `"api_key"`, ...).
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Bearer(_) => "bearer",
            Self::Basic { .. } => "basic",
            Self::ApiKey { .. } => "api_key",
            Self::OAuth2 { .. } => "oauth2",
            Self::Custom(_) => "custom",
        }
    }
}

impl fmt::Debug for ApiAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ApiKey { header, .. } => write!(f, "ApiKey({header}: ..)"),
            Self::Basic { username, .. } => write!(f, "Basic({username}: ..)"),
            Self::OAuth2 {
                token_url,
                client_id,
                ..
            } => {
                write!(f, "OAuth2({client_id} at {token_url})")
            }
            Self::Custom(headers) => {
                let names: Vec<&str> = headers.iter().map(|(name, _)| name.as_str()).collect();
                write!(f, "Custom({names:?})")
            }
            Self::None | Self::Bearer(_) => f.write_str(self.kind()),
        }
    }
}

/// How an [`ApiConfig`]'s responses are cached.
#[derive(Clone, Debug)]
pub struct CachePolicy {
    /// How long a response is kept.
    pub ttl: Duration,
    /// The prefix of the cache keys; `None` for `<api name>:`.
    pub key_prefix: Option<String>,
}

impl CachePolicy {
    /// Responses kept for `ttl` under the API's name.
    #[must_use]
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            key_prefix: None,
        }
    }

    /// Keys under `prefix` instead of the API's name.
    #[must_use]
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = Some(prefix.into());
        self
    }
}

/// When an [`ApiConfig`]'s circuit breaker opens, and for how long.
#[derive(Clone, Copy, Debug)]
pub struct BreakerPolicy {
    /// Failed calls in a row (after their retries) that open the circuit.
    pub threshold: u32,
    /// How long an open circuit refuses calls before letting one through to try.
    pub cool_down: Duration,
}
