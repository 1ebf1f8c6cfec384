//! The console's other pages over HTTP: API keys (shown once, revoked at once), undelivered
//! messages sent again, schools, people and programmes added and changed, a spreadsheet checked
//! line by line before it is imported, and a survey made from a template and sent now.

use convene_tests::web::{WebVisitor, console_organiser, csrf_of, heading_of, location, plain, submit, words};
use convene_tests::{COUNCIL_TERM_DATES, Reply, TestApp, backends, json, spawn_app};
use reqwest::Method;
use sea_orm::ConnectionTrait as _;
use serde_json::Value;

/// The actions the organisers' changes wrote to the trail, newest first.
async fn organiser_actions(app: &TestApp) -> Vec<String> {
    app.get("/v1/audit?actor=organiser&limit=500").await.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn an_api_key_is_made_and_shown_once_then_revoked_from_the_console_and_stops_working_at_once() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let (visitor, _) = console_organiser(&app).await;
        let made = submit(
            &visitor,
            "/o/keys",
            "/o/keys",
            &[("name", "sync-with-mis"), ("role", "organiser")],
        )
        .await;
        assert_eq!(made.status, 201, "{backend:?}: {}", made.text);
        let start = made.text.find("value=\"cvn_").expect("the secret is shown") + "value=\"".len();
        let secret = made.text[start..start + made.text[start..].find('"').unwrap()].to_owned();
        let with_key = |secret: String| {
            let app = &app;
            async move {
                app.send(
                    app.anonymous(Method::GET, "/v1/events?status=draft")
                        .bearer_auth(secret),
                )
                .await
                .status
            }
        };
        assert_eq!(with_key(secret.clone()).await, 200, "{backend:?}: the new key works");
        let listed = visitor.get("/o/keys").await.text;
        assert!(plain(&listed).contains("sync-with-mis"));
        assert!(!listed.contains(&secret), "shown only once");

        let taken = submit(
            &visitor,
            "/o/keys",
            "/o/keys",
            &[("name", "sync-with-mis"), ("role", "organiser")],
        )
        .await;
        assert_eq!(taken.status, 409, "{}", taken.text);
        assert!(taken.text.contains("id=\"name-error\""), "{}", taken.text);

        let revoked = submit(&visitor, "/o/keys", "/o/keys/revoke", &[("name", "sync-with-mis")]).await;
        assert_eq!(location(&revoked), "/o/keys?done=revoked");
        assert_eq!(with_key(secret).await, 401, "{backend:?}: revoked at once");
        let actions = organiser_actions(&app).await;
        assert_eq!(actions[..2], ["key.revoked", "key.created"], "{backend:?}");
    }
}

#[tokio::test]
async fn an_undelivered_message_is_listed_with_its_reason_and_sent_again_from_the_console() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let (visitor, _) = console_organiser(&app).await;
        let session = app.open_session(5, json!({})).await;
        let person = app.create_participants(1, None).await[0];
        app.book(&session["id"], person).await;
        app.db
            .execute_unprepared(
                "UPDATE notifications SET state = 'dead', attempts = 5, last_error = '550 5.1.1 mailbox unavailable' \
                 WHERE kind = 'booking_confirmed'",
            )
            .await
            .unwrap();
        let id = app.get("/v1/notifications?state=dead").await.json()["items"][0]["id"].clone();

        let listed = visitor.get("/o/notifications").await;
        assert_eq!(listed.status, 200);
        assert!(
            plain(&listed.text).contains("550 5.1.1 mailbox unavailable"),
            "{}",
            listed.text
        );
        let retried = submit(
            &visitor,
            "/o/notifications",
            &format!("/o/notifications/{id}/retry"),
            &[],
        )
        .await;
        let back = visitor.get(&location(&retried)).await;
        assert!(plain(&back.text).contains("queued again"), "{backend:?}: {}", back.text);
        let row = app.get("/v1/notifications?kind=booking_confirmed").await.json()["items"][0].clone();
        assert_ne!(row["state"], "dead", "{backend:?}: {row}");
        // Its count starts again (the worker may already have made the first new try).
        assert!(row["attempts"].as_i64().is_some_and(|n| n <= 1), "{backend:?}: {row}");

        let again = submit(
            &visitor,
            "/o/notifications",
            &format!("/o/notifications/{id}/retry"),
            &[],
        )
        .await;
        assert_eq!(again.status, 409, "{backend:?}: only dead messages: {}", again.text);
        assert_eq!(organiser_actions(&app).await, ["notification.retried"]);
    }
}

#[tokio::test]
async fn schools_people_and_programmes_are_found_added_and_changed_with_refusals_shown_on_their_fields() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let (visitor, _) = console_organiser(&app).await;

        let school = [
            ("name", "Haverstock School"),
            ("urn", "100050"),
            ("local_authority", "Camden"),
            ("region", "London"),
            ("phase", "secondary"),
            ("strengths", "oracy; reading"),
            ("priorities", "maths"),
            ("accredited_practice", "oracy"),
        ];
        let added = submit(&visitor, "/o/schools/new", "/o/schools/new", &school).await;
        let school_page = location(&added);
        assert!(school_page.ends_with("?done=created"), "{school_page}");
        let school_id = school_page["/o/schools/".len()..school_page.find('?').unwrap()].to_owned();
        let stored = app.get(&format!("/v1/schools/{school_id}")).await.json();
        assert_eq!(stored["strengths"], json!(["oracy", "reading"]));
        let again = submit(&visitor, "/o/schools/new", "/o/schools/new", &school).await;
        assert_eq!(again.status, 409, "{backend:?}: {}", again.text);
        assert!(again.text.contains("id=\"urn-error\""));
        let mut renamed = school.to_vec();
        renamed[0] = ("name", "Haverstock School and Sixth Form");
        let changed = submit(
            &visitor,
            &format!("/o/schools/{school_id}"),
            &format!("/o/schools/{school_id}"),
            &renamed,
        )
        .await;
        assert!(location(&changed).ends_with("done=saved"));
        let found = visitor.get("/o/schools?q=sixth").await.text;
        assert!(plain(&found).contains("Haverstock School and Sixth Form"), "{found}");
        assert!(!plain(&visitor.get("/o/schools?q=northfield").await.text).contains("Haverstock"));

        let bad_email = submit(
            &visitor,
            "/o/people/new",
            "/o/people/new",
            &[
                ("name", "Ann Oduya"),
                ("email", "not an address"),
                ("school_id", &school_id),
                ("role", "head"),
            ],
        )
        .await;
        assert_eq!(bad_email.status, 422, "{}", bad_email.text);
        assert!(bad_email.text.contains("id=\"email-error\""));
        assert!(bad_email.text.contains("value=\"Ann Oduya\""), "what was typed is kept");
        let person = submit(
            &visitor,
            "/o/people/new",
            "/o/people/new",
            &[
                ("name", "Ann Oduya"),
                ("email", "ann@haverstock.example"),
                ("school_id", &school_id),
                ("role", "head"),
            ],
        )
        .await;
        let person_page = location(&person);
        let listed = plain(&visitor.get("/o/people?q=oduya").await.text);
        assert!(
            listed.contains("Ann Oduya") && listed.contains("Haverstock School and Sixth Form"),
            "{listed}"
        );
        let shown = visitor.get(&person_page).await.text;
        assert_eq!(heading_of(&shown), "Ann Oduya");

        let programme = submit(
            &visitor,
            "/o/programmes/new",
            "/o/programmes/new",
            &[
                ("name", "Sharing Leading Practice 2026–27"),
                ("kind", "slp_programme"),
                ("status", "published"),
            ],
        )
        .await;
        assert!(location(&programme).contains("done=created"));
        let nameless = submit(&visitor, "/o/programmes/new", "/o/programmes/new", &[("kind", "other")]).await;
        assert_eq!(nameless.status, 422);
        assert!(plain(&visitor.get("/o/programmes").await.text).contains("Sharing Leading Practice 2026–27"));

        let actions = organiser_actions(&app).await;
        assert_eq!(
            actions,
            [
                "programme.created",
                "participant.created",
                "school.updated",
                "school.created"
            ],
            "{backend:?}"
        );
        for path in ["/o/schools/abc", "/o/people/999999", "/o/programmes/0"] {
            assert_eq!(visitor.get(path).await.status, 404, "{path}");
        }
        assert_eq!(visitor.get("/o/people?school_id=x").await.status, 422);
    }
}

/// Uploads `csv` as the file of the check form for `sheet`, as a browser sends a file.
async fn upload(app: &TestApp, visitor: &WebVisitor, sheet: &str, csv: &str) -> Reply {
    let csrf = csrf_of(&visitor.get("/o/imports").await.text);
    let path = format!("/o/imports/{sheet}/check");
    post_multipart(app, visitor, &path, &[("csrf", &csrf)], &format!("{sheet}.csv"), csv).await
}

/// Posts a form with `fields` and a file (`name`, `content`) as `multipart/form-data`, as a
/// browser sends an upload.
async fn post_multipart(
    app: &TestApp,
    visitor: &WebVisitor,
    path: &str,
    fields: &[(&str, &str)],
    name: &str,
    content: &str,
) -> Reply {
    let boundary = "----convene-test-boundary";
    let mut body = String::new();
    for (field, value) in fields {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str(&format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n{content}\r\n--{boundary}--\r\n"
    ));
    let cookie = visitor.cookie("convene_console").expect("signed in");
    let response = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{}{path}", app.address))
        .header("Cookie", format!("convene_console={}", cookie.value))
        .header("Content-Type", format!("multipart/form-data; boundary={boundary}"))
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    Reply {
        status,
        headers,
        text: response.text().await.unwrap(),
    }
}

/// The value of the hidden `csv` field of the import form, as a browser would send it back.
fn checked_csv(html: &str) -> String {
    let start = html.find("name=\"csv\"").expect("an import form");
    let start = html[start..].find('>').unwrap() + start + 1;
    let end = html[start..].find("</textarea>").unwrap() + start;
    html[start..end]
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#x2f;", "/")
        .replace("&amp;", "&")
}

#[tokio::test]
async fn a_spreadsheet_is_checked_line_by_line_before_anything_is_written_then_imported() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let (visitor, _) = console_organiser(&app).await;
        let bad = "urn,name,local_authority,region,phase\n\
                   100001,Northfield Primary,Camden,London,primary\n\
                   100002,,Camden,London,primary\n\
                   100003,Southfield Primary,Camden,London,kindergarten\n";
        let checked = upload(&app, &visitor, "schools", bad).await;
        assert_eq!(checked.status, 422, "{backend:?}: {}", checked.text);
        let problems = plain(&checked.text);
        assert!(
            problems.contains("2 lines of the schools file have problems"),
            "{problems}"
        );
        let table = &checked.text[checked.text.find("id=\"row-errors\"").expect("the problems by line")..];
        assert!(table.contains(">3<") && table.contains(">4<"), "{table}");
        assert_eq!(app.count("schools").await, 0, "{backend:?}: a check writes nothing");

        // The good row alone can be imported, the bad ones left out.
        let csrf = csrf_of(&checked.text);
        let partial = visitor
            .post_form(
                "/o/imports/schools",
                &[
                    ("csrf", &csrf),
                    ("csv", &checked_csv(&checked.text)),
                    ("skip_invalid", "true"),
                ],
            )
            .await;
        assert_eq!(partial.status, 200, "{}", partial.text);
        assert!(
            partial.text.contains("id=\"row-errors\""),
            "the lines left out are listed"
        );
        assert!(
            plain(&partial.text).contains("1 added, 0 changed, 2 left out"),
            "{}",
            plain(&partial.text)
        );
        assert_eq!(app.count("schools").await, 1);

        let good = "email,name,school_urn,role\nann@northfield.example,Ann Oduya,100001,head\n";
        let checked = upload(&app, &visitor, "people", good).await;
        assert_eq!(checked.status, 200, "{}", checked.text);
        assert!(plain(&checked.text).contains("1 will be added and 0 changed"));
        assert_eq!(
            app.count("participants WHERE email = 'ann@northfield.example'").await,
            0
        );
        let imported = visitor
            .post_form(
                "/o/imports/people",
                &[("csrf", &csrf_of(&checked.text)), ("csv", &checked_csv(&checked.text))],
            )
            .await;
        assert_eq!(imported.status, 200, "{}", imported.text);
        assert!(plain(&imported.text).contains("1 added, 0 changed"));
        assert_eq!(
            app.count("participants WHERE email = 'ann@northfield.example'").await,
            1
        );
        let actions = organiser_actions(&app).await;
        assert_eq!(actions, ["import.participants", "import.schools"], "{backend:?}");

        // No file, another sheet, or no token: a clear page, nothing written.
        assert_eq!(upload(&app, &visitor, "schools", "").await.status, 422);
        assert_eq!(upload(&app, &visitor, "budgets", good).await.status, 404);
        let forged = visitor.post_form("/o/imports/people", &[("csv", good)]).await;
        assert_eq!(forged.status, 403);
    }
}

#[tokio::test]
async fn a_survey_is_made_from_the_impact_template_sent_now_and_its_answers_counted() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let (visitor, _) = console_organiser(&app).await;
        let event = app.create_event(json!({"title": "Oracy conference"})).await;
        let at = |minutes: i64| {
            (chrono::Utc::now() + chrono::Duration::minutes(minutes))
                .format("%Y-%m-%dT%H:%M:00Z")
                .to_string()
        };
        let session = app
            .create_session(&event["id"], json!({"start": at(10), "end": at(70), "capacity": 5}))
            .await;
        let ann = app
            .create_participant(json!({"name": "Ann", "email": "ann@northfield.example"}))
            .await;
        app.book(&session["id"], ann["id"].as_i64().unwrap()).await;
        app.clock.advance(chrono::TimeDelta::minutes(80));
        let marks = json!({"marks": [{"participant_id": ann["id"], "status": "attended"}]});
        let marked = app
            .post(&format!("/v1/sessions/{}/attendance", session["id"]), &marks)
            .await;
        assert_eq!(marked.status, 200, "{}", marked.text);

        let scratch = submit(
            &visitor,
            "/o/surveys",
            "/o/surveys",
            &[
                ("title", "Blank"),
                ("event_id", &event["id"].to_string()),
                ("template", "scratch"),
            ],
        )
        .await;
        assert_eq!(scratch.status, 422, "{}", scratch.text);
        assert!(scratch.text.contains("id=\"q1_prompt-error\""), "{}", scratch.text);

        let made = submit(
            &visitor,
            "/o/surveys",
            "/o/surveys",
            &[
                ("title", "Oracy: what will you try?"),
                ("event_id", &event["id"].to_string()),
                ("template", "impact"),
            ],
        )
        .await;
        let survey_page = location(&made);
        let survey_id = survey_page["/o/surveys/".len()..survey_page.find('?').unwrap()].to_owned();
        let survey: Value = app.get(&format!("/v1/surveys/{survey_id}")).await.json();
        assert_eq!(survey["offsets_days"], json!([14, 42]));
        let kinds: Vec<&str> = survey["questions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|q| q["kind"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["likert", "intended_action", "action_follow_up", "text"]);

        let sent = submit(&visitor, &survey_page, &format!("/o/surveys/{survey_id}/send"), &[]).await;
        assert!(location(&sent).ends_with("done=sent-1"), "{backend:?}");
        assert_eq!(app.notifications("survey_invitation", ann["id"].as_i64()).await, 1);
        let shown = plain(&visitor.get(&location(&sent)).await.text);
        assert!(shown.contains("1 asked, 0 answered"), "{shown}");
        let csv = visitor.get(&format!("/o/surveys/{survey_id}/responses.csv")).await;
        assert_eq!(csv.status, 200);
        assert_eq!(
            organiser_actions(&app).await,
            ["survey.sent", "survey.created"],
            "{backend:?}"
        );
    }
}

#[tokio::test]
async fn a_councils_term_dates_are_uploaded_in_the_console_and_its_schools_are_closed_on_them_until_removed() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let (visitor, _) = console_organiser(&app).await;
        let school = app.create_school(json!({"local_authority": "Hackney"})).await;
        app.create_school(json!({"local_authority": "hackney "})).await;
        app.create_school(json!({"local_authority": "Camden"})).await;
        let closed_on = |day: &'static str| {
            let (app, school) = (&app, &school);
            async move {
                let reply = app
                    .get(&format!("/v1/schools/{}/closed-days?from={day}&to={day}", school["id"]))
                    .await;
                assert_eq!(reply.status, 200, "{}", reply.text);
                reply
                    .json()
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|d| d["source"] == "local_authority")
            }
        };

        // The list shows both authorities, with both spellings of Hackney as one.
        let page = visitor.get("/o/term-dates").await;
        assert_eq!(page.status, 200, "{}", page.text);
        let text = words(&page.text);
        assert!(text.contains("Hackney 2 0"), "{text}");
        assert!(text.contains("Camden 1 0"), "{text}");
        let csrf = csrf_of(&page.text);

        // A file that is not a calendar, or no authority: the form says which field, nothing written.
        let broken = post_multipart(
            &app,
            &visitor,
            "/o/term-dates",
            &[("csrf", &csrf), ("authority", "Hackney")],
            "dates.ics",
            "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n",
        )
        .await;
        assert_eq!(broken.status, 422, "{}", broken.text);
        assert!(broken.text.contains("href=\"#file\""), "{}", broken.text);
        assert!(
            words(&broken.text).contains("The calendar cannot be read at line"),
            "{}",
            words(&broken.text)
        );
        let nameless = post_multipart(
            &app,
            &visitor,
            "/o/term-dates",
            &[("csrf", &csrf), ("authority", " ")],
            "dates.ics",
            COUNCIL_TERM_DATES,
        )
        .await;
        assert_eq!(nameless.status, 422, "{}", nameless.text);
        assert!(nameless.text.contains("href=\"#authority\""), "{}", nameless.text);
        let forged = post_multipart(
            &app,
            &visitor,
            "/o/term-dates",
            &[("authority", "Hackney")],
            "d.ics",
            COUNCIL_TERM_DATES,
        )
        .await;
        assert_eq!(forged.status, 403);
        assert_eq!(app.count("authority_closures").await, 0);
        assert!(!closed_on("2027-02-16").await);

        // The council's file: two closures, the term start left out and said so.
        let uploaded = post_multipart(
            &app,
            &visitor,
            "/o/term-dates",
            &[("csrf", &csrf), ("authority", "HACKNEY")],
            "hackney-2026-27.ics",
            COUNCIL_TERM_DATES,
        )
        .await;
        assert_eq!(uploaded.status, 200, "{}", uploaded.text);
        let text = words(&uploaded.text);
        assert!(text.contains("2 closures added"), "{text}");
        assert!(
            text.contains("Spring term starts"),
            "the left-out event is named: {text}"
        );
        assert!(text.contains("2 schools of Hackney follow these dates"), "{text}");
        assert_eq!(app.count("authority_closures").await, 2);
        assert!(closed_on("2027-02-16").await, "half term closes the school");
        assert!(closed_on("2026-12-23").await);
        assert_eq!(organiser_actions(&app).await, ["closures.imported"], "{backend:?}");

        // Its page lists them; one removed, then the rest.
        let page = visitor.get("/o/term-dates/Hackney").await;
        assert_eq!(page.status, 200, "{}", page.text);
        assert!(
            words(&page.text).contains("2027-02-15 2027-02-19 holiday Spring half term"),
            "{}",
            words(&page.text)
        );
        let id = {
            let start = page.text.find("data-closure=\"").unwrap() + "data-closure=\"".len();
            page.text[start..start + page.text[start..].find('"').unwrap()].to_owned()
        };
        let csrf = csrf_of(&page.text);
        let removed = visitor
            .post_form("/o/term-dates/Hackney/delete", &[("csrf", &csrf), ("closure_id", &id)])
            .await;
        assert_eq!(removed.status, 303, "{}", removed.text);
        assert_eq!(location(&removed), "/o/term-dates/Hackney?done=deleted");
        assert_eq!(app.count("authority_closures").await, 1);
        assert!(
            !closed_on("2026-12-23").await,
            "Christmas, the first in date order, was removed"
        );
        let unknown = visitor
            .post_form("/o/term-dates/Hackney/delete", &[("csrf", &csrf), ("closure_id", &id)])
            .await;
        assert_eq!(unknown.status, 404);
        // Only a closure named, or all of them asked for, is removed.
        for fields in [
            vec![("csrf", csrf.as_str())],
            vec![("csrf", &csrf), ("closure_id", " ")],
        ] {
            let refused = visitor.post_form("/o/term-dates/Hackney/delete", &fields).await;
            assert_eq!(refused.status, 404, "{fields:?}");
        }
        assert_eq!(app.count("authority_closures").await, 1);
        // Removing all is asked for on a page of its own, which says what it means.
        assert!(page.text.contains("id=\"remove-all\""));
        let confirm = visitor.get("/o/term-dates/Hackney/delete").await;
        assert_eq!(confirm.status, 200, "{}", confirm.text);
        assert!(
            words(&confirm.text)
                .contains("This removes 1 closure, from 2027-02-15 to 2027-02-19. 2 schools of Hackney"),
            "{}",
            words(&confirm.text)
        );
        assert_eq!(app.count("authority_closures").await, 1, "asking removes nothing");
        let cleared = visitor
            .post_form(
                "/o/term-dates/Hackney/delete",
                &[("csrf", &csrf_of(&confirm.text)), ("all", "true")],
            )
            .await;
        assert_eq!(cleared.status, 303, "{}", cleared.text);
        assert_eq!(app.count("authority_closures").await, 0);
        assert!(!closed_on("2027-02-16").await);
        // A name with spaces, an ampersand or a letter outside ASCII: its link leads to its page.
        app.create_school(json!({"local_authority": "Bath & North East Somerset"}))
            .await;
        let bath = "/o/term-dates/Bath%20%26%20North%20East%20Somerset";
        let uploaded = post_multipart(
            &app,
            &visitor,
            "/o/term-dates",
            &[("csrf", &csrf), ("authority", "Bath & North East Somerset")],
            "banes.ics",
            COUNCIL_TERM_DATES,
        )
        .await;
        assert_eq!(uploaded.status, 200, "{}", uploaded.text);
        let list = visitor.get("/o/term-dates").await;
        assert!(plain(&list.text).contains(&format!("href=\"{bath}\"")), "{}", list.text);
        let page = visitor.get(bath).await;
        assert_eq!(heading_of(&page.text), "Bath & North East Somerset");
        assert!(plain(&page.text).contains(&format!("action=\"{bath}/delete\"")));
        let cleared = visitor
            .post_form(&format!("{bath}/delete"), &[("csrf", &csrf), ("all", "true")])
            .await;
        assert_eq!(location(&cleared), format!("{bath}?done=deleted"));
        assert_eq!(app.count("authority_closures").await, 0);
        let welsh = visitor.get("/o/term-dates/Ynys%20M%C3%B4n").await;
        assert_eq!(welsh.status, 200);
        assert_eq!(heading_of(&welsh.text), "Ynys Môn");
        assert_eq!(
            visitor.get("/o/term-dates/%20").await.status,
            404,
            "a blank name is no page"
        );

        let page = visitor.get("/o/term-dates/Hackney?done=deleted").await;
        assert!(
            words(&page.text).contains("Removed. 0 closures left."),
            "{}",
            words(&page.text)
        );
    }
}
