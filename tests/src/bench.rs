//! Load generation for the benchmarks: closed-loop workers and latency quantiles.

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
