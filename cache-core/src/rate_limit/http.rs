//! Rate limiting at the HTTP boundary: a tower [`Layer`] for axum, hyper or any tower stack.
//!
//! [`RateLimitLayer`] takes a key from each request (a client id, an API key, a peer address),
//! asks a [`RateLimiter`] for a decision, and either forwards the request or answers
//! `429 Too Many Requests` itself. Every limited response carries the de-facto headers:
//!
//! | header | value |
//! |---|---|
//! | `X-RateLimit-Limit` | the policy's capacity ([`RateLimitDecision::limit`]) |
//! | `X-RateLimit-Remaining` | what could still pass right now |
//! | `X-RateLimit-Reset` | seconds (a delta, rounded up) until the budget is full again |
//! | `Retry-After` | on 429 only: seconds (rounded up) until the call would be admitted |
//!
//! A request for which the key function returns `None` is not limited. When the limiter
//! fails (backend down under [`FailureMode::Closed`](crate::rate_limit::FailureMode::Closed), or
//! an invalid policy) the layer answers `503 Service Unavailable` and logs the error; under the
//! default fail-open mode a backend outage lets requests through.
//!
//! ```
//! use std::time::Duration;
//! use cache_core::http::RateLimitLayer;
//! use cache_core::rate_limit::{RateLimitPolicy, RateLimiter};
//!
//! let limiter = RateLimiter::new(RateLimitPolicy::gcra(100, Duration::from_secs(60)));
//! // Limit by the `x-api-key` header; requests without one pass unlimited.
//! let layer = RateLimitLayer::new(limiter, |request: &cache_core::http::Parts| {
//!     request.headers.get("x-api-key")?.to_str().ok().map(str::to_owned)
//! });
//! // axum: Router::new().route(...).layer(layer)
//! # let _ = layer;
//! ```

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::{HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
/// The request head a key function reads (re-exported from the `http` crate).
pub use http::request::Parts;
use http::{Request, Response, StatusCode};
use tower_layer::Layer;
use tower_service::Service;

use crate::rate_limit::{RateLimitDecision, RateLimiter};

/// `X-RateLimit-Limit`.
pub const X_RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
/// `X-RateLimit-Remaining`.
pub const X_RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
/// `X-RateLimit-Reset` (delta seconds).
pub const X_RATELIMIT_RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");

/// A tower layer that rate-limits requests by a key taken from each request. See the
/// [module docs](self).
pub struct RateLimitLayer<K> {
    limiter: Arc<RateLimiter>,
    key: Arc<K>,
}

impl<K> RateLimitLayer<K>
where
    K: Fn(&Parts) -> Option<String> + Send + Sync + 'static,
{
    /// Limits requests with `limiter`, keyed by what `key` returns for each request's head
    /// (`None`: not limited).
    pub fn new(limiter: RateLimiter, key: K) -> Self {
        Self {
            limiter: Arc::new(limiter),
            key: Arc::new(key),
        }
    }
}

impl<K> std::fmt::Debug for RateLimitLayer<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key function has no `Debug`.
        f.debug_struct("RateLimitLayer")
            .field("limiter", &self.limiter)
            .finish_non_exhaustive()
    }
}

impl<K> Clone for RateLimitLayer<K> {
    fn clone(&self) -> Self {
        Self {
            limiter: self.limiter.clone(),
            key: self.key.clone(),
        }
    }
}

impl<S, K> Layer<S> for RateLimitLayer<K> {
    type Service = RateLimit<S, K>;

    fn layer(&self, inner: S) -> Self::Service {
        RateLimit {
            inner,
            limiter: self.limiter.clone(),
            key: self.key.clone(),
        }
    }
}

/// The service [`RateLimitLayer`] wraps around another.
pub struct RateLimit<S, K> {
    inner: S,
    limiter: Arc<RateLimiter>,
    key: Arc<K>,
}

impl<S: std::fmt::Debug, K> std::fmt::Debug for RateLimit<S, K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimit")
            .field("inner", &self.inner)
            .field("limiter", &self.limiter)
            .finish_non_exhaustive()
    }
}

impl<S: Clone, K> Clone for RateLimit<S, K> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            limiter: self.limiter.clone(),
            key: self.key.clone(),
        }
    }
}

impl<S, K> RateLimit<S, K> {
    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// Unwraps the service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, K, ReqBody, ResBody> Service<Request<ReqBody>> for RateLimit<S, K>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    K: Fn(&Parts) -> Option<String> + Send + Sync + 'static,
    ReqBody: Send + 'static,
    ResBody: From<&'static str> + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let (parts, body) = request.into_parts();
        let key = (self.key)(&parts);
        let request = Request::from_parts(parts, body);
        // The clone is the one that was not polled ready; keep the ready one for this call.
        let ready = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, ready);
        let limiter = self.limiter.clone();
        Box::pin(async move {
            let Some(key) = key else {
                return inner.call(request).await;
            };
            match limiter.check(key.as_str()).await {
                Ok(decision) if decision.allowed() => {
                    let mut response = inner.call(request).await?;
                    write_headers(response.headers_mut(), &decision);
                    Ok(response)
                }
                Ok(decision) => Ok(rejection(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate limit exceeded",
                    Some(&decision),
                )),
                Err(error) => {
                    tracing::warn!(%error, key, "rate limiter failed; answering 503");
                    Ok(rejection(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "rate limiter unavailable",
                        None,
                    ))
                }
            }
        })
    }
}

fn number(value: u64) -> HeaderValue {
    HeaderValue::from(value)
}

fn write_headers(headers: &mut HeaderMap, decision: &RateLimitDecision) {
    headers.insert(X_RATELIMIT_LIMIT, number(decision.limit().into()));
    headers.insert(X_RATELIMIT_REMAINING, number(decision.remaining().into()));
    headers.insert(X_RATELIMIT_RESET, number(decision.reset_after_secs()));
    if !decision.allowed() {
        headers.insert(RETRY_AFTER, number(decision.retry_after_secs()));
    }
}

fn rejection<B: From<&'static str>>(
    status: StatusCode,
    message: &'static str,
    decision: Option<&RateLimitDecision>,
) -> Response<B> {
    let mut response = Response::new(B::from(message));
    *response.status_mut() = status;
    if let Some(decision) = decision {
        write_headers(response.headers_mut(), decision);
    }
    response
}
