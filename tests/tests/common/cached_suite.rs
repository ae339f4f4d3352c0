//! `#[cached]` behaviour, written once and run on any backend.
//!
//! Each function takes a fresh, empty backend (`DynBackend`, e.g. `Arc::new(MemoryBackend::new())`
//! or a Redis backend under a unique prefix), serves every cached call through it with
//! `with_backend`, and counts body runs. Counters are compared as deltas, but one function
//! must not run twice *concurrently* in one process (they share the counters).
//!
//! Time: `ttl_expiry` sleeps with `tokio::time::sleep`, so it is instant under
//! `#[tokio::test(start_paused = true)]` on the memory backend and takes ~1 s on Redis.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use cache_core::{Bytes, CacheBackend, DynBackend, cached, with_backend};
use serde::{Deserialize, Serialize};

/// Counts body runs.
pub struct Calls(AtomicUsize);

impl Calls {
    pub const fn new() -> Self {
        Self(AtomicUsize::new(0))
    }

    /// Counts one run and returns how many there were before it.
    pub fn bump(&self) -> usize {
        self.0.fetch_add(1, Ordering::SeqCst)
    }

    pub fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: u64,
    pub name: String,
}

static GET_USER: Calls = Calls::new();

/// The README example: a `Result`, cached on `Ok`.
#[cached(key = "user:<id>", ttl = 300)]
pub async fn get_user(id: u64) -> Result<User, String> {
    GET_USER.bump();
    if id == 0 {
        return Err("no user 0".to_owned());
    }
    Ok(User {
        id,
        name: format!("user-{id}"),
    })
}

/// Miss, then hit; another argument is another entry.
pub async fn miss_then_hit(backend: DynBackend) {
    with_backend(backend, async {
        let before = GET_USER.get();
        let first = get_user(7).await;
        assert_eq!(
            first,
            Ok(User {
                id: 7,
                name: "user-7".to_owned()
            })
        );
        assert_eq!(GET_USER.get() - before, 1, "the first call runs the body");
        assert_eq!(get_user(7).await, first, "the second call is a hit");
        assert_eq!(GET_USER.get() - before, 1, "a hit does not run the body");
        get_user(8).await.ok();
        assert_eq!(GET_USER.get() - before, 2, "another key is another entry");
    })
    .await;
}

/// `Err` is not cached by default: every call runs the body.
pub async fn err_not_cached(backend: DynBackend) {
    with_backend(backend, async {
        let before = GET_USER.get();
        assert!(get_user(0).await.is_err());
        assert!(get_user(0).await.is_err());
        assert_eq!(GET_USER.get() - before, 2);
    })
    .await;
}

static FIND: Calls = Calls::new();

#[cached(key = "find:<id>")]
async fn find(id: u64) -> Option<u64> {
    FIND.bump();
    (id > 0).then_some(id * 10)
}

static FIND_NONE: Calls = Calls::new();

#[cached(key = "find_none:<id>", cache_none)]
async fn find_caching_none(id: u64) -> Option<u64> {
    FIND_NONE.bump();
    (id > 0).then_some(id * 10)
}

static FALLIBLE: Calls = Calls::new();

#[cached(key = "fallible:<id>", cache_err = true)]
async fn fallible_caching_err(id: u64) -> Result<u64, String> {
    FALLIBLE.bump();
    Err(format!("failed {id}"))
}

/// `None` is not cached by default, `Some` is; `cache_none` and `cache_err` cache the rest.
pub async fn none_and_err_options(backend: DynBackend) {
    with_backend(backend, async {
        let before = FIND.get();
        assert_eq!(find(0).await, None);
        assert_eq!(find(0).await, None);
        assert_eq!(FIND.get() - before, 2, "`None` is not cached by default");
        assert_eq!(find(2).await, Some(20));
        assert_eq!(find(2).await, Some(20));
        assert_eq!(FIND.get() - before, 3, "`Some` is cached");

        let before = FIND_NONE.get();
        assert_eq!(find_caching_none(0).await, None);
        assert_eq!(find_caching_none(0).await, None);
        assert_eq!(FIND_NONE.get() - before, 1, "`cache_none` caches `None`");

        let before = FALLIBLE.get();
        assert_eq!(fallible_caching_err(1).await, Err("failed 1".to_owned()));
        assert_eq!(fallible_caching_err(1).await, Err("failed 1".to_owned()));
        assert_eq!(FALLIBLE.get() - before, 1, "`cache_err` caches `Err`");
    })
    .await;
}

static SEARCH: Calls = Calls::new();

#[cached(key = "search:<query>", unless = |hits: &Vec<String>| hits.is_empty())]
async fn search(query: &str) -> Vec<String> {
    SEARCH.bump();
    query
        .split(' ')
        .filter(|word| word.len() > 1)
        .map(str::to_owned)
        .collect()
}

/// `unless` vetoes caching one result, not the others.
pub async fn unless_vetoes(backend: DynBackend) {
    with_backend(backend, async {
        let before = SEARCH.get();
        assert!(search("a").await.is_empty());
        assert!(search("a").await.is_empty());
        assert_eq!(SEARCH.get() - before, 2, "a vetoed result is not cached");
        assert_eq!(search("ab cd").await.len(), 2);
        assert_eq!(search("ab cd").await.len(), 2);
        assert_eq!(SEARCH.get() - before, 3, "other results are");
    })
    .await;
}

pub struct Repo {
    pub tenant: String,
}

static REPO_FIND: Calls = Calls::new();

impl Repo {
    #[cached(key = "repo:<self.tenant>:<id>", ttl = "5m")]
    pub async fn find(&self, id: u64) -> Option<String> {
        REPO_FIND.bump();
        Some(format!("{}/{id}", self.tenant))
    }
}

/// Method keys use `self` fields: tenants do not share entries, instances of one tenant do.
pub async fn method_keys_use_self(backend: DynBackend) {
    with_backend(backend, async {
        let before = REPO_FIND.get();
        let acme = Repo {
            tenant: "acme".to_owned(),
        };
        let other = Repo {
            tenant: "other".to_owned(),
        };
        assert_eq!(acme.find(1).await.as_deref(), Some("acme/1"));
        assert_eq!(other.find(1).await.as_deref(), Some("other/1"));
        assert_eq!(REPO_FIND.get() - before, 2);
        let acme_again = Repo {
            tenant: "acme".to_owned(),
        };
        assert_eq!(acme_again.find(1).await.as_deref(), Some("acme/1"));
        assert_eq!(REPO_FIND.get() - before, 2, "same tenant, same entry");
        assert_eq!(acme.find_cache_key(1), "repo:acme:1");
    })
    .await;
}

static GENERIC: Calls = Calls::new();

#[cached(key = "generic:<value>")]
async fn echo<T>(value: T) -> Vec<T>
where
    T: cache_core::KeyPart
        + Clone
        + Serialize
        + serde::de::DeserializeOwned
        + Send
        + Sync
        + 'static,
{
    GENERIC.bump();
    vec![value.clone(), value]
}

/// A generic function caches each instantiation.
pub async fn generic_fn(backend: DynBackend) {
    with_backend(backend, async {
        let before = GENERIC.get();
        assert_eq!(echo(3_u32).await, vec![3, 3]);
        assert_eq!(echo(3_u32).await, vec![3, 3]);
        assert_eq!(
            echo("a".to_owned()).await,
            vec!["a".to_owned(), "a".to_owned()]
        );
        assert_eq!(
            echo("a".to_owned()).await,
            vec!["a".to_owned(), "a".to_owned()]
        );
        assert_eq!(GENERIC.get() - before, 2);
    })
    .await;
}

static DEFAULT_KEY: Calls = Calls::new();

#[cached]
async fn default_key(id: u64, name: &str) -> String {
    DEFAULT_KEY.bump();
    format!("{name}{id}")
}

/// The companions: `_cache_key` follows the documented format, `_invalidate` makes the next
/// call run the body, `_refresh` runs it and overwrites the entry.
pub async fn companions(backend: DynBackend) {
    let shared = Arc::clone(&backend);
    with_backend(backend, async {
        assert_eq!(get_user_cache_key(7), "user:7");
        assert_eq!(
            default_key_cache_key(7, "a:b*"),
            concat!(module_path!(), "::default_key:7:a%3Ab%2A"),
            "the default key is `module::fn` then `:` and each argument's escaped key form"
        );

        let before = DEFAULT_KEY.get();
        assert_eq!(default_key(1, "x").await, "x1");
        assert!(
            shared
                .exists(&default_key_cache_key(1, "x"))
                .await
                .unwrap_or(false),
            "stored under the documented key"
        );
        assert_eq!(default_key_invalidate(1, "x").await.ok(), Some(true));
        assert_eq!(
            default_key_invalidate(1, "x").await.ok(),
            Some(false),
            "nothing left to invalidate"
        );
        assert_eq!(default_key(1, "x").await, "x1");
        assert_eq!(
            DEFAULT_KEY.get() - before,
            2,
            "after invalidate, the body runs again"
        );

        let before = GET_USER.get();
        get_user(40).await.ok();
        assert_eq!(get_user_refresh(40).await.map(|user| user.id), Ok(40));
        assert_eq!(GET_USER.get() - before, 2, "refresh always runs the body");
        get_user(40).await.ok();
        assert_eq!(
            GET_USER.get() - before,
            2,
            "and leaves a fresh entry behind"
        );

        let repo = Repo {
            tenant: "t".to_owned(),
        };
        let before = REPO_FIND.get();
        repo.find(9).await;
        assert_eq!(repo.find_invalidate(9).await.ok(), Some(true));
        repo.find(9).await;
        assert_eq!(repo.find_refresh(9).await.as_deref(), Some("t/9"));
        assert_eq!(
            REPO_FIND.get() - before,
            3,
            "method companions work the same way"
        );
    })
    .await;
}

static REFRESHED: Calls = Calls::new();

/// Returns how many times its body ran before, so that a stale value shows.
#[cached(key = "refreshed:<id>")]
async fn refreshed(id: u64) -> (u64, usize) {
    (id, REFRESHED.bump())
}

/// `_refresh` calls the function in refresh mode: its body runs exactly once, whatever was
/// cached, and the entry is overwritten with the new value.
pub async fn refresh_overwrites(backend: DynBackend) {
    with_backend(backend, async {
        let before = REFRESHED.get();
        let stale = refreshed(1).await;
        assert_eq!(refreshed(1).await, stale, "the second call is a hit");
        let fresh = refreshed_refresh(1).await;
        assert_eq!(fresh, (1, stale.1 + 1), "refresh ran the body");
        assert_eq!(REFRESHED.get() - before, 2, "exactly once");
        assert_eq!(refreshed(1).await, fresh, "the entry was overwritten");
        assert_eq!(REFRESHED.get() - before, 2, "and a later call hits it");
        assert_eq!(
            refreshed(2).await,
            (2, stale.1 + 2),
            "other keys are untouched"
        );
    })
    .await;
}

static TTL: Calls = Calls::new();

#[cached(key = "ttl:<id>", ttl = 1)]
async fn short_lived(id: u64) -> u64 {
    TTL.bump();
    id
}

/// An entry expires after its TTL.
pub async fn ttl_expiry(backend: DynBackend) {
    with_backend(backend, async {
        let before = TTL.get();
        short_lived(1).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        short_lived(1).await;
        assert_eq!(TTL.get() - before, 1, "still fresh after 0.5 s");
        tokio::time::sleep(Duration::from_millis(700)).await;
        short_lived(1).await;
        assert_eq!(TTL.get() - before, 2, "expired after 1.2 s");
    })
    .await;
}

static SLOW: Calls = Calls::new();

#[cached(key = "slow:<id>")]
async fn slow(id: u64) -> u64 {
    SLOW.bump();
    tokio::time::sleep(Duration::from_millis(50)).await;
    id
}

/// 1000 concurrent callers of one cold key run the body once. Needs a multi-thread runtime
/// or not: the callers are spawned tasks, each with the backend installed.
pub async fn single_flight(backend: DynBackend) {
    let before = SLOW.get();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..1000 {
        tasks.spawn(with_backend(Arc::clone(&backend), slow(5)));
    }
    while let Some(result) = tasks.join_next().await {
        assert_eq!(result.ok(), Some(5));
    }
    assert_eq!(
        SLOW.get() - before,
        1,
        "one body run for 1000 concurrent callers"
    );
}

static LEADER: Calls = Calls::new();

#[cached(key = "leader:<id>")]
async fn leader_cancelled(id: u64) -> u64 {
    LEADER.bump();
    tokio::time::sleep(Duration::from_millis(200)).await;
    id
}

/// When the caller running the body is cancelled, a waiting caller takes over.
pub async fn cancelled_leader(backend: DynBackend) {
    let before = LEADER.get();
    let leader = tokio::spawn(with_backend(Arc::clone(&backend), leader_cancelled(1)));
    while LEADER.get() == before {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let follower = tokio::spawn(with_backend(Arc::clone(&backend), leader_cancelled(1)));
    tokio::time::sleep(Duration::from_millis(20)).await;
    leader.abort();
    let value = tokio::time::timeout(Duration::from_secs(5), follower).await;
    assert_eq!(
        value.ok().and_then(Result::ok),
        Some(1),
        "the follower is not stranded"
    );
    assert_eq!(LEADER.get() - before, 2, "the follower ran the body itself");
}

static CORRUPT: Calls = Calls::new();

#[cached(key = "corrupt:<id>")]
async fn over_corrupt(id: u64) -> User {
    CORRUPT.bump();
    User {
        id,
        name: "fresh".to_owned(),
    }
}

/// Undecodable bytes under the key: the body runs, its value is returned and overwrites them.
pub async fn corrupt_bytes_are_recomputed(backend: DynBackend) {
    let key = over_corrupt_cache_key(3);
    backend
        .set(&key, Bytes::from_static(b"\xffnot json"), None)
        .await
        .ok();
    let shared = Arc::clone(&backend);
    with_backend(backend, async {
        let before = CORRUPT.get();
        let (guard, captured) = cache_tests::logs::capture(tracing::Level::WARN);
        assert_eq!(over_corrupt(3).await.name, "fresh");
        drop(guard);
        assert_eq!(CORRUPT.get() - before, 1);
        let warnings = captured.events();
        assert_eq!(
            warnings.len(),
            1,
            "one line per undecodable value: {warnings:?}"
        );
        let stored = shared.get(&key).await.ok().flatten();
        let decoded = stored.and_then(|bytes| serde_json::from_slice::<User>(&bytes).ok());
        assert_eq!(
            decoded.map(|user| user.name).as_deref(),
            Some("fresh"),
            "overwritten with JSON"
        );
        assert_eq!(over_corrupt(3).await.name, "fresh");
        assert_eq!(CORRUPT.get() - before, 1, "then served from the cache");
    })
    .await;
}

static PANICKY: Calls = Calls::new();

/// How long `panicky`'s body works before it panics.
pub const PANICKY_BODY: Duration = Duration::from_millis(100);

/// The message of `panicky`'s panics, which the test expects.
const PANICKY_MESSAGE: &str = "the body of panicky panics";

/// Keeps `panicky`'s 200 expected panics out of the output (and their backtraces out of the
/// time measured); every other panic is reported as before.
fn quiet_panicky() {
    static QUIET: std::sync::Once = std::sync::Once::new();
    QUIET.call_once(|| {
        let report = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info.payload().downcast_ref::<&str>() != Some(&PANICKY_MESSAGE) {
                report(info);
            }
        }));
    });
}

#[cached(key = "panicky:<id>")]
async fn panicky(id: u64) -> u64 {
    PANICKY.bump();
    tokio::time::sleep(PANICKY_BODY).await;
    let _ = id;
    #[allow(clippy::panic)] // the panic is what the test is about
    std::panic::panic_any(PANICKY_MESSAGE);
}

/// 200 callers of a cold key whose body panics: when the leader's body panics, every waiter
/// is released at once and runs the body itself (each panics in turn), instead of taking
/// over one after another (which took 200 body times).
pub async fn panicking_body_releases_waiters(backend: DynBackend) {
    quiet_panicky();
    let before = PANICKY.get();
    let started = tokio::time::Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..200 {
        tasks.spawn(with_backend(Arc::clone(&backend), panicky(9)));
    }
    while let Some(result) = tasks.join_next().await {
        assert!(result.is_err_and(|error| error.is_panic()));
    }
    let elapsed = started.elapsed();
    assert_eq!(PANICKY.get() - before, 200, "each caller ran the body once");
    // Two body times (the leader's, then everyone else's at once) and slack for a real
    // server; queueing would take 200.
    assert!(
        elapsed < PANICKY_BODY * 4,
        "200 callers took {elapsed:?} for a body of {PANICKY_BODY:?}"
    );
}

/// The version the next `versioned` body reads, and how far its gate is open: a body that
/// reads an old version (one ending in 0) waits until the gate reaches its round.
static VERSION: AtomicUsize = AtomicUsize::new(0);
static GATE: std::sync::LazyLock<tokio::sync::watch::Sender<u64>> =
    std::sync::LazyLock::new(|| tokio::sync::watch::Sender::new(0));
static VERSIONED: Calls = Calls::new();

#[cached(key = "versioned:<round>")]
async fn versioned(round: u64) -> usize {
    let version = VERSION.load(Ordering::SeqCst);
    VERSIONED.bump();
    if version.is_multiple_of(10) {
        let mut gate = GATE.subscribe();
        let _ = gate.wait_for(|open| *open >= round).await;
    }
    version
}

/// Starts a load of `round` that reads the round's old version and stalls at the gate.
async fn start_stale_load(backend: &DynBackend, round: u64) -> tokio::task::JoinHandle<usize> {
    VERSION.store(round as usize * 10, Ordering::SeqCst);
    let before = VERSIONED.get();
    let load = tokio::spawn(with_backend(Arc::clone(backend), versioned(round)));
    while VERSIONED.get() == before {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    load
}

/// A load that began before an invalidation never refills the cache after it, and no caller
/// that starts after the invalidation returns sees the old value. Repeated, with the old load
/// finishing at once after the invalidation.
pub async fn invalidate_during_load(backend: DynBackend) {
    for round in 1..=20 {
        let stale = start_stale_load(&backend, round).await;
        let new = round as usize * 10 + 1;
        VERSION.store(new, Ordering::SeqCst);
        with_backend(Arc::clone(&backend), versioned_invalidate(round))
            .await
            .expect("invalidated");
        let after = tokio::spawn(with_backend(Arc::clone(&backend), versioned(round)));
        GATE.send_replace(round);
        assert_eq!(
            after.await.ok(),
            Some(new),
            "round {round}: a caller after the invalidation"
        );
        let old = stale.await.expect("the stalled load ends");
        assert_eq!(old, new - 1, "the stalled caller has its own (older) value");
        assert_eq!(
            with_backend(Arc::clone(&backend), versioned(round)).await,
            new,
            "round {round}: the stalled load refilled the cache with its old value"
        );
    }
}

/// A `_refresh` during a load wins: the older load's value is not stored over it.
pub async fn refresh_during_load(backend: DynBackend) {
    for round in 101..=110 {
        let stale = start_stale_load(&backend, round).await;
        let new = round as usize * 10 + 1;
        VERSION.store(new, Ordering::SeqCst);
        assert_eq!(
            with_backend(Arc::clone(&backend), versioned_refresh(round)).await,
            new
        );
        GATE.send_replace(round);
        stale.await.expect("the stalled load ends");
        assert_eq!(
            with_backend(Arc::clone(&backend), versioned(round)).await,
            new,
            "round {round}: the older load overwrote the refreshed value"
        );
    }
}
