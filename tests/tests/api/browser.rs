//! The survey form in a real browser: Debian's Chromium, headless, JavaScript off, 360 px wide,
//! answered with the keyboard alone; screenshots kept under `target/test-artifacts/survey-form/`.

use std::time::Duration;

use chrono::Utc;
use convene_tests::{browser, json, spawn_app};

#[tokio::test]
async fn the_survey_form_is_answered_with_the_keyboard_alone_in_headless_chromium_at_phone_width() {
    let app = spawn_app(convene_tests::Backend::Sqlite).await;
    let ann = app.create_participant(json!({"name": "Ann Jones"})).await["id"]
        .as_i64()
        .unwrap();
    let event = app.create_event(json!({"title": "Oracy in the early years"})).await;
    let day = (Utc::now() + chrono::Duration::days(2)).format("%Y-%m-%d").to_string();
    let session = app
        .create_session(
            &event["id"],
            json!({"start": format!("{day}T09:00"), "end": format!("{day}T12:00"), "capacity": 10}),
        )
        .await;
    assert_eq!(app.book(&session["id"], ann).await.status, 201);
    let survey = app
        .post(
            "/v1/surveys",
            &json!({"title": "What changed after Oracy?", "event_id": event["id"], "questions": [
                {"key": "useful", "kind": "likert", "prompt": "How useful was it for your school?", "required": true},
                {"key": "plan", "kind": "intended_action", "prompt": "What will you try in the next six weeks?", "required": true},
                {"key": "areas", "kind": "multi_choice", "prompt": "Which areas will it touch?", "options": ["Oracy", "Reading", "Maths"]},
                {"key": "other", "kind": "text", "prompt": "Anything else?"}
            ]}),
        )
        .await
        .json();
    let sent = app
        .post(&format!("/v1/surveys/{}/invitations:send", survey["id"]), &json!({}))
        .await
        .json();
    assert_eq!(sent["invited"], 1);

    // The invitation goes out by email (the outbox folder here) with the personal link.
    let mut link = None;
    for _ in 0..200 {
        for entry in std::fs::read_dir(&app.mail_dir).into_iter().flatten().flatten() {
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            if text.contains("Subject: A few questions: What changed after Oracy?") {
                link = text
                    .split_whitespace()
                    .find(|w| w.starts_with(&format!("{}/s/", app.address)))
                    .map(str::to_owned);
            }
        }
        if link.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let link = link.expect("the invitation email with its link");

    let shots = browser::artifacts("survey-form");
    let url = link.clone();
    let seen = tokio::task::spawn_blocking(move || browser::run("survey_browser.py", &url, &shots, &[]))
        .await
        .unwrap();
    assert_eq!(seen["form_title"], "What changed after Oracy? — Convene");
    assert!(
        seen["scroll_width"].as_i64().is_none_or(|w| w <= 360),
        "no sideways scrolling at 360 px: {seen}"
    );
    assert_eq!(seen["after_submit_heading"], "Thank you", "{seen}");
    assert_eq!(
        seen["screenshots"],
        json!(["1-form-360px.png", "2-filled.png", "3-thank-you.png"])
    );
    let focus: Vec<&str> = seen["focus"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f.as_str())
        .collect();
    let order: Vec<&str> = focus
        .iter()
        .copied()
        .filter(|f| ["useful-1", "plan", "areas-1", "areas-2", "other", "submit"].contains(f))
        .collect();
    assert_eq!(
        order,
        ["useful-1", "plan", "areas-1", "areas-2", "other", "submit"],
        "the focus follows the page: {focus:?}"
    );

    let report = app.get(&format!("/v1/surveys/{}/report", survey["id"])).await.json();
    let q = |key: &str| {
        report["questions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|q| q["key"] == key)
            .unwrap()
            .clone()
    };
    assert_eq!(q("useful")["distribution"]["4"], 1, "{report}");
    assert_eq!(q("plan")["texts"], json!(["Talk partners in every Year 2 lesson"]));
    assert_eq!(
        q("areas")["distribution"],
        json!({"Maths": 0, "Oracy": 1, "Reading": 1})
    );
    assert_eq!(
        q("other")["texts"],
        json!(["Typed, tabbed and submitted with the keyboard alone"])
    );
    assert_eq!(report["responded"], 1);
}
