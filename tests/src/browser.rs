//! A real browser for the participant-facing pages: Debian's Chromium, headless, driven through
//! Debian's chromedriver by Selenium (`tools/survey_browser.py`). Chromium and its driver are
//! installed with apt-get on first use; Selenium goes into its own venv under the target folder.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::python::{browser_python, target_dir, tool};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Chromium and chromedriver, installed if missing.
fn ensure_chromium() {
    if !Path::new(CHROMIUM).exists() || !Path::new(CHROMEDRIVER).exists() {
        crate::debian::install(&["chromium", "chromium-driver"], "the browser tests");
    }
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing after installing chromium"
    );
    assert!(
        Path::new(CHROMEDRIVER).exists(),
        "{CHROMEDRIVER} is missing after installing chromium-driver"
    );
}

/// Where screenshots are kept: `<target>/test-artifacts/<name>/`, made fresh.
pub fn artifacts(name: &str) -> PathBuf {
    let dir = target_dir().join("test-artifacts").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `tools/<script>` with Selenium against `url`, with JavaScript off and a 360-px-wide
/// window, keeping screenshots in `shots`; returns what the script printed (JSON), or fails the
/// test with its reason.
pub fn run(script: &str, url: &str, shots: &Path, extra: &[&str]) -> Value {
    ensure_chromium();
    let output = Command::new(browser_python())
        .arg(tool(script))
        .arg(url)
        .arg(shots)
        .args(extra)
        .env("CHROMIUM", CHROMIUM)
        .env("CHROMEDRIVER", CHROMEDRIVER)
        .env("SE_AVOID_STATS", "true")
        .output()
        .unwrap_or_else(|e| panic!("could not start the browser script: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the browser script failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("the browser script printed no JSON ({e}): {stdout}"))
}
