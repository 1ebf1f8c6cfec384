//! Load generation for the benchmarks: closed-loop workers and latency quantiles.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Each measurement's length in seconds: `BENCH_SECONDS`, default 5.
pub fn seconds() -> u64 {
    std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5)
}

/// The databases a benchmark runs on: those the tests use ([`crate::backends`]), or only the one
/// `BENCH_DATABASE` names (`sqlite` or `postgres`), to profile one at a time.
pub fn backends() -> Vec<crate::Backend> {
    let only = std::env::var("BENCH_DATABASE").unwrap_or_default().to_lowercase();
    crate::backends()
        .into_iter()
        .filter(|b| only.is_empty() || format!("{b:?}").to_lowercase() == only)
        .collect()
}

/// Latencies and count of one measured run.
pub struct Run {
    /// Requests that succeeded.
    pub count: usize,
    /// How long the run took.
    pub seconds: f64,
    /// The latency of each success.
    pub latencies: Vec<Duration>,
}

impl Run {
    /// Successes per second.
    pub fn rate(&self) -> f64 {
        self.count as f64 / self.seconds
    }
    /// The `p` quantile of latency (0.99 for p99), in milliseconds.
    pub fn percentile(&self, p: f64) -> f64 {
        let mut sorted = self.latencies.clone();
        sorted.sort_unstable();
        if sorted.is_empty() {
            return 0.0;
        }
        let i = ((sorted.len() as f64 * p).ceil() as usize)
            .saturating_sub(1)
            .min(sorted.len() - 1);
        sorted[i].as_secs_f64() * 1000.0
    }
}

/// Runs `work(k)` from `concurrency` workers until `duration` has passed; `k` counts up from
/// `start`. Returns the successes and the number of failures.
pub async fn drive<F, Fut>(concurrency: usize, duration: Duration, start: usize, work: F) -> (Run, usize)
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let next = Arc::new(AtomicUsize::new(start));
    let work = Arc::new(work);
    let began = Instant::now();
    let deadline = began + duration;
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (next, work) = (next.clone(), work.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut failures = 0;
            while Instant::now() < deadline {
                let k = next.fetch_add(1, Ordering::Relaxed);
                let t = Instant::now();
                if work(k).await {
                    latencies.push(t.elapsed());
                } else {
                    failures += 1;
                }
            }
            (latencies, failures)
        }));
    }
    let mut latencies = Vec::new();
    let mut failures = 0;
    for w in workers {
        let (l, f) = w.await.expect("a worker");
        latencies.extend(l);
        failures += f;
    }
    let seconds = began.elapsed().as_secs_f64();
    (
        Run {
            count: latencies.len(),
            seconds,
            latencies,
        },
        failures,
    )
}

/// The release build of `convene-api`, built on first use into the target folder this bench runs
/// from (`CARGO_TARGET_DIR`, else the workspace's `target`).
///
/// Two details keep this to compiling `main.rs` and linking, instead of rebuilding half the
/// dependency tree (minutes on a small machine, and again on the next `cargo bench`):
/// `-p convene-tests` beside `-p convene-api` resolves features as this bench's own build did, so
/// its release artifacts are reused; and the variables cargo set for this process (`CARGO_PKG_*`,
/// `CARGO_MANIFEST_DIR`, ...) are removed, since build scripts that watch them (ring's) would
/// otherwise count as changed.
pub fn release_binary() -> PathBuf {
    // Another build to measure (an earlier commit's, to compare): `BENCH_BINARY`.
    if let Some(path) = std::env::var_os("BENCH_BINARY").filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    let target = crate::python::target_dir();
    let mut cargo = Command::new(env!("CARGO"));
    const PREFIXES: [&str; 5] = [
        "CARGO_PKG_",
        "CARGO_CFG_",
        "CARGO_MANIFEST_",
        "CARGO_CRATE_",
        "CARGO_BIN_",
    ];
    const NAMES: [&str; 4] = [
        "OUT_DIR",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_TARGET_TMPDIR",
        "CARGO_RUSTC_CURRENT_DIR",
    ];
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if PREFIXES.iter().any(|p| name.starts_with(p)) || NAMES.contains(&name.as_ref()) {
            cargo.env_remove(name.as_ref());
        }
    }
    let status = cargo
        .args([
            "build",
            "--quiet",
            "--release",
            "-p",
            "convene-api",
            "-p",
            "convene-tests",
            "--bin",
            "convene-api",
            "--target-dir",
        ])
        .arg(&target)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building convene-api (release) failed");
    let path = target.join("release").join("convene-api");
    assert!(path.exists(), "no binary at {}", path.display());
    path
}

/// The `Message-ID` header of a message (headers unfolded).
pub fn message_id(mail: &crate::smtp::ReceivedMail) -> Option<String> {
    let text = String::from_utf8_lossy(&mail.raw);
    let head = text.split("\r\n\r\n").next()?;
    let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
    unfolded.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("message-id")
            .then(|| value.trim().to_owned())
    })
}

/// A `convene-api serve` process on the bench's database, killed when dropped.
pub struct Serve {
    child: Child,
    /// Where it listens, `http://127.0.0.1:PORT`.
    pub address: String,
}

impl Serve {
    /// Starts `serve` with its defaults on the app's database, mail to `smtp` (the worker on) or
    /// no worker; its log goes to `log`.
    pub fn start(binary: &Path, app: &crate::TestApp, smtp: Option<&str>, log: &Path) -> Serve {
        let dir = log.parent().expect("a folder");
        let mut command = Command::new(binary);
        command
            .arg("serve")
            .current_dir(dir)
            .env("CONVENE_BIND", "127.0.0.1:0")
            .env("CONVENE_DATABASE_URL", &app.database_url)
            .env("CONVENE_RATE_LIMIT", "0")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(log).expect("a log file"));
        match smtp {
            Some(url) => command.env("CONVENE_SMTP_URL", url),
            None => command.env("CONVENE_WORKER", "false"),
        };
        let mut child = command.spawn().expect("convene-api serve starts");
        let address = crate::serve_address(&mut child);
        Serve { child, address }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        // SIGTERM and a wait, as an operator stops it; then make sure.
        let _ = Command::new("kill").arg(self.child.id().to_string()).status();
        for _ in 0..100 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
