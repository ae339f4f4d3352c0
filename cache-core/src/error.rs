//! The one error type of the framework.

use std::fmt;

/// What went wrong, without the details. Match on it to decide how to react.
///
/// New kinds may be added in minor releases, so a `match` needs a wildcard arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The backend could not be reached: refused, dropped or reset connection.
    Connection,
    /// The backend did not answer within the configured time.
    Timeout,
    /// The backend answered with an error (a Redis error reply, a script failure, ...).
    Backend,
    /// Bytes could not be encoded or decoded by the codec.
    Codec,
    /// An increment hit a value that is not a 64-bit integer, or overflowed.
    NotAnInteger,
    /// A configuration value is invalid (a bad URL, an unknown variable value, ...).
    Config,
    /// An argument is invalid for the operation (an empty key, a zero TTL, ...).
    InvalidInput,
    /// The backend does not implement this operation.
    Unsupported,
    /// The key holds a value of another kind than the operation works on (Redis `WRONGTYPE`:
    /// a list where a string was expected). Says nothing about the backend's health.
    WrongType,
    /// A lock's lease ended, or another owner holds it now: the holder lost it.
    LockLost,
}

impl ErrorKind {
    /// A short lowercase name, used in logs and `Display`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connection => "connection error",
            Self::Timeout => "timeout",
            Self::Backend => "backend error",
            Self::Codec => "codec error",
            Self::NotAnInteger => "value is not an integer",
            Self::Config => "invalid configuration",
            Self::InvalidInput => "invalid input",
            Self::Unsupported => "unsupported operation",
            Self::WrongType => "wrong type of value under the key",
            Self::LockLost => "lock lost",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

/// An error from a cache operation: a [`ErrorKind`], a message and, where there is one, the
/// underlying error as its [`source`](std::error::Error::source).
///
/// ```
/// use cache_core::{Error, ErrorKind};
///
/// let err = Error::new(ErrorKind::Config, "REDIS_PORT must be a number, got `abc`");
/// assert_eq!(err.kind(), ErrorKind::Config);
/// assert_eq!(err.to_string(), "invalid configuration: REDIS_PORT must be a number, got `abc`");
/// ```
#[derive(Debug, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct Error {
    kind: ErrorKind,
    message: String,
    #[source]
    source: Option<Source>,
}

impl Error {
    /// An error of `kind` with a message for humans.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// Attaches the underlying error.
    #[must_use]
    pub fn with_source(mut self, source: impl Into<Source>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// What kind of failure this is.
    #[must_use]
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message, without the kind prefix.
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }

    /// True for failures that say nothing about the data and may pass by themselves
    /// (connection trouble and timeouts).
    #[must_use]
    pub fn is_transient(&self) -> bool {
        matches!(self.kind, ErrorKind::Connection | ErrorKind::Timeout)
    }
}

impl From<serde_json::Error> for Error {
    fn from(err: serde_json::Error) -> Self {
        Self::new(ErrorKind::Codec, err.to_string()).with_source(err)
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
