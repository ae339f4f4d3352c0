//! [`Faults`]: injected latency, errors, hangs and corrupt bytes, per operation, scripted or
//! at random from a seed.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;

use super::intercept::{Intercept, Interceptor, Operation, Verdict};
use crate::{CacheBackend, Error, ErrorKind, Result};

/// A backend whose operations misbehave as its [`Faults`] say.
pub type Faulty<B> = Intercept<B, Faults>;

/// What one operation suffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// It fails at once with an error of this kind (`Connection`: an unreachable server).
    Error(ErrorKind),
    /// It answers normally after this long, on tokio's clock (so paused tests wait no time).
    Latency(Duration),
    /// It never answers, as a frozen server does: only a timeout ends the wait.
    Hang,
    /// Its value is damaged so that no codec decodes it (see [`Verdict::Corrupt`]).
    Corrupt,
}

/// The fault plan of a [`Faulty`] backend: a cheap handle (clones share the plan), kept by the
/// test to change the faults while the backend is in use.
///
/// For each operation, in order of precedence:
///
/// 1. a **script** ([`script`](Self::script)): the next calls take its steps one each, a
///    `None` step being a call that works;
/// 2. a **standing** fault ([`always`](Self::always)) for every call until [`heal`](Self::heal);
/// 3. a **random** fault ([`random`](Self::random)): each call suffers it with a probability,
///    drawn from a generator seeded by the test, so a failing run can be replayed with its
///    seed (given the same order of calls).
///
/// ```
/// use std::time::Duration;
/// use cache_core::testing::{Fault, Faults, Operation};
/// use cache_core::{CacheBackend, ErrorKind, MemoryBackend};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> cache_core::Result<()> {
/// let faults = Faults::new();
/// let backend = faults.wrap(MemoryBackend::new());
/// backend.set("k", "v".into(), None).await?;
///
/// faults.script(Operation::Get, [Some(Fault::Error(ErrorKind::Connection)), None]);
/// assert_eq!(backend.get("k").await.unwrap_err().kind(), ErrorKind::Connection);
/// assert!(backend.get("k").await?.is_some()); // the `None` step: this one works
///
/// faults.always(Operation::ALL, Fault::Latency(Duration::from_millis(5)));
/// assert!(backend.get("k").await?.is_some()); // 5 ms later
/// faults.heal();
/// assert_eq!(faults.injected(), 2);
/// # Ok(()) }
/// ```
#[derive(Clone, Default)]
pub struct Faults {
    plan: Arc<Mutex<Plan>>,
}

#[derive(Default)]
struct Plan {
    scripts: HashMap<Operation, VecDeque<Option<Fault>>>,
    standing: HashMap<Operation, Fault>,
    random: Option<Random>,
    injected: u64,
}

/// A fault that strikes each of `operations` with `probability`.
struct Random {
    state: u64,
    probability: f64,
    operations: Vec<Operation>,
    fault: Fault,
}

impl Random {
    /// splitmix64: small, fast and fully determined by the seed, which is all a replayable
    /// fault schedule needs (no cryptographic quality).
    fn next_unit(&mut self) -> f64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        // The top 53 bits, as a fraction in [0, 1).
        (z >> 11) as f64 / (1_u64 << 53) as f64
    }
}

impl Faults {
    /// A plan with no faults: every operation works until one is added.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A plan where every operation fails at once with a connection error, as on an
    /// unreachable server, until [`heal`](Self::heal).
    #[must_use]
    pub fn down() -> Self {
        let faults = Self::new();
        faults.always(Operation::ALL, Fault::Error(ErrorKind::Connection));
        faults
    }

    /// `backend` behind this plan (the plan stays shared with `self`).
    #[must_use]
    pub fn wrap<B: CacheBackend>(&self, backend: B) -> Faulty<B> {
        Intercept::new(backend, self.clone())
    }

    /// The next calls of `operation` take `steps` in order, one each (`None`: the call works),
    /// ahead of any standing or random fault. Appends to a script not yet played out.
    pub fn script<S: Into<Option<Fault>>>(
        &self,
        operation: Operation,
        steps: impl IntoIterator<Item = S>,
    ) -> &Self {
        self.plan()
            .scripts
            .entry(operation)
            .or_default()
            .extend(steps.into_iter().map(Into::into));
        self
    }

    /// Every call of each of `operations` suffers `fault` until [`heal`](Self::heal) (or a
    /// newer standing fault for the operation).
    pub fn always(&self, operations: &[Operation], fault: Fault) -> &Self {
        let mut plan = self.plan();
        for &operation in operations {
            plan.standing.insert(operation, fault);
        }
        self
    }

    /// Each call of each of `operations` suffers `fault` with `probability` (clamped to
    /// `0.0..=1.0`; NaN is 0), drawn from a generator seeded with `seed`. Replaces an earlier
    /// random fault.
    pub fn random(
        &self,
        seed: u64,
        probability: f64,
        operations: &[Operation],
        fault: Fault,
    ) -> &Self {
        let probability = if probability.is_nan() {
            0.0
        } else {
            probability.clamp(0.0, 1.0)
        };
        self.plan().random = Some(Random {
            state: seed,
            probability,
            operations: operations.to_vec(),
            fault,
        });
        self
    }

    /// Removes every script, standing and random fault: every operation works again.
    pub fn heal(&self) {
        let mut plan = self.plan();
        plan.scripts.clear();
        plan.standing.clear();
        plan.random = None;
    }

    /// How many faults were injected so far (latencies and corruptions included).
    #[must_use]
    pub fn injected(&self) -> u64 {
        self.plan().injected
    }

    fn plan(&self) -> std::sync::MutexGuard<'_, Plan> {
        // A test that panicked while holding the plan left it whole: every change is one call.
        self.plan.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The fault `operation` suffers now, if any.
    fn draw(&self, operation: Operation) -> Option<Fault> {
        let mut plan = self.plan();
        let scripted = plan
            .scripts
            .get_mut(&operation)
            .and_then(VecDeque::pop_front);
        let fault = match scripted {
            Some(step) => step,
            None => plan.standing.get(&operation).copied().or_else(|| {
                let random = plan.random.as_mut()?;
                let strikes = random.operations.contains(&operation)
                    && random.next_unit() < random.probability;
                strikes.then_some(random.fault)
            }),
        };
        plan.injected += u64::from(fault.is_some());
        fault
    }
}

impl fmt::Debug for Faults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plan = self.plan();
        f.debug_struct("Faults")
            .field("scripts", &plan.scripts)
            .field("standing", &plan.standing)
            .field("random", &plan.random.as_ref().map(|random| random.fault))
            .field("injected", &plan.injected)
            .finish()
    }
}

#[async_trait]
impl Interceptor for Faults {
    async fn before(&self, op: Operation, _keys: &[&str]) -> Result<Verdict> {
        match self.draw(op) {
            None => Ok(Verdict::Forward),
            Some(Fault::Error(kind)) => Err(Error::new(kind, format!("{op} failed (injected)"))),
            Some(Fault::Latency(delay)) => {
                tokio::time::sleep(delay).await;
                Ok(Verdict::Forward)
            }
            Some(Fault::Hang) => std::future::pending().await,
            Some(Fault::Corrupt) => Ok(Verdict::Corrupt),
        }
    }
}
