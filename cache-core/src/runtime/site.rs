//! [`Site`]: one cached function, its options and its state.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use super::fleet::{DEFAULT_LOCK_LEASE, DEFAULT_LOCK_WAIT};
use super::functions::{self, FunctionKind};
use super::grace::{Grace, GraceState};
use super::registry::{Entry, with_resolved};
use super::settings;
use super::single_flight::Flights;
use super::stats::{self, Counters};
use crate::LockStore;

/// One cached function: its name, options and per-function state. Generated code keeps one in
/// a `static` inside the function.
pub struct Site {
    config: SiteConfig,
    /// The method's type, for methods (see [`of`](Self::of)).
    owner: OnceLock<&'static str>,
    state: OnceLock<SiteState>,
}

/// What a [`Site`] is told at compile time. A struct with named fields, so that generated
/// code says which option each value is.
#[derive(Debug, Clone, Copy)]
pub struct SiteConfig {
    /// `module::path::function`, as the function's stats are counted under.
    pub name: &'static str,
    /// The key template as written (`user:<id>`), or `None` for a cache-aside site whose keys
    /// are built at run time: what [`functions`](crate::functions) lists.
    pub key: Option<&'static str>,
    /// The macro's options as written, for [`functions`](crate::functions).
    pub options: &'static str,
    /// The backend registered under this name, or the default.
    pub backend: Option<&'static str>,
    /// How long values live, or forever.
    pub ttl: Option<Duration>,
    /// How long the backend may take, or [`settings::default_timeout`].
    pub timeout: Option<Duration>,
    /// Whether a miss claims the key on a backend with locks, so one process in the fleet
    /// runs the body (`lock = false` turns it off).
    pub lock: bool,
    /// The claim's lease, or 10 s.
    pub lock_lease: Option<Duration>,
    /// How long to wait for another process's value, or 10 s.
    pub lock_wait: Option<Duration>,
    /// Spreads each key's TTL by up to this fraction either way (`jitter = 0.1`: ±10%),
    /// the same for a key every time, so values written together do not expire together.
    pub jitter: Option<f64>,
    /// How the function serves past its `ttl`: stale-while-revalidate, refresh-ahead and
    /// fail-safe (see [`Grace`]), or not at all.
    pub grace: Option<Grace>,
}

pub(crate) struct SiteState {
    name: &'static str,
    pub(crate) counters: &'static Counters,
    pub(crate) flights: Flights,
    /// Refreshes in flight and failing keys, of a function with [`Grace`].
    pub(crate) grace: GraceState,
}

impl std::fmt::Debug for Site {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Site")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Site {
    /// A site with these options.
    #[must_use]
    pub const fn new(config: SiteConfig) -> Self {
        Self {
            config,
            owner: OnceLock::new(),
            state: OnceLock::new(),
        }
    }

    /// The site of a method of `T`: its stats are counted as `module::T::method`, so methods
    /// of one name on two types in one module are two functions. Generated code for methods
    /// calls it on every call; after the first it is one load.
    #[inline]
    pub fn of<T: ?Sized>(&'static self) -> &'static Self {
        self.owner.get_or_init(short_type_name::<T>);
        self
    }

    /// The function's name, as its stats are counted under: `module::path::function`, or
    /// `module::path::Type::method` for a method.
    #[must_use]
    pub fn name(&self) -> &'static str {
        self.state().name
    }

    /// The key template as written, or `<built at run time>` for a cache-aside site: for
    /// spans, never for metrics.
    pub(crate) fn template(&self) -> &'static str {
        self.config.key.unwrap_or("<built at run time>")
    }

    /// How long the value stored under `key` lives on the backend: fresh for
    /// [`fresh_for`](Self::fresh_for), then kept as long as the function's [`Grace`] may
    /// serve it.
    pub(crate) fn ttl_for(&self, key: &str) -> Option<Duration> {
        let fresh = self.fresh_for(key)?;
        Some(match &self.config.grace {
            Some(grace) => fresh.saturating_add(grace.keep()),
            None => fresh,
        })
    }

    /// How long the value stored under `key` is fresh: the function's TTL, spread by its
    /// jitter.
    pub(crate) fn fresh_for(&self, key: &str) -> Option<Duration> {
        let ttl = self.config.ttl?;
        Some(match self.config.jitter {
            Some(jitter) => jittered(ttl, jitter, key),
            None => ttl,
        })
    }

    /// The function's [`Grace`], or none (every option off).
    #[inline]
    pub(crate) fn grace(&self) -> Grace {
        self.config.grace.unwrap_or_default()
    }

    /// The registered name of the function's backend, if it names one.
    #[inline]
    pub(crate) fn backend_name(&self) -> Option<&'static str> {
        self.config.backend
    }

    #[inline]
    pub(crate) fn state(&self) -> &SiteState {
        self.state.get_or_init(|| {
            let name = match self.owner.get() {
                Some(owner) => method_name(self.config.name, owner),
                None => self.config.name,
            };
            functions::register(functions::Info {
                kind: match self.config.key {
                    Some(_) => FunctionKind::Cached,
                    None => FunctionKind::CacheAside,
                },
                path: name,
                key: self.config.key,
                options: self.config.options,
                backend: self.config.backend,
            });
            SiteState {
                name,
                counters: stats::handle(name),
                flights: Flights::new(),
                grace: GraceState::default(),
            }
        })
    }

    pub(crate) fn counters(&self) -> &'static Counters {
        self.state().counters
    }

    /// The backend serving this function now, owned for the awaits of a miss.
    pub(crate) fn backend(&self) -> Entry {
        let served = with_resolved(self.config.backend, Arc::clone);
        #[cfg(feature = "metrics")]
        self.counters().saw(&*served.backend);
        served
    }

    /// The backend's locks, if it has them and the function claims keys.
    pub(crate) fn locks<'a>(&self, served: &'a Entry) -> Option<&'a dyn LockStore> {
        if self.config.lock {
            served.backend.locks()
        } else {
            None
        }
    }

    pub(crate) fn lock_lease(&self) -> Duration {
        self.config.lock_lease.unwrap_or(DEFAULT_LOCK_LEASE)
    }

    pub(crate) fn lock_wait(&self) -> Duration {
        self.config.lock_wait.unwrap_or(DEFAULT_LOCK_WAIT)
    }

    /// The bound on everything one call spends on the backend.
    pub(crate) fn timeout(&self) -> Duration {
        self.config
            .timeout
            .unwrap_or_else(settings::default_timeout)
    }
}

/// `T`'s name without its path or generic arguments: `Repo` for `app::db::Repo<u32>`.
fn short_type_name<T: ?Sized>() -> &'static str {
    let full = std::any::type_name::<T>();
    let path = full.split('<').next().unwrap_or(full);
    path.rsplit("::").next().unwrap_or(path)
}

/// `module::Type::method` from `module::method` and `Type`. Made once per method site and
/// kept for the life of the process, as stats names are.
fn method_name(function: &str, owner: &str) -> &'static str {
    let (module, method) = function.rsplit_once("::").unwrap_or(("", function));
    let name = if module.is_empty() {
        format!("{owner}::{method}")
    } else {
        format!("{module}::{owner}::{method}")
    };
    Box::leak(name.into_boxed_str())
}

/// `ttl` moved by up to `jitter` of itself either way, by a hash of `key` (FNV-1a, then
/// MurmurHash3's finalizer: FNV alone leaves its high bits nearly the same for keys that
/// differ in their last bytes), so the spread is the same in every process and every build.
/// Never below a millisecond.
fn jittered(ttl: Duration, jitter: f64, key: &str) -> Duration {
    let mut hash = key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    });
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    hash ^= hash >> 33;
    // The top 53 bits as a fraction in [0, 1), then a factor in [1 - jitter, 1 + jitter).
    #[allow(clippy::cast_precision_loss)]
    let unit = (hash >> 11) as f64 / (1_u64 << 53) as f64;
    let factor = 1.0 + jitter * (2.0 * unit - 1.0);
    ttl.mul_f64(factor).max(Duration::from_millis(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_are_named_by_their_type() {
        struct Repo<T>(T);
        assert_eq!(short_type_name::<Repo<Vec<u8>>>(), "Repo");
        assert_eq!(short_type_name::<str>(), "str");
        assert_eq!(method_name("app::db::find", "Repo"), "app::db::Repo::find");
        assert_eq!(method_name("find", "Repo"), "Repo::find");
    }
}
