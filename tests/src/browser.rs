//! A real browser for the tests of pages: Debian's headless Chromium (`apt-get install
//! chromium`, done by `.ci/run`), asked for the DOM it built from a page.

use std::io::Write;
use std::path::Path;
use std::sync::LazyLock;
use std::time::Duration;

/// Set to `1` to skip the browser tests where Chromium cannot be installed (printed, never
/// silent). Without it a missing Chromium fails the test.
pub const SKIP_BROWSER_VAR: &str = "CACHE_TESTS_SKIP_BROWSER";

/// Where Debian's package puts the browser.
const CHROMIUM: &str = "/usr/bin/chromium";

/// Chromium installed once per test binary, by the first browser test that finds it missing.
static INSTALLED: LazyLock<Result<(), String>> =
    LazyLock::new(|| crate::packages::install(&["chromium"]));

/// How long the browser may take to load and render one page.
const RENDER_TIMEOUT: Duration = Duration::from_secs(60);

/// The DOM Chromium rendered from `url` (`--dump-dom`), or `None` when the browser is missing
/// and [`SKIP_BROWSER_VAR`] asks for a skip. A missing browser is installed first when the
/// tests run as root ([`crate::packages`]).
///
/// # Panics
///
/// When Chromium is missing and cannot be installed (without the skip), fails, or takes
/// longer than a minute.
pub async fn rendered_dom(url: &str) -> Option<String> {
    if !Path::new(CHROMIUM).exists() {
        let message =
            format!("{CHROMIUM} is missing (set {SKIP_BROWSER_VAR}=1 to skip the browser tests)");
        if std::env::var(SKIP_BROWSER_VAR).is_ok_and(|value| value == "1") {
            // Straight to the process's stderr, so that the skip shows in the summary.
            let _ = writeln!(
                std::io::stderr(),
                "NOTICE: skipping a browser test: {message}"
            );
            return None;
        }
        if let Err(why) = &*INSTALLED {
            panic!("{message}; {why}");
        }
    }
    let profile = std::env::temp_dir().join(format!("cache-tests-chromium-{}", std::process::id()));
    let run = tokio::process::Command::new(CHROMIUM)
        .args([
            "--headless",
            // Root in a container has no user namespace for the sandbox.
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(url)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(RENDER_TIMEOUT, run)
        .await
        .unwrap_or_else(|_| panic!("chromium did not render {url} within {RENDER_TIMEOUT:?}"))
        .unwrap_or_else(|error| panic!("cannot run {CHROMIUM}: {error}"));
    let _ = std::fs::remove_dir_all(&profile);
    assert!(
        output.status.success(),
        "chromium failed on {url}: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    Some(String::from_utf8_lossy(&output.stdout).into_owned())
}
