//! Secrets from the operating system's CSPRNG, as lowercase hex: lock tokens, session ids and
//! one-time tokens.

use crate::{Error, ErrorKind, Result};

/// How many hex digits [`hex128`] gives: 128 random bits.
pub(crate) const HEX128_LEN: usize = 32;

/// 128 fresh random bits as 32 lowercase hex digits. `what` names the secret in the error.
pub(crate) fn hex128(what: &str) -> Result<[u8; HEX128_LEN]> {
    let mut random = [0_u8; HEX128_LEN / 2];
    getrandom::fill(&mut random).map_err(|error| {
        Error::new(
            ErrorKind::Backend,
            format!("no randomness for {what}: {error}"),
        )
    })?;
    let mut hex = [0_u8; HEX128_LEN];
    for (pair, byte) in hex.chunks_exact_mut(2).zip(random) {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        pair[0] = DIGITS[usize::from(byte >> 4)];
        pair[1] = DIGITS[usize::from(byte & 0xf)];
    }
    Ok(hex)
}

/// Whether `text` is exactly what [`hex128`] makes: 32 lowercase hex digits.
pub(crate) fn is_hex128(text: &[u8]) -> bool {
    text.len() == HEX128_LEN && text.iter().all(|&b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Whether `a` and `b` are equal, in a time that depends on their lengths only, never on
/// where they differ: for comparing a presented secret with the stored one.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let difference = a.iter().zip(b).fold(0_u8, |acc, (x, y)| acc | (x ^ y));
    // Keeps the optimiser from turning the fold into an early-exit comparison.
    std::hint::black_box(difference) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex128_is_fresh_lowercase_hex() {
        let a = hex128("a test").expect("randomness");
        let b = hex128("a test").expect("randomness");
        assert!(is_hex128(&a) && is_hex128(&b));
        assert_ne!(a, b);
    }

    #[test]
    fn is_hex128_is_strict() {
        assert!(is_hex128(b"0123456789abcdef0123456789abcdef"));
        assert!(!is_hex128(b"0123456789ABCDEF0123456789abcdef"));
        assert!(!is_hex128(b"0123456789abcdef0123456789abcde"));
        assert!(!is_hex128(b"0123456789abcdef0123456789abcdeg"));
        assert!(!is_hex128("0123456789abcdef0123456789abcdé".as_bytes()));
    }

    #[test]
    fn constant_time_eq_compares_bytes() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secre"));
        assert!(constant_time_eq(b"", b""));
    }
}
