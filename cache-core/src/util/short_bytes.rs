//! Equality and copying for short byte strings (keys, mostly under 16 bytes) in a few loads
//! and stores, where `==` and `copy_from_slice` of a length unknown at compile time would call
//! `memcmp` and `memmove`. Two overlapping words cover any length from one word to two.

/// The `N` bytes of `bytes` from `at`.
#[inline]
fn word<const N: usize>(bytes: &[u8], at: usize) -> [u8; N] {
    let mut word = [0; N];
    word.copy_from_slice(&bytes[at..at + N]);
    word
}

/// Whether `a` and `b` hold the same bytes.
#[inline]
pub(crate) fn equal(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    match n {
        8..=16 => word::<8>(a, 0) == word::<8>(b, 0) && word::<8>(a, n - 8) == word::<8>(b, n - 8),
        4..=7 => word::<4>(a, 0) == word::<4>(b, 0) && word::<4>(a, n - 4) == word::<4>(b, n - 4),
        _ => a == b,
    }
}

/// Copies `src` into `dst`, which has the same length.
#[inline]
pub(crate) fn copy(dst: &mut [u8], src: &[u8]) {
    let n = src.len();
    match n {
        8..=16 if dst.len() == n => {
            dst[..8].copy_from_slice(&word::<8>(src, 0));
            dst[n - 8..].copy_from_slice(&word::<8>(src, n - 8));
        }
        4..=7 if dst.len() == n => {
            dst[..4].copy_from_slice(&word::<4>(src, 0));
            dst[n - 4..].copy_from_slice(&word::<4>(src, n - 4));
        }
        1..=3 if dst.len() == n => {
            dst[0] = src[0];
            dst[n / 2] = src[n / 2];
            dst[n - 1] = src[n - 1];
        }
        _ => dst.copy_from_slice(src),
    }
}

#[cfg(test)]
mod tests {
    use super::{copy, equal};

    fn text(len: usize) -> Vec<u8> {
        (0..len).map(|i| b'a' + (i % 26) as u8).collect()
    }

    #[test]
    fn equal_sees_every_byte_of_every_length() {
        for len in 0..40 {
            let key = text(len);
            assert!(equal(&key, &key.clone()), "{len}");
            for at in 0..len {
                let mut other = key.clone();
                other[at] = b'#';
                assert!(!equal(&key, &other), "{len} at {at}");
            }
            assert!(!equal(&key, &text(len + 1)));
        }
    }

    #[test]
    fn copy_writes_every_byte_of_every_length_and_nothing_else() {
        for len in 0..40 {
            let src = text(len);
            let mut dst = vec![b'#'; len + 2];
            copy(&mut dst[1..=len], &src);
            assert_eq!(&dst[1..=len], &src[..], "{len}");
            assert_eq!((dst[0], dst[len + 1]), (b'#', b'#'), "{len}");
        }
    }
}
