//! Hostile traffic and privacy: what a client without a key sends cannot grow memory or the
//! metrics without bound, empty the caches, or read secrets in the logs.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{Days, Utc};
use convene_tests::reqwest::Method;
use convene_tests::web::{WebVisitor, csrf_of, plain, signed_in};
use convene_tests::{TestApp, backends, json, spawn_app_with, spawn_apps};
use rand::Rng as _;
use sea_orm::{ConnectionTrait as _, TransactionTrait as _};
use serde_json::Value;

/// The value of the unlabelled metric `name` in `/metrics`.
async fn metric(app: &TestApp, name: &str) -> f64 {
    app.metric(name)
        .await
        .unwrap_or_else(|| panic!("no {name} in /metrics"))
}

/// Random letters, `n` of them.
fn junk(n: usize) -> String {
    let mut rng = rand::rng();
    (0..n).map(|_| rng.random_range(b'a'..=b'z') as char).collect()
}

#[tokio::test]
async fn unknown_query_parameters_on_the_events_list_are_refused_and_junk_filters_do_not_grow_the_cache_past_its_bound()
{
    const BYTES: usize = 256 * 1024;
    for backend in backends() {
        let app = spawn_app_with(backend, |s| {
            s.response_cache_bytes = BYTES;
            s.response_cache_entries = 100;
        })
        .await;
        app.create_event(json!({"status": "published"})).await;

        // An unknown parameter is refused, naming it, and never reaches the cache.
        for _ in 0..50 {
            let path = format!("/v1/events?q=zzzz&pad={}", junk(8 * 1024));
            let reply = app.send(app.anonymous(Method::GET, &path)).await;
            reply.problem(400, "invalid_query");
            assert_eq!(reply.fields(), ["pad"], "{}", reply.text);
        }
        assert_eq!(metric(&app, "convene_response_cache_entries").await, 0.0);

        // A known filter with a different junk value each time is answered, but the cache stays
        // within its bounds, keys included.
        for _ in 0..200 {
            let path = format!("/v1/events?q={}", junk(8 * 1024));
            let reply = app.send(app.anonymous(Method::GET, &path)).await;
            assert_eq!(reply.status, 200, "{}", reply.text);
        }
        let bytes = metric(&app, "convene_response_cache_bytes").await;
        let entries = metric(&app, "convene_response_cache_entries").await;
        assert!(bytes <= BYTES as f64, "{bytes} bytes in the cache");
        assert!(entries <= 100.0, "{entries} entries in the cache");
        assert!(entries > 0.0, "the cache keeps nothing");

        // A normal cached list still gets its ETag and a 304, whatever the parameters' order.
        let first = app
            .send(app.anonymous(Method::GET, "/v1/events?kind=conference&limit=10"))
            .await;
        assert_eq!(first.status, 200, "{}", first.text);
        let etag = first.headers["etag"].to_str().unwrap().to_owned();
        let again = app
            .send(
                app.anonymous(Method::GET, "/v1/events?limit=10&kind=conference")
                    .header("If-None-Match", &etag),
            )
            .await;
        assert_eq!(again.status, 304, "{}", again.text);
        assert_eq!(again.headers["etag"].to_str().unwrap(), etag);
    }
}

#[tokio::test]
async fn requests_with_invented_methods_leave_the_metrics_small_and_are_counted_as_other() {
    for backend in backends() {
        let app = spawn_app_with(backend, |_| {}).await;
        let before = app.send(app.anonymous(Method::GET, "/metrics")).await.text.len();
        for n in 0..300 {
            let method = Method::from_bytes(format!("JUNK{n}{}", junk(20).to_uppercase()).as_bytes()).unwrap();
            let path = if n % 2 == 0 { "/v1/events" } else { "/no/such/place" };
            let reply = app.send(app.anonymous(method, path)).await;
            assert!(reply.status.is_client_error(), "{}: {}", reply.status, reply.text);
        }
        let text = app.send(app.anonymous(Method::GET, "/metrics")).await.text;
        assert!(!text.contains("JUNK"), "an invented method became a label");
        assert!(text.contains(r#"method="other""#), "{text}");
        assert!(text.contains(r#"route="unmatched""#), "{text}");
        assert!(
            text.len() < before + 20_000,
            "/metrics grew from {before} to {} bytes",
            text.len()
        );
    }
}

#[tokio::test]
async fn a_stream_of_refused_posts_and_sign_in_requests_leaves_a_cached_feed_cached() {
    for backend in backends() {
        let app = spawn_app_with(backend, |_| {}).await;
        let event = app.create_event(json!({})).await;
        let feed = format!("/ical/events/{}.ics", event["id"]);
        let first = app.send(app.anonymous(Method::GET, &feed)).await;
        assert_eq!(first.status, 200, "{}", first.text);
        let etag = first.headers["etag"].to_str().unwrap().to_owned();
        let hits = metric(&app, "convene_response_cache_hits_total").await;
        let misses = metric(&app, "convene_response_cache_misses_total").await;

        for _ in 0..50 {
            let reply = app
                .send(app.anonymous(Method::POST, "/v1/nothing-here").json(&json!({})))
                .await;
            reply.problem(404, "not_found");
            let refused = app
                .send(app.anonymous(Method::DELETE, &format!("/v1/events/{}", event["id"])))
                .await;
            assert_eq!(refused.status, 401, "{}", refused.text);
            // Anyone may ask for a sign-in link: it succeeds, and changes nothing a feed shows.
            let asked = app
                .send(
                    app.anonymous(Method::POST, "/p/sign-in")
                        .form(&[("email", format!("{}@nowhere.example", junk(8)))]),
                )
                .await;
            assert_eq!(asked.status, 200, "{}", asked.text);
        }

        let again = app
            .send(app.anonymous(Method::GET, &feed).header("If-None-Match", &etag))
            .await;
        assert_eq!(again.status, 304, "{}", again.text);
        assert_eq!(metric(&app, "convene_response_cache_hits_total").await, hits + 1.0);
        assert_eq!(metric(&app, "convene_response_cache_misses_total").await, misses);

        // A write that succeeds still makes the feed be built again.
        let changed = app
            .patch(
                &format!("/v1/events/{}", event["id"]),
                &json!({"title": "Autumn conference"}),
            )
            .await;
        assert_eq!(changed.status, 200, "{}", changed.text);
        let rebuilt = app.send(app.anonymous(Method::GET, &feed)).await;
        assert!(rebuilt.text.contains("Autumn conference"), "{}", rebuilt.text);
        assert_eq!(metric(&app, "convene_response_cache_misses_total").await, misses + 1.0);
    }
}

#[tokio::test]
async fn csv_cells_a_spreadsheet_could_split_or_run_as_a_formula_are_quoted_and_defused() {
    for backend in backends() {
        let app = spawn_app_with(backend, |_| {}).await;
        let school = app.create_school(json!({"name": "Hill;@Dale School"})).await;
        let jo = app
            .create_participant(json!({"name": "Jo;=1+1", "school_id": school["id"]}))
            .await;
        let jo_id = jo["id"].as_i64().unwrap();

        // The register at the door.
        let session = app.open_session(10, json!({})).await;
        assert_eq!(app.book(&session["id"], jo_id).await.status, 201);
        let register = app.get(&format!("/v1/sessions/{}/register.csv", session["id"])).await;
        assert_eq!(register.status, 200, "{}", register.text);
        assert_eq!(
            register.text,
            "name,school,status\r\n\"Jo;'=1+1\",\"Hill;'@Dale School\",confirmed\r\n"
        );

        // A survey answer, typed through the bot.
        let bot = app.bot_key().await;
        app.link_discord(&bot, &jo, "4242").await;
        let moved = app
            .patch(
                &format!("/v1/sessions/{}", session["id"]),
                &json!({
                    "start": (chrono::Utc::now() - chrono::Duration::days(3)).format("%Y-%m-%dT09:00").to_string(),
                    "end": (chrono::Utc::now() - chrono::Duration::days(3)).format("%Y-%m-%dT12:00").to_string(),
                }),
            )
            .await;
        assert_eq!(moved.status, 200, "{}", moved.text);
        let survey = app
            .post(
                "/v1/surveys",
                &json!({"title": "What changed?", "event_id": session["event_id"],
                    "questions": [{"key": "other", "kind": "text", "prompt": "Anything else?"}]}),
            )
            .await;
        assert_eq!(survey.status, 201, "{}", survey.text);
        let survey = survey.json();
        let sent = app
            .post(&format!("/v1/surveys/{}/invitations:send", survey["id"]), &json!({}))
            .await;
        assert_eq!(sent.json()["invited"], 1, "{}", sent.text);
        let open = app
            .send(app.as_discord(&bot, "4242", Method::GET, "/v1/me/surveys"))
            .await
            .json();
        let path = format!("/v1/me/surveys/{}/answers", open["items"][0]["id"]);
        let answered = app
            .send(
                app.as_discord(&bot, "4242", Method::POST, &path)
                    .json(&json!({"answers": {"other": "fine;=2+5*SUM(A1:A9)"}, "complete": true})),
            )
            .await;
        assert_eq!(answered.status, 200, "{}", answered.text);
        let csv = app
            .get(&format!("/v1/surveys/{}/responses.csv", survey["id"]))
            .await
            .text;
        let row = csv.split("\r\n").nth(1).unwrap();
        assert!(row.ends_with(",\"fine;'=2+5*SUM(A1:A9)\""), "{csv}");
        assert!(row.contains(",\"Jo;'=1+1\",\"Hill;'@Dale School\","), "{csv}");
        assert!(!csv.contains(";=") && !csv.contains(";@"), "{csv}");
    }
}

#[tokio::test]
async fn concurrent_preference_changes_leave_exactly_the_reminders_of_the_final_preferences() {
    use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};
    for backend in backends() {
        let app = spawn_app_with(backend, |_| {}).await;
        let bot = app.bot_key().await;
        let ann = app.create_participant(json!({})).await;
        app.link_discord(&bot, &ann, "777").await;
        let session = app.open_session(10, json!({})).await;
        assert_eq!(app.book(&session["id"], ann["id"].as_i64().unwrap()).await.status, 201);

        let sets = [json!([1440, 60]), json!([120])];
        let changes = (0..24).map(|n| {
            let body = json!({"reminder_offsets_minutes": sets[n % 2]});
            app.send(
                app.as_discord(&bot, "777", Method::PATCH, "/v1/me/preferences")
                    .json(&body),
            )
        });
        for reply in futures_util::future::join_all(changes).await {
            assert_eq!(reply.status, 200, "{}", reply.text);
        }

        let prefs = app
            .send(app.as_discord(&bot, "777", Method::GET, "/v1/me/preferences"))
            .await
            .json();
        let mut expected: Vec<(String, i64)> = Vec::new();
        for minutes in prefs["reminder_offsets_minutes"].as_array().unwrap() {
            for channel in ["discord", "email"] {
                expected.push((channel.to_owned(), minutes.as_i64().unwrap()));
            }
        }
        expected.sort();
        let mut pending: Vec<(String, i64)> = entity::notification::Entity::find()
            .filter(entity::notification::Column::ParticipantId.eq(ann["id"].as_i64().unwrap()))
            .filter(entity::notification::Column::Kind.eq("reminder"))
            .filter(entity::notification::Column::State.eq("pending"))
            .all(&app.db)
            .await
            .unwrap()
            .into_iter()
            .map(|n| (n.channel, n.payload["offset_minutes"].as_i64().unwrap()))
            .collect();
        pending.sort();
        assert_eq!(pending, expected, "{:?}: final preferences {prefs}", app.backend);
    }
}

/// Runs `convene-api <command>` in an empty folder with only `env` set of Convene's and the log's
/// variables, for at most `seconds` (then it is killed); returns its stdout and stderr together.
async fn run_convene(command: &str, env: &[(&str, String)], seconds: u64) -> String {
    use std::process::Stdio;
    use tokio::io::AsyncReadExt as _;
    let binary = tokio::task::spawn_blocking(convene_tests::convene_binary)
        .await
        .unwrap();
    let dir = std::env::temp_dir().join(format!("convene-secrets-{}", junk(12)));
    std::fs::create_dir_all(&dir).unwrap();
    let mut cmd = tokio::process::Command::new(binary);
    cmd.arg(command)
        .current_dir(&dir)
        .env("NO_COLOR", "1")
        .env("CONVENE_BIND", "127.0.0.1:0")
        .env("CONVENE_MAIL_DIR", dir.join("mail"))
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("CONVENE_")) {
        cmd.env_remove(name);
    }
    for (name, value) in env {
        cmd.env(name, value);
    }
    let mut child = cmd.spawn().unwrap();
    let (mut stdout, mut stderr) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let out = tokio::spawn(async move {
        let mut text = String::new();
        stdout.read_to_string(&mut text).await.ok();
        text
    });
    let err = tokio::spawn(async move {
        let mut text = String::new();
        stderr.read_to_string(&mut text).await.ok();
        text
    });
    if tokio::time::timeout(std::time::Duration::from_secs(seconds), child.wait())
        .await
        .is_err()
    {
        child.kill().await.ok();
    }
    let text = format!("{}{}", out.await.unwrap(), err.await.unwrap());
    std::fs::remove_dir_all(&dir).ok();
    text
}

#[tokio::test]
async fn database_and_smtp_passwords_never_reach_the_output_of_serve_or_migrate() {
    const SECRETS: [&str; 4] = ["s3cretPW", "ss-s3cret", "smtpS3cret", "ss-smtp"];
    let smtp = [
        "smtp://mailer:smtpS3cret@127.0.0.1:1".to_owned(),
        "smtps://mailer:p@ss-smtpS3cret@127.0.0.1:1".to_owned(),
    ];
    // Unreachable servers: the URL is described and the connection fails (after the run's
    // time); one that does not parse is refused at once.
    let mut databases = vec![
        "postgres://convene@127.0.0.1:1/convene?password=s3cretPW".to_owned(),
        "postgres://convene:p@ss-s3cret@127.0.0.1:1/convene".to_owned(),
        "postgres://convene:p@ss-s3cret@127.0.0.1:notaport/convene".to_owned(),
    ];
    let mut apps = Vec::new();
    for backend in backends() {
        // Reachable ones: the service starts, migrates and logs at debug level on them too.
        let app = spawn_app_with(backend, |_| {}).await;
        match backend {
            convene_tests::Backend::Sqlite => databases.push(app.database_url.clone()),
            convene_tests::Backend::Postgres => {
                let url = app.database_url.clone();
                databases.push(format!("{url}?password=s3cretPW"));
                let (scheme, rest) = url.split_once("://").unwrap();
                let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
                databases.push(format!("{scheme}://postgres:p@ss-s3cret@{rest}"));
                // A server that answers and refuses: its error is printed.
                let (server, _) = rest.rsplit_once('/').unwrap();
                databases.push(format!("{scheme}://postgres@{server}/no_such_db?password=s3cretPW"));
                databases.push(format!("{scheme}://postgres:p@ss-s3cret@{server}/no_such_db"));
            }
        }
        apps.push(app);
    }
    let mut runs = Vec::new();
    for (n, database) in databases.iter().enumerate() {
        for command in ["serve", "migrate"] {
            for log in [None, Some("RUST_LOG"), Some("CONVENE_LOG")] {
                let mut env = vec![
                    ("CONVENE_DATABASE_URL", database.clone()),
                    ("CONVENE_SMTP_URL", smtp[n % 2].clone()),
                ];
                if let Some(variable) = log {
                    env.push((variable, "debug".to_owned()));
                }
                runs.push(async move {
                    let output = run_convene(command, &env, 8).await;
                    (format!("{command} {log:?} {database}"), output)
                });
            }
        }
    }
    use futures_util::StreamExt as _;
    let outputs: Vec<(String, String)> = futures_util::stream::iter(runs).buffer_unordered(6).collect().await;
    for (run, output) in outputs {
        for secret in SECRETS {
            assert!(!output.contains(secret), "{run}: {secret} in the output:\n{output}");
        }
        if run.starts_with("serve") {
            assert!(output.contains("***"), "{run}: the URLs are not described:\n{output}");
        }
    }
}

/// Asks `/v1/bot/link` as the bot for Discord user `discord_id`.
async fn ask_for_code(app: &TestApp, bot: &str, discord_id: &str, email: &serde_json::Value) -> convene_tests::Reply {
    app.send(
        app.anonymous(Method::POST, "/v1/bot/link")
            .bearer_auth(bot)
            .json(&json!({"discord_id": discord_id, "email": email})),
    )
    .await
}

#[tokio::test]
async fn link_codes_are_limited_per_person_whoever_asks_and_per_discord_user() {
    for backend in backends() {
        let app = spawn_app_with(backend, |_| {}).await;
        let bot = app.bot_key().await;

        // Per person: however many Discord users ask, one code a minute and five an hour are
        // emailed, and every asker gets the same answer.
        let ann = app.create_participant(json!({})).await;
        let ann_id = ann["id"].as_i64().unwrap();
        let mut answers = std::collections::BTreeSet::new();
        for n in 0..10 {
            let reply = ask_for_code(&app, &bot, &format!("{}", 1000 + n), &ann["email"]).await;
            assert_eq!(reply.status, 202, "{}", reply.text);
            answers.insert(reply.text);
        }
        assert_eq!(answers.len(), 1, "{answers:?}");
        assert_eq!(app.notifications("link_code", Some(ann_id)).await, 1);
        for n in 0..8 {
            app.clock.advance(chrono::TimeDelta::seconds(61));
            let reply = ask_for_code(&app, &bot, &format!("{}", 2000 + n), &ann["email"]).await;
            assert_eq!(reply.status, 202, "{}", reply.text);
        }
        assert_eq!(app.notifications("link_code", Some(ann_id)).await, 5);

        // Per Discord user: one code a minute and five an hour, then 429 with Retry-After.
        let mut people = Vec::new();
        for _ in 0..6 {
            people.push(app.create_participant(json!({})).await);
        }
        assert_eq!(ask_for_code(&app, &bot, "9000", &people[0]["email"]).await.status, 202);
        let soon = ask_for_code(&app, &bot, "9000", &people[1]["email"]).await;
        soon.problem(429, "link_rate_limited");
        let retry: i64 = soon.headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=60).contains(&retry), "{retry}");
        for person in &people[1..5] {
            app.clock.advance(chrono::TimeDelta::seconds(61));
            let reply = ask_for_code(&app, &bot, "9000", &person["email"]).await;
            assert_eq!(reply.status, 202, "{}", reply.text);
        }
        app.clock.advance(chrono::TimeDelta::seconds(61));
        let full = ask_for_code(&app, &bot, "9000", &people[5]["email"]).await;
        full.problem(429, "link_rate_limited");
        let retry: i64 = full.headers["retry-after"].to_str().unwrap().parse().unwrap();
        // The first of the five went an hour less five minutes ago (the clock moved on a minute
        // before each of the other four, and before this one).
        assert!((3200..=3295).contains(&retry), "{retry}");
        assert_eq!(app.notifications("link_code", people[5]["id"].as_i64()).await, 0);
        // An unknown address counts for the asker too, and is answered as before.
        let other = ask_for_code(&app, &bot, "9100", &json!("nobody@nowhere.example")).await;
        assert_eq!(other.status, 202, "{}", other.text);
        ask_for_code(&app, &bot, "9100", &people[5]["email"])
            .await
            .problem(429, "link_rate_limited");
    }
}

#[tokio::test]
async fn a_bot_key_is_limited_per_discord_user_and_in_all() {
    for backend in backends() {
        // Per Discord user: one user's burst leaves the others theirs.
        let app = spawn_app_with(backend, |s| s.bot_user_rate_limit = 3).await;
        let bot = app.bot_key().await;
        let ann = app.create_participant(json!({})).await;
        let bob = app.create_participant(json!({})).await;
        app.link_discord(&bot, &ann, "501").await;
        app.link_discord(&bot, &bob, "502").await;
        for _ in 0..3 {
            let reply = app.send(app.as_discord(&bot, "501", Method::GET, "/v1/me")).await;
            assert_eq!(reply.status, 200, "{}", reply.text);
        }
        let limited = app.send(app.as_discord(&bot, "501", Method::GET, "/v1/me")).await;
        limited.problem(429, "rate_limited");
        let retry: u64 = limited.headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=20).contains(&retry), "Retry-After: {retry}");
        let other = app.send(app.as_discord(&bot, "502", Method::GET, "/v1/me")).await;
        assert_eq!(other.status, 200, "{}", other.text);

        // Per key: every request with the key counts, whichever user it is for; another key
        // has its own allowance.
        let app = spawn_app_with(backend, |s| s.bot_key_rate_limit = 6).await;
        let bot = app.bot_key().await;
        let ann = app.create_participant(json!({})).await;
        app.link_discord(&bot, &ann, "601").await; // two requests
        for user in ["601", "602", "603", "604"] {
            let reply = app.send(app.as_discord(&bot, user, Method::GET, "/v1/me")).await;
            assert_ne!(reply.status, 429, "{}", reply.text);
        }
        app.send(app.as_discord(&bot, "601", Method::GET, "/v1/me"))
            .await
            .problem(429, "rate_limited");
        let second = app.bot_key().await;
        let reply = app.send(app.as_discord(&second, "601", Method::GET, "/v1/me")).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
    }
}

/// A triad of three schools (a head each) in three local authorities, with its visits scheduled
/// and a facilitator; returns the published programme, the heads by school, the facilitator and
/// the visits.
async fn scheduled_triad(app: &TestApp) -> (Value, BTreeMap<i64, Value>, Value, Vec<Value>) {
    let programme = app
        .post(
            "/v1/programmes",
            &json!({"name": "Growing the Top", "kind": "triad_cohort"}),
        )
        .await
        .json();
    let path = format!("/v1/programmes/{}", programme["id"]);
    let published = app.patch(&path, &json!({"status": "published"})).await;
    assert_eq!(published.status, 200, "{}", published.text);
    let mut heads = BTreeMap::new();
    for (i, authority) in ["Camden", "Hackney", "Islington"].into_iter().enumerate() {
        let school = app
            .create_school(json!({"name": format!("Triad School {i}"), "local_authority": authority}))
            .await;
        let head = app
            .create_participant(json!({"school_id": school["id"], "role": "head"}))
            .await;
        heads.insert(school["id"].as_i64().unwrap(), head);
    }
    let facilitator = app
        .create_participant(json!({"role": "facilitator", "name": "Fiona Facilitator"}))
        .await;
    let today = Utc::now().date_naive();
    let cohort = app
        .post(
            "/v1/cohorts",
            &json!({"name": "Growing the Top 2027", "programme_id": programme["id"],
                    "school_ids": heads.keys().collect::<Vec<_>>(),
                    "window": {"start": today + Days::new(7), "end": today + Days::new(60)},
                    "facilitators": [{"participant_id": facilitator["id"]}]}),
        )
        .await;
    assert_eq!(cohort.status, 201, "{}", cohort.text);
    let path = format!("/v1/cohorts/{}", cohort.json()["id"]);
    app.accept_proposed_triads(&path).await;
    let scheduled = app.post(&format!("{path}/visits:schedule"), &json!({"seed": 1})).await;
    assert_eq!(scheduled.status, 201, "{}", scheduled.text);
    let visits = scheduled.json()["visits"].as_array().unwrap().clone();
    assert_eq!(visits.len(), 3);
    (programme, heads, facilitator, visits)
}

/// The participant ids booked (active) on session `session_id`, as the organiser sees them.
async fn booked_on(app: &TestApp, session_id: &Value) -> Vec<(i64, i64)> {
    let list = app.get(&format!("/v1/sessions/{session_id}/bookings")).await;
    assert_eq!(list.status, 200, "{}", list.text);
    list.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["status"] == "confirmed" || b["status"] == "waitlisted")
        .map(|b| (b["participant_id"].as_i64().unwrap(), b["id"].as_i64().unwrap()))
        .collect()
}

#[tokio::test]
async fn a_triads_visits_are_hidden_from_the_public_and_only_its_people_may_book_a_freed_seat_though_an_organiser_may_book_anyone()
 {
    for app in spawn_apps().await {
        let (programme, heads, facilitator, visits) = scheduled_triad(&app).await;
        let visit = &visits[0];
        let (event, session) = (&visit["event_id"], &visit["session_id"]);
        let bot = app.bot_key().await;

        // Nobody without an organiser key reads the visit: by id, its sessions, or any feed.
        for path in [
            format!("/v1/events/{event}"),
            format!("/v1/events/{event}/sessions"),
            format!("/v1/sessions/{session}"),
            format!("/ical/events/{event}.ics"),
        ] {
            let anonymous = app.send(app.anonymous(Method::GET, &path)).await;
            assert_eq!(anonymous.status, 404, "{:?} {path}: {}", app.backend, anonymous.text);
            let as_bot = app.send(app.anonymous(Method::GET, &path).bearer_auth(&bot)).await;
            assert_eq!(
                as_bot.status, 404,
                "{:?} {path} with the bot's key: {}",
                app.backend, as_bot.text
            );
        }
        let feed = app
            .send(app.anonymous(Method::GET, &format!("/ical/programmes/{}.ics", programme["id"])))
            .await;
        assert_eq!(feed.status, 200, "{}", feed.text);
        for private in ["Triad", "Fiona", "Camden"] {
            assert!(
                !feed.text.contains(private),
                "{private} in the programme's feed:\n{}",
                feed.text
            );
        }
        let listed = app
            .send(app.anonymous(Method::GET, "/v1/events?kind=triad_visit"))
            .await;
        assert_eq!(listed.json()["items"], json!([]), "{}", listed.text);
        // An organiser still reads it all.
        for path in [format!("/v1/events/{event}"), format!("/v1/sessions/{session}")] {
            assert_eq!(app.get(&path).await.status, 200, "{path}");
        }

        // A head at the host school gives up their seat.
        let host_head = &heads[&visit["host_school_id"].as_i64().unwrap()];
        let host_head_id = host_head["id"].as_i64().unwrap();
        let (_, seat) = *booked_on(&app, session)
            .await
            .iter()
            .find(|(p, _)| *p == host_head_id)
            .expect("the host's head is booked");
        assert_eq!(app.delete(&format!("/v1/bookings/{seat}")).await.status, 200);

        // An outsider neither sees the visit among their open sessions nor books the seat, through
        // the bot or their page.
        let elsewhere = app.create_school(json!({"local_authority": "Barnet"})).await;
        let outsider = app
            .create_participant(json!({"school_id": elsewhere["id"], "role": "head"}))
            .await;
        let outsider_id = outsider["id"].as_i64().unwrap();
        app.link_discord(&bot, &outsider, "7001").await;
        let open = app
            .send(app.as_discord(&bot, "7001", Method::GET, "/v1/me/sessions"))
            .await;
        assert_eq!(open.status, 200, "{}", open.text);
        assert!(!open.text.contains("Triad"), "{}", open.text);
        let refused = app
            .send(
                app.as_discord(&bot, "7001", Method::POST, "/v1/me/bookings")
                    .json(&json!({"session_id": session})),
            )
            .await;
        let problem = refused.problem(403, "not_invited");
        assert!(problem["detail"].as_str().unwrap().contains("triad"), "{problem}");
        let (visitor, page) = signed_in(&app, &outsider).await;
        let refused = visitor
            .post_form(
                "/p/bookings",
                &[("csrf", &csrf_of(&page)), ("session_id", &session.to_string())],
            )
            .await;
        assert_eq!(refused.status, 403, "{}", refused.text);
        assert!(
            plain(&refused.text).contains("only for the triad's schools"),
            "{}",
            refused.text
        );
        assert!(booked_on(&app, session).await.iter().all(|(p, _)| *p != outsider_id));

        // An organiser may book anyone, the outsider included.
        let booked = app.book(session, outsider_id).await;
        assert_eq!(booked.status, 201, "{}", booked.text);
        let outsiders_seat = booked.json()["id"].as_i64().unwrap();
        assert_eq!(app.delete(&format!("/v1/bookings/{outsiders_seat}")).await.status, 200);

        // The triad's own head sees the visit among their open sessions and rejoins it; the
        // facilitator sees it too.
        app.link_discord(&bot, host_head, "7002").await;
        let open = app
            .send(app.as_discord(&bot, "7002", Method::GET, "/v1/me/sessions"))
            .await;
        assert!(open.text.contains("Triad visit"), "{}", open.text);
        let rejoined = app
            .send(
                app.as_discord(&bot, "7002", Method::POST, "/v1/me/bookings")
                    .json(&json!({"session_id": session})),
            )
            .await;
        assert_eq!(rejoined.status, 201, "{:?}: {}", app.backend, rejoined.text);
        assert_eq!(rejoined.json()["status"], "confirmed");
        app.link_discord(&bot, &facilitator, "7003").await;
        let open = app
            .send(app.as_discord(&bot, "7003", Method::GET, "/v1/me/sessions"))
            .await;
        assert_eq!(open.text.matches("Triad visit").count(), 3, "{}", open.text);
    }
}

#[tokio::test]
async fn the_sign_in_form_answers_a_known_and_an_unknown_address_alike_before_looking_either_up() {
    for app in spawn_apps().await {
        let ann = app
            .create_participant(json!({"name": "Ann Jones", "email": "ann@alike.example"}))
            .await;
        let id = ann["id"].as_i64().unwrap();
        // Ann's row (on SQLite, the whole database) is held by a write: a form that looked the
        // address up before answering would wait for it, and only for a known address.
        let txn = app.db.begin().await.unwrap();
        txn.execute_unprepared(&format!(
            "UPDATE participants SET updated_at = updated_at WHERE id = {id}"
        ))
        .await
        .unwrap();
        let visitor = WebVisitor::new(&app);
        let mut pages = Vec::new();
        for address in ["ann@alike.example", "nobody@alike.example"] {
            let answered = tokio::time::timeout(
                Duration::from_secs(30),
                visitor.post_form("/p/sign-in", &[("email", address)]),
            )
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "{:?}: the form did not answer for {address} while the database was busy",
                    app.backend
                )
            });
            assert_eq!(answered.status, 200, "{}", answered.text);
            pages.push(answered.text.replace(address, "ADDRESS"));
        }
        assert_eq!(
            pages[0], pages[1],
            "the page must not tell whether the address is known"
        );
        txn.commit().await.unwrap();

        // The link goes out once the database is free.
        app.wait_for_sign_ins(2).await;
        assert_eq!(app.notifications("sign_in_link", Some(id)).await, 1);
    }
}

#[tokio::test]
async fn secrets_in_request_paths_never_reach_the_log_even_at_debug_level() {
    use std::process::{Command, Stdio};
    for backend in backends() {
        let app = spawn_app_with(backend, |_| {}).await;
        let folder = std::env::temp_dir().join(format!("convene-paths-{}", junk(12)));
        std::fs::create_dir_all(&folder).unwrap();
        let log = folder.join("serve.log");
        let mut child = Command::new(convene_tests::convene_binary())
            .arg("serve")
            .current_dir(&folder)
            .env("CONVENE_BIND", "127.0.0.1:0")
            .env("CONVENE_DATABASE_URL", &app.database_url)
            .env("CONVENE_MAIL_DIR", folder.join("mail"))
            .env("RUST_LOG", "debug")
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("convene-api starts");
        let address = convene_tests::serve_address(&mut child);
        let client = convene_tests::reqwest::Client::new();
        // Each secret is shaped as the real ones are (43 URL-safe characters), so each request
        // reaches the database lookup, whose statements are logged at debug level.
        let secrets: Vec<String> = (0..3).map(|_| junk(43)).collect();
        for path in [
            format!("/s/{}", secrets[0]),
            format!("/ical/p/{}.ics", secrets[1]),
            format!("/p/auth/{}", secrets[2]),
        ] {
            let reply = client.get(format!("{address}{path}")).send().await.unwrap();
            assert_eq!(reply.status().as_u16(), 404, "{path}");
        }
        // Let the log catch up, then stop the process.
        tokio::time::sleep(Duration::from_millis(500)).await;
        child.kill().ok();
        child.wait().ok();
        let text = std::fs::read_to_string(&log).unwrap();
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "{backend:?}: {secret} in the log:\n{text}"
            );
        }
        // The refused feed was logged (a 404 problem is a warning), by its route.
        assert!(
            text.contains("http.route=/ical/p/{token"),
            "{backend:?}: the feed's 404 is not in the log:\n{text}"
        );
        std::fs::remove_dir_all(&folder).ok();
    }
}

#[tokio::test]
async fn every_list_refuses_a_query_parameter_it_does_not_know_naming_it() {
    for app in spawn_apps().await {
        let session = app.open_session(10, json!({})).await;
        let bot = app.bot_key().await;
        let ann = app.create_participant(json!({})).await;
        app.link_discord(&bot, &ann, "8001").await;
        let lists = [
            "/v1/schools".to_owned(),
            "/v1/participants".to_owned(),
            "/v1/programmes".to_owned(),
            "/v1/events".to_owned(),
            format!("/v1/events/{}/sessions", session["event_id"]),
            format!("/v1/sessions/{}/bookings", session["id"]),
            "/v1/cohorts".to_owned(),
            "/v1/reflections".to_owned(),
            "/v1/notifications".to_owned(),
        ];
        for list in &lists {
            let reply = app.get(&format!("{list}?limit=5&pad={}", junk(100))).await;
            let problem = reply.problem(400, "invalid_query");
            assert_eq!(problem["errors"][0]["field"], "pad", "{list}: {problem}");
            assert_eq!(app.get(&format!("{list}?limit=5")).await.status, 200, "{list}");
        }
        for list in ["/v1/me/sessions", "/v1/me/bookings"] {
            let reply = app
                .send(app.as_discord(&bot, "8001", Method::GET, &format!("{list}?pad=1")))
                .await;
            reply.problem(400, "invalid_query");
        }
    }
}
