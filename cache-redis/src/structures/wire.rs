//! Scores and replies on the wire: `f64` arguments Redis parses back exactly, and the
//! replies of the structure commands in RESP2 (flat arrays, scores as text) or RESP3 (maps,
//! doubles).

use bytes::Bytes;
use cache_core::{Error, ErrorKind, Result};
use redis::Value;

/// `score` as a Redis argument that parses back to the same `f64`: Rust's shortest
/// round-trip form (`0.1`, `1e300`, `-0.0`), and `inf` / `-inf` for the infinities, which
/// Redis accepts. NaN, which Redis refuses, is refused here first.
pub(super) fn score_arg(score: f64) -> Result<String> {
    if score.is_nan() {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            "a score must be a number, not NaN",
        ));
    }
    // `Debug` is the shortest string that round-trips, with an exponent where that is shorter
    // (`Display` would spell out 1e300 in 301 digits); infinities come out as `inf`/`-inf`.
    Ok(format!("{score:?}"))
}

/// A score as Redis replies it: a double (RESP3) or its text (`3.5`, `inf`, `-inf`,
/// `0.10000000000000001`).
pub(super) fn score(value: &Value) -> Option<f64> {
    match value {
        Value::Double(score) => Some(*score),
        Value::BulkString(text) => std::str::from_utf8(text).ok()?.parse().ok(),
        Value::SimpleString(text) => text.parse().ok(),
        Value::Int(number) => Some(*number as f64),
        _ => None,
    }
}

/// The values of an array reply (`LRANGE`, `LPOP count`, `SMEMBERS`), or the one value of
/// a bulk reply (`LPOP`); nil is none.
pub(super) fn values(value: Value) -> Option<Vec<Bytes>> {
    match value {
        Value::Nil => Some(Vec::new()),
        Value::Array(items) | Value::Set(items) => items.into_iter().map(bytes).collect(),
        one @ (Value::BulkString(_) | Value::SimpleString(_)) => bytes(one).map(|one| vec![one]),
        _ => None,
    }
}

/// One bulk string's bytes, without copying.
pub(super) fn bytes(value: Value) -> Option<Bytes> {
    match value {
        Value::BulkString(bytes) => Some(Bytes::from(bytes)),
        Value::SimpleString(text) => Some(Bytes::from(text.into_bytes())),
        _ => None,
    }
}

/// The pairs of a flat array (`[a, 1, b, 2]`, RESP2), of an array of pairs (`[[a, 1], [b,
/// 2]]`, RESP3 `WITHSCORES`) or of a map (RESP3 `HGETALL`).
pub(super) fn pairs(value: Value) -> Option<Vec<(Value, Value)>> {
    match value {
        Value::Map(pairs) => Some(pairs),
        Value::Nil => Some(Vec::new()),
        Value::Array(items) | Value::Set(items) => {
            if items.iter().all(|item| matches!(item, Value::Array(_))) {
                return items
                    .into_iter()
                    .map(|item| match item {
                        Value::Array(pair) => match <[Value; 2]>::try_from(pair) {
                            Ok([first, second]) => Some((first, second)),
                            Err(_) => None,
                        },
                        _ => None,
                    })
                    .collect();
            }
            if items.len() % 2 != 0 {
                return None;
            }
            let mut items = items.into_iter();
            let mut pairs = Vec::with_capacity(items.len() / 2);
            while let (Some(first), Some(second)) = (items.next(), items.next()) {
                pairs.push((first, second));
            }
            Some(pairs)
        }
        _ => None,
    }
}

/// Members and scores (`ZRANGE ... WITHSCORES`).
pub(super) fn scored(value: Value) -> Option<Vec<(Bytes, f64)>> {
    pairs(value)?
        .into_iter()
        .map(|(member, value)| Some((bytes(member)?, score(&value)?)))
        .collect()
}

/// A hash's fields and their values.
pub(super) type Fields = Vec<(String, Bytes)>;

/// Fields and values (`HGETALL`). `Err` names the field that is not UTF-8 (a hash written by
/// another client can hold any bytes; this API's fields are text).
pub(super) fn fields(value: Value) -> Option<std::result::Result<Fields, Vec<u8>>> {
    let mut fields = Vec::new();
    for (field, value) in pairs(value)? {
        let Value::BulkString(field) = field else {
            return None;
        };
        match String::from_utf8(field) {
            Ok(field) => fields.push((field, bytes(value)?)),
            Err(error) => return Some(Err(error.into_bytes())),
        }
    }
    Some(Ok(fields))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn round_trip(score: f64) -> f64 {
        let arg = score_arg(score).expect("a number");
        super::score(&Value::BulkString(arg.into_bytes())).expect("parses")
    }

    #[test]
    fn scores_round_trip() {
        for score in [
            0.0,
            -0.0,
            0.1,
            1.0,
            -2.5,
            1e300,
            -1e-300,
            5e-324,
            f64::MAX,
            f64::MIN_POSITIVE,
            f64::INFINITY,
            f64::NEG_INFINITY,
            123_456_789.123_456_78,
        ] {
            assert_eq!(round_trip(score).to_bits(), score.to_bits(), "{score:?}");
        }
        assert_eq!(score_arg(f64::INFINITY).unwrap(), "inf");
        assert_eq!(score_arg(f64::NEG_INFINITY).unwrap(), "-inf");
        assert_eq!(score_arg(1e300).unwrap(), "1e300");
        assert_eq!(
            score_arg(f64::NAN).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    }

    #[test]
    fn redis_score_texts_parse() {
        for (text, expected) in [
            ("inf", f64::INFINITY),
            ("-inf", f64::NEG_INFINITY),
            ("0.10000000000000001", 0.1),
            ("3", 3.0),
        ] {
            assert_eq!(
                score(&Value::BulkString(text.into())),
                Some(expected),
                "{text}"
            );
        }
        assert_eq!(score(&Value::Double(2.5)), Some(2.5));
        assert_eq!(score(&Value::BulkString(b"x".to_vec())), None);
    }

    #[test]
    fn pairs_in_every_shape() {
        let flat = Value::Array(vec![
            Value::BulkString(b"a".to_vec()),
            Value::BulkString(b"1".to_vec()),
            Value::BulkString(b"b".to_vec()),
            Value::BulkString(b"inf".to_vec()),
        ]);
        let nested = Value::Array(vec![
            Value::Array(vec![Value::BulkString(b"a".to_vec()), Value::Double(1.0)]),
            Value::Array(vec![
                Value::BulkString(b"b".to_vec()),
                Value::Double(f64::INFINITY),
            ]),
        ]);
        let expected = vec![
            (Bytes::from_static(b"a"), 1.0),
            (Bytes::from_static(b"b"), f64::INFINITY),
        ];
        assert_eq!(scored(flat), Some(expected.clone()));
        assert_eq!(scored(nested), Some(expected));
        assert_eq!(scored(Value::Array(vec![Value::Nil])), None, "odd length");
        let map = Value::Map(vec![(
            Value::BulkString(b"name".to_vec()),
            Value::BulkString(b"\"Ada\"".to_vec()),
        )]);
        assert_eq!(
            fields(map),
            Some(Ok(vec![(
                "name".to_owned(),
                Bytes::from_static(b"\"Ada\"")
            )]))
        );
        let binary = Value::Array(vec![
            Value::BulkString(vec![0xff]),
            Value::BulkString(b"1".to_vec()),
        ]);
        assert_eq!(fields(binary), Some(Err(vec![0xff])));
    }
}
