//! The fake Discord keeps to Discord's published OpenAPI document: a request outside it (a route
//! or method Discord lacks, a body its schema refuses) is refused as Discord would and recorded as
//! a violation, an answer of the fake outside it is recorded too, and a test that leaves any
//! violation recorded fails when its fake is dropped.

use convene_tests::discord_spec::ViolationKind;
use convene_tests::fake_discord::FakeDiscord;
use serde_json::{Value, json};

/// Sends `method path` with a JSON `body` (none for `Value::Null`) to the fake's REST side, as
/// serenity would (`/api/v10/...`, a bot token); returns the status and the JSON answer.
async fn send(fake: &FakeDiscord, method: &str, path: &str, body: Value) -> (u16, Value) {
    let client = reqwest::Client::new();
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = client
        .request(method, format!("{}/api/v10{path}", fake.http_url()))
        .header("Authorization", "Bot fake-token");
    if !body.is_null() {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_message_the_document_allows_is_answered_and_records_no_violation() {
    let fake = FakeDiscord::start().await;
    let (status, message) = send(
        &fake,
        "POST",
        &format!("/channels/{}/messages", fake.guild_channel_id()),
        json!({"content": "Hello", "components": [{"type": 1, "components": [
            {"type": 2, "style": 4, "label": "Cancel", "custom_id": "cancel:1"}
        ]}]}),
    )
    .await;
    assert_eq!(status, 200, "{message}");
    assert_eq!(message["content"], "Hello");
    assert_eq!(fake.violations(), vec![]);
}

#[tokio::test]
async fn a_route_discord_does_not_have_is_refused_and_recorded() {
    let fake = FakeDiscord::start().await;
    let (status, answer) = send(&fake, "POST", "/channels/1/messages/2/pin-it", json!({})).await;
    assert_eq!(status, 404, "{answer}");
    assert_eq!(answer["message"], "404: Not Found");
    let (status, _) = send(&fake, "PUT", "/channels/1/messages", json!({"content": "x"})).await;
    assert_eq!(status, 405);
    let violations = fake.take_violations();
    let kinds: Vec<ViolationKind> = violations.iter().map(|v| v.kind.clone()).collect();
    assert_eq!(
        kinds,
        vec![ViolationKind::UnknownRoute, ViolationKind::UnknownMethod],
        "{violations:#?}"
    );
    assert_eq!(violations[1].path, "/api/v10/channels/1/messages");
}

#[tokio::test]
async fn a_body_the_schema_refuses_is_refused_with_where_and_why() {
    let fake = FakeDiscord::start().await;
    let path = format!("/channels/{}/messages", fake.guild_channel_id());
    // Discord caps a message's content at 4000 characters and a button's style at 1..=6.
    let (status, answer) = send(
        &fake,
        "POST",
        &path,
        json!({"content": "x".repeat(4001), "components": [{"type": 1, "components": [
            {"type": 2, "style": 9, "label": "Go", "custom_id": "go"}
        ]}]}),
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["code"], 50035);
    let violations = fake.take_violations();
    assert!(
        violations
            .iter()
            .all(|v| v.kind == ViolationKind::RequestBody && v.route == "/channels/{channel_id}/messages"),
        "{violations:#?}"
    );
    let content = violations
        .iter()
        .find(|v| v.instance == "/content")
        .expect("the content is at fault");
    assert!(content.schema.ends_with("/maxLength"), "{content:#?}");
    assert!(
        violations.iter().any(|v| v.instance.starts_with("/components/0")),
        "the button is at fault: {violations:#?}"
    );
    // Nothing refused was stored as a message.
    assert!(fake.requests()[0].response["id"].is_null());
}

#[tokio::test]
async fn a_snowflake_that_is_not_digits_is_refused() {
    let fake = FakeDiscord::start().await;
    let (status, _) = send(&fake, "POST", "/channels/general/messages", json!({"content": "x"})).await;
    assert_eq!(status, 400);
    let violations = fake.take_violations();
    assert_eq!(violations.len(), 1, "{violations:#?}");
    assert_eq!(violations[0].kind, ViolationKind::PathParameter);
    assert_eq!(violations[0].instance, "channel_id");
}

#[tokio::test]
async fn an_answer_of_the_fake_outside_the_document_is_recorded() {
    let fake = FakeDiscord::start().await;
    // A test's canned answer is checked like the built-in ones: a message with no id is no message.
    fake.stub("POST", "/channels/1/messages", 200, json!({"content": "no id"}));
    let (status, _) = send(&fake, "POST", "/channels/1/messages", json!({"content": "x"})).await;
    assert_eq!(status, 200);
    let violations = fake.take_violations();
    assert!(!violations.is_empty());
    assert!(
        violations.iter().all(|v| v.kind == ViolationKind::ResponseBody),
        "{violations:#?}"
    );
}

#[tokio::test]
#[should_panic(expected = "outside Discord's OpenAPI document")]
async fn a_test_that_leaves_a_violation_recorded_fails_when_its_fake_is_dropped() {
    let fake = FakeDiscord::start().await;
    let (status, _) = send(&fake, "GET", "/no/such/route", Value::Null).await;
    assert_eq!(status, 404);
    drop(fake);
}

#[tokio::test]
async fn guild_scheduled_events_are_created_listed_edited_and_deleted_in_discord_s_shapes() {
    let fake = FakeDiscord::start().await;
    let events = format!("/guilds/{}/scheduled-events", fake.guild_id());
    let (status, created) = send(
        &fake,
        "POST",
        &events,
        json!({
            "name": "Summer conference",
            "description": "Workshops all day",
            "scheduled_start_time": "2027-06-01T09:00:00+00:00",
            "scheduled_end_time": "2027-06-01T16:00:00+00:00",
            "privacy_level": 2,
            "entity_type": 3,
            "entity_metadata": {"location": "Town hall"},
        }),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["status"], 1);
    assert_eq!(created["entity_metadata"]["location"], "Town hall");
    let id = created["id"].as_str().unwrap().to_owned();

    let (status, listed) = send(&fake, "GET", &format!("{events}?with_user_count=true"), Value::Null).await;
    assert_eq!(status, 200);
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");

    let (status, edited) = send(
        &fake,
        "PATCH",
        &format!("{events}/{id}"),
        json!({"name": "Summer conference (moved)", "entity_metadata": {"location": "School hall"}}),
    )
    .await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(edited["name"], "Summer conference (moved)");
    assert_eq!(
        fake.scheduled_events(fake.guild_id())[0]["entity_metadata"]["location"],
        "School hall"
    );

    let (status, _) = send(&fake, "DELETE", &format!("{events}/{id}"), Value::Null).await;
    assert_eq!(status, 204);
    let (status, gone) = send(&fake, "GET", &format!("{events}/{id}"), Value::Null).await;
    assert_eq!(status, 404);
    assert_eq!(gone["code"], 10070);
    assert!(fake.scheduled_events(fake.guild_id()).is_empty());
    // Every request and answer above kept to Discord's document (else dropping the fake fails).
    assert_eq!(fake.violations(), vec![]);
}
