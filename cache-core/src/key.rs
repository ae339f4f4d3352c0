//! Cache keys: the runtime half of key templates.
//!
//! # The key format (a public contract)
//!
//! A template such as `"user:<id>"` is stored as its literal text with each placeholder replaced
//! by the value's *key form*; a backend's namespace prefix (e.g. `app:`) goes in front. So
//! `#[cached(key = "user:<id>")]` called with `id = 7` on a backend with prefix `app:` is stored
//! under `app:user:7`.
//!
//! A value's key form is its plain text (integers in decimal, `bool` as `true`/`false`, strings
//! as themselves) with every byte outside `A–Z a–z 0–9 - _ . @ +` written as `%XX` (uppercase
//! hex of its UTF-8 bytes). Because `%`, `:` and the glob characters `* ? [ ] \` are always
//! escaped:
//!
//! - keys are injective: `("x:y", "z")` gives `x%3Ay:z` and `("x", "y:z")` gives `x:y%3Az`;
//! - a value can never widen a glob pattern built from it (`*` becomes `%2A`);
//! - a value cannot choose a Redis Cluster slot (`{` and `}` are escaped too).
//!
//! Compound values, as a grammar (`plain` is a byte of the set above, `HEX` an uppercase hex
//! digit):
//!
//! ```text
//! form   = scalar | option | list
//! scalar = *( plain | "%" HEX HEX )     ; integers, bool, char, floats, strings
//! option = "~"                          ; None
//!        | form                         ; Some(v), if v's form does not start with "~"
//!        | "~" form                     ; Some(v), if it does
//! list   = *( item "," )                ; a slice or Vec: each element, then ","
//! item   = form                         ; if the form holds no ","
//!        | "(" form ")"                 ; if it does
//! ```
//!
//! So the flat cases read plainly (`Some(7)` is `7`, `None` is `~`, `vec!["a", "b"]` is
//! `a,b,`), and nesting stays injective: `Some(None)` is `~~`, and
//! `vec![vec![String::new()]]` is `(,),` while `vec![vec![], vec![]]` is `,,`. A value of one
//! type is read back unambiguously: a scalar never holds `~ , ( )`; `~` alone is `None`; an
//! unbracketed item ends at the next `,`, and a bracketed one at its matching `)` (brackets
//! only ever enclose a form that has a `,`, so an unbracketed item never starts with `(`).
//! [`KeyPart`] impls of your own keep this if they only write through
//! [`push_part`](KeyBuf::push_part) and [`push_escaped`](KeyBuf::push_escaped).
//!
//! ```
//! use cache_core::{KeyBuf, KeyPart};
//!
//! fn form(value: &impl KeyPart) -> String {
//!     let mut key = KeyBuf::new();
//!     key.push_part(value);
//!     key.into_string()
//! }
//!
//! assert_eq!(form(&Some(None::<u8>)), "~~");
//! assert_eq!(form(&vec![vec![String::new()]]), "(,),");
//! assert_eq!(form(&vec![Vec::<String>::new(), vec![]]), ",,");
//! assert_eq!(form(&vec![Some(vec![1]), None]), "(1,),~,");
//! ```
//!
//! Without a template, `#[cached]` uses `<module path>::<fn name>` followed by `:` and the key
//! form of each argument, e.g. `my_app::users::get_user:7`.
//!
//! ```
//! use cache_core::KeyBuf;
//!
//! let mut key = KeyBuf::new();
//! key.push_literal("user:");
//! key.push_part(&"a:b*");
//! assert_eq!(key.as_str(), "user:a%3Ab%2A");
//! ```

use std::borrow::Cow;
use std::fmt::{self, Write as _};
use std::rc::Rc;
use std::sync::Arc;

/// Bytes that stand for themselves in a key form; everything else is `%XX`-escaped.
fn is_plain(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'@' | b'+')
}

const INLINE: usize = 96;

/// A key being built: inline storage for short keys, so a typical key costs no allocation,
/// and one heap buffer for long ones.
#[derive(Clone)]
pub struct KeyBuf {
    repr: Repr,
}

#[derive(Clone)]
enum Repr {
    Inline { len: u8, bytes: [u8; INLINE] },
    Heap(String),
}

impl KeyBuf {
    /// An empty key.
    #[must_use]
    #[inline]
    pub const fn new() -> Self {
        Self {
            repr: Repr::Inline {
                len: 0,
                bytes: [0; INLINE],
            },
        }
    }

    /// Appends template text as it is, without escaping.
    #[inline]
    pub fn push_literal(&mut self, text: &str) {
        if let Repr::Inline { len, bytes } = &mut self.repr {
            let start = usize::from(*len);
            let end = start + text.len();
            if end <= INLINE {
                crate::util::short_bytes::copy(&mut bytes[start..end], text.as_bytes());
                // `end <= INLINE < 256`, so the cast is lossless.
                *len = end as u8;
                return;
            }
        }
        self.push_spilled(text);
    }

    /// The rare rest of [`push_literal`](Self::push_literal), kept out of line so that the
    /// inline case compiles to a few moves at each call site.
    #[cold]
    #[inline(never)]
    fn push_spilled(&mut self, text: &str) {
        match &mut self.repr {
            Repr::Inline { len, bytes } => {
                let mut heap = spilled(&bytes[..usize::from(*len)], text.len());
                heap.push_str(text);
                self.repr = Repr::Heap(heap);
            }
            Repr::Heap(heap) => heap.push_str(text),
        }
    }

    /// Inserts the ASCII `byte` at `at`, a length this key had earlier: keys only grow, so
    /// `at` is in bounds and on a char boundary. Only nested compound values need this, so
    /// the flat ones never pay the shift.
    #[cold]
    fn insert_ascii(&mut self, at: usize, byte: u8) {
        debug_assert!(byte.is_ascii());
        match &mut self.repr {
            Repr::Inline { len, bytes } if usize::from(*len) < INLINE => {
                let end = usize::from(*len);
                bytes.copy_within(at..end, at + 1);
                bytes[at] = byte;
                *len += 1;
            }
            Repr::Inline { len, bytes } => {
                let mut heap = spilled(&bytes[..usize::from(*len)], 1);
                heap.insert(at, char::from(byte));
                self.repr = Repr::Heap(heap);
            }
            Repr::Heap(heap) => heap.insert(at, char::from(byte)),
        }
    }

    /// Appends `value` in its escaped key form.
    #[inline]
    pub fn push_part<P: KeyPart + ?Sized>(&mut self, value: &P) {
        value.write_key(self);
    }

    /// Appends `text` escaped as a key form (see the [module docs](self)).
    pub fn push_escaped(&mut self, text: &str) {
        let bytes = text.as_bytes();
        let mut start = 0;
        for (i, &byte) in bytes.iter().enumerate() {
            if !is_plain(byte) {
                // Plain bytes are ASCII, so a non-empty plain run starts and ends on char
                // boundaries; an empty one may not, hence the guard.
                if i > start {
                    self.push_literal(&text[start..i]);
                }
                let hex = [
                    b'%',
                    HEX[usize::from(byte >> 4)],
                    HEX[usize::from(byte & 0xF)],
                ];
                self.push_literal(inline_str(&hex));
                start = i + 1;
            }
        }
        if start < bytes.len() {
            self.push_literal(&text[start..]);
        }
    }

    /// The key built so far.
    #[must_use]
    #[inline]
    pub fn as_str(&self) -> &str {
        match &self.repr {
            Repr::Inline { len, bytes } => inline_str(&bytes[..usize::from(*len)]),
            Repr::Heap(heap) => heap,
        }
    }

    /// The key as an owned `String`.
    #[must_use]
    pub fn into_string(self) -> String {
        match self.repr {
            Repr::Inline { .. } => self.as_str().to_owned(),
            Repr::Heap(heap) => heap,
        }
    }
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// A heap buffer holding the filled inline bytes, with room for `extra` more.
fn spilled(filled: &[u8], extra: usize) -> String {
    let mut heap = String::with_capacity((filled.len() + extra).max(2 * INLINE));
    heap.push_str(inline_str(filled));
    heap
}

/// The filled part of the inline buffer as text, without re-validating it on every hit.
#[inline]
#[allow(unsafe_code)]
fn inline_str(bytes: &[u8]) -> &str {
    // SAFETY: `bytes` is always `bytes[..len]` of an inline `KeyBuf` (or the 3-byte ASCII
    // escape in `push_escaped`). `Repr` is private to this module, and the only writes into
    // the inline buffer are `push_literal`'s copies of whole `&str`s, appended at `len`, and
    // `insert_ascii`'s single ASCII bytes, put at an earlier `len` (a boundary between two
    // such strings), so the filled part stays a concatenation of valid UTF-8 strings, which is
    // valid UTF-8.
    unsafe { std::str::from_utf8_unchecked(bytes) }
}

impl Default for KeyBuf {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for KeyBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for KeyBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl AsRef<str> for KeyBuf {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

/// Writes escaped text, for values formatted through `Display`.
struct Escaping<'a>(&'a mut KeyBuf);

impl fmt::Write for Escaping<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.push_escaped(s);
        Ok(())
    }
}

/// A type whose values can be part of a cache key.
///
/// Implemented for integers, `bool`, `char`, floats, strings, and for references, smart
/// pointers, `Option`s, slices and `Vec`s of such types; the [module docs](self) give the key
/// form of each. For your own types, write the fields that identify a value;
/// [`KeyBuf::push_escaped`] and [`KeyBuf::push_part`] keep the result injective.
///
/// ```
/// use cache_core::{KeyBuf, KeyPart};
///
/// struct TenantId(u32);
///
/// impl KeyPart for TenantId {
///     fn write_key(&self, key: &mut KeyBuf) {
///         key.push_part(&self.0);
///     }
/// }
///
/// let mut key = KeyBuf::new();
/// key.push_part(&TenantId(3));
/// assert_eq!(key.as_str(), "3");
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be part of a cache key",
    label = "this value is used in the cache key",
    note = "implement `cache_core::KeyPart` for `{Self}`, use a field of it in the key template (`<arg.field>`), or leave it out of the template"
)]
pub trait KeyPart {
    /// Appends this value's key form to `key`.
    fn write_key(&self, key: &mut KeyBuf);
}

macro_rules! key_part_via_display {
    ($($ty:ty),*) => {$(
        impl KeyPart for $ty {
            fn write_key(&self, key: &mut KeyBuf) {
                // Writing into a `KeyBuf` never fails.
                let _ = write!(Escaping(key), "{self}");
            }
        }
    )*};
}

key_part_via_display!(f32, f64, char);

macro_rules! key_part_integer {
    ($($ty:ty),*) => {$(
        impl KeyPart for $ty {
            #[inline]
            fn write_key(&self, key: &mut KeyBuf) {
                // Digits and `-` are never escaped: the same key form as `Display`, without
                // the formatting machinery on the hit path.
                key.push_literal(itoa::Buffer::new().format(*self));
            }
        }
    )*};
}

key_part_integer!(
    i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize
);

impl KeyPart for bool {
    #[inline]
    fn write_key(&self, key: &mut KeyBuf) {
        key.push_literal(if *self { "true" } else { "false" });
    }
}

impl KeyPart for str {
    fn write_key(&self, key: &mut KeyBuf) {
        key.push_escaped(self);
    }
}

impl KeyPart for String {
    fn write_key(&self, key: &mut KeyBuf) {
        key.push_escaped(self);
    }
}

impl KeyPart for Cow<'_, str> {
    fn write_key(&self, key: &mut KeyBuf) {
        key.push_escaped(self);
    }
}

impl<T: KeyPart + ?Sized> KeyPart for &T {
    fn write_key(&self, key: &mut KeyBuf) {
        (**self).write_key(key);
    }
}

impl<T: KeyPart + ?Sized> KeyPart for &mut T {
    fn write_key(&self, key: &mut KeyBuf) {
        (**self).write_key(key);
    }
}

impl<T: KeyPart + ?Sized> KeyPart for Box<T> {
    fn write_key(&self, key: &mut KeyBuf) {
        (**self).write_key(key);
    }
}

impl<T: KeyPart + ?Sized> KeyPart for Arc<T> {
    fn write_key(&self, key: &mut KeyBuf) {
        (**self).write_key(key);
    }
}

impl<T: KeyPart + ?Sized> KeyPart for Rc<T> {
    fn write_key(&self, key: &mut KeyBuf) {
        (**self).write_key(key);
    }
}

impl<T: KeyPart> KeyPart for Option<T> {
    fn write_key(&self, key: &mut KeyBuf) {
        match self {
            Some(value) => {
                let start = key.as_str().len();
                value.write_key(key);
                // `~` alone is `None`, so `Some(None)` must not be `~`: a form starting with `~`
                // gets one more, and reading one back strips exactly one.
                if key.as_str().as_bytes().get(start) == Some(&b'~') {
                    key.insert_ascii(start, b'~');
                }
            }
            None => key.push_literal("~"),
        }
    }
}

impl<T: KeyPart> KeyPart for [T] {
    fn write_key(&self, key: &mut KeyBuf) {
        for item in self {
            let start = key.as_str().len();
            item.write_key(key);
            // An item's own `,`s would blur the separators: such an item goes in brackets.
            if key.as_str().as_bytes()[start..].contains(&b',') {
                key.insert_ascii(start, b'(');
                key.push_literal(")");
            }
            key.push_literal(",");
        }
    }
}

impl<T: KeyPart> KeyPart for Vec<T> {
    fn write_key(&self, key: &mut KeyBuf) {
        self.as_slice().write_key(key);
    }
}

/// Escapes `text` so it matches only itself inside a glob pattern (Redis `MATCH` syntax).
///
/// Key forms never contain glob characters, but literal template text may; use this when you
/// build a pattern from a key prefix.
///
/// ```
/// assert_eq!(cache_core::key::glob_escape("a*b?"), r"a\*b\?");
/// ```
#[must_use]
pub fn glob_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\' | '^' | '-') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Whether `key` matches the glob `pattern` (Redis `MATCH` semantics: `*`, `?`, `[abc]`,
/// `[^a]`, `[a-z]` and `\` escapes). Used by in-process backends for
/// [`delete_pattern`](crate::CacheBackend::delete_pattern).
///
/// ```
/// use cache_core::key::glob_match;
/// assert!(glob_match("user:*", "user:7"));
/// assert!(!glob_match(r"user:\*", "user:7"));
/// assert!(glob_match("h[ae]llo", "hallo"));
/// ```
#[must_use]
pub fn glob_match(pattern: &str, key: &str) -> bool {
    glob_match_bytes(pattern.as_bytes(), key.as_bytes())
}

fn glob_match_bytes(pattern: &[u8], key: &[u8]) -> bool {
    // Iterative matcher with single-star backtracking: linear in practice, no recursion depth
    // for user-controlled patterns.
    let (mut p, mut k) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while k < key.len() {
        if p < pattern.len() {
            match pattern[p] {
                b'*' => {
                    star = Some((p, k));
                    p += 1;
                    continue;
                }
                b'?' => {
                    p += 1;
                    k += 1;
                    continue;
                }
                b'[' => {
                    if let Some((true, next)) = match_class(pattern, p, key[k]) {
                        p = next;
                        k += 1;
                        continue;
                    }
                }
                b'\\' if p + 1 < pattern.len() && pattern[p + 1] == key[k] => {
                    p += 2;
                    k += 1;
                    continue;
                }
                b'\\' if p + 1 < pattern.len() => {}
                c if c == key[k] => {
                    p += 1;
                    k += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((sp, sk)) => {
                p = sp + 1;
                k = sk + 1;
                star = Some((sp, sk + 1));
            }
            None => return false,
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// Matches `byte` against the class starting at `pattern[start] == b'['`. Returns whether it
/// matched and the index after the class, or `None` for an unclosed class (then `[` is literal).
fn match_class(pattern: &[u8], start: usize, byte: u8) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let negate = pattern.get(i) == Some(&b'^');
    if negate {
        i += 1;
    }
    let mut matched = false;
    while i < pattern.len() && pattern[i] != b']' {
        let mut lo = pattern[i];
        if lo == b'\\' && i + 1 < pattern.len() {
            i += 1;
            lo = pattern[i];
        }
        if i + 2 < pattern.len() && pattern[i + 1] == b'-' && pattern[i + 2] != b']' {
            let hi = pattern[i + 2];
            let (lo, hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
            matched |= (lo..=hi).contains(&byte);
            i += 3;
        } else {
            matched |= lo == byte;
            i += 1;
        }
    }
    (i < pattern.len()).then_some((matched != negate, i + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_of(parts: &[&dyn Fn(&mut KeyBuf)]) -> String {
        let mut key = KeyBuf::new();
        for part in parts {
            part(&mut key);
        }
        key.into_string()
    }

    #[test]
    fn values_are_escaped_injectively() {
        let a = key_of(&[&|k| k.push_part("x:y"), &|k| k.push_literal(":"), &|k| {
            k.push_part("z")
        }]);
        let b = key_of(&[&|k| k.push_part("x"), &|k| k.push_literal(":"), &|k| {
            k.push_part("y:z")
        }]);
        assert_eq!(a, "x%3Ay:z");
        assert_eq!(b, "x:y%3Az");
    }

    #[test]
    fn glob_and_hash_tag_characters_are_escaped() {
        let mut key = KeyBuf::new();
        key.push_part("*?[]\\{}%~ é");
        assert_eq!(key.as_str(), "%2A%3F%5B%5D%5C%7B%7D%25%7E%20%C3%A9");
    }

    #[test]
    fn long_keys_move_to_the_heap_intact() {
        let long = "a".repeat(300);
        let mut key = KeyBuf::new();
        key.push_literal("p:");
        key.push_part(&long);
        key.push_part(&7_u64);
        assert_eq!(key.as_str(), format!("p:{long}7"));
    }

    #[test]
    fn compound_values() {
        let mut key = KeyBuf::new();
        key.push_part(&Some(1));
        key.push_literal("|");
        key.push_part(&None::<u8>);
        key.push_literal("|");
        key.push_part(&vec!["a", "b,c"]);
        key.push_literal("|");
        key.push_part(&Vec::<u8>::new());
        assert_eq!(key.as_str(), "1|~|a,b%2Cc,|");
    }

    fn form(value: &impl KeyPart) -> String {
        let mut key = KeyBuf::new();
        key.push_part(value);
        key.into_string()
    }

    #[test]
    fn nested_options_are_told_apart() {
        assert_eq!(form(&None::<Option<u8>>), "~");
        assert_eq!(form(&Some(None::<u8>)), "~~");
        assert_eq!(form(&Some(Some(3_u8))), "3");
        assert_eq!(form(&Some(Some(None::<u8>))), "~~~");
    }

    #[test]
    fn nested_lists_are_told_apart() {
        assert_eq!(form(&vec![vec![String::new()]]), "(,),");
        assert_eq!(form(&vec![Vec::<String>::new(), vec![]]), ",,");
        assert_eq!(form(&vec![vec!["a", "b"], vec![]]), "(a,b,),,");
        assert_eq!(form(&vec![vec![vec![1_u8]]]), "((1,),),");
    }

    #[test]
    fn nested_forms_move_to_the_heap_intact() {
        // The bracket goes in front of an item that fills the inline buffer to the byte, then
        // in front of one already on the heap.
        let item = vec!["a".repeat(INLINE - 1)];
        assert_eq!(form(&vec![item.clone()]), format!("({},),", item[0]));
        assert_eq!(
            form(&vec![vec![item.clone()]]),
            format!("(({},),),", item[0])
        );
        let mut key = KeyBuf::new();
        key.push_literal(&"p".repeat(INLINE - 1));
        key.push_part(&Some(None::<u8>));
        assert_eq!(key.as_str(), format!("{}~~", "p".repeat(INLINE - 1)));
    }

    #[test]
    fn glob_matching_follows_redis() {
        assert!(glob_match("*", ""));
        assert!(glob_match("a*c", "abbbc"));
        assert!(!glob_match("a*c", "abbb"));
        assert!(glob_match("a?c", "abc"));
        assert!(glob_match("[^x]y", "ay"));
        assert!(!glob_match("[^x]y", "xy"));
        assert!(glob_match("[a-c]", "b"));
        assert!(glob_match(r"a\*", "a*"));
        assert!(!glob_match(r"a\*", "ab"));
        assert!(glob_match("user:%2A*", "user:%2Afoo"));
        assert!(!glob_match("user:%2A*", "user:xfoo"));
        assert!(glob_match(&glob_escape("a[b]-c"), "a[b]-c"));
    }

    mod injective {
        use std::collections::HashMap;
        use std::fmt::Debug;

        use proptest::prelude::*;
        use proptest::{collection, option};

        use super::form;
        use crate::KeyPart;

        /// Strings from a small alphabet heavy in the grammar's own characters, so that
        /// distinct values often come close to sharing a form.
        fn text() -> impl Strategy<Value = String> {
            "[a,~()%]{0,2}"
        }

        fn list<T: Debug>(item: impl Strategy<Value = T>) -> impl Strategy<Value = Vec<T>> {
            collection::vec(item, 0..3)
        }

        /// No two distinct values among `values` share a form.
        fn check<T: KeyPart + PartialEq + Debug>(values: &[T]) -> Result<(), TestCaseError> {
            let mut seen: HashMap<String, &T> = HashMap::new();
            for value in values {
                if let Some(other) = seen.insert(form(value), value) {
                    prop_assert_eq!(other, value, "one form, two values");
                }
            }
            Ok(())
        }

        proptest! {
            #[test]
            fn option_option_string(values in collection::vec(option::of(option::of(text())), 0..32)) {
                check(&values)?;
            }

            #[test]
            fn vec_vec_string(values in collection::vec(list(list(text())), 0..32)) {
                check(&values)?;
            }

            #[test]
            fn vec_option_string(values in collection::vec(list(option::of(text())), 0..32)) {
                check(&values)?;
            }

            #[test]
            fn option_vec_string(values in collection::vec(option::of(list(text())), 0..32)) {
                check(&values)?;
            }

            #[test]
            fn deep_nesting(
                values in collection::vec(
                    list(option::of(list(option::of(option::of(text()))))),
                    0..32,
                )
            ) {
                check(&values)?;
            }

            #[test]
            fn nested_integers(
                values in collection::vec(option::of(list(list(option::of(0_u8..3)))), 0..32)
            ) {
                check(&values)?;
            }
        }
    }
}
