//! [`Sessions`]: typed server-side sessions over any backend.

use std::fmt;
use std::marker::PhantomData;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use serde::de::{DeserializeOwned, IgnoredAny};
use serde::{Deserialize, Serialize};

use super::calls::{Calls, FRESH_ID_ATTEMPTS};
use super::id::SessionId;
use super::key::{SecretKey, encode_fresh};
use crate::{CacheBackend, Error, ErrorKind, Result, check_ttl};

/// The key namespace of [`Sessions`] unless told otherwise.
pub const DEFAULT_NAMESPACE: &str = "session:";

/// How long a session lives without activity unless told otherwise: one hour.
pub const DEFAULT_SESSION_TTL: Duration = Duration::from_secs(60 * 60);

/// The text between the namespace and a user's escaped id in the key of their index.
const USER_INDEX: &str = "user:";

/// What a session key holds, as JSON: `{"user": ..., "created_ms": ..., "data": ...}`.
/// Written with borrowed parts, read back owned (or with the data skipped).
#[derive(Serialize, Deserialize)]
struct Stored<U, D> {
    user: Option<U>,
    created_ms: u64,
    data: D,
}

/// A record read without its data: what maintenance needs (the owner), checked for shape.
type Meta = Stored<String, IgnoredAny>;

const RECORD: &str = "a session record";

/// A loaded session: its data, its user and when it was created.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SessionRecord<T> {
    /// The session's data.
    pub data: T,
    /// The user it was created for, if any (see [`Sessions::list_for_user`]).
    pub user: Option<String>,
    /// When it was created (a rotated session keeps its creation time).
    pub created: SystemTime,
}

/// Server-side sessions holding a `T` each, over any backend: the embedded
/// [`MemoryBackend`](crate::MemoryBackend) or Redis, the same way.
///
/// A session is one JSON record under `<namespace><id>` with the store's TTL; its id is a
/// [`SessionId`] (128 bits from the OS CSPRNG). A session created for a user is also listed
/// in a set under `<namespace>user:<user>` (the user id escaped as in [`key`](crate::key)),
/// so [`list_for_user`](Self::list_for_user) and
/// [`destroy_all_for_user`](Self::destroy_all_for_user) find it; the set lives at least as
/// long as its sessions. Everything but `create` and `load` of a session without a user needs
/// the backend's [`structures`](crate::CacheBackend::structures).
///
/// # Failing closed
///
/// A backend error is an `Err`, never a valid session. A record that does not decode is
/// [`ErrorKind::Codec`], naming the key with the id shown as `<id>`: ids and data never
/// appear in errors, logs or `Debug`. Each backend call is bounded by
/// [`default_timeout`](crate::default_timeout) (or [`timeout`](Self::timeout)).
///
/// One namespace holds sessions of one TTL: the user index's lifetime follows the TTL of the
/// store that touched it last.
///
/// ```
/// use cache_core::MemoryBackend;
/// use cache_core::session::Sessions;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Debug, PartialEq, Serialize, Deserialize)]
/// struct Login { name: String, admin: bool }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> cache_core::Result<()> {
/// let sessions: Sessions<Login> = Sessions::new(MemoryBackend::new());
/// let alice = Login { name: "Alice".into(), admin: false };
/// let id = sessions.create(Some("u-1"), &alice).await?;   // put `id.expose()` in a cookie
/// assert_eq!(sessions.load(&id).await?, Some(alice));
///
/// let promoted = sessions.rotate(&id).await?.expect("live");  // a privilege change: new id
/// assert_eq!(sessions.load(&id).await?, None);                 // the old id is dead
/// sessions.update(&promoted, &Login { name: "Alice".into(), admin: true }).await?;
///
/// assert_eq!(sessions.list_for_user("u-1").await?.len(), 1);
/// assert_eq!(sessions.destroy_all_for_user("u-1").await?, 1);  // "log out everywhere"
/// assert_eq!(sessions.load(&promoted).await?, None);
/// # Ok(()) }
/// ```
pub struct Sessions<T> {
    calls: Calls,
    namespace: String,
    ttl: Duration,
    data: PhantomData<fn() -> T>,
}

impl<T> Clone for Sessions<T> {
    fn clone(&self) -> Self {
        Self {
            calls: self.calls.clone(),
            namespace: self.namespace.clone(),
            ttl: self.ttl,
            data: PhantomData,
        }
    }
}

impl<T> fmt::Debug for Sessions<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sessions")
            .field("namespace", &self.namespace)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl<T: Serialize + DeserializeOwned> Sessions<T> {
    /// Sessions on `backend` under [`DEFAULT_NAMESPACE`], living [`DEFAULT_SESSION_TTL`]
    /// from their last write or [`touch`](Self::touch). An `Arc<dyn CacheBackend>` is used
    /// as it is; any other backend is put in one.
    pub fn new(backend: impl CacheBackend) -> Self {
        Self {
            calls: Calls::new(backend),
            namespace: DEFAULT_NAMESPACE.to_owned(),
            ttl: DEFAULT_SESSION_TTL,
            data: PhantomData,
        }
    }

    /// The text in front of every key of these sessions (default `session:`).
    #[must_use]
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// How long a session lives after its creation, [`update`](Self::update),
    /// [`touch`](Self::touch) or [`rotate`](Self::rotate) (a sliding expiry). Zero is
    /// refused by every call with [`ErrorKind::InvalidInput`].
    #[must_use]
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// The bound on each backend call, instead of [`default_timeout`](crate::default_timeout).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.calls.set_timeout(timeout);
        self
    }

    fn key(&self, id: &SessionId) -> SecretKey {
        SecretKey::secret(&self.namespace, id.expose())
    }

    fn index(&self, user: &str) -> SecretKey {
        SecretKey::public(&self.namespace, USER_INDEX, user)
    }

    fn ttl_checked(&self) -> Result<Duration> {
        check_ttl(Some(self.ttl))?;
        Ok(self.ttl)
    }

    /// Starts a session holding `data`, for `user` if given, and returns its fresh id.
    ///
    /// # Errors
    ///
    /// The backend's error or [`ErrorKind::Timeout`]; [`ErrorKind::Codec`] if `data` does
    /// not encode. If the session was stored but the user index could not be written, the
    /// session is deleted again and the error returned.
    pub async fn create(&self, user: Option<&str>, data: &T) -> Result<SessionId> {
        let stored = Stored {
            user,
            created_ms: millis_since_epoch(SystemTime::now()),
            data,
        };
        let bytes = encode_fresh(&self.namespace, &stored, RECORD)?;
        let id = self.insert_fresh(bytes).await?;
        if let Some(user) = user
            && let Err(error) = self.index_add(user, &id).await
        {
            // Unlisted, the session would escape `destroy_all_for_user`: take it back.
            let _ = self.calls.delete(&self.key(&id)).await;
            return Err(error);
        }
        Ok(id)
    }

    /// Stores `bytes` under a fresh id, drawing another on the (astronomically unlikely)
    /// collision with a live one.
    async fn insert_fresh(&self, bytes: Bytes) -> Result<SessionId> {
        let ttl = self.ttl_checked()?;
        for _ in 0..FRESH_ID_ATTEMPTS {
            let id = SessionId::random()?;
            if self
                .calls
                .set_if_absent(&self.key(&id), bytes.clone(), ttl)
                .await?
            {
                return Ok(id);
            }
        }
        Err(no_free_id(&self.namespace))
    }

    /// The session's data, or `None` if there is no such session (never created, expired,
    /// destroyed or rotated away).
    ///
    /// # Errors
    ///
    /// The backend's error or [`ErrorKind::Timeout`]; [`ErrorKind::Codec`] for a value under
    /// the key that is not a session record holding a `T`.
    pub async fn load(&self, id: &SessionId) -> Result<Option<T>> {
        Ok(self.record(id).await?.map(|record| record.data))
    }

    /// [`load`](Self::load), with the session's user and creation time.
    ///
    /// # Errors
    ///
    /// As [`load`](Self::load).
    pub async fn record(&self, id: &SessionId) -> Result<Option<SessionRecord<T>>> {
        let key = self.key(id);
        let Some(bytes) = self.calls.get(&key).await? else {
            return Ok(None);
        };
        let stored: Stored<String, T> = key.decode(&bytes, RECORD)?;
        Ok(Some(record(stored)))
    }

    /// Replaces the session's data and renews its TTL. `false`, storing nothing, if the
    /// session is gone: an update never brings back an expired, destroyed or rotated
    /// session (`SET XX`).
    ///
    /// # Errors
    ///
    /// As [`load`](Self::load).
    pub async fn update(&self, id: &SessionId, data: &T) -> Result<bool> {
        let key = self.key(id);
        let Some(meta) = self.meta(&key).await? else {
            return Ok(false);
        };
        let stored = Stored {
            user: meta.user.as_deref(),
            created_ms: meta.created_ms,
            data,
        };
        let bytes = key.encode(&stored, RECORD)?;
        if let Some(user) = &meta.user {
            self.index_keep(user, id).await?;
        }
        self.calls.replace(&key, &bytes, self.ttl_checked()?).await
    }

    /// Renews the session's TTL (a sliding expiry, for each request of an active user).
    /// `false` if the session is gone.
    ///
    /// # Errors
    ///
    /// As [`load`](Self::load).
    pub async fn touch(&self, id: &SessionId) -> Result<bool> {
        let key = self.key(id);
        let Some(meta) = self.meta(&key).await? else {
            return Ok(false);
        };
        let ttl = self.ttl_checked()?;
        if let Some(user) = &meta.user {
            // The index first, so it never lives shorter than the session it lists.
            self.index_keep(user, id).await?;
        }
        self.calls.expire(&key, ttl).await
    }

    /// Moves the session to a fresh id, for a login or a privilege change (session
    /// fixation): returns the new id, or `None` if the session is gone. The old id is dead
    /// before the new one exists: the record is taken from it in one step (`GETDEL`), then
    /// stored under the new id with a renewed TTL.
    ///
    /// If the process dies (or the backend fails) between the two steps, the session is
    /// gone and its user must log in again: rotation fails closed, never leaving both ids
    /// alive.
    ///
    /// # Errors
    ///
    /// As [`load`](Self::load); after an error the old id is dead as well.
    pub async fn rotate(&self, id: &SessionId) -> Result<Option<SessionId>> {
        let key = self.key(id);
        let Some(bytes) = self.calls.take(&key).await? else {
            return Ok(None);
        };
        let meta: Meta = key.decode(&bytes, RECORD)?;
        let fresh = self.insert_fresh(bytes).await?;
        if let Some(user) = &meta.user {
            self.index_add(user, &fresh).await?;
            self.calls
                .set_remove(&self.index(user), &[member(id)])
                .await?;
        }
        Ok(Some(fresh))
    }

    /// Ends the session (a logout). Returns whether there was one.
    ///
    /// # Errors
    ///
    /// The backend's error or [`ErrorKind::Timeout`]. A record that does not decode is
    /// removed all the same, with a warning.
    pub async fn destroy(&self, id: &SessionId) -> Result<bool> {
        let key = self.key(id);
        let Some(bytes) = self.calls.take(&key).await? else {
            return Ok(false);
        };
        match key.decode::<Meta>(&bytes, RECORD) {
            Ok(Stored {
                user: Some(user), ..
            }) => {
                self.calls
                    .set_remove(&self.index(&user), &[member(id)])
                    .await?;
            }
            Ok(_) => {}
            // Gone either way; its user's index drops the id at the next listing.
            Err(error) => tracing::warn!(%error, "destroyed a session that did not decode"),
        }
        Ok(true)
    }

    /// The live sessions of `user`, with their ids, in no particular order. Ids of
    /// sessions that are gone are dropped from the user's index on the way.
    ///
    /// # Errors
    ///
    /// As [`load`](Self::load), for any of the sessions.
    pub async fn list_for_user(&self, user: &str) -> Result<Vec<(SessionId, SessionRecord<T>)>> {
        let index = self.index(user);
        let (ids, mut gone) = self.members(&index).await?;
        let keys: Vec<SecretKey> = ids.iter().map(|id| self.key(id)).collect();
        let values = if keys.is_empty() {
            Vec::new()
        } else {
            self.calls.get_many(&index, &keys).await?
        };
        let mut live = Vec::with_capacity(ids.len());
        for ((id, key), value) in ids.into_iter().zip(&keys).zip(values) {
            let Some(bytes) = value else {
                gone.push(member(&id));
                continue;
            };
            let stored: Stored<String, T> = key.decode(&bytes, RECORD)?;
            if stored.user.as_deref() == Some(user) {
                live.push((id, record(stored)));
            } else {
                // Not this user's: never list (or destroy) it on their behalf.
                gone.push(member(&id));
            }
        }
        self.calls.set_remove(&index, &gone).await?;
        Ok(live)
    }

    /// Ends every session of `user` ("log out everywhere", after a password change).
    /// Returns how many there were. A session created while this runs may survive it.
    ///
    /// # Errors
    ///
    /// The backend's error or [`ErrorKind::Timeout`].
    pub async fn destroy_all_for_user(&self, user: &str) -> Result<u64> {
        let index = self.index(user);
        let (ids, mut listed) = self.members(&index).await?;
        let keys: Vec<SecretKey> = ids.iter().map(|id| self.key(id)).collect();
        let removed = if keys.is_empty() {
            0
        } else {
            self.calls.delete_many(&index, &keys).await?
        };
        // Only the members seen: one a concurrent `create` just added stays listed.
        listed.extend(ids.iter().map(member));
        self.calls.set_remove(&index, &listed).await?;
        Ok(removed)
    }

    /// The ids in a user's index, and the members that are not ids at all (to drop).
    async fn members(&self, index: &SecretKey) -> Result<(Vec<SessionId>, Vec<Bytes>)> {
        let mut ids = Vec::new();
        let mut junk = Vec::new();
        for raw in self.calls.set_members(index).await? {
            match std::str::from_utf8(&raw).ok().map(SessionId::parse) {
                Some(Ok(id)) => ids.push(id),
                _ => junk.push(raw),
            }
        }
        Ok((ids, junk))
    }

    /// The session's record without its data, or `None` if it is gone.
    async fn meta(&self, key: &SecretKey) -> Result<Option<Meta>> {
        match self.calls.get(key).await? {
            Some(bytes) => key.decode(&bytes, RECORD).map(Some),
            None => Ok(None),
        }
    }

    /// Lists `id` in the user's index and gives the index the sessions' TTL.
    async fn index_add(&self, user: &str, id: &SessionId) -> Result<()> {
        let index = self.index(user);
        self.calls.set_add(&index, &[member(id)]).await?;
        self.calls.expire(&index, self.ttl_checked()?).await?;
        Ok(())
    }

    /// Renews the user index's TTL before a session's is renewed, re-listing the session if
    /// the index is gone.
    async fn index_keep(&self, user: &str, id: &SessionId) -> Result<()> {
        let index = self.index(user);
        if !self.calls.expire(&index, self.ttl_checked()?).await? {
            self.index_add(user, id).await?;
        }
        Ok(())
    }
}

/// A session's member in its user's index: the id's text.
fn member(id: &SessionId) -> Bytes {
    Bytes::copy_from_slice(id.expose().as_bytes())
}

fn record<T>(stored: Stored<String, T>) -> SessionRecord<T> {
    SessionRecord {
        data: stored.data,
        user: stored.user,
        created: UNIX_EPOCH + Duration::from_millis(stored.created_ms),
    }
}

fn millis_since_epoch(time: SystemTime) -> u64 {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
}

/// The error of a create that found every fresh id taken.
pub(super) fn no_free_id(namespace: &str) -> Error {
    Error::new(
        ErrorKind::Backend,
        format!(
            "no free id under `{namespace}` after {FRESH_ID_ATTEMPTS} random draws: the backend \
             refuses every `set_if_absent`"
        ),
    )
}
