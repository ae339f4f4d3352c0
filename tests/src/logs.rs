//! The `tracing` events and spans code emits, captured for assertions.

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

/// One span: its name and its fields as `name=value`, those recorded later included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpanSeen {
    /// The span's name.
    pub name: String,
    /// Its fields, in the order they were given values, as `name=value` separated by spaces.
    pub fields: String,
}

/// What [`capture`] saw so far.
#[derive(Debug, Clone, Default)]
pub struct Captured {
    events: Arc<Mutex<Vec<Logged>>>,
    spans: Arc<Mutex<Vec<SpanSeen>>>,
}

impl Captured {
    /// Every event so far.
    #[must_use]
    pub fn events(&self) -> Vec<Logged> {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Every span so far, in the order they were made.
    #[must_use]
    pub fn spans(&self) -> Vec<SpanSeen> {
        self.spans
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

/// Where a visit writes: an event's message and fields, or a span's fields.
struct Fields<'a> {
    message: Option<&'a mut String>,
    fields: &'a mut String,
}

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        match &mut self.message {
            Some(message) if field.name() == "message" => **message = format!("{value:?}"),
            _ => {
                let separator = if self.fields.is_empty() { "" } else { " " };
                let _ = write!(self.fields, "{separator}{}={value:?}", field.name());
            }
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
    fn new_span(&self, attributes: &span::Attributes<'_>) -> span::Id {
        let mut seen = SpanSeen {
            name: attributes.metadata().name().to_owned(),
            fields: String::new(),
        };
        attributes.record(&mut Fields {
            message: None,
            fields: &mut seen.fields,
        });
        let mut spans = self
            .seen
            .spans
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        spans.push(seen);
        span::Id::from_u64(spans.len() as u64)
    }
    fn record(&self, id: &span::Id, values: &span::Record<'_>) {
        let mut spans = self
            .seen
            .spans
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let index = usize::try_from(id.into_u64() - 1).unwrap_or(usize::MAX);
        if let Some(seen) = spans.get_mut(index) {
            values.record(&mut Fields {
                message: None,
                fields: &mut seen.fields,
            });
        }
    }
    fn record_follows_from(&self, _: &span::Id, _: &span::Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut logged = Logged {
            level: *event.metadata().level(),
            message: String::new(),
            fields: String::new(),
        };
        event.record(&mut Fields {
            message: Some(&mut logged.message),
            fields: &mut logged.fields,
        });
        self.seen
            .events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(logged);
    }
    fn enter(&self, _: &span::Id) {}
    fn exit(&self, _: &span::Id) {}
}
