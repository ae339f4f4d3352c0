//! [`ApiClient`]: GET requests to one external API, with what its [`ApiConfig`] asks for
//! around each: the cache first, then the circuit breaker, the rate limit, and attempts
//! retried with backoff.

use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use cache_core::rate_limit::RateLimiter;
use cache_core::{CacheBackendExt, DynBackend};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::config::{ApiAuth, ApiConfig, BreakerPolicy};

/// Why a call returned no response.
#[derive(Debug)]
pub(super) enum ApiError {
    /// The rate limit refused the call; try again after this long.
    RateLimited(Duration),
    /// The circuit breaker is open: the API failed too often, and is not called.
    CircuitOpen,
    /// The API answered with this status (after the retries, for a 5xx).
    Status(u16),
    /// No answer: a connection error or the timeout.
    Transport(String),
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::RateLimited(after) => {
                write!(f, "rate limited, retry after {} s", after.as_secs())
            }
            Self::CircuitOpen => f.write_str("circuit open"),
            Self::Status(status) => write!(f, "HTTP {status}"),
            Self::Transport(why) => write!(f, "no answer: {why}"),
        }
    }
}

impl std::error::Error for ApiError {}

/// A response, and where it came from.
#[derive(Debug)]
pub(super) struct Fetched {
    pub(super) body: Value,
    /// Served from the cache, without calling the API.
    pub(super) cached: bool,
    /// Requests sent to the API for it (0 when cached).
    pub(super) attempts: u32,
}

/// A client for one external API on a cache backend.
pub(super) struct ApiClient {
    config: ApiConfig,
    http: reqwest::Client,
    backend: DynBackend,
    limiter: Option<RateLimiter>,
    breaker: Mutex<Breaker>,
}

/// Failures in a row, and when an open circuit lets a trial call through.
#[derive(Default)]
struct Breaker {
    failures: u32,
    open_until: Option<Instant>,
}

/// An OAuth2 token response.
#[derive(Deserialize)]
struct Token {
    access_token: String,
    expires_in: u64,
}

impl ApiClient {
    pub(super) fn new(config: ApiConfig, backend: DynBackend) -> reqwest::Result<Self> {
        let http = reqwest::Client::builder().timeout(config.timeout).build()?;
        let limiter = config.rate_limit.map(|policy| {
            RateLimiter::new(policy)
                .backend(backend.clone())
                .namespace(format!("api:{}", config.name))
        });
        let breaker = Mutex::default();
        Ok(Self {
            config,
            http,
            backend,
            limiter,
            breaker,
        })
    }

    /// `GET <base_url><path>` as JSON.
    pub(super) async fn get(&self, path: &str) -> Result<Fetched, ApiError> {
        let key = format!("{}{path}", self.config.cache_key_prefix());
        if self.config.cache.is_some()
            && let Some(body) = self.cached(&key).await
        {
            return Ok(Fetched {
                body,
                cached: true,
                attempts: 0,
            });
        }
        self.admit().await?;
        let outcome = self.with_retries(path).await;
        // Only the API's own failures count towards opening the circuit, not a 4xx.
        self.record(!matches!(&outcome, Err(error) if retriable(error)));
        let (body, attempts) = outcome?;
        if let Some(policy) = &self.config.cache {
            // A cache that fails to store costs the next call a request, nothing more.
            if let Err(error) = self.backend.set_value(&key, &body, Some(policy.ttl)).await {
                tracing::warn!(%error, key, "could not cache the API response");
            }
        }
        Ok(Fetched {
            body,
            cached: false,
            attempts,
        })
    }

    /// The cached response under `key`; a backend failure is a miss, logged.
    async fn cached(&self, key: &str) -> Option<Value> {
        self.backend.get_value(key).await.unwrap_or_else(|error| {
            tracing::warn!(%error, key, "cache lookup failed; calling the API");
            None
        })
    }

    /// Refuses the call if the circuit is open or the rate limit is spent.
    async fn admit(&self) -> Result<(), ApiError> {
        if let Some(policy) = self.config.circuit_breaker
            && self.breaker_lock().is_open(policy)
        {
            return Err(ApiError::CircuitOpen);
        }
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        // A backend that fails answers by the limiter's failure mode (open: allowed).
        match limiter.check(&self.config.consumer_id).await {
            Ok(decision) if !decision.allowed() => {
                Err(ApiError::RateLimited(decision.retry_after()))
            }
            _ => Ok(()),
        }
    }

    fn record(&self, succeeded: bool) {
        if let Some(policy) = self.config.circuit_breaker {
            self.breaker_lock().record(succeeded, policy);
        }
    }

    fn breaker_lock(&self) -> std::sync::MutexGuard<'_, Breaker> {
        // The state is two numbers, always consistent: a panic elsewhere cannot corrupt it.
        self.breaker
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Attempts until one succeeds, a 4xx answers, or the retries are spent.
    async fn with_retries(&self, path: &str) -> Result<(Value, u32), ApiError> {
        let mut wait = self.config.retry_backoff;
        let mut attempts = 0;
        loop {
            attempts += 1;
            match self.attempt(path).await {
                Ok(body) => return Ok((body, attempts)),
                Err(error) if retriable(&error) && attempts <= self.config.max_retries => {
                    tracing::debug!(api = %self.config.name, path, %error, ?wait, "retrying");
                    tokio::time::sleep(wait).await;
                    wait *= 2;
                }
                Err(error) => return Err(error),
            }
        }
    }

    async fn attempt(&self, path: &str) -> Result<Value, ApiError> {
        let url = format!("{}{path}", self.config.base_url);
        let request = self.authenticate(self.http.get(url)).await?;
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        if !status.is_success() {
            return Err(ApiError::Status(status.as_u16()));
        }
        response.json().await.map_err(transport)
    }

    async fn authenticate(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::RequestBuilder, ApiError> {
        Ok(match &self.config.auth {
            ApiAuth::None => request,
            ApiAuth::Bearer(token) => request.bearer_auth(token),
            ApiAuth::Basic { username, password } => request.basic_auth(username, Some(password)),
            ApiAuth::ApiKey { header, key } => request.header(header, key),
            ApiAuth::OAuth2 { .. } => request.bearer_auth(self.oauth2_token().await?),
            ApiAuth::Custom(headers) => headers.iter().fold(request, |request, (name, value)| {
                request.header(name, value)
            }),
        })
    }

    /// The OAuth2 access token: from the cache while it lives, else fetched and cached.
    async fn oauth2_token(&self) -> Result<String, ApiError> {
        let ApiAuth::OAuth2 {
            token_url,
            client_id,
            client_secret,
            scope,
        } = &self.config.auth
        else {
            return Err(ApiError::Transport("not an OAuth2 API".to_owned()));
        };
        let key = format!("{}oauth2-token", self.config.cache_key_prefix());
        if let Some(Value::String(token)) = self.cached(&key).await {
            return Ok(token);
        }
        let body = json!({
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
            "scope": scope,
        });
        let response = self
            .http
            .post(token_url)
            .json(&body)
            .send()
            .await
            .map_err(transport)?;
        if !response.status().is_success() {
            return Err(ApiError::Status(response.status().as_u16()));
        }
        let token: Token = response.json().await.map_err(transport)?;
        // Dropped a minute early, so that no request goes out with a token about to expire.
        let ttl = Duration::from_secs(token.expires_in.saturating_sub(60).max(1));
        if let Err(error) = self
            .backend
            .set_value(&key, &token.access_token, Some(ttl))
            .await
        {
            tracing::warn!(%error, key, "could not cache the OAuth2 token");
        }
        Ok(token.access_token)
    }
}

impl Breaker {
    /// Open and still cooling down. Once the cool-down is over, one call goes through; its
    /// outcome closes the circuit or opens it again.
    fn is_open(&mut self, policy: BreakerPolicy) -> bool {
        match self.open_until {
            Some(until) if Instant::now() < until => true,
            Some(_) => {
                self.open_until = None;
                self.failures = policy.threshold.saturating_sub(1);
                false
            }
            None => false,
        }
    }

    fn record(&mut self, succeeded: bool, policy: BreakerPolicy) {
        if succeeded {
            self.failures = 0;
            return;
        }
        self.failures += 1;
        if self.failures >= policy.threshold {
            self.open_until = Some(Instant::now() + policy.cool_down);
        }
    }
}

/// Worth another attempt: no answer, or the server's own failure.
fn retriable(error: &ApiError) -> bool {
    match error {
        ApiError::Transport(_) => true,
        ApiError::Status(status) => *status >= 500,
        ApiError::RateLimited(_) | ApiError::CircuitOpen => false,
    }
}

fn transport(error: reqwest::Error) -> ApiError {
    ApiError::Transport(error.to_string())
}
