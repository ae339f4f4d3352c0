//! Server-side sessions and one-time tokens over any backend, the same on the embedded
//! [`MemoryBackend`](crate::MemoryBackend) as on Redis.
//!
//! - [`Sessions`]: typed session data `T` under a [`SessionId`] from the OS CSPRNG: create,
//!   load, update (never resurrects), touch (sliding expiry), rotate (new id, old id dead),
//!   destroy, and a per-user index to list or destroy all of a user's sessions.
//! - [`OneTimeTokens`]: a value stored with a TTL and redeemed once by an atomic take
//!   (`GETDEL`), its secret compared in constant time: OAuth `state`, magic links.
//! - `TowerSessionStore` (feature `tower-sessions`): a `tower_sessions::SessionStore` for
//!   axum's `SessionManagerLayer`.
//!
//! All of them fail closed: a backend error is an error to the caller, never a valid session,
//! and a value of the wrong shape under a session key is [`ErrorKind::Codec`](crate::ErrorKind)
//! naming the key. Session ids and tokens never appear in `Debug` output, errors or logs
//! (keys are shown as `session:<id>`).

mod calls;
mod id;
mod key;
mod store;
mod tokens;
#[cfg(feature = "tower-sessions")]
mod tower;

pub use id::SessionId;
pub use store::{DEFAULT_NAMESPACE, DEFAULT_SESSION_TTL, SessionRecord, Sessions};
pub use tokens::{DEFAULT_TOKEN_NAMESPACE, OneTimeToken, OneTimeTokens};
#[cfg(feature = "tower-sessions")]
pub use tower::TowerSessionStore;
