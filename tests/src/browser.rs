//! A real browser for the participant-facing pages and the organiser console: Debian's Chromium,
//! headless, driven through Debian's chromedriver by Selenium (the scripts in `tools/`). Chromium
//! and its driver are installed with apt-get on first use; Selenium goes into its own venv under
//! the target folder, and axe-core (the accessibility checker the console's script injects) into
//! an npm folder beside it.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

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

/// Whether the pages' own JavaScript runs in the browser a script drives; the script is told
/// through `CONVENE_BROWSER_JAVASCRIPT` (`on` or `off`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JavaScript {
    /// Off, as for a reader whose browser runs none: the participant pages must work so.
    Off,
    /// On, for a script that injects its own checker (axe-core) into each page.
    On,
}

/// Runs `tools/<script>` with Selenium against `url`, with JavaScript off and a 360-px-wide
/// window, keeping screenshots in `shots`; returns what the script printed (JSON), or fails the
/// test with its reason.
pub fn run(script: &str, url: &str, shots: &Path, extra: &[&str]) -> Value {
    run_with(script, url, shots, extra, JavaScript::Off, |pause| {
        panic!("{script} paused ({pause}) and nothing was to resume it")
    })
}

/// Runs `tools/<script>` as [`run`] does, telling it whether to turn the pages' JavaScript on.
///
/// A script may stop part-way for the test to act on the app (move its clock on, say): it prints
/// a line `{"pause": "<what>", …}` and waits; `on_pause` is called with that object, and when it
/// returns the script is told to go on (a line `go` on its stdin). A script that fails part-way
/// may print what it saw so far with an `error` naming the step; the failure message puts it first.
pub fn run_with(
    script: &str,
    url: &str,
    shots: &Path,
    extra: &[&str],
    javascript: JavaScript,
    mut on_pause: impl FnMut(&Value),
) -> Value {
    ensure_chromium();
    let mut child = Command::new(browser_python())
        .arg(tool(script))
        .arg(url)
        .arg(shots)
        .args(extra)
        .env("CHROMIUM", CHROMIUM)
        .env("CHROMEDRIVER", CHROMEDRIVER)
        .env("SE_AVOID_STATS", "true")
        .env(
            "CONVENE_BROWSER_JAVASCRIPT",
            match javascript {
                JavaScript::Off => "off",
                JavaScript::On => "on",
            },
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("could not start the browser script: {e}"));
    // Read apart, so that a script writing much to stderr never blocks on a full pipe.
    let mut stderr = child.stderr.take().expect("a piped stderr");
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let mut stdin = child.stdin.take().expect("a piped stdin");
    let mut stdout = String::new();
    for line in BufReader::new(child.stdout.take().expect("a piped stdout")).lines() {
        let line = line.unwrap_or_else(|e| panic!("could not read what {script} printed: {e}"));
        match serde_json::from_str::<Value>(&line) {
            Ok(pause) if pause.get("pause").is_some() => {
                on_pause(&pause);
                writeln!(stdin, "go")
                    .and_then(|()| stdin.flush())
                    .unwrap_or_else(|e| panic!("could not tell {script} to go on after {pause}: {e}"));
            }
            _ => {
                stdout.push_str(&line);
                stdout.push('\n');
            }
        }
    }
    drop(stdin);
    let status = child
        .wait()
        .unwrap_or_else(|e| panic!("could not wait for {script}: {e}"));
    let stderr = errors.join().unwrap_or_default();
    if !status.success() {
        let stopped = serde_json::from_str::<Value>(stdout.trim())
            .ok()
            .and_then(|seen| seen["error"].as_str().map(|step| format!(" at {step}")))
            .unwrap_or_default();
        panic!(
            "the browser script {script} failed{stopped} (screenshots in {}):\n{stdout}\n{stderr}",
            shots.display(),
        );
    }
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("the browser script printed no JSON ({e}): {stdout}"))
}

/// The pinned release of axe-core, Deque's accessibility rules engine, that the console's
/// browser script runs in every page. Its folder is named after it, so changing it installs anew.
const AXE_CORE: &str = "4.10.3";

static NPM: Mutex<()> = Mutex::new(());

/// `axe.min.js` of the pinned axe-core, installed with npm under the target folder on first use
/// (needs the network once, and `npm`: Debian's is installed if missing, as Chromium is).
pub fn axe_core() -> PathBuf {
    let name = format!("npm-axe-core-{AXE_CORE}");
    let tools = target_dir().join("test-tools");
    let prefix = tools.join(&name);
    let script = |prefix: &Path| prefix.join("node_modules").join("axe-core").join("axe.min.js");
    let _guard = NPM.lock().unwrap_or_else(|e| e.into_inner());
    if prefix.join(".installed").exists() {
        return script(&prefix);
    }
    let npm = ensure_npm();
    // Install beside, then rename (as the venvs are): a half-made folder from an interrupted run
    // or another test binary is never taken for a whole one.
    let building = tools.join(format!("{name}.building-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&building);
    std::fs::create_dir_all(&building).unwrap();
    let output = Command::new(&npm)
        .arg("install")
        .arg("--prefix")
        .arg(&building)
        .arg(format!("axe-core@{AXE_CORE}"))
        .args(["--no-audit", "--no-fund", "--no-package-lock", "--loglevel=error"])
        .output()
        .unwrap_or_else(|e| panic!("could not start {}: {e}", npm.display()));
    assert!(
        output.status.success(),
        "installing axe-core {AXE_CORE} with npm failed (it needs the registry once): {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let manifest = building.join("node_modules").join("axe-core").join("package.json");
    let manifest: Value = serde_json::from_slice(&std::fs::read(&manifest).unwrap_or_default()).unwrap_or_default();
    assert_eq!(
        manifest["version"],
        AXE_CORE,
        "npm installed another axe-core than the pinned one into {}",
        building.display()
    );
    assert!(
        script(&building).is_file(),
        "npm installed axe-core without axe.min.js into {}",
        building.display()
    );
    std::fs::write(building.join(".installed"), AXE_CORE).unwrap();
    if std::fs::rename(&building, &prefix).is_err() {
        // Another process finished first; use theirs.
        let _ = std::fs::remove_dir_all(&building);
        assert!(
            prefix.join(".installed").exists(),
            "could not move axe-core into {}",
            prefix.display()
        );
    }
    script(&prefix)
}

/// The `npm` to install with: the one on `PATH`, else Debian's, installed now.
fn ensure_npm() -> PathBuf {
    let works = |npm: &Path| {
        Command::new(npm)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let on_path = PathBuf::from("npm");
    if works(&on_path) {
        return on_path;
    }
    crate::debian::install(
        &["nodejs", "npm"],
        "the console's accessibility check (axe-core from npm)",
    );
    let debian = PathBuf::from("/usr/bin/npm");
    assert!(
        works(&debian),
        "the console's accessibility check needs npm (Node.js) to install axe-core, and /usr/bin/npm \
         does not run after installing Debian's nodejs and npm: install Node.js with npm by hand"
    );
    debian
}

/// The serious or critical accessibility violations (axe-core) a script found on `pages`, one
/// line each, naming the page, the rule and the elements.
pub fn violations_of(pages: &[Value]) -> Vec<String> {
    pages
        .iter()
        .flat_map(|page| {
            page["violations"].as_array().into_iter().flatten().map(move |v| {
                format!(
                    "{} ({}): {} [{}] {} — {}",
                    page["slug"].as_str().unwrap_or("?"),
                    page["url"].as_str().unwrap_or("?"),
                    v["id"].as_str().unwrap_or("?"),
                    v["impact"].as_str().unwrap_or("?"),
                    v["help"].as_str().unwrap_or("?"),
                    v["targets"]
                )
            })
        })
        .collect()
}

/// The window widths the console is used at: a small phone and a desktop.
pub const WIDTHS: [u32; 2] = [360, 1280];

/// Opens `paths` of the organiser console in headless Chromium (`tools/pages_browser.py`, with
/// JavaScript on), signed in as `lead` through an emailed link, at each of [`WIDTHS`], keeping
/// screenshots in `shots`; checks what every page must be — shown where asked (not sent
/// elsewhere), one `h1`, no sideways scrolling, no serious or critical axe-core violation, a
/// real screenshot — and returns each width's pages as the script read them (their svgs too).
pub async fn console_pages(
    app: &crate::TestApp,
    lead: &Value,
    paths: &[String],
    shots: &Path,
) -> Vec<(u32, Vec<Value>)> {
    let axe = tokio::task::spawn_blocking(axe_core)
        .await
        .expect("axe-core is fetched");
    let listed = serde_json::to_string(paths).expect("paths as JSON");
    let mut seen_at = Vec::new();
    for (n, width) in WIDTHS.into_iter().enumerate() {
        if n > 0 {
            // One sign-in link a minute is sent to a person.
            app.clock.advance(chrono::TimeDelta::seconds(61));
        }
        let link = crate::web::console_link(app, lead).await;
        let (axe, into, listed) = (axe.clone(), shots.to_owned(), listed.clone());
        let seen = tokio::task::spawn_blocking(move || {
            run_with(
                "pages_browser.py",
                &link,
                &into,
                &[&width.to_string(), axe.to_str().unwrap_or_default(), &listed],
                JavaScript::On,
                |pause| panic!("pages_browser.py does not pause, yet it did: {pause}"),
            )
        })
        .await
        .expect("the browser ran");
        let at = format!("{:?} at {width} px", app.backend);
        assert_eq!(seen["landed"], "/o", "{at}: the link signs the organiser in: {seen}");
        let pages = seen["pages"]
            .as_array()
            .unwrap_or_else(|| panic!("{at}: no pages: {seen}"))
            .clone();
        assert_eq!(pages.len(), paths.len(), "{at}: {seen}");
        for (page, path) in pages.iter().zip(paths) {
            let asked = path.split('?').next().unwrap_or_default();
            assert_eq!(
                page["final_path"], asked,
                "{at}: {path} is shown, not sent elsewhere: {}",
                page["url"]
            );
            assert_eq!(page["h1_count"], 1, "{at}: {path} has one h1");
            assert!(
                page["scroll_width"].as_u64().is_some_and(|w| w <= u64::from(width) + 1),
                "{at}: {path} does not scroll sideways: {} px wide",
                page["scroll_width"]
            );
            let shot = shots.join(page["screenshot"].as_str().unwrap_or_default());
            assert!(
                std::fs::metadata(&shot).is_ok_and(|m| m.len() > 1000),
                "{at}: {} is a real image",
                shot.display()
            );
        }
        let violations = violations_of(&pages);
        assert!(
            violations.is_empty(),
            "{at}: serious or critical accessibility violations (axe-core):\n{}",
            violations.join("\n")
        );
        seen_at.push((width, pages));
    }
    seen_at
}
