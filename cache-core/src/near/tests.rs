#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use super::NearStore;
use crate::backend::capabilities::NearValues;

fn serving(max_entries: usize) -> NearStore {
    let near = NearStore::new(max_entries);
    near.set_serving(true);
    near
}

fn read(near: &NearStore, key: &str, value: &'static [u8]) -> bool {
    let ticket = near.begin_read(key).unwrap();
    // A buffer of its own, as a reply off the wire is.
    near.finish_read(ticket, Bytes::copy_from_slice(value), None)
}

#[test]
fn nothing_is_read_or_kept_until_serving() {
    let near = NearStore::new(100);
    assert!(near.begin_read("k").is_none());
    near.set_serving(true);
    assert!(read(&near, "k", b"v"));
    assert_eq!(near.get("k").as_deref(), Some(&b"v"[..]));
}

#[test]
fn an_invalidation_during_a_read_refuses_its_insert() {
    let near = serving(100);
    let ticket = near.begin_read("k").unwrap();
    near.invalidate("k");
    assert!(!near.finish_read(ticket, Bytes::from_static(b"old"), None));
    assert_eq!(near.get("k"), None);
    assert_eq!(near.stats().refused, 1);
}

#[test]
fn an_invalidation_of_another_key_refuses_nothing() {
    let near = serving(100);
    let ticket = near.begin_read("k").unwrap();
    near.invalidate("other");
    assert!(near.finish_read(ticket, Bytes::from_static(b"v"), None));
}

#[test]
fn an_invalidation_before_the_read_began_refuses_nothing() {
    let near = serving(100);
    near.invalidate("k");
    assert!(read(&near, "k", b"v"));
}

#[test]
fn of_two_overlapping_reads_the_one_begun_after_the_invalidation_is_kept() {
    let near = serving(100);
    let early = near.begin_read("k").unwrap();
    near.invalidate("k");
    let late = near.begin_read("k").unwrap();
    assert!(near.finish_read(late, Bytes::from_static(b"new"), None));
    assert!(!near.finish_read(early, Bytes::from_static(b"old"), None));
    assert_eq!(near.get("k").as_deref(), Some(&b"new"[..]));
}

#[test]
fn a_flush_or_stop_refuses_reads_in_flight_and_empties_the_store() {
    let near = serving(100);
    assert!(read(&near, "a", b"1"));
    let ticket = near.begin_read("b").unwrap();
    near.flush();
    assert!(!near.finish_read(ticket, Bytes::from_static(b"2"), None));
    assert_eq!(near.get("a"), None);

    assert!(read(&near, "a", b"1"));
    let ticket = near.begin_read("b").unwrap();
    near.set_serving(false);
    assert!(!near.finish_read(ticket, Bytes::from_static(b"2"), None));
    assert_eq!(near.get("a"), None, "nothing is served while not serving");
    assert!(!near.stats().serving);
}

#[test]
fn a_dropped_ticket_leaves_no_trace() {
    let near = serving(100);
    drop(near.begin_read("k").unwrap());
    near.invalidate("k");
    assert!(read(&near, "k", b"v"), "the dropped read's state is gone");
}

#[tokio::test(start_paused = true)]
async fn a_copy_lives_no_longer_than_its_ttl() {
    let near = serving(100);
    let ticket = near.begin_read("k").unwrap();
    assert!(near.finish_read(
        ticket,
        Bytes::from_static(b"v"),
        Some(Duration::from_secs(2))
    ));
    tokio::time::advance(Duration::from_millis(1_999)).await;
    assert!(near.get("k").is_some());
    tokio::time::advance(Duration::from_millis(2)).await;
    assert_eq!(near.get("k"), None);
}

#[test]
fn the_bound_evicts_the_oldest_inserts() {
    // One entry per shard: every insert into a shard evicts its previous copy.
    let near = serving(1);
    for i in 0..1_000 {
        let ticket = near.begin_read(&format!("k{i}")).unwrap();
        assert!(near.finish_read(ticket, Bytes::from(format!("{i}")), None));
    }
    let stats = near.stats();
    assert!(stats.entries <= 64, "{stats:?}");
    assert_eq!(stats.entries + stats.evictions, 1_000, "{stats:?}");
    assert!(near.get("k999").is_some(), "the newest insert is kept");
}

#[test]
fn a_decoded_value_is_kept_only_beside_its_own_bytes() {
    let near = serving(100);
    assert!(read(&near, "k", b"1"));
    let first = near.get("k").unwrap();
    assert!(read(&near, "k", b"1"));
    near.remember("k", &first, Arc::new(1_u32));
    let mut value = None;
    near.visit("k", &mut |entry| value = entry.value.map(|_| ()));
    assert_eq!(value, None, "the copy was replaced after `first` was read");

    let current = near.get("k").unwrap();
    near.remember("k", &current, Arc::new(1_u32));
    near.visit("k", &mut |entry| {
        value = entry
            .value
            .and_then(|v| v.downcast_ref::<u32>())
            .map(|_| ());
    });
    assert_eq!(value, Some(()));
    near.invalidate("k");
    near.remember("k", &current, Arc::new(1_u32));
    assert_eq!(near.get("k"), None, "remember never brings a copy back");
}

#[test]
fn stats_count_what_happened() {
    let near = serving(100);
    assert!(read(&near, "k", b"v"));
    assert!(near.get("k").is_some());
    assert!(near.get("missing").is_none());
    near.invalidate("k");
    let stats = near.stats();
    assert_eq!(
        (stats.inserts, stats.hits, stats.misses, stats.invalidations),
        (1, 1, 1, 1),
        "{stats:?}"
    );
    assert_eq!(stats.flushes, 1, "the one of `set_serving(true)`");
}
