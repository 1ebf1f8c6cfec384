//! Property-based testing of the whole API with schemathesis (PyPI, in its own venv under the
//! target folder): it reads `/openapi.json` from the running service, generates requests for
//! every operation — valid ones from the schemas and examples, and invalid ones — and checks
//! that no answer is a `5xx`, no answer breaks the schema the document gives for it, and the
//! server accepts what the document says it accepts (so a client generated from the document
//! sends what the server takes).
//!
//! It runs on a database holding the demo network, so that ids find rows and answers hold every
//! kind of data the service sends (survey answers of every kind, visits, registers), not just
//! what an empty database has.

use convene_tests::python::{schemathesis, target_dir, tool};
use convene_tests::{TestApp, spawn_apps};

#[tokio::test]
async fn schemathesis_finds_no_server_error_no_answer_outside_the_schema_and_no_valid_request_refused() {
    // The apps' own error logs (a database error behind a 5xx, say) on stderr, beside the report.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("convene_api=error"))
        .with_writer(std::io::stderr)
        .try_init();
    for app in spawn_apps().await {
        // Something for ids to find, of every kind: the demo network.
        app.load_demo().await;
        // The bot's routes, as the bot acting for a linked participant (a head of the demo
        // network): with the organiser's key they only answer 403. First, while the head is as
        // the demo made them (the organiser's run may change or erase anyone).
        let bot = app.bot_key().await;
        let head = &app.get("/v1/participants?role=head&limit=1").await.json()["items"][0];
        app.link_discord(&bot, head, "42424242").await;
        let as_bot = [
            format!("Authorization: Bearer {bot}"),
            "X-Discord-User: 42424242".to_owned(),
        ];
        run(&app, "bot", &as_bot, &["--include-path-regex", "^/v1/(me|bot)"], 60).await;
        run(
            &app,
            "organiser",
            &[format!("Authorization: Bearer {}", app.key)],
            &[],
            150,
        )
        .await;
    }
}

/// Runs schemathesis against `app` with `headers` on every request and `filters` choosing the
/// operations, for at most `max_seconds`, and fails the test with its report if it found anything.
async fn run(app: &TestApp, name: &str, headers: &[String], filters: &[&str], max_seconds: u32) {
    let report = target_dir()
        .join("test-artifacts")
        .join("schemathesis")
        .join(format!("{:?}-{name}", app.backend).to_lowercase());
    std::fs::create_dir_all(&report).unwrap();
    let mut command = schemathesis();
    command
        .args(["--no-color", "run"])
        .arg(format!("{}/openapi.json", app.address))
        .args(filters);
    for header in headers {
        command.args(["--header", header]);
    }
    command
        // `positive_data_acceptance`: a request the schema allows must not be refused as
        // malformed (400) or invalid (422). Rules the schema cannot state (an id that must
        // name a row, an end after a start) are in the hooks file, which lets exactly
        // those refusals through, each named by operation, field and rule.
        .args([
            "--checks",
            "not_a_server_error,response_schema_conformance,positive_data_acceptance",
        ])
        .args(["--max-examples", "6", "--seed", "20261202", "--workers", "1"])
        // The stateful phase is left out: its inferred links are schemathesis's own guesses.
        .args([
            "--phases",
            "examples,coverage,fuzzing",
            "--suppress-health-check",
            "all",
        ])
        // A loaded machine (CI shares two cores) must not turn a slow answer into a failure.
        .args(["--max-time", &max_seconds.to_string(), "--request-timeout", "60"])
        .arg("--report")
        .arg("junit")
        .arg("--report-dir")
        .arg(&report)
        .env("SCHEMATHESIS_HOOKS", tool("schemathesis_hooks.py"))
        // Its cache folder goes beside the report, not into the source tree.
        .current_dir(&report);
    // Waited for without blocking this test's runtime: the apps' database connections opened
    // on it (their first, at start-up) answer only while it runs. A blocking wait froze
    // them, and requests on PostgreSQL waited 60 s for a connection and got 503.
    let output = tokio::process::Command::from(command)
        .output()
        .await
        .expect("schemathesis runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{:?} ({name}): schemathesis found problems (report in {}):\n{stdout}\n{stderr}",
        app.backend,
        report.display()
    );
    assert!(stdout.contains("passed"), "{stdout}");
}
