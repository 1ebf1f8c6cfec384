//! Reflections: organisers record and filter them; the bot's are the same rows; erasing a person
//! keeps their reflections and answers in the counts, no longer linked to them.

use convene_tests::reqwest::Method;
use convene_tests::{json, spawn_apps};
use serde_json::Value;

fn tried(list: &Value) -> Vec<&str> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["what_tried"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn organisers_record_and_filter_reflections_and_erasure_unlinks_them() {
    for app in spawn_apps().await {
        let north = app.create_school(json!({"name": "Northfield Primary"})).await;
        let south = app.create_school(json!({"name": "Southfield Academy"})).await;
        let ann = app
            .create_participant(json!({"name": "Ann", "school_id": north["id"]}))
            .await;
        let bob = app
            .create_participant(json!({"name": "Bob", "school_id": south["id"]}))
            .await;
        let programme = app
            .post(
                "/v1/programmes",
                &json!({"name": "Oracy 2027", "kind": "conference_series"}),
            )
            .await;
        assert_eq!(programme.status, 201, "{}", programme.text);
        let programme = programme.json();
        let in_programme = app
            .create_event(json!({"title": "Oracy day", "programme_id": programme["id"]}))
            .await;
        let other = app.create_event(json!({"title": "Maths day"})).await;

        let body = |who: &Value, event: &Value, what: &str| json!({"participant_id": who["id"], "event_id": event["id"], "what_tried": what, "what_changed": "Pupils talk more", "evidence": "Learning walks"});
        for (who, event, what) in [
            (&ann, &in_programme, "Talk partners"),
            (&bob, &other, "Number talks"),
            (&ann, &other, "Bar models"),
        ] {
            let stored = app.post("/v1/reflections", &body(who, event, what)).await;
            assert_eq!(stored.status, 201, "{}", stored.text);
        }
        let bot = app.bot_key().await;
        app.link_discord(&bot, &bob, "404").await;
        let mine = app
            .send(app.as_discord(&bot, "404", Method::POST, "/v1/me/reflections").json(
                &json!({"what_tried": "Stem sentences", "what_changed": "Fuller answers", "evidence": "Book looks"}),
            ))
            .await;
        assert_eq!(mine.status, 201, "{}", mine.text);

        assert_eq!(
            tried(&app.get("/v1/reflections").await.json()),
            ["Talk partners", "Number talks", "Bar models", "Stem sentences"]
        );
        assert_eq!(
            tried(
                &app.get(&format!("/v1/reflections?event_id={}", other["id"]))
                    .await
                    .json()
            ),
            ["Number talks", "Bar models"]
        );
        assert_eq!(
            tried(
                &app.get(&format!("/v1/reflections?programme_id={}", programme["id"]))
                    .await
                    .json()
            ),
            ["Talk partners"]
        );
        assert_eq!(
            tried(
                &app.get(&format!("/v1/reflections?school_id={}", south["id"]))
                    .await
                    .json()
            ),
            ["Number talks", "Stem sentences"]
        );
        let page = app.get("/v1/reflections?limit=2").await.json();
        assert_eq!(tried(&page), ["Talk partners", "Number talks"]);
        let next = app
            .get(&format!(
                "/v1/reflections?limit=2&cursor={}",
                page["next_cursor"].as_str().unwrap()
            ))
            .await
            .json();
        assert_eq!(tried(&next), ["Bar models", "Stem sentences"]);

        app.post(
            "/v1/reflections",
            &json!({"what_tried": "x", "what_changed": "y", "evidence": "z"}),
        )
        .await
        .problem(422, "validation_failed");
        app.post(
            "/v1/reflections",
            &json!({"participant_id": 999_999, "what_tried": "x", "what_changed": "y", "evidence": "z"}),
        )
        .await
        .problem(422, "validation_failed");
        app.get("/v1/reflections?event_id=abc")
            .await
            .problem(400, "invalid_query");
        app.send(app.anonymous(Method::GET, "/v1/reflections"))
            .await
            .problem(401, "unauthorized");

        assert_eq!(app.delete(&format!("/v1/participants/{}", ann["id"])).await.status, 204);
        let all = app.get("/v1/reflections").await.json();
        assert_eq!(tried(&all).len(), 4, "erased people's reflections still count");
        let owners: Vec<&Value> = all["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| &r["participant_id"])
            .collect();
        assert_eq!(owners, [&Value::Null, &bob["id"], &Value::Null, &bob["id"]]);
        app.post("/v1/reflections", &body(&ann, &other, "after erasure"))
            .await
            .problem(422, "validation_failed");
    }
}
