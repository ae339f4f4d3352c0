//! trybuild ui tests for the macros: `tests/ui/<macro>/{pass,fail}`. This crate depends on
//! nothing the cases do not use, because trybuild compiles every dependency of the crate it
//! runs in again, in a target directory of its own: in `cache-tests`, with the example apps
//! and the HTTP stack, that took 6 of a cold run's 8 minutes.
//!
//! Compiler messages change between Rust versions, so the `.stderr` files are pinned to one
//! toolchain and the test runs only there. Regenerate with `TRYBUILD=overwrite`, then read
//! every changed `.stderr`.

/// The toolchain the `.stderr` files were written with.
const PINNED: &str = "rustc 1.95.";

#[test]
fn ui() {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let version = std::process::Command::new(rustc)
        .arg("--version")
        .output()
        .map(|output| String::from_utf8_lossy(&output.stdout).into_owned())
        .unwrap_or_default();
    if !version.starts_with(PINNED) {
        eprintln!(
            "skipping ui tests: they are pinned to `{PINNED}*`, this is `{}`",
            version.trim()
        );
        return;
    }
    let cases = trybuild::TestCases::new();
    cases.pass("cached/pass/*.rs");
    cases.compile_fail("cached/fail/*.rs");
    cases.pass("rate_limited/pass/*.rs");
    cases.compile_fail("rate_limited/fail/*.rs");
    cases.pass("locked/pass/*.rs");
    cases.compile_fail("locked/fail/*.rs");
}
