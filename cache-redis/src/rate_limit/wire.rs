//! The wire format of the rate-limit scripts (`src/scripts/{gcra,fixed_window,sliding_log}.lua`):
//! what a policy and a cost become in `ARGV`, and how a reply becomes a [`RateLimitDecision`].
//!
//! | algorithm | `ARGV[1]` | `ARGV[2]` | `ARGV[3]` | `ARGV[4]` |
//! |---|---|---|---|---|
//! | GCRA | emission interval in µs | burst | cost | |
//! | fixed window | limit | window in µs | cost | |
//! | sliding log | limit | window in µs | cost | a member prefix unique to the call |
//!
//! The numbers are the parameters of [`cache_core::rate_limit`]'s pure `decide` functions
//! ([`Gcra`], [`WindowParams`]), which the scripts mirror line for line.
//!
//! Every script replies `{allowed, remaining, retry_after_us, reset_after_us, now_us}`, all
//! integers, where `allowed` is `1`, `0`, or `-1` for a cost that can never pass.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::Write as _;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cache_core::rate_limit::gcra::Gcra;
use cache_core::rate_limit::{Algorithm, RateLimitDecision, RateLimitPolicy, WindowParams};
use cache_core::{Error, ErrorKind, Result};
use redis::{Script, ToRedisArgs};

use crate::scripts;

/// The script deciding `policy` and its `ARGV` for a call of `cost`, after validating both,
/// so nothing is sent for a call that is an error anyway.
///
/// # Errors
///
/// [`ErrorKind::Config`] for an invalid policy, [`ErrorKind::InvalidInput`] for a cost over
/// its capacity, [`ErrorKind::Unsupported`] for an algorithm without a script.
pub(super) fn request(
    policy: &RateLimitPolicy,
    cost: u32,
) -> Result<(&'static Script, ScriptArgs)> {
    let window = |policy: &RateLimitPolicy| {
        WindowParams::from_policy(policy)
            .map(|params| [u64::from(params.limit()), params.window_us()])
    };
    let (script, params, logged): (&Script, _, _) = match policy.algorithm() {
        Algorithm::Gcra => {
            let gcra = Gcra::from_policy(policy)?;
            (
                &scripts::RATE_LIMIT_GCRA,
                [gcra.emission_interval_us(), u64::from(gcra.burst())],
                false,
            )
        }
        Algorithm::FixedWindow => (&scripts::RATE_LIMIT_FIXED_WINDOW, window(policy)?, false),
        Algorithm::SlidingLog => (&scripts::RATE_LIMIT_SLIDING_LOG, window(policy)?, true),
        other => {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!("the Redis backend has no script for the `{other}` algorithm"),
            ));
        }
    };
    policy.check_cost(cost)?;
    let [a, b] = params;
    Ok((
        script,
        ScriptArgs {
            numbers: [a, b, u64::from(cost)],
            member: logged.then(Member::next),
        },
    ))
}

/// The decision in a script's `reply` and the server time it was made at; `policy` supplies
/// the decision's `limit`.
///
/// # Errors
///
/// [`ErrorKind::InvalidInput`] for `allowed = -1`; [`ErrorKind::Backend`] for a malformed
/// reply (wrong length, negative numbers, an unknown `allowed`, or an admitted call with a
/// retry-after).
pub(super) fn reply(
    policy: &RateLimitPolicy,
    reply: &[i64],
) -> Result<(RateLimitDecision, SystemTime)> {
    let malformed = || {
        Error::new(
            ErrorKind::Backend,
            format!("malformed rate-limit script reply {reply:?}"),
        )
    };
    let &[allowed, remaining, retry_after, reset_after, now] = reply else {
        return Err(malformed());
    };
    let limit = policy.capacity();
    let admitted = match allowed {
        1 => true,
        0 => false,
        -1 => {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "the call's cost can never be admitted: the policy admits at most {limit} at once"
                ),
            ));
        }
        _ => return Err(malformed()),
    };
    let non_negative = |value: i64| u64::try_from(value).map_err(|_| malformed());
    let micros = |value: i64| non_negative(value).map(Duration::from_micros);
    let remaining = u32::try_from(non_negative(remaining)?).unwrap_or(u32::MAX);
    let (retry_after, reset_after) = (micros(retry_after)?, micros(reset_after)?);
    let decision = match admitted {
        true if retry_after.is_zero() => RateLimitDecision::admitted(limit, remaining, reset_after),
        true => return Err(malformed()),
        false => RateLimitDecision::denied(limit, remaining, retry_after, reset_after),
    };
    Ok((decision, UNIX_EPOCH + micros(now)?))
}

/// The `ARGV` of a rate-limit script: three numbers, then for the sliding log the call's
/// member prefix. Written straight into the command, without intermediate strings.
pub(super) struct ScriptArgs {
    numbers: [u64; 3],
    member: Option<Member>,
}

impl ToRedisArgs for ScriptArgs {
    fn write_redis_args<W>(&self, out: &mut W)
    where
        W: ?Sized + redis::RedisWrite,
    {
        for number in self.numbers {
            number.write_redis_args(out);
        }
        if let Some(Member { process, call }) = self.member {
            // Writing into the command's in-memory buffer cannot fail.
            let _ = write!(out.writer_for_next_arg(), "{process:016x}{call:x}");
        }
    }
}

/// A sliding-log member prefix unique to one call: a random id of this process and a
/// per-process counter. Two calls landing in the same microsecond (from this process or
/// another) must never write the same member, or the log would hold one entry for two.
#[derive(Clone, Copy)]
struct Member {
    process: u64,
    call: u64,
}

impl Member {
    fn next() -> Self {
        static PROCESS: LazyLock<u64> = LazyLock::new(|| {
            // `RandomState` is seeded from the OS's randomness; mix in the pid and the time in
            // case two processes ever got the same seed.
            let mut hasher = RandomState::new().build_hasher();
            hasher.write_u32(std::process::id());
            hasher.write_u128(
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_nanos(),
            );
            hasher.finish()
        });
        static CALLS: AtomicU64 = AtomicU64::new(0);
        Self {
            process: *PROCESS,
            call: CALLS.fetch_add(1, Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn numbers(policy: &RateLimitPolicy, cost: u32) -> Result<[u64; 3]> {
        request(policy, cost).map(|(_, args)| args.numbers)
    }

    #[test]
    fn requests_carry_the_algorithm_parameters_and_the_cost() {
        let second = Duration::from_secs(1);
        let gcra = RateLimitPolicy::gcra(10, second).burst(5);
        assert_eq!(numbers(&gcra, 1).unwrap(), [100_000, 5, 1]);
        assert_eq!(
            numbers(&RateLimitPolicy::gcra(3, second), 2).unwrap(),
            [333_334, 3, 2],
            "the emission interval rounded up"
        );
        let log = RateLimitPolicy::sliding_log(5, Duration::from_millis(1500));
        assert_eq!(numbers(&log, 0).unwrap(), [5, 1_500_000, 0]);
        assert!(request(&log, 0).unwrap().1.member.is_some());
        let window = RateLimitPolicy::fixed_window(5, second);
        assert_eq!(numbers(&window, 5).unwrap(), [5, 1_000_000, 5]);
        assert!(request(&window, 5).unwrap().1.member.is_none());
        let kind = |policy: RateLimitPolicy, cost| numbers(&policy, cost).unwrap_err().kind();
        assert_eq!(kind(window, 6), ErrorKind::InvalidInput);
        assert_eq!(kind(gcra, 6), ErrorKind::InvalidInput);
        assert_eq!(
            kind(RateLimitPolicy::fixed_window(0, second), 6),
            ErrorKind::Config,
            "an invalid policy is reported before the cost"
        );
    }

    #[test]
    fn replies_are_decisions_at_server_time() {
        let policy = RateLimitPolicy::gcra(10, Duration::from_secs(1));
        let now = 1_795_322_075_460_910;
        assert_eq!(
            reply(&policy, &[1, 9, 0, 100_000, now]).unwrap(),
            (
                RateLimitDecision::admitted(10, 9, Duration::from_millis(100)),
                UNIX_EPOCH + Duration::from_micros(1_795_322_075_460_910),
            )
        );
        let burst = policy.burst(5);
        assert_eq!(
            reply(&burst, &[0, 0, 99_138, 499_138, now]).unwrap().0,
            RateLimitDecision::denied(
                5,
                0,
                Duration::from_micros(99_138),
                Duration::from_micros(499_138)
            )
        );
        let kind = |reply_: &[i64]| reply(&policy, reply_).unwrap_err().kind();
        assert_eq!(kind(&[-1, 0, 0, 0, now]), ErrorKind::InvalidInput);
        assert_eq!(kind(&[1, 0, 0, 0]), ErrorKind::Backend, "no server time");
        assert_eq!(kind(&[1, 0, 0]), ErrorKind::Backend);
        assert_eq!(kind(&[1, 0, 0, 0, now, 0]), ErrorKind::Backend);
        assert_eq!(kind(&[2, 0, 0, 0, now]), ErrorKind::Backend);
        assert_eq!(kind(&[0, -3, 0, 0, now]), ErrorKind::Backend);
        assert_eq!(kind(&[0, 0, 0, 0, -1]), ErrorKind::Backend);
        assert_eq!(
            kind(&[1, 0, 5, 0, now]),
            ErrorKind::Backend,
            "an admitted call has no retry-after"
        );
    }

    #[test]
    fn members_are_unique_per_call() {
        let (a, b) = (Member::next(), Member::next());
        assert_eq!(a.process, b.process);
        assert_ne!(a.call, b.call);
    }

    #[test]
    fn args_are_the_policy_numbers_then_the_member() {
        let args = ScriptArgs {
            numbers: [10, 1_000_000, 1],
            member: Some(Member {
                process: 0xab,
                call: 0x1f,
            }),
        };
        let written = args.to_redis_args();
        assert_eq!(
            written,
            vec![
                b"10".to_vec(),
                b"1000000".to_vec(),
                b"1".to_vec(),
                b"00000000000000ab1f".to_vec(),
            ]
        );
        let no_member = ScriptArgs {
            numbers: [1, 2, 3],
            member: None,
        };
        assert_eq!(no_member.to_redis_args().len(), 3);
    }
}
