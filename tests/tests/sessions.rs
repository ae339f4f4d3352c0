//! Typed sessions and one-time tokens (`cache_core::session`), each check written once and
//! run on the memory backend (tokio's paused clock), on a real Redis and on a real 3-primary
//! Redis Cluster (real short sleeps: the server's clock),
//! plus the fail-closed checks on a faulty backend and a killed server.
#![allow(clippy::unwrap_used, clippy::panic, missing_docs)]

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use cache_core::session::{OneTimeTokens, SessionId, Sessions};
use cache_core::testing::conformance::SHORT_TTL;
use cache_core::testing::{Fault, Faults, Operation};
use cache_core::{Bytes, CacheBackend, ErrorKind, KeyTtl, MemoryBackend};
use cache_tests::bare::Bare;
use cache_tests::redis_harness::{RedisServer, shared_cluster, shared_server, unique_prefix};
use serde::{Deserialize, Serialize};
use tokio::time::sleep;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Cart {
    owner: String,
    items: Vec<u32>,
}

fn cart(items: &[u32]) -> Cart {
    Cart {
        owner: "alice".into(),
        items: items.to_vec(),
    }
}

fn sessions(backend: &(impl CacheBackend + Clone)) -> Sessions<Cart> {
    Sessions::new(backend.clone())
}

/// Create, load, record, destroy; a destroyed or unknown id loads nothing.
async fn create_load_destroy(backend: impl CacheBackend + Clone) {
    let store = sessions(&backend);
    let id = store.create(None, &cart(&[1])).await.unwrap();
    assert_eq!(store.load(&id).await.unwrap(), Some(cart(&[1])));
    let record = store.record(&id).await.unwrap().expect("live");
    assert_eq!(record.user, None);
    assert!(record.created <= std::time::SystemTime::now());
    assert!(store.destroy(&id).await.unwrap());
    assert_eq!(store.load(&id).await.unwrap(), None);
    assert!(!store.destroy(&id).await.unwrap());
    let unknown = SessionId::random().unwrap();
    assert_eq!(store.load(&unknown).await.unwrap(), None);
    let other = store.create(None, &cart(&[2])).await.unwrap();
    assert_ne!(other, id, "ids are fresh");
}

/// A session lives its TTL and no longer.
async fn sessions_expire(backend: impl CacheBackend + Clone) {
    let store = sessions(&backend).ttl(SHORT_TTL);
    let id = store.create(Some("alice"), &cart(&[1])).await.unwrap();
    sleep(SHORT_TTL / 4).await;
    assert!(store.load(&id).await.unwrap().is_some());
    sleep(SHORT_TTL).await;
    assert_eq!(store.load(&id).await.unwrap(), None);
    assert!(!store.touch(&id).await.unwrap());
    assert!(store.list_for_user("alice").await.unwrap().is_empty());
}

/// `touch` slides the expiry, and the user's index slides with it.
async fn touch_slides_expiry(backend: impl CacheBackend + Clone) {
    let store = sessions(&backend).ttl(SHORT_TTL);
    let id = store.create(Some("alice"), &cart(&[1])).await.unwrap();
    for _ in 0..4 {
        sleep(SHORT_TTL * 5 / 8).await;
        assert!(store.touch(&id).await.unwrap(), "touched while live");
    }
    // 2.5 TTLs after creation: alive, and still listed for its user.
    assert_eq!(store.load(&id).await.unwrap(), Some(cart(&[1])));
    let listed: Vec<SessionId> = store
        .list_for_user("alice")
        .await
        .unwrap()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(listed, [id]);
    sleep(SHORT_TTL * 5 / 4).await;
    assert_eq!(store.load(&id).await.unwrap(), None);
}

/// `update` replaces live data and renews the TTL, and never brings back a destroyed or
/// expired session.
async fn update_never_resurrects(backend: impl CacheBackend + Clone) {
    let store = sessions(&backend).ttl(SHORT_TTL);
    let id = store.create(Some("alice"), &cart(&[1])).await.unwrap();
    sleep(SHORT_TTL * 5 / 8).await;
    assert!(store.update(&id, &cart(&[1, 2])).await.unwrap());
    sleep(SHORT_TTL * 5 / 8).await;
    // Past the first TTL: the update renewed it.
    let record = store
        .record(&id)
        .await
        .unwrap()
        .expect("renewed by the update");
    assert_eq!(record.data, cart(&[1, 2]));
    assert_eq!(record.user.as_deref(), Some("alice"), "the owner is kept");

    assert!(store.destroy(&id).await.unwrap());
    assert!(!store.update(&id, &cart(&[3])).await.unwrap());
    assert_eq!(store.load(&id).await.unwrap(), None);
    assert!(
        !backend
            .exists(&format!("session:{}", id.expose()))
            .await
            .unwrap()
    );

    let expiring = store.create(None, &cart(&[4])).await.unwrap();
    sleep(SHORT_TTL * 3 / 2).await;
    assert!(!store.update(&expiring, &cart(&[5])).await.unwrap());
    assert_eq!(store.load(&expiring).await.unwrap(), None);
}

/// `rotate` gives a new id with the same data and owner; the old id is dead for every call.
async fn rotate_kills_old_id(backend: impl CacheBackend + Clone) {
    let store = sessions(&backend);
    let old = store.create(Some("alice"), &cart(&[7])).await.unwrap();
    let created = store.record(&old).await.unwrap().unwrap().created;
    let new = store.rotate(&old).await.unwrap().expect("live");
    assert_ne!(new, old);
    assert_eq!(store.load(&old).await.unwrap(), None);
    let record = store.record(&new).await.unwrap().expect("moved");
    assert_eq!(record.data, cart(&[7]));
    assert_eq!(record.user.as_deref(), Some("alice"));
    assert_eq!(record.created, created);
    assert_eq!(store.rotate(&old).await.unwrap(), None);
    assert!(!store.update(&old, &cart(&[8])).await.unwrap());
    assert!(!store.touch(&old).await.unwrap());
    assert!(!store.destroy(&old).await.unwrap());
    let listed: Vec<SessionId> = store
        .list_for_user("alice")
        .await
        .unwrap()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(listed, [new], "the index follows the rotation");
}

/// Each user's sessions are listed and destroyed together, and only theirs; user ids with
/// key and glob characters stay apart; ids of gone sessions are pruned.
async fn per_user_index(backend: impl CacheBackend + Clone) {
    let store = sessions(&backend);
    let users = ["alice", "a:b*", "a", "alice:x"];
    let mut ids = Vec::new();
    for (n, user) in users.iter().enumerate() {
        for item in 0..=n {
            let id = store
                .create(Some(user), &cart(&[item as u32]))
                .await
                .unwrap();
            ids.push((*user, id));
        }
    }
    let anonymous = store.create(None, &cart(&[])).await.unwrap();
    for (n, user) in users.iter().enumerate() {
        let listed = store.list_for_user(user).await.unwrap();
        assert_eq!(listed.len(), n + 1, "{user}");
        assert!(listed.iter().all(|(_, r)| r.user.as_deref() == Some(*user)));
    }
    // The index lives at least as long as its sessions.
    let index_ttl = backend.ttl("session:user:a%3Ab%2A").await.unwrap();
    assert!(
        matches!(index_ttl, KeyTtl::ExpiresIn(left) if left > Duration::from_secs(59 * 60)),
        "{index_ttl:?}"
    );

    // A session deleted behind the store's back is pruned from the listing.
    let (_, first_a) = ids.iter().find(|(u, _)| *u == "a").unwrap();
    backend
        .delete(&format!("session:{}", first_a.expose()))
        .await
        .unwrap();
    assert_eq!(store.list_for_user("a").await.unwrap().len(), 2);

    assert_eq!(store.destroy_all_for_user("a:b*").await.unwrap(), 2);
    assert!(store.list_for_user("a:b*").await.unwrap().is_empty());
    for (user, id) in &ids {
        let live = store.load(id).await.unwrap().is_some();
        assert_eq!(live, *user != "a:b*" && id != first_a, "{user}");
    }
    assert_eq!(store.destroy_all_for_user("nobody").await.unwrap(), 0);
    assert!(store.load(&anonymous).await.unwrap().is_some());
}

/// Bytes of the wrong shape under a session or token key are a codec error naming the key,
/// never a miss or a panic, and never showing the id.
async fn wrong_shape_is_codec_error(backend: impl CacheBackend + Clone) {
    let store = sessions(&backend);
    let id = SessionId::random().unwrap();
    let key = format!("session:{}", id.expose());
    for bytes in [
        &b"not json"[..],
        br#"{"user":null,"created_ms":1,"data":"a string, not a cart"}"#,
    ] {
        backend
            .set(&key, Bytes::copy_from_slice(bytes), None)
            .await
            .unwrap();
        let error = store.load(&id).await.expect_err("wrong shape");
        assert_eq!(error.kind(), ErrorKind::Codec, "{error}");
        assert!(error.to_string().contains("`session:<id>`"), "{error}");
        assert!(!error.to_string().contains(id.expose()), "{error}");
    }
    backend
        .set(&key, Bytes::from_static(b"[1,2]"), None)
        .await
        .unwrap();
    for error in [
        store.update(&id, &cart(&[1])).await.expect_err("update"),
        store.touch(&id).await.expect_err("touch"),
        store.rotate(&id).await.expect_err("rotate"),
    ] {
        assert_eq!(error.kind(), ErrorKind::Codec, "{error}");
        assert!(!error.to_string().contains(id.expose()), "{error}");
    }

    let tokens: OneTimeTokens<Cart> = OneTimeTokens::new(backend.clone());
    let token = tokens
        .issue(&cart(&[1]), Duration::from_secs(60))
        .await
        .unwrap();
    let (token_id, _) = token.expose().split_once('.').unwrap();
    backend
        .set(
            &format!("token:{token_id}"),
            Bytes::from_static(b"{}"),
            None,
        )
        .await
        .unwrap();
    let error = tokens.take(token.expose()).await.expect_err("wrong shape");
    assert_eq!(error.kind(), ErrorKind::Codec, "{error}");
    assert!(error.to_string().contains("`token:<id>`"), "{error}");
    assert!(!error.to_string().contains(token_id), "{error}");
}

/// A token is redeemed once; replays, forgeries, malformed and expired tokens get nothing.
async fn tokens_redeem_once(backend: impl CacheBackend + Clone) {
    let tokens: OneTimeTokens<Cart> = OneTimeTokens::new(backend.clone());
    let token = tokens
        .issue(&cart(&[1]), Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(format!("{token:?}"), "OneTimeToken(..)");
    assert_eq!(tokens.take(token.expose()).await.unwrap(), Some(cart(&[1])));
    assert_eq!(tokens.take(token.expose()).await.unwrap(), None);

    for malformed in ["", "x", "a.b", &token.expose().to_uppercase()] {
        assert_eq!(tokens.take(malformed).await.unwrap(), None, "{malformed}");
    }

    // The right id with a wrong secret: nothing, and the real token is spent.
    let token = tokens
        .issue(&cart(&[2]), Duration::from_secs(60))
        .await
        .unwrap();
    let (id, secret) = token.expose().split_once('.').unwrap();
    let flipped = if secret.starts_with('0') { "1" } else { "0" };
    let forged = format!("{id}.{flipped}{}", &secret[1..]);
    assert_eq!(tokens.take(&forged).await.unwrap(), None);
    assert_eq!(tokens.take(token.expose()).await.unwrap(), None);

    let short = tokens.issue(&cart(&[3]), SHORT_TTL).await.unwrap();
    sleep(SHORT_TTL * 3 / 2).await;
    assert_eq!(tokens.take(short.expose()).await.unwrap(), None);

    let error = tokens
        .issue(&cart(&[4]), Duration::ZERO)
        .await
        .expect_err("zero TTL");
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
}

/// Of 64 concurrent takes of one token, exactly one gets the value.
async fn tokens_concurrent_take(backend: impl CacheBackend + Clone) {
    let tokens: OneTimeTokens<Cart> = OneTimeTokens::new(backend.clone());
    for round in 0..3 {
        let token = tokens
            .issue(&cart(&[round]), Duration::from_secs(60))
            .await
            .unwrap();
        let token = Arc::new(token);
        let mut tasks = Vec::new();
        for _ in 0..64 {
            let (tokens, token) = (tokens.clone(), Arc::clone(&token));
            tasks.push(tokio::spawn(async move {
                tokens.take(token.expose()).await.unwrap()
            }));
        }
        let mut winners = 0;
        for task in tasks {
            if let Some(value) = task.await.unwrap() {
                assert_eq!(value, cart(&[round]));
                winners += 1;
            }
        }
        assert_eq!(winners, 1, "round {round}");
    }
}

/// Concurrent creates get distinct ids, all listed for their user.
async fn concurrent_creates(backend: impl CacheBackend + Clone) {
    let store = sessions(&backend);
    let mut tasks = Vec::new();
    for n in 0..64 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store.create(Some("many"), &cart(&[n])).await.unwrap()
        }));
    }
    let mut ids = HashSet::new();
    for task in tasks {
        assert!(ids.insert(task.await.unwrap().expose().to_owned()));
    }
    let listed = store.list_for_user("many").await.unwrap();
    assert_eq!(listed.len(), 64);
    assert!(listed.iter().all(|(id, _)| ids.contains(id.expose())));
    assert_eq!(store.destroy_all_for_user("many").await.unwrap(), 64);
}

/// Every check, once per backend: memory on the paused clock, Redis and Cluster on theirs.
macro_rules! session_checks {
    ($($check:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(start_paused = true)]
                async fn $check() {
                    super::$check(cache_core::MemoryBackend::new()).await;
                }
            )*
        }
        mod redis {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    let Some(server) = super::shared_server() else { return };
                    let backend = server.backend(&super::unique_prefix(stringify!($check))).await;
                    super::$check(backend).await;
                }
            )*
        }
        mod cluster {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    let Some(cluster) = super::shared_cluster() else { return };
                    let backend = cluster.backend(&super::unique_prefix(stringify!($check))).await;
                    super::$check(backend).await;
                }
            )*
        }
    };
}

session_checks!(
    create_load_destroy,
    sessions_expire,
    touch_slides_expiry,
    update_never_resurrects,
    rotate_kills_old_id,
    per_user_index,
    wrong_shape_is_codec_error,
    tokens_redeem_once,
    tokens_concurrent_take,
    concurrent_creates,
);

/// Every call that needs the backend is an error on a backend that is down, never a valid
/// session or a redeemed token.
async fn all_calls_fail(backend: Arc<dyn CacheBackend>, expected: ErrorKind) {
    let store: Sessions<Cart> =
        Sessions::new(Arc::clone(&backend)).timeout(Duration::from_millis(300));
    let tokens: OneTimeTokens<Cart> =
        OneTimeTokens::new(backend).timeout(Duration::from_millis(300));
    let id = SessionId::random().unwrap();
    let token = format!("{}.{}", id.expose(), id.expose());
    let errors = [
        store.create(Some("alice"), &cart(&[1])).await.map(drop),
        store.load(&id).await.map(drop),
        store.update(&id, &cart(&[1])).await.map(drop),
        store.touch(&id).await.map(drop),
        store.rotate(&id).await.map(drop),
        store.destroy(&id).await.map(drop),
        store.list_for_user("alice").await.map(drop),
        store.destroy_all_for_user("alice").await.map(drop),
        tokens
            .issue(&cart(&[1]), Duration::from_secs(60))
            .await
            .map(drop),
        tokens.take(&token).await.map(drop),
    ];
    for (n, outcome) in errors.into_iter().enumerate() {
        let error = outcome.expect_err("a down backend is never valid");
        assert_eq!(error.kind(), expected, "call {n}: {error}");
        assert!(
            !error.to_string().contains(id.expose()),
            "call {n}: {error}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_failing_backend_fails_closed() {
    all_calls_fail(
        Arc::new(Faults::down().wrap(MemoryBackend::new())),
        ErrorKind::Connection,
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn a_hanging_backend_times_out() {
    all_calls_fail(
        Arc::new(
            Faults::new()
                .always(Operation::ALL, Fault::Hang)
                .wrap(MemoryBackend::new()),
        ),
        ErrorKind::Timeout,
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn a_session_stored_before_the_fault_is_not_valid_during_it() {
    let faults = Faults::new();
    let store: Sessions<Cart> = Sessions::new(faults.wrap(MemoryBackend::new()));
    let id = store.create(Some("alice"), &cart(&[1])).await.unwrap();
    faults.always(Operation::ALL, Fault::Error(ErrorKind::Connection));
    assert!(store.load(&id).await.is_err());
    faults.heal();
    assert_eq!(store.load(&id).await.unwrap(), Some(cart(&[1])));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_redis_fails_closed() {
    let Some(mut server) = RedisServer::start() else {
        return;
    };
    let backend = server.backend(&unique_prefix("sessions_killed")).await;
    let store: Sessions<Cart> = Sessions::new(backend.clone()).timeout(Duration::from_secs(2));
    let id = store.create(None, &cart(&[1])).await.unwrap();
    server.kill();
    let error = store.load(&id).await.expect_err("no server, no session");
    assert!(
        matches!(error.kind(), ErrorKind::Connection | ErrorKind::Timeout),
        "{error}"
    );
    assert!(!error.to_string().contains(id.expose()), "{error}");
}

#[tokio::test]
async fn a_backend_without_structures_says_so() {
    // Sessions without a user need only the byte store; the rest say what is missing.
    let store: Sessions<Cart> = Sessions::new(Bare(MemoryBackend::new()));
    let id = store.create(None, &cart(&[1])).await.unwrap();
    assert_eq!(store.load(&id).await.unwrap(), Some(cart(&[1])));
    let error = store.rotate(&id).await.expect_err("rotate needs take");
    assert_eq!(error.kind(), ErrorKind::Unsupported, "{error}");
    assert!(error.to_string().contains("session:<id>"), "{error}");
}
