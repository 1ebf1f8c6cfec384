//! Debian packages the tests need (libical's headers, Chromium and its driver), installed with
//! apt-get on first use. The tests run as root on CI; elsewhere a missing package fails the
//! test with what to install, never skips it.

use std::process::Command;
use std::sync::Mutex;

static APT: Mutex<()> = Mutex::new(());

fn output_text(output: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn apt_get(args: &[&str]) -> Result<(), String> {
    let output = Command::new("apt-get")
        .args(["-o", "DPkg::Lock::Timeout=300"])
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .output()
        .map_err(|e| format!("could not start apt-get: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!("apt-get {} failed: {}", args.join(" "), output_text(&output)))
    }
}

/// Installs Debian's `packages` (with an `apt-get update` if the first try fails), or panics
/// saying what `purpose` needed them.
pub fn install(packages: &[&str], purpose: &str) {
    let _guard = APT.lock().unwrap_or_else(|e| e.into_inner());
    let uid = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    assert!(
        uid == "0",
        "{purpose} needs Debian's {packages:?}; the tests install them with apt-get, which needs root, \
         and run as uid {uid:?}: install them by hand"
    );
    let mut args = vec!["install", "-y", "--no-install-recommends"];
    args.extend_from_slice(packages);
    if let Err(first) = apt_get(&args) {
        if let Err(update) = apt_get(&["update"]) {
            panic!("installing {packages:?} for {purpose}: {first}\nthen {update}");
        }
        if let Err(second) = apt_get(&args) {
            panic!("installing {packages:?} for {purpose}: {first}\nafter apt-get update: {second}");
        }
    }
}
