//! Follow-up surveys: sent to attendees at their offsets (time moved on by calling the sweep
//! with a later clock, not by sleeping), answered on the `/s/{token}` form or through the bot's
//! `/v1/me/surveys`, with the intended action shown back at the follow-up.

use std::collections::BTreeMap;

use chrono::{Duration, Utc};
use convene_api::domain::survey;
use convene_tests::reqwest::Method;
use convene_tests::{TestApp, json, spawn_apps};
use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _, QueryOrder as _};
use serde_json::Value;

/// The form links queued for `participant`, oldest first.
async fn links(app: &TestApp, participant: i64) -> Vec<String> {
    entity::notification::Entity::find()
        .filter(entity::notification::Column::ParticipantId.eq(participant))
        .filter(entity::notification::Column::Kind.eq("survey_invitation"))
        .filter(entity::notification::Column::Channel.eq("email"))
        .order_by_asc(entity::notification::Column::Id)
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.payload["url"].as_str().unwrap().to_owned())
        .collect()
}

fn path_of(url: &str) -> String {
    format!("/s/{}", url.rsplit("/s/").next().unwrap())
}

async fn form_post(app: &TestApp, path: &str, fields: &[(&str, &str)]) -> convene_tests::Reply {
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    app.send(
        app.anonymous(Method::POST, path)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body),
    )
    .await
}

/// A published event whose one session ended 3 days ago, with `people` booked on it.
async fn past_event(app: &TestApp, people: &[i64]) -> (Value, Value) {
    let event = app
        .create_event(json!({"title": "Oracy in the early years", "kind": "conference"}))
        .await;
    let day = (Utc::now() + Duration::days(2)).format("%Y-%m-%d").to_string();
    let session = app
        .create_session(
            &event["id"],
            json!({"start": format!("{day}T09:00"), "end": format!("{day}T12:00"), "capacity": 10}),
        )
        .await;
    for p in people {
        assert_eq!(app.book(&session["id"], *p).await.status, 201);
    }
    // The session has now happened: it ended three days ago.
    let past = (Utc::now() - Duration::days(3)).format("%Y-%m-%d").to_string();
    let moved = app
        .patch(
            &format!("/v1/sessions/{}", session["id"]),
            &json!({"start": format!("{past}T09:00"), "end": format!("{past}T12:00")}),
        )
        .await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    (event, session)
}

fn questions() -> Value {
    json!([
        {"key": "useful", "kind": "likert", "prompt": "How useful was it for your school?", "required": true},
        {"key": "plan", "kind": "intended_action", "prompt": "What will you try in the next six weeks?", "required": true},
        {"key": "follow", "kind": "action_follow_up", "prompt": "Did you? What changed? How do you know?", "required": true},
        {"key": "areas", "kind": "multi_choice", "prompt": "Which areas will it touch?", "options": ["Oracy", "Reading", "Maths"]},
        {"key": "other", "kind": "text", "prompt": "Anything else?"}
    ])
}

#[tokio::test]
async fn attendees_are_invited_at_each_offset_answer_on_the_form_and_see_their_plan_at_the_follow_up() {
    for app in spawn_apps().await {
        let ann = app.create_participant(json!({"name": "Ann"})).await["id"]
            .as_i64()
            .unwrap();
        let bob = app.create_participant(json!({"name": "Bob"})).await["id"]
            .as_i64()
            .unwrap();
        let cat = app.create_participant(json!({"name": "Cat"})).await["id"]
            .as_i64()
            .unwrap();
        let (event, session) = past_event(&app, &[ann, bob, cat]).await;
        let marks = json!({"marks": [
            {"participant_id": ann, "status": "attended"},
            {"participant_id": bob, "status": "no_show"},
            {"participant_id": cat, "status": "attended"}
        ]});
        let marked = app
            .post(&format!("/v1/sessions/{}/attendance", session["id"]), &marks)
            .await;
        assert_eq!(marked.status, 200, "{}", marked.text);

        let created = app
            .post(
                "/v1/surveys",
                &json!({"title": "What changed after Oracy?", "event_id": event["id"], "questions": questions()}),
            )
            .await;
        assert_eq!(created.status, 201, "{}", created.text);
        let survey_json = created.json();
        assert_eq!(survey_json["offsets_days"], json!([14, 42, 182]));

        let now = Utc::now();
        let site = app.address.clone();
        assert_eq!(
            survey::sweep(&app.db, &site, now).await.unwrap().invited,
            0,
            "nothing is due 3 days after"
        );
        let day14 = now + Duration::days(12);
        assert_eq!(
            survey::sweep(&app.db, &site, day14).await.unwrap().invited,
            2,
            "Ann and Cat attended; Bob did not"
        );
        assert_eq!(
            survey::sweep(&app.db, &site, day14).await.unwrap().invited,
            0,
            "nobody is invited twice"
        );
        assert!(links(&app, bob).await.is_empty());
        let ann_first = path_of(&links(&app, ann).await[0]);

        let page = app.send(app.anonymous(Method::GET, &ann_first)).await;
        assert_eq!(page.status, 200);
        assert!(page.content_type().starts_with("text/html"));
        assert!(page.text.contains("What will you try in the next six weeks?"));
        assert!(
            !page.text.contains("Did you? What changed?"),
            "no follow-up before a plan"
        );
        assert!(page.text.contains("<legend>How useful was it for your school?"));
        assert_eq!(page.headers["referrer-policy"], "no-referrer");

        // Missing required answers: the form comes back explaining each, changing nothing.
        let refused = form_post(&app, &ann_first, &[("useful", "9"), ("areas", "Oracy")]).await;
        assert_eq!(refused.status, 422);
        assert!(refused.text.contains("There is a problem"), "{}", refused.text);
        assert!(refused.text.contains("must be a whole number from 1 to 5"));
        assert!(refused.text.contains("is required"));
        assert!(
            refused.text.contains("value=\"Oracy\" checked"),
            "what was entered is kept"
        );
        assert_eq!(app.count("survey_responses").await, 0);

        let thanks = form_post(
            &app,
            &ann_first,
            &[
                ("useful", "4"),
                ("plan", "Talk partners in every Year 2 lesson"),
                ("areas", "Oracy"),
                ("areas", "Reading"),
            ],
        )
        .await;
        assert_eq!(thanks.status, 200, "{}", thanks.text);
        assert!(thanks.text.contains("Thank you"));
        // A second submission edits the first.
        let again = form_post(
            &app,
            &ann_first,
            &[("useful", "5"), ("plan", "Talk partners in every Year 2 and 3 lesson")],
        )
        .await;
        assert_eq!(again.status, 200, "{}", again.text);
        assert_eq!(app.count("survey_responses").await, 1);
        let page = app.send(app.anonymous(Method::GET, &ann_first)).await;
        assert!(
            page.text.contains("value=\"5\" checked") && page.text.contains("Year 2 and 3 lesson"),
            "{}",
            page.text
        );

        // Five days on, Cat (who has not answered) is reminded once; Ann is not.
        let reminded = survey::sweep(&app.db, &site, day14 + Duration::days(6)).await.unwrap();
        assert_eq!(reminded.reminded, 1);
        assert_eq!(
            survey::sweep(&app.db, &site, day14 + Duration::days(7))
                .await
                .unwrap()
                .reminded,
            0
        );
        assert_eq!(links(&app, cat).await.len(), 2, "an invitation and one reminder");

        // Six weeks: the follow-up shows Ann her plan, and asks no new plan.
        let day42 = now + Duration::days(40);
        assert_eq!(survey::sweep(&app.db, &site, day42).await.unwrap().invited, 2);
        let ann_second = path_of(links(&app, ann).await.last().unwrap());
        assert_ne!(ann_second, ann_first);
        let page = app.send(app.anonymous(Method::GET, &ann_second)).await;
        let month = Utc::now().format("%B %Y").to_string();
        assert!(
            page.text.contains(&format!(
                "In {month} you planned to: “Talk partners in every Year 2 and 3 lesson”. Did you?"
            )),
            "{}",
            page.text
        );
        assert!(!page.text.contains("What will you try in the next six weeks?"));
        let bad = form_post(&app, &ann_second, &[("useful", "4"), ("follow.done", "maybe")]).await;
        assert_eq!(bad.status, 422);
        assert!(bad.text.contains("must be yes, partly or no"));
        let done = form_post(
            &app,
            &ann_second,
            &[
                ("useful", "4"),
                ("follow.done", "yes"),
                ("follow.what_changed", "More pupils explain their reasoning"),
                ("follow.evidence", "Book looks"),
            ],
        )
        .await;
        assert_eq!(done.status, 200, "{}", done.text);

        // The report and the CSV, checked exactly.
        let report = app.get(&format!("/v1/surveys/{}/report", survey_json["id"])).await;
        assert_eq!(report.status, 200, "{}", report.text);
        let report = report.json();
        assert_eq!(
            (
                report["invited"].clone(),
                report["responded"].clone(),
                report["response_rate"].clone()
            ),
            (json!(4), json!(2), json!(0.5))
        );
        assert_eq!(
            report["by_offset"],
            json!([{"offset_days": 14, "invited": 2, "responded": 1, "response_rate": 0.5}, {"offset_days": 42, "invited": 2, "responded": 1, "response_rate": 0.5}])
        );
        assert_eq!(report["responses"], 2);
        let q = |key: &str| {
            report["questions"]
                .as_array()
                .unwrap()
                .iter()
                .find(|q| q["key"] == key)
                .unwrap()
                .clone()
        };
        assert_eq!(q("useful")["mean"], 4.5);
        assert_eq!(
            q("useful")["distribution"],
            json!({"1": 0, "2": 0, "3": 0, "4": 1, "5": 1})
        );
        assert_eq!(q("plan")["answered"], 1);
        assert_eq!(
            q("plan")["texts"],
            json!(["Talk partners in every Year 2 and 3 lesson"])
        );
        assert_eq!(q("plan")["followed_up"], 1);
        assert_eq!(q("plan")["done"], json!({"yes": 1, "partly": 0, "no": 0}));
        assert_eq!(q("follow")["done"], json!({"yes": 1, "partly": 0, "no": 0}));
        assert_eq!(
            q("areas")["distribution"],
            json!({"Maths": 0, "Oracy": 0, "Reading": 0}),
            "Ann's second submission cleared her choices"
        );
        assert_eq!(q("other")["answered"], 0);
        assert!(!report.to_string().contains("\"Ann\""), "a report names nobody");

        let csv = app
            .get(&format!("/v1/surveys/{}/responses.csv", survey_json["id"]))
            .await;
        assert_eq!(csv.status, 200);
        assert!(csv.content_type().starts_with("text/csv"));
        let lines: Vec<&str> = csv.text.split("\r\n").filter(|l| !l.is_empty()).collect();
        assert_eq!(
            lines[0],
            "response_id,offset_days,participant_id,name,school,submitted_at,updated_at,useful,plan,follow.done,follow.what_changed,follow.evidence,areas,other"
        );
        assert_eq!(lines.len(), 3, "{}", csv.text);
        let cells = |line: &str| line.split(',').map(str::to_owned).collect::<Vec<_>>();
        let first = cells(lines[1]);
        assert_eq!(
            (first[1].as_str(), first[2].clone(), first[3].as_str()),
            ("14", ann.to_string(), "Ann")
        );
        assert_eq!(
            &first[7..],
            ["5", "Talk partners in every Year 2 and 3 lesson", "", "", "", "", ""]
        );
        let second = cells(lines[2]);
        assert_eq!(
            &second[7..],
            [
                "4",
                "",
                "yes",
                "More pupils explain their reasoning",
                "Book looks",
                "",
                ""
            ]
        );

        // The programme's impact pulls attendance, the survey and reflections together.
        let programme = app
            .post(
                "/v1/programmes",
                &json!({"name": "Oracy 2027", "kind": "conference_series"}),
            )
            .await
            .json();
        let moved = app
            .patch(
                &format!("/v1/events/{}", event["id"]),
                &json!({"programme_id": programme["id"]}),
            )
            .await;
        assert_eq!(moved.status, 200, "{}", moved.text);
        let reflected = app
            .post("/v1/reflections", &json!({"participant_id": cat, "event_id": event["id"], "what_tried": "Talk partners", "what_changed": "More talk", "evidence": "Observation"}))
            .await;
        assert_eq!(reflected.status, 201, "{}", reflected.text);
        let impact = app
            .get(&format!("/v1/programmes/{}/impact", programme["id"]))
            .await
            .json();
        assert_eq!(
            impact["totals"],
            json!({"booked": 3, "attended": 2, "no_show": 1, "unmarked": 0, "waitlisted": 0})
        );
        assert_eq!(impact["events"][0]["title"], "Oracy in the early years");
        let summary = &impact["surveys"][0];
        assert_eq!(
            (
                summary["invited"].clone(),
                summary["responded"].clone(),
                summary["response_rate"].clone()
            ),
            (json!(4), json!(2), json!(0.5))
        );
        assert_eq!(summary["means"], json!({"useful": 4.5}));
        assert_eq!(
            (summary["intended_actions"].clone(), summary["followed_up"].clone()),
            (json!(1), json!(1))
        );
        assert_eq!(impact["reflections"], 1);

        // Closed: the form says so, and nothing more goes out.
        let closed = app
            .patch(
                &format!("/v1/surveys/{}", survey_json["id"]),
                &json!({"status": "closed"}),
            )
            .await;
        assert_eq!(closed.json()["status"], "closed", "{}", closed.text);
        let page = app.send(app.anonymous(Method::GET, &ann_first)).await;
        assert_eq!(page.status, 410);
        assert!(page.text.contains("This survey has closed"));
        assert_eq!(form_post(&app, &ann_first, &[("useful", "1")]).await.status, 410);
        assert_eq!(
            survey::sweep(&app.db, &site, now + Duration::days(200)).await.unwrap(),
            survey::Sent::default()
        );
        app.patch(
            &format!("/v1/surveys/{}", survey_json["id"]),
            &json!({"status": "shut", "closes_at": "soon"}),
        )
        .await
        .problem(422, "validation_failed");

        let unknown = app.send(app.anonymous(Method::GET, "/s/not-a-real-token")).await;
        assert_eq!(unknown.status, 404);
        assert!(unknown.text.contains("This link isn’t recognised"));
    }
}

#[tokio::test]
async fn a_linked_participant_answers_a_survey_a_question_at_a_time_through_the_bot_api() {
    for app in spawn_apps().await {
        let bot = app.bot_key().await;
        let ann = app.create_participant(json!({"name": "Ann"})).await;
        app.link_discord(&bot, &ann, "909").await;
        let (event, _) = past_event(&app, &[ann["id"].as_i64().unwrap()]).await;
        let created = app
            .post(
                "/v1/surveys",
                &json!({"title": "What changed?", "event_id": event["id"], "questions": questions(), "anonymous": true}),
            )
            .await
            .json();
        let sent = app
            .post(&format!("/v1/surveys/{}/invitations:send", created["id"]), &json!({}))
            .await;
        assert_eq!(sent.status, 200, "{}", sent.text);
        assert_eq!(sent.json()["invited"], 1);
        assert_eq!(
            app.post(&format!("/v1/surveys/{}/invitations:send", created["id"]), &json!({}))
                .await
                .json()["invited"],
            0
        );
        assert_eq!(
            app.notifications("survey_invitation", ann["id"].as_i64()).await,
            2,
            "by email and by Discord"
        );

        let open = app
            .send(app.as_discord(&bot, "909", Method::GET, "/v1/me/surveys"))
            .await
            .json();
        let invitation = &open["items"][0];
        assert_eq!(invitation["title"], "What changed?");
        assert_eq!(invitation["complete"], false);
        let keys: Vec<&str> = invitation["questions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|q| q["key"].as_str().unwrap())
            .collect();
        assert_eq!(keys, ["useful", "plan", "areas", "other"]);
        let path = format!("/v1/me/surveys/{}/answers", invitation["id"]);
        let answer = |answers: Value, complete: bool| {
            app.send(
                app.as_discord(&bot, "909", Method::POST, &path)
                    .json(&json!({"answers": answers, "complete": complete})),
            )
        };
        let one = answer(json!({"useful": 3}), false).await;
        assert_eq!(one.status, 200, "{}", one.text);
        assert_eq!(one.json()["answers"], json!({"useful": 3}));
        answer(json!({"useful": 6}), false)
            .await
            .problem(422, "validation_failed");
        answer(json!({"nope": "x"}), false)
            .await
            .problem(422, "validation_failed");
        let incomplete = answer(json!({"areas": "maths, oracy"}), true).await;
        incomplete.problem(422, "validation_failed");
        assert_eq!(incomplete.fields(), ["answers.plan"]);
        let finished = answer(json!({"plan": "Paired talk", "areas": "maths, oracy"}), true)
            .await
            .json();
        assert_eq!(finished["complete"], true);
        let expected: BTreeMap<&str, Value> = [
            ("useful", json!(3)),
            ("plan", json!("Paired talk")),
            ("areas", json!(["Maths", "Oracy"])),
        ]
        .into_iter()
        .collect();
        assert_eq!(finished["answers"], json!(expected));
        // Anonymous: the CSV names nobody.
        let csv = app
            .get(&format!("/v1/surveys/{}/responses.csv", created["id"]))
            .await
            .text;
        let row: Vec<&str> = csv.split("\r\n").nth(1).unwrap().split(',').collect();
        assert_eq!(&row[2..5], ["", "", ""], "{csv}");
        // Once the survey closes by itself, the bot is told so.
        let closes = app
            .patch(
                &format!("/v1/surveys/{}", created["id"]),
                &json!({"closes_at": "2020-01-01T00:00:00Z"}),
            )
            .await;
        assert_eq!(closes.json()["closes_at"], "2020-01-01T00:00:00Z", "{}", closes.text);
        answer(json!({"other": "late"}), false)
            .await
            .problem(409, "survey_closed");
        assert_eq!(
            app.send(app.as_discord(&bot, "909", Method::GET, "/v1/me/surveys"))
                .await
                .json()["items"],
            json!([])
        );
        app.patch(&format!("/v1/surveys/{}", created["id"]), &json!({"closes_at": null}))
            .await;
        // Someone else's invitation is not theirs to answer.
        let bob = app.create_participant(json!({})).await;
        app.link_discord(&bot, &bob, "910").await;
        app.send(
            app.as_discord(&bot, "910", Method::POST, &path)
                .json(&json!({"answers": {"useful": 1}})),
        )
        .await
        .problem(404, "not_found");
    }
}
