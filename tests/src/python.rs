//! Independent readers written in Python, installed by the tests themselves: on first use a
//! virtual environment is made under the target folder with pinned packages, so a new machine
//! needs only `python3`. A missing Python fails the test with the reason; nothing is skipped.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use serde_json::Value;

/// The pinned packages of the one venv: the `icalendar` release the feeds are checked against, and
/// the SMTP server the mail tests send to (see `smtp.rs`). The venv's folder is named after this
/// list, so changing it makes a new venv beside the old one.
const PACKAGES: &[&str] = &["icalendar==7.3.0", "aiosmtpd==1.4.6"];

static INSTALL: Mutex<()> = Mutex::new(());

/// Cargo's target folder (`CARGO_TARGET_DIR`, else the workspace's `target`), under whose
/// `test-tools` the tests keep what they install.
pub fn target_dir() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let root = root.canonicalize().unwrap_or(root);
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => root.join(dir),
        _ => root.join("target"),
    }
}

fn run(command: &mut Command, what: &str) {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{what}: could not start {command:?}: {e} (the tests need python3 on PATH)"));
    assert!(
        output.status.success(),
        "{what} failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A file in `tests/tools`.
pub fn tool(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tools").join(name)
}

/// The pinned packages of the browser checks' venv (kept apart so the feed checks' venv does
/// not change): Selenium, driving Debian's Chromium through Debian's chromedriver.
const BROWSER_PACKAGES: &[&str] = &["selenium==4.49.0"];

/// The virtual environment's `python`, made on first use with the pinned `PACKAGES`.
pub fn venv_python() -> PathBuf {
    venv_with(PACKAGES)
}

/// The `python` of the venv with Selenium, made on first use.
pub fn browser_python() -> PathBuf {
    venv_with(BROWSER_PACKAGES)
}

/// The pinned release of schemathesis, which generates requests from the service's OpenAPI
/// document and checks the answers against it.
const SCHEMATHESIS_PACKAGES: &[&str] = &["schemathesis==4.32.5"];

/// A command running schemathesis from its own venv, made on first use. It goes through the
/// venv's `python` (the venv is built beside and renamed, so its scripts' `#!` lines name the
/// folder it was built in).
pub fn schemathesis() -> Command {
    let mut command = Command::new(venv_with(SCHEMATHESIS_PACKAGES));
    command.args([
        "-c",
        "import sys; from schemathesis.cli import schemathesis; sys.argv[0] = 'schemathesis'; sys.exit(schemathesis())",
    ]);
    command
}

/// The `python` of a venv with `packages`, made on first use under the target folder.
fn venv_with(packages: &[&str]) -> PathBuf {
    let name = packages
        .iter()
        .map(|p| p.replace("==", "-"))
        .collect::<Vec<_>>()
        .join("-");
    let venv = target_dir().join("test-tools").join(format!("py-{name}"));
    let python = venv.join("bin").join("python");
    let _guard = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    if venv.join(".installed").exists() {
        return python;
    }
    // Build beside, then rename: a half-made environment (an interrupted run, another test
    // binary) is never taken for a whole one.
    let building = venv.with_extension(format!("building-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&building);
    std::fs::create_dir_all(building.parent().unwrap()).unwrap();
    run(
        Command::new("python3").args(["-m", "venv"]).arg(&building),
        "making a Python venv for the feed checks",
    );
    run(
        Command::new(building.join("bin").join("python"))
            .args(["-m", "pip", "install", "--disable-pip-version-check", "--quiet"])
            .args(packages),
        "installing the test tools' Python packages from PyPI (needs the network once)",
    );
    std::fs::write(building.join(".installed"), packages.join("\n")).unwrap();
    if std::fs::rename(&building, &venv).is_err() {
        // Another process finished first; use theirs.
        let _ = std::fs::remove_dir_all(&building);
        assert!(
            venv.join(".installed").exists(),
            "could not move the venv into {}",
            venv.display()
        );
    }
    python
}

/// Reads a calendar with Python's `icalendar` (see `tools/check_ics.py`): fails the test, with
/// the reader's reason, if the feed does not parse, has a TZID without a VTIMEZONE, folds badly,
/// or has a VTIMEZONE that disagrees with the zone database; else returns what it read.
pub fn read_ics(ics: &[u8]) -> Value {
    let python = venv_python();
    let dir = std::env::temp_dir().join(format!("convene-ics-{}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("feed.ics");
    std::fs::write(&file, ics).unwrap();
    let script = tool("check_ics.py");
    let output = Command::new(python).arg(script).arg(&file).output().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        output.status.success(),
        "Python's icalendar refused the feed: {}\n--- feed ---\n{}",
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(ics)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}
