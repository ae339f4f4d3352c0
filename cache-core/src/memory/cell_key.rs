//! [`CellKey`]: a rate limiter's key, stored inline when short.

/// Longest key kept inline. With the length and the variant tag the key fills 32 bytes, so a
/// limiter cell with its state fits one 64-byte cache line.
const INLINE: usize = 30;

/// A limiter's key. Most keys (`rl:gcra:` and a user id) are short; keeping them inline saves
/// the pointer chase, a likely cache miss, when a lookup compares keys.
pub(super) enum CellKey {
    Inline { len: u8, bytes: [u8; INLINE] },
    Heap(Box<str>),
}

impl CellKey {
    pub(super) fn new(key: &str) -> Self {
        match u8::try_from(key.len()) {
            Ok(len) if key.len() <= INLINE => {
                let mut bytes = [0; INLINE];
                bytes[..key.len()].copy_from_slice(key.as_bytes());
                Self::Inline { len, bytes }
            }
            _ => Self::Heap(key.into()),
        }
    }

    /// The key's UTF-8 bytes.
    #[inline]
    pub(super) fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Self::Heap(key) => key.as_bytes(),
        }
    }

    /// The key as text (it was made from a `&str`, so this never fails).
    pub(super) fn to_text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(self.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::CellKey;

    #[test]
    fn short_keys_are_inline_and_long_ones_on_the_heap() {
        let short = CellKey::new("rl:gcra:12345");
        assert!(matches!(short, CellKey::Inline { .. }));
        assert_eq!(short.as_bytes(), b"rl:gcra:12345");
        let edge = "x".repeat(30);
        assert!(matches!(CellKey::new(&edge), CellKey::Inline { .. }));
        let long = "y".repeat(31);
        let heap = CellKey::new(&long);
        assert!(matches!(heap, CellKey::Heap(_)));
        assert_eq!(heap.to_text(), long);
        assert_eq!(CellKey::new("").as_bytes(), b"");
        assert_eq!(std::mem::size_of::<CellKey>(), 32);
    }
}
