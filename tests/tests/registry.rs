//! Which backend serves: global default, named backends, task-scoped overrides.
//!
//! The global registry is process-wide, so everything that changes it runs in one test here
//! (this binary has no other test that reads it).

use cache_core::{
    Bytes, CacheBackend, CacheBackendExt, MemoryBackend, backend, register_backend,
    set_global_backend, with_backend, with_named_backend,
};

#[tokio::test]
async fn global_named_and_scoped_backends_resolve_in_order() {
    let global = MemoryBackend::new();
    let sessions = MemoryBackend::new();
    set_global_backend(global.clone());
    register_backend("sessions", sessions.clone());

    backend(None)
        .set("g", Bytes::from_static(b"1"), None)
        .await
        .expect("set");
    backend(Some("sessions"))
        .set("s", Bytes::from_static(b"1"), None)
        .await
        .expect("set");
    assert!(global.exists("g").await.expect("exists"));
    assert!(sessions.exists("s").await.expect("exists"));
    assert!(!global.exists("s").await.expect("exists"));

    // An unknown name falls back to the default (with a warning), never fails.
    backend(Some("no-such-name"))
        .set("u", Bytes::from_static(b"1"), None)
        .await
        .expect("set");
    assert!(global.exists("u").await.expect("exists"));

    // A scoped override serves every name inside the scope, and nothing outside it.
    let scoped = MemoryBackend::new();
    with_backend(scoped.clone(), async {
        backend(None)
            .set("in", Bytes::from_static(b"1"), None)
            .await
            .expect("set");
        backend(Some("sessions"))
            .set("in-s", Bytes::from_static(b"1"), None)
            .await
            .expect("set");
    })
    .await;
    assert!(scoped.exists("in").await.expect("exists"));
    assert!(scoped.exists("in-s").await.expect("exists"));
    assert!(!global.exists("in").await.expect("exists"));
    assert!(!sessions.exists("in-s").await.expect("exists"));

    // A named override leaves the default alone.
    let only_sessions = MemoryBackend::new();
    with_named_backend("sessions", only_sessions.clone(), async {
        backend(Some("sessions"))
            .set("n", Bytes::from_static(b"1"), None)
            .await
            .expect("set");
        backend(None)
            .set("d", Bytes::from_static(b"1"), None)
            .await
            .expect("set");
    })
    .await;
    assert!(only_sessions.exists("n").await.expect("exists"));
    assert!(global.exists("d").await.expect("exists"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_scopes_never_see_each_other() {
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            tokio::spawn(async move {
                let mine = MemoryBackend::new();
                with_backend(mine.clone(), async move {
                    for _ in 0..20 {
                        backend(None).set_value("who", &i, None).await.expect("set");
                        tokio::task::yield_now().await;
                        let seen: Option<i32> = backend(None).get_value("who").await.expect("get");
                        assert_eq!(seen, Some(i), "task {i} saw another task's backend");
                    }
                })
                .await;
                assert_eq!(mine.get_value::<i32>("who").await.expect("get"), Some(i));
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("task");
    }
}

#[tokio::test]
async fn undecodable_bytes_are_a_miss_not_an_error() {
    let cache = MemoryBackend::new();
    cache
        .set("bad", Bytes::from_static(b"{not json"), None)
        .await
        .expect("set");
    let value: Option<Vec<u32>> = cache.get_value("bad").await.expect("get_value");
    assert_eq!(value, None);
    cache
        .set_value("good", &vec![1_u32, 2], None)
        .await
        .expect("set_value");
    assert_eq!(
        cache.get("good").await.expect("get").as_deref(),
        Some(&b"[1,2]"[..])
    );
}
