//! Which backend a cached function uses: the process-wide default, named backends, and
//! task-scoped overrides for tests.

use std::any::Any;
use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use arc_swap::ArcSwap;

use super::health::Health;
use crate::{CacheBackend, MemoryBackend};

/// A shared backend, as [`backend`] returns it.
pub type DynBackend = Arc<dyn CacheBackend>;

/// A backend as the registry holds it: the backend and its breaker.
pub(crate) struct Served {
    pub(crate) backend: DynBackend,
    pub(crate) health: Health,
}

/// A registry entry.
pub(crate) type Entry = Arc<Served>;

struct Backends {
    default: Entry,
    named: HashMap<String, Entry>,
}

static GLOBAL: LazyLock<ArcSwap<Backends>> = LazyLock::new(|| {
    ArcSwap::from_pointee(Backends {
        default: entry(MemoryBackend::new()),
        named: HashMap::new(),
    })
});

/// Overrides in force for the current task, innermost first in resolution.
#[derive(Clone, Default)]
struct Scope {
    default: Option<Entry>,
    named: HashMap<String, Entry>,
}

tokio::task_local! {
    static SCOPE: Scope;
}

/// Set by the first [`with_backend`] / [`with_named_backend`]: until then no task can be in a
/// scope, and the hit path skips the task-local lookup.
static SCOPES_USED: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// Each thread's view of [`GLOBAL`]: validating it is one atomic load, where `load()` on
    /// the `ArcSwap` itself takes a debt slot. A thread keeps a replaced table alive until its
    /// next lookup; tables are tiny and replaced only at start-up.
    static LOCAL: RefCell<arc_swap::Cache<&'static ArcSwap<Backends>, Arc<Backends>>> =
        RefCell::new(arc_swap::Cache::new(&*GLOBAL));
}

/// Installs `backend` as the process-wide default, used by every cached function that names
/// no backend. Until this is called, a [`MemoryBackend`] with default settings serves.
///
/// Call it at start-up, before the first cached call; calls already running keep the backend
/// they started with.
///
/// ```
/// use cache_core::{set_global_backend, MemoryBackend};
///
/// set_global_backend(MemoryBackend::builder().max_entries(50_000).build());
/// ```
pub fn set_global_backend(backend: impl CacheBackend) {
    let backend = entry(backend);
    GLOBAL.rcu(|current| Backends {
        default: backend.clone(),
        named: current.named.clone(),
    });
}

/// Registers `backend` under `name`, for functions that select it with
/// `#[cached(backend = "name")]`. Replaces any backend already registered under that name.
///
/// A name that was never registered resolves to the default backend, with a warning in the
/// log, so a typo degrades to the default store rather than failing the call.
///
/// ```
/// use cache_core::{register_backend, MemoryBackend};
///
/// register_backend("sessions", MemoryBackend::builder().max_entries(1_000).build());
/// ```
pub fn register_backend(name: &str, backend: impl CacheBackend) {
    let backend = entry(backend);
    GLOBAL.rcu(|current| {
        let mut named = current.named.clone();
        named.insert(name.to_owned(), backend.clone());
        Backends {
            default: current.default.clone(),
            named,
        }
    });
}

/// The backend a function naming `name` (or none) would use right now, in this task.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> cache_core::Result<()> {
/// use cache_core::CacheBackend;
/// cache_core::backend(None).ping().await?;
/// # Ok(()) }
/// ```
#[must_use]
pub fn backend(name: Option<&str>) -> DynBackend {
    with_resolved(name, |entry| Arc::clone(&entry.backend))
}

/// Resolves the backend for `name` and hands it to `f`; the global path does not clone the
/// `Arc`, so the macro's hit path pays no reference-count traffic for it.
#[inline]
pub(crate) fn with_resolved<R>(name: Option<&str>, f: impl FnOnce(&Entry) -> R) -> R {
    if SCOPES_USED.load(Ordering::Relaxed) {
        let scoped = SCOPE.try_with(|scope| {
            name.and_then(|name| scope.named.get(name))
                .or(scope.default.as_ref())
                .cloned()
        });
        if let Ok(Some(backend)) = scoped {
            return f(&backend);
        }
    }
    let mut f = Some(f);
    let cached = LOCAL.try_with(|local| {
        let mut local = local.try_borrow_mut().ok()?;
        let global = local.load();
        f.take().map(|f| f(resolve(global, name)))
    });
    match (cached, f) {
        (Ok(Some(result)), _) => result,
        // Thread-local unavailable (thread teardown) or re-entered: the shared path.
        (_, Some(f)) => f(resolve(&GLOBAL.load(), name)),
        (_, None) => unreachable_resolution(),
    }
}

#[inline]
fn resolve<'a>(global: &'a Backends, name: Option<&str>) -> &'a Entry {
    match name {
        None => &global.default,
        Some(name) => global.named.get(name).unwrap_or_else(|| {
            unknown_name(name, global);
            &global.default
        }),
    }
}

/// Every backend a function could be served by right now, in this task: the default's and
/// each registered name's, each backend once.
pub(crate) fn every_serving() -> Vec<Entry> {
    let mut names: Vec<String> = GLOBAL.load().named.keys().cloned().collect();
    if let Ok(scoped) = SCOPE.try_with(|scope| scope.named.keys().cloned().collect::<Vec<_>>()) {
        names.extend(scoped);
    }
    let mut serving: Vec<Entry> = Vec::with_capacity(names.len() + 1);
    let candidates = std::iter::once(None).chain(names.iter().map(|name| Some(name.as_str())));
    for name in candidates {
        let served = with_resolved(name, Arc::clone);
        if !serving
            .iter()
            .any(|seen| std::ptr::addr_eq(Arc::as_ptr(&seen.backend), Arc::as_ptr(&served.backend)))
        {
            serving.push(served);
        }
    }
    serving
}

/// Lookups of names that were never registered, by name. A misspelt `backend = "..."` is a
/// bug that fails open, so it is made loud: logged at its first use (an error in debug builds,
/// a warning otherwise) with the names that are registered, and counted on every use.
static UNKNOWN: Mutex<Vec<(String, u64)>> = Mutex::new(Vec::new());

#[cold]
fn unknown_name(name: &str, global: &Backends) {
    let mut unknown = UNKNOWN.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((_, uses)) = unknown.iter_mut().find(|(known, _)| known == name) {
        *uses += 1;
        return;
    }
    unknown.push((name.to_owned(), 1));
    let mut registered: Vec<&str> = global.named.keys().map(String::as_str).collect();
    registered.sort_unstable();
    let registered = registered.join(", ");
    if cfg!(debug_assertions) {
        tracing::error!(
            backend = name,
            registered,
            "no backend registered under this name; using the default backend"
        );
    } else {
        tracing::warn!(
            backend = name,
            registered,
            "no backend registered under this name; using the default backend"
        );
    }
}

/// The backend names looked up without being registered, with how often each was.
pub(crate) fn unknown_names() -> Vec<(String, u64)> {
    UNKNOWN
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
}

/// `f` is taken only inside the thread-local closure, which then returns its result.
#[cold]
fn unreachable_resolution() -> ! {
    unreachable!("backend resolution consumed its callback without a result")
}

/// Runs `future` with `backend` serving every cached call made in it, named or not, instead of
/// the global ones. The override follows the task across `.await` and never leaks into other
/// tasks, so parallel tests each see their own backend.
///
/// Tasks spawned inside `future` do not inherit the override: wrap their futures too.
///
/// ```
/// use cache_core::{with_backend, MemoryBackend, CacheBackend, Bytes};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> cache_core::Result<()> {
/// let isolated = MemoryBackend::new();
/// with_backend(isolated.clone(), async {
///     cache_core::backend(None).set("k", Bytes::from_static(b"v"), None).await
/// })
/// .await?;
/// assert!(isolated.exists("k").await?);
/// # Ok(()) }
/// ```
pub async fn with_backend<F: Future>(backend: impl CacheBackend, future: F) -> F::Output {
    let mut scope = current_scope();
    scope.default = Some(entry(backend));
    scope.named.clear();
    SCOPE.scope(scope, future).await
}

/// Runs `future` with `backend` serving the functions that select `name`; everything else
/// resolves as it did outside. See [`with_backend`].
pub async fn with_named_backend<F: Future>(
    name: &str,
    backend: impl CacheBackend,
    future: F,
) -> F::Output {
    let mut scope = current_scope();
    scope.named.insert(name.to_owned(), entry(backend));
    SCOPE.scope(scope, future).await
}

/// The entries made so far, so that one backend installed again (in each `with_backend`
/// scope of a test, say) keeps one breaker: it is one backend, failing or not. An entry is
/// kept while it is in use or while anyone else holds its backend.
static ENTRIES: Mutex<Vec<Entry>> = Mutex::new(Vec::new());

/// `backend` as the registry holds it. A [`DynBackend`] is kept as it is rather than wrapped
/// again, so that scopes given clones of one `Arc` share one store (and its flights) and one
/// breaker; any other value is a backend of its own.
fn entry(backend: impl CacheBackend) -> Entry {
    let backend = shared(backend);
    let mut entries = ENTRIES.lock().unwrap_or_else(PoisonError::into_inner);
    // An entry held only here, whose backend only it holds, can never be asked for again.
    entries
        .retain(|served| Arc::strong_count(served) > 1 || Arc::strong_count(&served.backend) > 1);
    let same =
        |served: &&Entry| std::ptr::addr_eq(Arc::as_ptr(&served.backend), Arc::as_ptr(&backend));
    if let Some(existing) = entries.iter().find(same) {
        return Arc::clone(existing);
    }
    let served = Arc::new(Served {
        backend,
        health: Health::default(),
    });
    entries.push(Arc::clone(&served));
    served
}

/// `backend` behind an `Arc`: a [`DynBackend`] as it is, anything else in a new one.
pub(crate) fn shared(backend: impl CacheBackend) -> DynBackend {
    match (&backend as &dyn Any).downcast_ref::<DynBackend>() {
        Some(already) => Arc::clone(already),
        None => Arc::new(backend),
    }
}

fn current_scope() -> Scope {
    SCOPES_USED.store(true, Ordering::Relaxed);
    SCOPE.try_with(Scope::clone).unwrap_or_default()
}
