//! [`TowerSessionStore`]: a `tower-sessions` (0.15) store over any backend.

use std::fmt;
use std::time::Duration;

use time::OffsetDateTime;
use tower_sessions_core::session::{Id, Record};
use tower_sessions_core::session_store::{self, SessionStore};

use super::calls::{Calls, FRESH_ID_ATTEMPTS};
use super::key::SecretKey;
use super::store::{DEFAULT_NAMESPACE, no_free_id};
use crate::{CacheBackend, Error, ErrorKind};

const RECORD: &str = "a tower-sessions record";

/// A [`tower_sessions_core::SessionStore`] (what axum apps name `tower_sessions::SessionStore`)
/// over any backend, for `tower_sessions::SessionManagerLayer`.
///
/// Each session is its `Record` as JSON under `<namespace><id>` (default `session:`), with
/// a TTL to the millisecond from the record's expiry date:
///
/// - `create` stores with `set_if_absent`, drawing a new `record.id` on a collision;
/// - `save` replaces the record only if it is still there (`SET XX`): a session that expired
///   or was deleted (a logout in another request, a `cycle_id`) is never brought back, and
///   the save is an error (the middleware answers 500) rather than a silent no-op;
/// - `load` is `None` for a missing or expired record, `Err(Decode)` for bytes that are not
///   a record of that id;
/// - `delete` removes the key;
/// - a record whose expiry date has passed is not stored (`create`) and is deleted (`save`).
///
/// Backend errors become `Error::Backend`, with the session id shown as `<id>`. Each call is
/// bounded by [`default_timeout`](crate::default_timeout) (or [`timeout`](Self::timeout)).
///
/// ```
/// use cache_core::MemoryBackend;
/// use cache_core::session::TowerSessionStore;
/// use tower_sessions_core::session::{Id, Record};
/// use tower_sessions_core::SessionStore;
/// use time::{Duration, OffsetDateTime};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let store = TowerSessionStore::new(MemoryBackend::new());
/// let mut record = Record {
///     id: Id::default(),
///     data: [("user".to_owned(), serde_json::json!("alice"))].into(),
///     expiry_date: OffsetDateTime::now_utc() + Duration::minutes(10),
/// };
/// store.create(&mut record).await?;
/// assert_eq!(store.load(&record.id).await?, Some(record.clone()));
/// store.delete(&record.id).await?;
/// assert!(store.save(&record).await.is_err(), "a deleted session is not brought back");
/// assert_eq!(store.load(&record.id).await?, None);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct TowerSessionStore {
    calls: Calls,
    namespace: String,
}

impl fmt::Debug for TowerSessionStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TowerSessionStore")
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

impl TowerSessionStore {
    /// A store on `backend` under `session:`. An `Arc<dyn CacheBackend>` is used as it is;
    /// any other backend is put in one.
    pub fn new(backend: impl CacheBackend) -> Self {
        Self {
            calls: Calls::new(backend),
            namespace: DEFAULT_NAMESPACE.to_owned(),
        }
    }

    /// The text in front of every session key (default `session:`).
    #[must_use]
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// The bound on each backend call, instead of [`default_timeout`](crate::default_timeout).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.calls.set_timeout(timeout);
        self
    }

    fn key(&self, id: &Id) -> SecretKey {
        SecretKey::secret(&self.namespace, &id.to_string())
    }
}

/// How long a record expiring at `expiry` has left, to the millisecond; `None` once it is
/// due.
fn remaining(expiry: OffsetDateTime) -> Option<Duration> {
    let left = (expiry - OffsetDateTime::now_utc()).whole_milliseconds();
    u64::try_from(left)
        .ok()
        .filter(|&ms| ms > 0)
        .map(Duration::from_millis)
}

fn store_error(error: Error) -> session_store::Error {
    match error.kind() {
        ErrorKind::Codec => session_store::Error::Decode(error.to_string()),
        _ => session_store::Error::Backend(error.to_string()),
    }
}

#[async_trait::async_trait]
impl SessionStore for TowerSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        for _ in 0..FRESH_ID_ATTEMPTS {
            let Some(ttl) = remaining(record.expiry_date) else {
                return Ok(());
            };
            let key = self.key(&record.id);
            let bytes = key
                .encode(&*record, RECORD)
                .map_err(|error| session_store::Error::Encode(error.to_string()))?;
            if self
                .calls
                .set_if_absent(&key, bytes, ttl)
                .await
                .map_err(store_error)?
            {
                return Ok(());
            }
            record.id = Id::default();
        }
        Err(store_error(no_free_id(&self.namespace)))
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let key = self.key(&record.id);
        let Some(ttl) = remaining(record.expiry_date) else {
            // Its time is up: what is stored must not outlive it.
            self.calls.delete(&key).await.map_err(store_error)?;
            return Ok(());
        };
        let bytes = key
            .encode(record, RECORD)
            .map_err(|error| session_store::Error::Encode(error.to_string()))?;
        if self
            .calls
            .replace(&key, &bytes, ttl)
            .await
            .map_err(store_error)?
        {
            Ok(())
        } else {
            Err(session_store::Error::Backend(format!(
                "the session under `{}` ended (expired or deleted) before this save; it is not \
                 brought back",
                key.shown()
            )))
        }
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let key = self.key(id);
        let Some(bytes) = self.calls.get(&key).await.map_err(store_error)? else {
            return Ok(None);
        };
        let record: Record = key.decode(&bytes, RECORD).map_err(store_error)?;
        if record.id != *id {
            return Err(session_store::Error::Decode(format!(
                "`{}` holds the record of another session",
                key.shown()
            )));
        }
        Ok((record.expiry_date > OffsetDateTime::now_utc()).then_some(record))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.calls
            .delete(&self.key(id))
            .await
            .map(drop)
            .map_err(store_error)
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use time::Duration as Span;

    use super::*;
    use crate::{CacheBackend, MemoryBackend};

    fn record(id: i128, minutes: i64) -> Record {
        Record {
            id: Id(id),
            data: [("n".to_owned(), serde_json::json!(1))].into(),
            expiry_date: OffsetDateTime::now_utc() + Span::minutes(minutes),
        }
    }

    fn key(id: i128) -> String {
        format!("session:{}", Id(id))
    }

    #[tokio::test]
    async fn create_save_load_delete() {
        let memory = MemoryBackend::new();
        let store = TowerSessionStore::new(memory.clone());
        let mut created = record(7, 10);
        store.create(&mut created).await.expect("create");
        assert_eq!(created.id, Id(7));
        assert_eq!(
            store.load(&Id(7)).await.expect("load"),
            Some(created.clone())
        );
        let ttl = memory.ttl(&key(7)).await.expect("ttl");
        assert!(
            matches!(ttl, crate::KeyTtl::ExpiresIn(left) if left > Duration::from_secs(590)),
            "{ttl:?}"
        );

        let mut changed = created.clone();
        changed.data.insert("n".into(), serde_json::json!(2));
        store.save(&changed).await.expect("save");
        assert_eq!(
            store.load(&Id(7)).await.expect("load"),
            Some(changed.clone())
        );

        store.delete(&Id(7)).await.expect("delete");
        assert_eq!(store.load(&Id(7)).await.expect("load"), None);
        let error = store.save(&changed).await.expect_err("never resurrects");
        assert!(matches!(error, session_store::Error::Backend(_)), "{error}");
        assert!(!error.to_string().contains(&Id(7).to_string()), "{error}");
        assert!(!memory.exists(&key(7)).await.expect("exists"));
    }

    #[tokio::test]
    async fn a_colliding_create_draws_a_new_id() {
        let store = TowerSessionStore::new(MemoryBackend::new());
        let mut first = record(1, 10);
        store.create(&mut first).await.expect("create");
        let mut second = record(1, 10);
        second
            .data
            .insert("who".into(), serde_json::json!("second"));
        store.create(&mut second).await.expect("create");
        assert_ne!(second.id, Id(1));
        assert_eq!(store.load(&Id(1)).await.expect("load"), Some(first));
        assert_eq!(
            store.load(&second.id).await.expect("load"),
            Some(second.clone())
        );
    }

    #[tokio::test]
    async fn past_expiry_dates_store_nothing_and_load_nothing() {
        let memory = MemoryBackend::new();
        let store = TowerSessionStore::new(memory.clone());
        let mut expired = record(3, -1);
        store.create(&mut expired).await.expect("create");
        assert!(!memory.exists(&key(3)).await.expect("exists"));

        let mut live = record(4, 10);
        store.create(&mut live).await.expect("create");
        live.expiry_date = OffsetDateTime::now_utc() - Span::seconds(1);
        store.save(&live).await.expect("save");
        assert!(
            !memory.exists(&key(4)).await.expect("exists"),
            "ended on save"
        );

        // A record past its date under a key that is still there (clocks apart) is not loaded.
        let stale = serde_json::to_vec(&record(5, -1)).expect("encode");
        memory
            .set(&key(5), Bytes::from(stale), None)
            .await
            .expect("set");
        assert_eq!(store.load(&Id(5)).await.expect("load"), None);
    }

    #[tokio::test]
    async fn bad_bytes_are_decode_errors_without_the_id() {
        let memory = MemoryBackend::new();
        let store = TowerSessionStore::new(memory.clone());
        memory
            .set(&key(8), Bytes::from_static(b"{\"not\":\"a record\"}"), None)
            .await
            .expect("set");
        let error = store.load(&Id(8)).await.expect_err("bad bytes");
        assert!(matches!(error, session_store::Error::Decode(_)), "{error}");
        assert!(error.to_string().contains("session:<id>"), "{error}");
        assert!(!error.to_string().contains(&Id(8).to_string()), "{error}");

        let other = serde_json::to_vec(&record(9, 10)).expect("encode");
        memory
            .set(&key(8), Bytes::from(other), None)
            .await
            .expect("set");
        let error = store
            .load(&Id(8))
            .await
            .expect_err("another session's record");
        assert!(matches!(error, session_store::Error::Decode(_)), "{error}");
    }

    #[test]
    fn debug_shows_no_secret() {
        let store = TowerSessionStore::new(MemoryBackend::new());
        assert!(format!("{store:?}").starts_with("TowerSessionStore { namespace: \"session:\""));
    }
}
