//! What the suite needs from Debian's packages (`redis-server`, `chromium`), installed on
//! first use when the tests run as root on a machine that has only the Rust toolchain, so
//! that `cargo test --workspace` does its own set-up. Without root, the error is the exact
//! line to run.

use std::io::Write as _;
use std::process::{Command, Stdio};

/// Installs `packages` with `apt-get` when running as root; otherwise, or when that fails,
/// returns the command that installs them for the caller to report.
///
/// # Errors
///
/// The install line to run (with `sudo` when not root), and why it was not run or failed.
pub fn install(packages: &[&str]) -> Result<(), String> {
    let line = format!("apt-get install -y {}", packages.join(" "));
    if !is_root() {
        return Err(format!(
            "not root, so not installed here: run `sudo {line}`"
        ));
    }
    let names = packages.join(" ");
    // Straight to the process's stderr: `eprintln!` in a test is captured.
    let _ = writeln!(
        std::io::stderr(),
        "installing Debian packages for the tests: {names}"
    );
    let apt = |args: &[&str]| {
        Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    };
    let mut install = vec!["install", "-y", "-q", "--no-install-recommends"];
    install.extend_from_slice(packages);
    // A fresh machine has no package lists yet; an update is only worth it when needed.
    if apt(&install) || (apt(&["update", "-q"]) && apt(&install)) {
        return Ok(());
    }
    Err(format!("`{line}` failed (see its output above)"))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| output.stdout.trim_ascii() == b"0")
}
