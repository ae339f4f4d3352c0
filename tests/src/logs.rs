//! The `tracing` events code emits, captured for assertions.

use std::fmt::{Debug, Write as _};
use std::sync::{Arc, Mutex, PoisonError};

use tracing::field::{Field, Visit};
use tracing::subscriber::DefaultGuard;
use tracing::{Event, Level, Metadata, Subscriber, span};

/// One event: its level, its message and its other fields as `name=value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logged {
    /// The event's level.
    pub level: Level,
    /// The `message` field.
    pub message: String,
    /// The other fields, in order, as `name=value` separated by spaces.
    pub fields: String,
}

/// Events at `level` or above emitted on this thread (with a current-thread runtime: by every
/// task of the test) from now until the guard is dropped.
#[must_use = "events are captured only while the guard lives"]
pub fn capture(level: Level) -> (DefaultGuard, Captured) {
    let captured = Captured::default();
    let guard = tracing::subscriber::set_default(Capture {
        level,
        seen: captured.clone(),
    });
    (guard, captured)
}

/// What [`capture`] saw so far.
#[derive(Debug, Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<Logged>>>);

impl Captured {
    /// Every event so far.
    #[must_use]
    pub fn events(&self) -> Vec<Logged> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Every event's message so far.
    #[must_use]
    pub fn messages(&self) -> Vec<String> {
        self.events()
            .into_iter()
            .map(|event| event.message)
            .collect()
    }
}

struct Capture {
    level: Level,
    seen: Captured,
}

struct Fields<'a>(&'a mut Logged);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        if field.name() == "message" {
            self.0.message = format!("{value:?}");
        } else {
            let separator = if self.0.fields.is_empty() { "" } else { " " };
            let _ = write!(self.0.fields, "{separator}{}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.record_debug(field, &format_args!("{value}"));
    }
}

impl Subscriber for Capture {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        *metadata.level() <= self.level
    }
    fn new_span(&self, _: &span::Attributes<'_>) -> span::Id {
        span::Id::from_u64(1)
    }
    fn record(&self, _: &span::Id, _: &span::Record<'_>) {}
    fn record_follows_from(&self, _: &span::Id, _: &span::Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut logged = Logged {
            level: *event.metadata().level(),
            message: String::new(),
            fields: String::new(),
        };
        event.record(&mut Fields(&mut logged));
        self.seen
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(logged);
    }
    fn enter(&self, _: &span::Id) {}
    fn exit(&self, _: &span::Id) {}
}
