//! Property-based testing of the whole API with schemathesis (PyPI, in its own venv under the
//! target folder): it reads `/openapi.json` from the running service, generates requests for
//! every operation — valid ones from the schemas and examples, and invalid ones — and checks
//! that no answer is a `5xx` and no answer breaks the schema the document gives for it.

use convene_tests::python::{schemathesis, target_dir};
use convene_tests::{json, spawn_apps};

#[tokio::test]
async fn schemathesis_finds_no_server_error_and_no_answer_outside_the_documented_schema() {
    // The apps' own error logs (a database error behind a 5xx, say) on stderr, beside the report.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("convene_api=error"))
        .with_writer(std::io::stderr)
        .try_init();
    for app in spawn_apps().await {
        // Something for ids to find: a school, a person, a published event with a session.
        let school = app.create_school(json!({})).await;
        app.create_participant(json!({"school_id": school["id"]})).await;
        let event = app.create_event(json!({})).await;
        app.create_session(
            &event["id"],
            json!({"start": "2031-06-04T09:30", "end": "2031-06-04T12:00", "capacity": 30}),
        )
        .await;
        let report = target_dir()
            .join("test-artifacts")
            .join("schemathesis")
            .join(format!("{:?}", app.backend).to_lowercase());
        std::fs::create_dir_all(&report).unwrap();
        let mut command = schemathesis();
        command
            .args(["--no-color", "run"])
            .arg(format!("{}/openapi.json", app.address))
            .args(["--header", &format!("Authorization: Bearer {}", app.key)])
            .args(["--checks", "not_a_server_error,response_schema_conformance"])
            .args(["--max-examples", "6", "--seed", "20261202", "--workers", "1"])
            // The stateful phase is left out: its inferred links are schemathesis's own guesses.
            .args([
                "--phases",
                "examples,coverage,fuzzing",
                "--suppress-health-check",
                "all",
            ])
            // A loaded machine (CI shares two cores) must not turn a slow answer into a failure.
            .args(["--max-time", "150", "--request-timeout", "60"])
            .arg("--report")
            .arg("junit")
            .arg("--report-dir")
            .arg(&report)
            .env("SCHEMATHESIS_HOOKS", "")
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
            "{:?}: schemathesis found problems (report in {}):\n{stdout}\n{stderr}",
            app.backend,
            report.display()
        );
        assert!(stdout.contains("passed"), "{stdout}");
    }
}
