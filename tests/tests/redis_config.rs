//! `RedisConfig`: every environment variable, bad values naming their variable, and password
//! redaction. Needs no server, except the login tests at the end, which start their own.
#![allow(missing_docs, clippy::unwrap_used, clippy::panic, clippy::expect_used)]

use std::collections::HashMap;
use std::process::Command;
use std::time::Duration;

use cache_core::CacheBackend as _;
use cache_core::ErrorKind;
use cache_redis::{RedisBackend, RedisConfig, Topology};
use cache_tests::logs;
use cache_tests::redis_harness::{RedisServer, refused_at_once};

fn from(vars: &[(&str, &str)]) -> cache_core::Result<RedisConfig> {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    RedisConfig::from_lookup(|name| vars.get(name).cloned())
}

fn standalone(config: &RedisConfig) -> (String, u16) {
    match config.topology() {
        Topology::Standalone { host, port } => (host.clone(), *port),
        other => panic!("expected standalone, got {other:?}"),
    }
}

#[test]
fn defaults_when_nothing_is_set() {
    let config = from(&[]).unwrap();
    assert_eq!(standalone(&config), ("127.0.0.1".to_owned(), 6379));
    assert_eq!(config.database(), 0);
    assert!(!config.has_password());
    assert_eq!(config.prefix(), "");
    assert_eq!(config.fallback_ttl(), None);
}

#[test]
fn every_variable() {
    let config = from(&[
        ("REDIS_HOST", "cache.internal"),
        ("REDIS_PORT", "6380"),
        ("REDIS_PASSWORD", "s3cret"),
        ("REDIS_DB", "3"),
        ("REDIS_KEY_PREFIX", "myapp:"),
        ("REDIS_DEFAULT_TTL", "3600"),
        ("REDIS_NEAR_CACHE", "5000"),
    ])
    .unwrap();
    assert_eq!(standalone(&config), ("cache.internal".to_owned(), 6380));
    assert_eq!(config.database(), 3);
    assert!(config.has_password());
    assert_eq!(config.prefix(), "myapp:");
    assert_eq!(config.fallback_ttl(), Some(Duration::from_secs(3600)));
    assert_eq!(config.near_cache_entries(), Some(5_000));
    assert_eq!(cache_redis::ENV_VARS.len(), 11);
}

#[test]
fn url_wins_over_parts_but_not_prefix_and_ttl() {
    let config = from(&[
        ("REDIS_URL", "redis://:pw@urlhost:7000/5"),
        ("REDIS_HOST", "ignored"),
        ("REDIS_PORT", "1"),
        ("REDIS_DB", "9"),
        ("REDIS_KEY_PREFIX", "p:"),
        ("REDIS_DEFAULT_TTL", "10"),
    ])
    .unwrap();
    assert_eq!(standalone(&config), ("urlhost".to_owned(), 7000));
    assert_eq!(config.database(), 5);
    assert!(config.has_password());
    assert_eq!(config.prefix(), "p:");
    assert_eq!(config.fallback_ttl(), Some(Duration::from_secs(10)));
}

/// Except `REDIS_URL`, refused when empty (in `bad_values_name_their_variable`).
#[test]
fn empty_values_take_the_default() {
    let config = from(&[
        ("REDIS_PORT", ""),
        ("REDIS_HOST", "  "),
        ("REDIS_PASSWORD", ""),
        ("REDIS_KEY_PREFIX", ""),
    ])
    .unwrap();
    assert_eq!(standalone(&config).1, 6379);
    assert!(!config.has_password());
}

#[test]
fn bad_values_name_their_variable() {
    let cases: &[(&str, &str)] = &[
        ("REDIS_PORT", "abc"),
        ("REDIS_PORT", "0"),
        ("REDIS_PORT", "70000"),
        ("REDIS_DB", "-1"),
        ("REDIS_DB", "one"),
        ("REDIS_DEFAULT_TTL", "0"),
        ("REDIS_DEFAULT_TTL", "-5"),
        ("REDIS_DEFAULT_TTL", "1h"),
        ("REDIS_NEAR_CACHE", "0"),
        ("REDIS_NEAR_CACHE", "lots"),
        ("REDIS_URL", "http://localhost:6379"),
        ("REDIS_URL", "redis://:hunter2@host:notaport"),
        ("REDIS_URL", "redis://:hunter2@host:6379/x"),
        ("REDIS_URL", ""),
        ("REDIS_URL", "  "),
        ("REDIS_URL", "redis://:hunter2@host/0?protocol=resp3"),
        ("REDIS_URL", "redis://host/0?password=hunter2"),
    ];
    for (name, value) in cases {
        let err = from(&[(name, value)]).expect_err(&format!("{name}={value} must be refused"));
        assert_eq!(err.kind(), ErrorKind::Config, "{name}={value}");
        assert!(
            err.to_string().contains(name),
            "`{err}` does not name {name}"
        );
        assert!(
            !err.to_string().contains("hunter2"),
            "`{err}` shows the password"
        );
    }
}

#[test]
fn passwords_never_show_in_debug() {
    let from_url = RedisConfig::from_url("redis://admin:hunter2@h:1/0").unwrap();
    let from_env = from(&[("REDIS_PASSWORD", "hunter2")]).unwrap();
    let from_setter = RedisConfig::new("h", 1)
        .username("admin")
        .password("hunter2");
    let sentinel = RedisConfig::sentinel(["h:26379"], "mymaster")
        .unwrap()
        .password("hunter2");
    for config in [from_url, from_env, from_setter, sentinel] {
        let shown = format!("{config:?} {config:#?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains(r#"password: Some("***")"#), "{shown}");
    }
}

#[test]
fn topologies_and_nodes() {
    let cluster = RedisConfig::cluster(["127.0.0.1:7000", "redis://127.0.0.1:7001"]).unwrap();
    assert_eq!(
        cluster.topology(),
        &Topology::Cluster {
            nodes: vec!["127.0.0.1:7000".to_owned(), "127.0.0.1:7001".to_owned()]
        }
    );
    assert_eq!(
        RedisConfig::cluster(["nohost"]).unwrap_err().kind(),
        ErrorKind::Config
    );
    assert_eq!(
        RedisConfig::sentinel(Vec::<&str>::new(), "m")
            .unwrap_err()
            .kind(),
        ErrorKind::Config
    );
}

#[tokio::test]
async fn settings_that_cannot_work_fail_before_connecting() {
    let zero_timeout = RedisConfig::new("127.0.0.1", 1).response_timeout(Duration::ZERO);
    let err = cache_redis::RedisBackend::connect(zero_timeout)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    // Without the `tls` feature TLS is a configuration error; with it, nothing listens.
    let tls = RedisConfig::new("127.0.0.1", 1).tls(true);
    let err = cache_redis::RedisBackend::connect(tls).await.unwrap_err();
    assert!(
        (err.kind() == ErrorKind::Config && err.to_string().contains("tls"))
            || matches!(err.kind(), ErrorKind::Connection | ErrorKind::Timeout),
        "{err}"
    );
    // Nothing listens on port 1: a connection error, not a hang or a panic.
    let refused = RedisConfig::new("127.0.0.1", 1).connect_timeout(Duration::from_millis(300));
    let err = cache_redis::RedisBackend::connect(refused.password("hunter2"))
        .await
        .unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Connection | ErrorKind::Timeout),
        "{err}"
    );
    assert!(!err.to_string().contains("hunter2"));
}

/// `from_env` on the real process environment: this test re-runs the test binary with
/// variables set (setting them in-process would race other tests) and reads what the child
/// printed.
#[test]
fn from_env_reads_the_process_environment() {
    if std::env::var_os("CACHE_REDIS_ENV_CHILD").is_some() {
        match RedisConfig::from_env() {
            Ok(config) => println!(
                "CHILD ok port={:?} db={} prefix={} ttl={:?} debug={config:?}",
                config.topology(),
                config.database(),
                config.prefix(),
                config.fallback_ttl()
            ),
            Err(error) => println!("CHILD err {error}"),
        }
        return;
    }
    let run = |vars: &[(&str, &str)]| {
        let mut command = Command::new(std::env::current_exe().unwrap());
        command
            .args([
                "from_env_reads_the_process_environment",
                "--exact",
                "--nocapture",
            ])
            .env("CACHE_REDIS_ENV_CHILD", "1");
        for name in cache_redis::ENV_VARS {
            command.env_remove(name);
        }
        for (name, value) in vars {
            command.env(name, value);
        }
        let output = command.output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        stdout
            .lines()
            .find(|line| line.starts_with("CHILD "))
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("no CHILD line in {stdout}"))
    };
    let ok = run(&[
        ("REDIS_HOST", "envhost"),
        ("REDIS_PORT", "6390"),
        ("REDIS_PASSWORD", "hunter2"),
        ("REDIS_DB", "2"),
        ("REDIS_KEY_PREFIX", "env:"),
        ("REDIS_DEFAULT_TTL", "60"),
    ]);
    assert!(ok.contains("Standalone(envhost:6390)"), "{ok}");
    assert!(
        ok.contains("db=2") && ok.contains("prefix=env:") && ok.contains("ttl=Some(60s)"),
        "{ok}"
    );
    assert!(!ok.contains("hunter2"), "{ok}");
    let bad = run(&[("REDIS_DB", "lots")]);
    assert!(
        bad.starts_with("CHILD err") && bad.contains("REDIS_DB"),
        "{bad}"
    );
}

/// The messages of the `tracing` events `f` emits on this thread, at WARN or above.
fn warnings_of(f: impl FnOnce()) -> Vec<String> {
    let (guard, captured) = logs::capture(tracing::Level::WARN);
    f();
    drop(guard);
    captured.messages()
}

#[test]
fn a_prefix_without_a_separator_is_kept_and_warned_about_once() {
    let mut config = None;
    let warnings = warnings_of(|| config = Some(from(&[("REDIS_KEY_PREFIX", "myapp")]).unwrap()));
    assert_eq!(
        config.unwrap().prefix(),
        "myapp",
        "the prefix must not be changed"
    );
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("`myappuser:7`") && warnings[0].contains("`myapp:`"),
        "{warnings:?}"
    );
    let warnings = warnings_of(|| {
        for prefix in ["", "myapp:", "myapp.", "my/app/", "app-", "app_", "a|"] {
            let _ = RedisConfig::default().key_prefix(prefix);
        }
        let _ = from(&[("REDIS_KEY_PREFIX", "env:")]).unwrap();
    });
    assert!(warnings.is_empty(), "{warnings:?}");
}

/// A wrong password, a missing one and a database the server does not have are final: connect
/// fails at once and says which it is. A `Config` error comes only from the single probe
/// connection (the retrying manager would end in a `Connection` error); the time bound, half
/// the 10 s connect timeout, leaves room for a loaded machine and still catches a wait for it.
#[tokio::test]
async fn a_refused_login_or_database_fails_at_once_saying_so() {
    let Some(server) = RedisServer::start_with(&["--requirepass", "right-pw"]) else {
        return;
    };
    let cases = [
        (
            server.config("x:").password("hunter2"),
            "authentication failed (WRONGPASS)",
        ),
        (
            server.config("x:").username("nobody").password("hunter2"),
            "authentication failed (WRONGPASS)",
        ),
        (server.config("x:"), "authentication required (NOAUTH)"),
        (
            server.config("x:").db(3),
            "authentication required (NOAUTH)",
        ),
        (
            server.config("x:").password("right-pw").db(99),
            "DB index 99 out of range",
        ),
    ];
    for (config, expected) in cases {
        let err = refused_at_once(config, expected).await;
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }
    let backend = RedisBackend::connect(server.config("x:").password("right-pw").db(15))
        .await
        .unwrap();
    backend.ping().await.unwrap();
}
