//! Every cached, rate-limited and locked function in one place ([`functions`]), and the
//! warning about two whose key templates can make the same key.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

use super::stats::{self, Stats};

/// What a listed function is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FunctionKind {
    /// `#[cached]`.
    Cached,
    /// `#[rate_limited]`.
    RateLimited,
    /// `#[locked]`.
    Locked,
    /// A [`CacheAside`](crate::CacheAside) site (its keys are built at run time).
    CacheAside,
}

/// One function as [`functions`] lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Function {
    /// What it is.
    pub kind: FunctionKind,
    /// `module::path::function` (`module::path::Type::method` for a method).
    pub path: &'static str,
    /// Its key template, as written (`user:<id>`; the default key as `module::fn:<a>:<b>`);
    /// `None` for a [`CacheAside`](crate::CacheAside) site.
    pub key: Option<&'static str>,
    /// The macro's options as written (`key = "user:<id>", ttl = 300`).
    pub options: &'static str,
    /// The backend name it selects, or `None` for the default.
    pub backend: Option<&'static str>,
    /// Its hits and misses so far (cached functions and cache-aside sites).
    pub stats: Option<Stats>,
}

/// Every cached, rate-limited and locked function called so far in this process, and every
/// [`CacheAside`](crate::CacheAside) site used, in the order of their first calls. A function
/// is listed from its first call: nothing runs before `main` to find the others.
///
/// When a cached function's first call finds another cached function on the same backend
/// whose key template can make the same key (`user:<id>` in two functions, say), a warning
/// names both: one would read the other's values.
///
/// ```
/// use cache_core::{cached, functions, FunctionKind};
///
/// #[cached(key = "user:<id>", ttl = 300)]
/// async fn user_name(id: u64) -> String {
///     format!("user {id}")
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// user_name(7).await;
/// let listed = functions();
/// let user = listed.iter().find(|f| f.path.ends_with("::user_name")).unwrap();
/// assert_eq!((user.kind, user.key), (FunctionKind::Cached, Some("user:<id>")));
/// assert_eq!(user.stats.unwrap().misses, 1);
/// # }
/// ```
#[must_use]
pub fn functions() -> Vec<Function> {
    lock()
        .iter()
        .map(|info| Function {
            kind: info.kind,
            path: info.path,
            key: info.key,
            options: info.options,
            backend: info.backend,
            stats: match info.kind {
                FunctionKind::Cached | FunctionKind::CacheAside => stats::snapshot(info.path),
                FunctionKind::RateLimited | FunctionKind::Locked => None,
            },
        })
        .collect()
}

/// What the registry keeps of a function.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Info {
    pub(crate) kind: FunctionKind,
    pub(crate) path: &'static str,
    pub(crate) key: Option<&'static str>,
    pub(crate) options: &'static str,
    pub(crate) backend: Option<&'static str>,
}

static REGISTERED: Mutex<Vec<Info>> = Mutex::new(Vec::new());

fn lock() -> std::sync::MutexGuard<'static, Vec<Info>> {
    REGISTERED.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Lists `info`, warning about a listed function whose keys it can collide with.
pub(crate) fn register(info: Info) {
    let mut registered = lock();
    // Locked functions share lock names on purpose, and limiters' keys live under their own
    // prefix: only cached functions' values can be read by mistake.
    if let (Some(template), FunctionKind::Cached) = (info.key, info.kind) {
        for other in registered
            .iter()
            .filter(|other| other.kind == FunctionKind::Cached)
        {
            let same_store = other.backend == info.backend;
            if let Some(theirs) = other.key
                && same_store
                && other.path != info.path
                && can_share_a_key(template, theirs)
            {
                tracing::warn!(
                    first = other.path,
                    first_key = theirs,
                    second = info.path,
                    second_key = template,
                    "two functions' key templates can make the same key on one backend: one would read the other's values; make their literal parts differ"
                );
            }
        }
    }
    registered.push(info);
}

/// A `#[rate_limited]` or `#[locked]` function, as generated code declares it in a `static`:
/// listed by its first call.
#[derive(Debug)]
pub struct FunctionSite {
    info: Info,
    listed: AtomicBool,
}

impl FunctionSite {
    /// A site for a function of `kind` at `path`, with its key template, options as written,
    /// and backend name.
    #[must_use]
    pub const fn new(
        kind: FunctionKind,
        path: &'static str,
        key: &'static str,
        options: &'static str,
        backend: Option<&'static str>,
    ) -> Self {
        Self {
            info: Info {
                kind,
                path,
                key: Some(key),
                options,
                backend,
            },
            listed: AtomicBool::new(false),
        }
    }

    /// Lists the function, once: one relaxed load after the first call.
    #[inline]
    pub fn listed(&'static self) {
        if !self.listed.load(Ordering::Relaxed) {
            self.list();
        }
    }

    #[cold]
    fn list(&self) {
        if !self.listed.swap(true, Ordering::AcqRel) {
            register(self.info);
        }
    }
}

/// One step of a key template: a byte written as it is, or a value.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Step {
    Byte(u8),
    /// A placeholder: any run of the bytes a value's key form is made of.
    Value,
}

/// A template's steps: `<...>` a value, `<<` a literal `<`.
fn steps(template: &str) -> Vec<Step> {
    let bytes = template.as_bytes();
    let mut steps = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        match (bytes[at], bytes.get(at + 1)) {
            (b'<', Some(b'<')) => {
                steps.push(Step::Byte(b'<'));
                at += 2;
            }
            (b'<', _) => {
                steps.push(Step::Value);
                at = template[at..]
                    .find('>')
                    .map_or(bytes.len(), |end| at + end + 1);
            }
            (byte, _) => {
                steps.push(Step::Byte(byte));
                at += 1;
            }
        }
    }
    steps
}

/// Whether a value's key form can hold `byte`: the bytes that stand for themselves, and
/// `%XX` escapes (see [`key`](crate::key)).
fn in_a_value(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'@' | b'+' | b'%')
}

/// Whether some key matches both templates, values being any runs of value bytes: a walk
/// over pairs of positions, each visited once.
pub(crate) fn can_share_a_key(a: &str, b: &str) -> bool {
    let (a, b) = (steps(a), steps(b));
    let width = b.len() + 1;
    let mut seen = vec![false; (a.len() + 1) * width];
    let mut todo = vec![(0, 0)];
    while let Some((i, j)) = todo.pop() {
        if std::mem::replace(&mut seen[i * width + j], true) {
            continue;
        }
        if i == a.len() && j == b.len() {
            return true;
        }
        let (left, right) = (a.get(i).copied(), b.get(j).copied());
        // A value may be empty, or take one more byte of the other side.
        if left == Some(Step::Value) {
            todo.push((i + 1, j));
            if let Some(Step::Byte(byte)) = right
                && in_a_value(byte)
            {
                todo.push((i, j + 1));
            }
        }
        if right == Some(Step::Value) {
            todo.push((i, j + 1));
            if let Some(Step::Byte(byte)) = left
                && in_a_value(byte)
            {
                todo.push((i + 1, j));
            }
        }
        if let (Some(Step::Byte(x)), Some(Step::Byte(y))) = (left, right)
            && x == y
        {
            todo.push((i + 1, j + 1));
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::can_share_a_key;

    #[test]
    fn templates_that_can_make_one_key_are_found() {
        assert!(can_share_a_key("user:<id>", "user:<id>"));
        assert!(can_share_a_key("user:<id>", "user:<name>"));
        assert!(can_share_a_key("user:<id>", "user:7"));
        assert!(can_share_a_key("<a>:<b>", "user:<id>"));
        assert!(!can_share_a_key("u<a>", "user:<id>"));
        assert!(can_share_a_key("a<x>b", "<y>"));
        // A value never holds `:`: its key form escapes it.
        assert!(!can_share_a_key("user:<id>", "user:<id>:posts"));
        assert!(!can_share_a_key("user:<id>", "order:<id>"));
        assert!(!can_share_a_key("<<x>", "x<v>"));
        assert!(can_share_a_key("<<<v>", "<<x"));
    }
}
