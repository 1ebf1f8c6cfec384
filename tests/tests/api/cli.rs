//! The `convene-api` command line, run in-process against the same database as a running app.

use std::io::Write;
use std::sync::{Arc, Mutex};

use clap::Parser as _;
use convene_api::cli::{Cli, run};
use convene_tests::{Backend, TestApp, backends, spawn_app, spawn_apps};
use sea_orm::ConnectionTrait as _;

/// Writes a config file naming the app's database and returns its path.
fn config_for(app: &TestApp, bind: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("convene-cli-{}.toml", rand_name()));
    std::fs::write(
        &path,
        format!(
            "bind = \"{bind}\"\ndatabase_url = \"{}\"\ndb_pool = 4\n",
            app.database_url
        ),
    )
    .unwrap();
    path
}

fn rand_name() -> String {
    format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

/// Runs a command line and returns what it printed.
async fn convene(config: &std::path::Path, args: &[&str]) -> Result<String, String> {
    let mut argv = vec!["convene-api", "--config", config.to_str().unwrap()];
    argv.extend_from_slice(args);
    let mut out = Vec::new();
    let result = run(Cli::try_parse_from(argv).map_err(|e| e.to_string())?, &mut out).await;
    let text = String::from_utf8(out).unwrap();
    result.map(|()| text).map_err(|e| e.to_string())
}

#[tokio::test]
async fn keys_create_prints_the_key_once_on_the_last_line_and_stores_only_its_hash() {
    for app in spawn_apps().await {
        let config = config_for(&app, "127.0.0.1:0");
        let out = convene(&config, &["keys", "create", "--name", "regional-lead"])
            .await
            .unwrap();
        let key = out.lines().last().unwrap().to_owned();
        assert!(key.starts_with("cvn_") && key.len() > 40, "{out}");
        let reply = app
            .send(app.anonymous(reqwest::Method::GET, "/v1/schools").bearer_auth(&key))
            .await;
        assert_eq!(
            reply.status, 200,
            "{:?}: the new key works: {}",
            app.backend, reply.text
        );

        let row = app
            .db
            .query_one_raw(sea_orm::Statement::from_string(
                app.db.get_database_backend(),
                "SELECT key_hash, role FROM api_keys WHERE name = 'regional-lead'".to_owned(),
            ))
            .await
            .unwrap()
            .unwrap();
        let hash: String = row.try_get("", "key_hash").unwrap();
        assert_eq!(hash, convene_api::domain::keys::hash_key(&key));
        assert_ne!(hash, key);
        assert_eq!(row.try_get::<String>("", "role").unwrap(), "organiser");

        let listed = convene(&config, &["keys", "list"]).await.unwrap();
        assert!(
            listed.contains("regional-lead") && listed.contains("active"),
            "{listed}"
        );
        assert!(!listed.contains(&key), "keys list never shows a key");

        assert!(
            convene(&config, &["keys", "create", "--name", "regional-lead"])
                .await
                .unwrap_err()
                .contains("already exists")
        );
        convene(&config, &["keys", "revoke", "regional-lead"]).await.unwrap();
        let revoked = app
            .send(app.anonymous(reqwest::Method::GET, "/v1/schools").bearer_auth(&key))
            .await;
        revoked.problem(401, "unauthorized");
        assert!(convene(&config, &["keys", "list"]).await.unwrap().contains("revoked"));
        assert!(convene(&config, &["keys", "revoke", "regional-lead"]).await.is_err());
        assert!(
            convene(&config, &["keys", "revoke", "nobody"])
                .await
                .unwrap_err()
                .contains("no key")
        );
        std::fs::remove_file(config).ok();
    }
}

#[tokio::test]
async fn a_bot_key_cannot_use_organiser_routes() {
    for app in spawn_apps().await {
        let config = config_for(&app, "127.0.0.1:0");
        let out = convene(&config, &["keys", "create", "--name", "discord", "--role", "bot"])
            .await
            .unwrap();
        let key = out.lines().last().unwrap();
        let reply = app
            .send(app.anonymous(reqwest::Method::GET, "/v1/schools").bearer_auth(key))
            .await;
        reply.problem(403, "forbidden");
        assert!(
            convene(&config, &["keys", "create", "--name", "x", "--role", "admin"])
                .await
                .is_err()
        );
        std::fs::remove_file(config).ok();
    }
}

/// A writer several tasks can share, to read what `serve` printed while it runs.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn the_first_serve_on_an_empty_database_prints_an_organiser_key_that_works() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        // Start from a database with no keys at all, as a new user would.
        app.db.execute_unprepared("DELETE FROM api_keys").await.unwrap();
        let config = config_for(&app, "127.0.0.1:0");
        let out = Shared::default();
        let mut writer = out.clone();
        let argv = vec![
            "convene-api".to_owned(),
            "--config".to_owned(),
            config.to_str().unwrap().to_owned(),
            "serve".to_owned(),
        ];
        tokio::spawn(async move { run(Cli::parse_from(argv), &mut writer).await });
        let mut printed = String::new();
        for _ in 0..200 {
            printed = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
            if printed.lines().last().is_some_and(|l| l.starts_with("cvn_")) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let key = printed.lines().last().unwrap_or_default().to_owned();
        assert!(key.starts_with("cvn_"), "{backend:?}: serve printed {printed}");
        let url = printed.split_whitespace().find(|w| w.starts_with("http://")).unwrap();
        assert!(printed.contains(&format!("{url}/docs")));
        let reply = reqwest::Client::new()
            .get(format!("{url}/v1/schools"))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 200);
        assert_eq!(app.count("api_keys").await, 1);
        std::fs::remove_file(config).ok();
    }
}

#[tokio::test]
async fn several_processes_migrating_one_database_at_once_do_not_race() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        // A second, empty database: the app's own is already migrated.
        let fresh = match backend {
            Backend::Sqlite => app.database_url.replace("convene.db", "second.db"),
            Backend::Postgres => {
                let name = format!("convene_mig_{}", rand_name());
                app.db
                    .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                    .await
                    .unwrap();
                convene_tests::with_database(&app.database_url, &name)
            }
        };
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let url = fresh.clone();
            tasks.push(tokio::spawn(async move {
                let db = convene_api::db::connect(&url, 2).await?;
                convene_api::db::migrate(&db, &url).await?;
                db.close().await
            }));
        }
        for task in tasks {
            task.await
                .unwrap()
                .unwrap_or_else(|e| panic!("{backend:?}: a concurrent migration failed: {e}"));
        }
        let db = convene_api::db::connect(&fresh, 1).await.unwrap();
        let row = db
            .query_one_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                "SELECT COUNT(*) AS n FROM seaql_migrations".to_owned(),
            ))
            .await
            .unwrap()
            .unwrap();
        let all = <migration::Migrator as migration::MigratorTrait>::migrations().len() as i64;
        assert_eq!(
            row.try_get::<i64>("", "n").unwrap(),
            all,
            "{backend:?}: each migration applied once"
        );
        db.close().await.unwrap();
        if backend == Backend::Postgres {
            let name = fresh.rsplit('/').next().unwrap();
            app.db
                .execute_unprepared(&format!("DROP DATABASE \"{name}\" WITH (FORCE)"))
                .await
                .unwrap();
        }
    }
}

#[tokio::test]
async fn the_demo_fills_an_empty_database_while_the_service_runs_and_leaves_a_full_one_alone() {
    for app in spawn_apps().await {
        // The printed URLs name the running app, as they would on the machine it serves.
        let config = config_for(&app, app.address.trim_start_matches("http://"));
        let out = convene(&config, &["demo"]).await.unwrap();
        let key = out.lines().last().unwrap().to_owned();
        assert!(key.starts_with("cvn_"), "the key is alone on the last line: {out}");
        let get = |path: &str| {
            let request = app.anonymous(reqwest::Method::GET, path).bearer_auth(&key);
            app.send(request)
        };
        let schools = get("/v1/schools?limit=100").await.json();
        assert_eq!(schools["items"].as_array().unwrap().len(), 24);
        let authorities: std::collections::BTreeSet<&str> = schools["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["local_authority"].as_str().unwrap())
            .collect();
        assert!(authorities.len() >= 4, "{authorities:?}");

        // A conference with parallel workshops, SLP sessions and triad visits, all published;
        // the public list leaves the visits out.
        let public = app
            .send(app.anonymous(reqwest::Method::GET, "/v1/events?limit=100"))
            .await
            .json();
        assert!(!public.to_string().contains("triad_visit"), "{public}");
        let events = get("/v1/events?limit=100&status=published").await.json();
        let kinds: Vec<&str> = events["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap())
            .collect();
        assert!(
            kinds.contains(&"conference") && kinds.contains(&"slp_session"),
            "{kinds:?}"
        );
        assert_eq!(kinds.iter().filter(|k| **k == "triad_visit").count(), 12, "{kinds:?}");
        let cohorts = get("/v1/cohorts").await.json();
        let cohort = &cohorts["items"][0];
        assert_eq!(cohort["status"], "scheduled");
        let visits = get(&format!("/v1/cohorts/{}/visits", cohort["id"])).await.json();
        assert_eq!(visits["items"].as_array().unwrap().len(), 12);

        // The URLs it printed work: a head's feed and a survey form waiting for an answer.
        let url_after = |label: &str| {
            out.lines()
                .find(|l| l.contains(label))
                .and_then(|l| l.split_whitespace().find(|w| w.starts_with("http")))
                .unwrap_or_else(|| panic!("{label} in {out}"))
                .to_owned()
        };
        let feed = reqwest::get(url_after("teacher's feed:")).await.unwrap();
        assert_eq!(feed.status(), 200);
        assert!(feed.text().await.unwrap().contains("BEGIN:VEVENT"));
        let form = reqwest::get(url_after("survey form:")).await.unwrap();
        assert_eq!(form.status(), 200);
        let survey = get("/v1/surveys").await.json();
        let report = get(&format!("/v1/surveys/{}/report", survey["items"][0]["id"]))
            .await
            .json();
        assert!(report.to_string().contains("\"responses\""), "{report}");
        let reflections = get("/v1/reflections").await.json();
        assert_eq!(reflections["items"].as_array().unwrap().len(), 2);

        // A second run finds the network there and changes nothing.
        let again = convene(&config, &["demo"]).await.unwrap_err();
        assert!(again.contains("already holds 24 schools"), "{again}");
        assert_eq!(app.count("schools").await, 24);
        std::fs::remove_file(config).ok();
    }
}

#[tokio::test]
async fn organisers_invite_makes_an_organiser_and_prints_a_console_link_alone_on_the_last_line() {
    for app in spawn_apps().await {
        let config = config_for(&app, "127.0.0.1:0");
        let teacher = app
            .create_participant(serde_json::json!({"name": "Tom Reed", "email": "tom@school.example"}))
            .await;
        for (email, name) in [
            ("lead@network.example", "Priya Shah"),
            ("Tom@School.example", "ignored"),
        ] {
            let out = convene(&config, &["organisers", "invite", "--email", email, "--name", name])
                .await
                .unwrap();
            let link = out.lines().last().unwrap().to_owned();
            // The config's bind is the public URL's host: the link is of the form <url>/o/auth/<token>.
            let (_, token) = link.split_once("/o/auth/").unwrap_or_else(|| panic!("{out}"));
            let visitor = convene_tests::web::WebVisitor::new(&app);
            let followed = visitor.get(&format!("/o/auth/{token}")).await;
            assert_eq!(followed.status, 303, "{:?}: {}", app.backend, followed.text);
            assert_eq!(
                visitor.get("/o").await.status,
                200,
                "{:?}: {email} is signed in",
                app.backend
            );
        }
        // The new organiser was added; the teacher became one (and kept their name).
        let people = app.get("/v1/participants?role=organiser").await.json();
        let mut names: Vec<&str> = people["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        names.sort_unstable();
        assert_eq!(names, ["Priya Shah", "Tom Reed"], "{:?}: {people}", app.backend);
        assert_eq!(
            app.get(&format!("/v1/participants/{}", teacher["id"])).await.json()["role"],
            "organiser"
        );
        let bad = convene(
            &config,
            &["organisers", "invite", "--email", "not-an-address", "--name", "X"],
        )
        .await;
        assert!(bad.unwrap_err().contains("email"), "{:?}", app.backend);
    }
}
