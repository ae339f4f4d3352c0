//! Every call the runtime makes on a backend: bounded by the function's timeout, timed,
//! counted, and failing open (a failure is logged once and becomes "no answer").

use std::future::Future;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;

use super::registry::Entry;
use super::shape::Cacheable;
use super::site::Site;
use crate::codec::{Codec, Json};
use crate::typed::decode_or_warn;
use crate::{Error, ErrorKind, LocalValues, Result};

/// `call`, or a [`ErrorKind::Timeout`] once `timeout` has passed. The timer bounds everything
/// the call spends (a client's own reconnects and retries included), so it is always armed on
/// a call that leaves the process.
pub(crate) async fn within<T>(
    timeout: Duration,
    what: impl FnOnce() -> String,
    call: impl Future<Output = Result<T>>,
) -> Result<T> {
    let mut call = std::pin::pin!(call);
    // A call that answers on its first poll (an in-process backend: memory, a session or
    // structure on it) has nothing to bound, so it gets no timer; any other is bounded from
    // here on, as before. benches/session_memory.rs: a memory session load went from 1.56x
    // to 1.34x the time of a raw get + decode (64 tasks: 0.59x to 0.70x the throughput);
    // benches/redis_hit.rs unchanged within noise (0.71x raw GET at 64 tasks, 0.94x latency).
    if let Poll::Ready(outcome) =
        std::future::poll_fn(|cx| Poll::Ready(call.as_mut().poll(cx))).await
    {
        return outcome;
    }
    match tokio::time::timeout(timeout, call).await {
        Ok(outcome) => outcome,
        Err(_) => Err(Error::new(
            ErrorKind::Timeout,
            format!("{} got no answer within {timeout:?}", what()),
        )),
    }
}

/// Why a remote call gave no answer.
pub(crate) enum NoAnswer {
    /// The breaker has the backend down: not even tried.
    Skipped,
    /// Tried, and it failed (counted, and logged unless it says something about the key).
    Failed(Error),
}

impl Site {
    /// Runs one remote backend call under the site's timeout, timing and counting it, and
    /// feeding the backend's breaker. While the breaker has the backend down the call is not
    /// made at all.
    pub(crate) async fn call<T>(
        &self,
        served: &Entry,
        op: &'static str,
        key: &str,
        call: impl Future<Output = Result<T>>,
    ) -> Result<T, NoAnswer> {
        if served.health.is_down() {
            return Err(self.skipped(served));
        }
        // The TSC, not `CLOCK_MONOTONIC`: two reads per backend call, at a third of the cost
        // where the kernel's clock is virtualised. Real time even under a paused test clock.
        let started = quanta::Instant::now();
        let outcome = within(self.timeout(), || format!("`{op}` of `{key}`"), call).await;
        let elapsed = started.elapsed();
        self.counters().backend_call(elapsed);
        crate::metrics::backend_call(self.name(), op, elapsed);
        match outcome {
            Ok(value) => {
                served.health.succeeded();
                Ok(value)
            }
            Err(error) => {
                let span = tracing::warn_span!(
                    "cache.backend_failure",
                    function = self.name(),
                    key_template = self.template(),
                    op,
                    key,
                    outcome = %error.kind(),
                    duration_ms = elapsed.as_secs_f64() * 1e3,
                );
                span.in_scope(|| {
                    served.health.failed(served, &error);
                    if error.kind() != ErrorKind::WrongType {
                        self.failed(op, key, &error);
                    }
                });
                Err(NoAnswer::Failed(error))
            }
        }
    }

    /// A capability call: bounded, counted and fed to the breaker like [`call`](Self::call)
    /// where the backend is remote; awaited directly where it keeps its values in process,
    /// which has no I/O to wait for (no timer, no breaker), failures still logged.
    pub(crate) async fn call_capability<T>(
        &self,
        served: &Entry,
        op: &'static str,
        key: &str,
        call: impl Future<Output = Result<T>>,
    ) -> Result<T, NoAnswer> {
        if served.backend.local().is_none() {
            return self.call(served, op, key, call).await;
        }
        call.await.map_err(|error| {
            self.failed(op, key, &error);
            NoAnswer::Failed(error)
        })
    }

    #[cold]
    fn skipped(&self, served: &Entry) -> NoAnswer {
        self.counters().bypassed();
        served.health.probe(served);
        NoAnswer::Skipped
    }

    #[cold]
    pub(crate) fn failed(&self, op: &'static str, key: &str, error: &Error) {
        self.counters().error();
        tracing::warn!(function = self.name(), op, key, %error, "cache backend failed; running uncached");
    }
}

/// What looking a key up found.
pub(crate) enum Lookup<S> {
    Hit(S),
    Miss,
    /// The key holds bytes this function cannot read (logged and counted once): a miss
    /// whose later reads in the same call stay quiet about the same bytes.
    Unreadable,
    /// The backend did not answer (logged): the caller runs uncached.
    Failed,
}

/// Looks `key` up once: in process where the backend keeps decoded values, else on the
/// backend, decoding what it holds. Undecodable bytes are a miss (logged once, counted).
pub(crate) async fn lookup<S: Cacheable>(site: &Site, served: &Entry, key: &str) -> Lookup<S> {
    let backend = &served.backend;
    let bytes = match backend.local() {
        Some(local) => match look_in_process(local, key) {
            InProcess::Value(value) => return Lookup::Hit(value),
            InProcess::Bytes(bytes) => bytes,
            InProcess::Missing => return Lookup::Miss,
        },
        None => match site.call(served, "get", key, backend.get(key)).await {
            Ok(None) => return Lookup::Miss,
            Ok(Some(bytes)) => bytes,
            Err(NoAnswer::Failed(error)) if error.kind() == ErrorKind::WrongType => {
                // Another kind of value under the key (a Redis list, say) is like bytes that
                // do not decode: a miss, which the result then overwrites.
                site.counters().error();
                tracing::warn!(function = site.name(), key, %error, "the key holds another type of value; recomputing and overwriting it");
                return Lookup::Unreadable;
            }
            Err(_) => return Lookup::Failed,
        },
    };
    read(site, served, key, &bytes)
}

/// What the bytes `key` was found holding come to: its value (kept decoded beside them where
/// the backend keeps near copies), or unreadable (logged once, counted).
pub(crate) fn read<S: Cacheable>(
    site: &Site,
    served: &Entry,
    key: &str,
    bytes: &Bytes,
) -> Lookup<S> {
    let backend = &served.backend;
    match decode_or_warn::<_, S>(&Json, Some(site.name()), key, bytes) {
        Some(value) => {
            if let Some(near) = backend.near() {
                // The bytes came from the near cache or were just kept by it: the next hit
                // is a clone, not a decode (kept only if that copy is still these bytes).
                near.remember(key, bytes, Arc::new(value.clone()));
            }
            Lookup::Hit(value)
        }
        None => {
            site.counters().error();
            Lookup::Unreadable
        }
    }
}

enum InProcess<S> {
    Value(S),
    /// Stored as bytes only (by `set`, or as another type): decoded outside the store's lock.
    Bytes(Bytes),
    Missing,
}

fn look_in_process<S: Cacheable>(local: &dyn LocalValues, key: &str) -> InProcess<S> {
    let mut found = InProcess::Missing;
    local.visit(key, &mut |entry| {
        found = match entry.value.and_then(|value| value.downcast_ref::<S>()) {
            Some(value) => InProcess::Value(value.clone()),
            None => InProcess::Bytes(entry.bytes.clone()),
        };
    });
    found
}

/// `value` as JSON, or `None` (logged and counted) if it cannot be encoded.
pub(crate) fn encode<S: Cacheable>(site: &Site, key: &str, value: &S) -> Option<Bytes> {
    match Json.encode(value) {
        Ok(encoded) => Some(Bytes::from(encoded)),
        Err(error) => {
            site.counters().error();
            tracing::warn!(function = site.name(), key, %error, "value could not be encoded; not cached");
            None
        }
    }
}

/// Stores `value` under `key` with the site's TTL: decoded beside its JSON in process, or as
/// JSON on the backend. A failure is logged and counted; the caller has its value anyway.
pub(crate) async fn store<S: Cacheable>(site: &Site, served: &Entry, key: &str, value: &S) {
    store_for(site, served, key, value, site.ttl_for(key)).await;
}

/// [`store`] with a TTL of the caller's.
pub(crate) async fn store_for<S: Cacheable>(
    site: &Site,
    served: &Entry,
    key: &str,
    value: &S,
    ttl: Option<Duration>,
) {
    let backend = &served.backend;
    let Some(encoded) = encode(site, key, value) else {
        return;
    };
    match backend.local() {
        Some(local) => {
            // In process: no I/O, so no timer.
            if let Err(error) = local.store(key, Arc::new(value.clone()), encoded, ttl) {
                site.failed("set", key, &error);
            }
        }
        None => {
            // A failure is logged and counted by `call`; the caller has its value anyway.
            let _stored = site
                .call(served, "set", key, backend.set(key, encoded, ttl))
                .await;
        }
    }
}
