//! TLS on a real `redis-server` that speaks only TLS, with certificates made at test time:
//! the right CA and a client certificate connect and serve GET/SET; a wrong CA, or no client
//! certificate, is refused at once with an error that says so; `from_env` reads the PEM files.
//!
//! Without `redis-server` the tests fail, saying how to install it; with
//! `CACHE_TESTS_SKIP_REDIS=1` they skip with a notice (see `cache_tests::redis_harness`).
#![allow(missing_docs, clippy::unwrap_used, clippy::panic, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use cache_core::{CacheBackend as _, ErrorKind};
use cache_redis::{RedisBackend, RedisConfig};
use cache_tests::redis_harness::{RedisServer, refused_at_once, unique_prefix};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};

/// A CA and, signed by it, a certificate and key, PEM.
struct Pki {
    ca_pem: String,
    server: (String, String),
    client: (String, String),
}

impl Pki {
    fn new() -> Self {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        // Names of their own: a leaf whose subject equals its issuer's (rcgen's default name
        // for both) looks self-signed to OpenSSL, which then refuses it as from an unknown CA.
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "cache-tests CA");
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
        let leaf = |names: &[&str]| {
            let key = KeyPair::generate().unwrap();
            let common_name = names[0];
            let names: Vec<String> = names.iter().map(|name| (*name).to_owned()).collect();
            let mut params = CertificateParams::new(names).unwrap();
            params
                .distinguished_name
                .push(DnType::CommonName, common_name);
            let cert = params.signed_by(&key, &ca).unwrap();
            (cert.pem(), key.serialize_pem())
        };
        Self {
            ca_pem: ca.pem(),
            server: leaf(&["127.0.0.1", "localhost"]),
            client: leaf(&["cache-tests-client"]),
        }
    }
}

/// The test PKI, its files, and a TLS-only server using them (shared by this binary's tests).
struct Setup {
    pki: Pki,
    files: PathBuf,
    server: RedisServer,
}

impl Setup {
    fn file(&self, name: &str) -> PathBuf {
        self.files.join(name)
    }

    /// A config for the server trusting `ca_pem`, with the client certificate.
    fn config(&self, ca_pem: &str) -> RedisConfig {
        let (cert, key) = &self.pki.client;
        self.server
            .config(&unique_prefix("tls"))
            .tls_ca(ca_pem)
            .tls_client_cert(cert.as_str(), key.as_str())
    }
}

fn write(dir: &Path, name: &str, pem: &str) {
    std::fs::write(dir.join(name), pem).unwrap();
}

static SETUP: LazyLock<Option<Setup>> = LazyLock::new(|| {
    let pki = Pki::new();
    let files = std::env::temp_dir().join(format!("cache-redis-tls-{}", std::process::id()));
    std::fs::create_dir_all(&files).unwrap();
    write(&files, "ca.pem", &pki.ca_pem);
    write(&files, "server.pem", &pki.server.0);
    write(&files, "server.key", &pki.server.1);
    write(&files, "client.pem", &pki.client.0);
    write(&files, "client.key", &pki.client.1);
    let server = RedisServer::start_tls(
        &files.join("server.pem"),
        &files.join("server.key"),
        &files.join("ca.pem"),
    )?;
    Some(Setup { pki, files, server })
});

fn setup() -> Option<&'static Setup> {
    // Asked first, so that a missing `redis-server` fails each test with its message (a
    // panic inside the `LazyLock` would leave the others a poisoned lock).
    cache_tests::redis_harness::redis_available()
        .then(|| SETUP.as_ref())
        .flatten()
}

#[tokio::test]
async fn the_right_ca_connects_and_serves_get_and_set() {
    let Some(setup) = setup() else { return };
    let backend = RedisBackend::connect(setup.config(&setup.pki.ca_pem))
        .await
        .unwrap();
    backend
        .set("greeting", b"over tls".to_vec().into(), None)
        .await
        .unwrap();
    let value = backend.get("greeting").await.unwrap();
    assert_eq!(value.as_deref(), Some(&b"over tls"[..]));
}

/// Certificates are checked once and for all: a refusal is final, so connect fails at once
/// rather than after the reconnect backoff. As for a refused login (`redis_config.rs`): a
/// `Config` error comes only from the single probe connection, and the bound is half the
/// 10 s connect timeout.
#[tokio::test]
async fn a_wrong_ca_or_no_client_certificate_is_refused_at_once() {
    let Some(setup) = setup() else { return };
    let other_ca = Pki::new().ca_pem;
    let no_client_cert = setup
        .server
        .config(&unique_prefix("tls"))
        .tls_ca(setup.pki.ca_pem.as_str());
    let cases = [
        (setup.config(&other_ca), "certificate is not trusted"),
        (no_client_cert, "the client certificate"),
    ];
    for (config, expected) in cases {
        refused_at_once(config, expected).await;
    }
}

/// `from_env` reads the three PEM files; the config it makes connects.
#[tokio::test]
async fn from_env_reads_the_certificate_files() {
    let Some(setup) = setup() else { return };
    let path = |name: &str| setup.file(name).display().to_string();
    let url = format!("rediss://127.0.0.1:{}", setup.server.port());
    let vars = [
        ("REDIS_URL", url),
        ("REDIS_TLS_CA", path("ca.pem")),
        ("REDIS_TLS_CERT", path("client.pem")),
        ("REDIS_TLS_KEY", path("client.key")),
        ("REDIS_KEY_PREFIX", unique_prefix("tls-env")),
    ];
    let lookup = |name: &str| {
        vars.iter()
            .find(|(var, _)| *var == name)
            .map(|(_, value)| value.clone())
    };
    let config = RedisConfig::from_lookup(lookup).unwrap();
    let shown = format!("{config:?}");
    assert!(shown.contains("tls: true"), "{shown}");
    assert!(!shown.contains("PRIVATE KEY"), "the key shows: {shown}");
    let backend = RedisBackend::connect(config).await.unwrap();
    backend.ping().await.unwrap();
}

#[test]
fn bad_certificate_variables_name_themselves() {
    let missing = "/nonexistent/cache-tests.pem";
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[("REDIS_URL", "rediss://h"), ("REDIS_TLS_CA", missing)],
            "REDIS_TLS_CA",
        ),
        (
            &[("REDIS_URL", "rediss://h"), ("REDIS_TLS_CERT", "/dev/null")],
            "REDIS_TLS_KEY",
        ),
        (
            &[("REDIS_URL", "rediss://h"), ("REDIS_TLS_KEY", "/dev/null")],
            "REDIS_TLS_CERT",
        ),
        (
            &[("REDIS_URL", "redis://h"), ("REDIS_TLS_CA", "/dev/null")],
            "TLS is off",
        ),
    ];
    for (vars, expected) in cases {
        let lookup = |name: &str| {
            vars.iter()
                .find(|(var, _)| *var == name)
                .map(|(_, value)| (*value).to_owned())
        };
        let err = RedisConfig::from_lookup(lookup).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config, "{err}");
        assert!(
            err.to_string().contains(expected),
            "`{err}` does not say `{expected}`"
        );
    }
}
