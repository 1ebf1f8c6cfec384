//! The one clock the service reads the time from.
//!
//! Each entry point reads it once — a request through the [`Now`] extractor, a worker's pass, a
//! command of the CLI — and passes that instant down; the domain never reads the system clock
//! (a unit test below holds it to that). In production the clock is the system's; tests move it
//! on with [`Clock::advance`] instead of sleeping or moving rows into the past.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, TimeDelta, Utc};

/// The system's time, moved on by however far a test has advanced it (nothing, outside tests).
/// Clones share the one offset, so a test that advances its copy moves the server's too.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    /// Microseconds added to the system's time.
    offset_micros: Arc<AtomicI64>,
}

impl Clock {
    /// The system's clock.
    pub fn system() -> Self {
        Self::default()
    }

    /// The time now.
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + TimeDelta::microseconds(self.offset_micros.load(Ordering::Relaxed))
    }

    /// Moves this clock (and every clone of it) on by `by`.
    pub fn advance(&self, by: TimeDelta) {
        let micros = by.num_microseconds().unwrap_or(i64::MAX);
        self.offset_micros.fetch_add(micros, Ordering::Relaxed);
    }
}

/// The time a request is answered at: read once from the service's clock when the request
/// comes in, and passed down to whatever the handler calls.
#[derive(Clone, Copy, Debug)]
pub struct Now(pub DateTime<Utc>);

impl actix_web::FromRequest for Now {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<Self, actix_web::Error>>;

    fn from_request(req: &actix_web::HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let now = match req.app_data::<actix_web::web::Data<crate::state::AppState>>() {
            Some(state) => state.clock.now(),
            // Only a handler mounted without the application's state; the system's time then.
            None => Clock::system().now(),
        };
        std::future::ready(Ok(Now(now)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_advanced_clock_moves_every_clone_on() {
        let clock = Clock::system();
        let copy = clock.clone();
        let before = copy.now();
        clock.advance(TimeDelta::days(14));
        let after = copy.now();
        assert!(after - before >= TimeDelta::days(14));
        assert!(after - before < TimeDelta::days(14) + TimeDelta::minutes(1));
    }

    /// The domain and the solvers take the time they are given: only the clock above, the
    /// entry points (routes, worker, CLI, demo) and code outside the domain read the system's.
    #[test]
    fn the_domain_never_reads_the_system_clock() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut offenders = Vec::new();
        for dir in ["domain", "solver"] {
            visit(&root.join(dir), &mut |path, text| {
                for (n, line) in text.lines().enumerate() {
                    if line.contains("Utc::now") || line.contains("Local::now") || line.contains("SystemTime::now") {
                        offenders.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
                    }
                }
            });
        }
        assert!(
            offenders.is_empty(),
            "the domain reads the system clock:\n{}",
            offenders.join("\n")
        );
    }

    fn visit(dir: &std::path::Path, check: &mut impl FnMut(&std::path::Path, &str)) {
        for entry in std::fs::read_dir(dir).expect("the source folder") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                visit(&path, check);
            } else if path.extension().is_some_and(|e| e == "rs") {
                check(&path, &std::fs::read_to_string(&path).expect("a source file"));
            }
        }
    }
}
