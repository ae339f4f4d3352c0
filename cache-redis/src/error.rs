//! Mapping redis-rs errors to [`cache_core::Error`].

use cache_core::{Error, ErrorKind};
use redis::{RedisError, ServerErrorKind};

/// Converts a redis-rs error from operation `op` into the framework's error, keeping it as the
/// source. redis-rs error texts carry no credentials.
pub(crate) fn from_redis(error: RedisError, op: &str) -> Error {
    let kind = if error.is_timeout() {
        ErrorKind::Timeout
    } else if error.is_connection_dropped() || error.is_connection_refusal() || error.is_io_error()
    {
        ErrorKind::Connection
    } else {
        match error.kind() {
            redis::ErrorKind::InvalidClientConfig => ErrorKind::Config,
            redis::ErrorKind::AuthenticationFailed
            | redis::ErrorKind::MasterNameNotFoundBySentinel
            | redis::ErrorKind::NoValidReplicasFoundBySentinel
            | redis::ErrorKind::EmptySentinelList
            | redis::ErrorKind::ClusterConnectionNotFound => ErrorKind::Connection,
            redis::ErrorKind::Server(
                ServerErrorKind::ClusterDown
                | ServerErrorKind::MasterDown
                | ServerErrorKind::BusyLoading
                | ServerErrorKind::TryAgain,
            ) => ErrorKind::Connection,
            _ if error.code() == Some("WRONGTYPE") => ErrorKind::WrongType,
            _ if is_not_an_integer(&error) => ErrorKind::NotAnInteger,
            _ => ErrorKind::Backend,
        }
    };
    Error::new(kind, format!("redis {op}: {error}")).with_source(error)
}

fn is_not_an_integer(error: &RedisError) -> bool {
    let text = error.to_string();
    text.contains("not an integer") || text.contains("would overflow")
}

/// Errors after which the same idempotent request may simply be sent again.
pub(crate) fn is_retriable(error: &RedisError) -> bool {
    if error.is_timeout() {
        return false;
    }
    error.is_connection_dropped()
        || error.is_connection_refusal()
        || error.is_io_error()
        || matches!(
            error.kind(),
            redis::ErrorKind::Server(
                ServerErrorKind::TryAgain
                    | ServerErrorKind::ClusterDown
                    | ServerErrorKind::BusyLoading
                    | ServerErrorKind::MasterDown
                    | ServerErrorKind::ReadOnly
            )
        )
}

/// Errors that suggest the Sentinel-managed primary has moved.
pub(crate) fn is_failover_error(error: &RedisError) -> bool {
    !error.is_timeout()
        && (error.is_connection_dropped()
            || error.is_connection_refusal()
            || error.is_io_error()
            || matches!(
                error.kind(),
                redis::ErrorKind::Server(ServerErrorKind::ReadOnly | ServerErrorKind::MasterDown)
            ))
}
