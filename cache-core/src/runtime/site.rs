//! [`Site`]: one cached function, its options and its state.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use super::registry::{Entry, with_resolved};
use super::settings;
use super::single_flight::Flights;
use super::stats::{self, Counters};

/// One cached function: its name, options and per-function state. Generated code keeps one in
/// a `static` inside the function.
pub struct Site {
    config: SiteConfig,
    state: OnceLock<SiteState>,
}

/// What a [`Site`] is told at compile time. A struct with named fields, so that generated
/// code says which option each value is.
#[derive(Debug, Clone, Copy)]
pub struct SiteConfig {
    /// `module::path::function`, as the function's stats are counted under.
    pub name: &'static str,
    /// The backend registered under this name, or the default.
    pub backend: Option<&'static str>,
    /// How long values live, or forever.
    pub ttl: Option<Duration>,
    /// How long the backend may take, or [`settings::default_timeout`].
    pub timeout: Option<Duration>,
}

pub(crate) struct SiteState {
    pub(crate) counters: &'static Counters,
    pub(crate) flights: Flights,
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
            state: OnceLock::new(),
        }
    }

    /// The function's name, as its stats are counted under.
    #[must_use]
    pub fn name(&self) -> &'static str {
        self.config.name
    }

    pub(crate) fn ttl(&self) -> Option<Duration> {
        self.config.ttl
    }

    /// The registered name of the function's backend, if it names one.
    #[inline]
    pub(crate) fn backend_name(&self) -> Option<&'static str> {
        self.config.backend
    }

    #[inline]
    pub(crate) fn state(&self) -> &SiteState {
        self.state.get_or_init(|| SiteState {
            counters: stats::handle(self.config.name),
            flights: Flights::new(),
        })
    }

    pub(crate) fn counters(&self) -> &'static Counters {
        self.state().counters
    }

    /// The backend serving this function now, owned for the awaits of a miss.
    pub(crate) fn backend(&self) -> Entry {
        with_resolved(self.config.backend, Arc::clone)
    }

    /// The bound on everything one call spends on the backend.
    pub(crate) fn timeout(&self) -> Duration {
        self.config
            .timeout
            .unwrap_or_else(settings::default_timeout)
    }
}
