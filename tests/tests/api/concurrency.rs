//! The booking promises under load: many requests at once, on SQLite and PostgreSQL.

use convene_tests::{json, spawn_apps};
use futures_util::future::join_all;

#[tokio::test]
async fn a_thousand_people_booking_thirty_seats_at_once_get_thirty_confirmed_and_a_waitlist_of_970() {
    for app in spawn_apps().await {
        let session = app.open_session(30, json!({})).await;
        let people = app.create_participants(1000, None).await;
        let replies = join_all(people.iter().map(|p| app.book(&session["id"], *p))).await;
        let errors: Vec<_> = replies
            .iter()
            .filter(|r| r.status != 201)
            .map(|r| r.text.clone())
            .collect();
        assert!(
            errors.is_empty(),
            "{:?}: {} errors, e.g. {:?}",
            app.backend,
            errors.len(),
            errors.first()
        );
        let confirmed = replies.iter().filter(|r| r.json()["status"] == "confirmed").count();
        assert_eq!(confirmed, 30, "{:?}", app.backend);
        let mut positions: Vec<i64> = replies
            .iter()
            .filter_map(|r| r.json()["waitlist_position"].as_i64())
            .collect();
        positions.sort_unstable();
        assert_eq!(
            positions,
            (1..=970).collect::<Vec<_>>(),
            "{:?}: each waitlisted person was told a distinct place",
            app.backend
        );
        let read = app.get(&format!("/v1/sessions/{}", session["id"])).await.json();
        assert_eq!(read["booked"], 30);
        assert_eq!(app.count("bookings WHERE status = 'confirmed'").await, 30);
        assert_eq!(app.count("bookings WHERE status = 'waitlisted'").await, 970);

        // Cancelling ten confirmed bookings at once promotes exactly ten, the first ten waiting.
        let confirmed_ids: Vec<i64> = replies
            .iter()
            .map(|r| r.json())
            .filter(|b| b["status"] == "confirmed")
            .map(|b| b["id"].as_i64().unwrap())
            .take(10)
            .collect();
        let mut first_waiting: Vec<(i64, i64)> = replies
            .iter()
            .map(|r| r.json())
            .filter_map(|b| b["waitlist_position"].as_i64().map(|p| (p, b["id"].as_i64().unwrap())))
            .collect();
        first_waiting.sort_unstable();
        let paths: Vec<String> = confirmed_ids.iter().map(|id| format!("/v1/bookings/{id}")).collect();
        let cancels = join_all(paths.iter().map(|path| app.delete(path))).await;
        assert!(
            cancels.iter().all(|r| r.status == 200),
            "{:?}",
            cancels.iter().find(|r| r.status != 200)
        );
        assert_eq!(
            app.count("bookings WHERE status = 'confirmed'").await,
            30,
            "{:?}",
            app.backend
        );
        assert_eq!(app.count("bookings WHERE status = 'waitlisted'").await, 960);
        for (_, id) in first_waiting.iter().take(10) {
            assert_eq!(
                app.get(&format!("/v1/bookings/{id}")).await.json()["status"],
                "confirmed"
            );
        }
        assert_eq!(app.notifications("booking_promoted", None).await, 10);
        let list = app
            .get(&format!(
                "/v1/sessions/{}/bookings?status=waitlisted&limit=500",
                session["id"]
            ))
            .await
            .json();
        assert_eq!(list["items"][0]["waitlist_position"], 1);
    }
}

#[tokio::test]
async fn the_per_school_limit_holds_when_a_whole_school_books_at_once() {
    for app in spawn_apps().await {
        let session = app.open_session(30, json!({"per_school_limit": 2})).await;
        let school = app.create_school(json!({})).await;
        let staff = app.create_participants(40, Some(&school["id"])).await;
        let replies = join_all(staff.iter().map(|p| app.book(&session["id"], *p))).await;
        assert!(
            replies.iter().all(|r| r.status == 201),
            "{:?}",
            replies.iter().find(|r| r.status != 201)
        );
        let confirmed = replies.iter().filter(|r| r.json()["status"] == "confirmed").count();
        assert_eq!(confirmed, 2, "{:?}", app.backend);
        assert!(
            replies
                .iter()
                .filter(|r| r.json()["status"] == "waitlisted")
                .all(|r| r.json()["waitlist_reason"] == "per_school_limit")
        );
    }
}

#[tokio::test]
async fn one_person_booking_overlapping_sessions_at_once_holds_only_one() {
    for app in spawn_apps().await {
        let event = app.create_event(json!({})).await;
        let day = (chrono::Utc::now() + chrono::Duration::days(7))
            .format("%Y-%m-%d")
            .to_string();
        let mut sessions = Vec::new();
        for i in 0..20 {
            let s = app
                .create_session(
                    &event["id"],
                    json!({"start": format!("{day}T09:{i:02}"), "end": format!("{day}T11:00"), "capacity": 10}),
                )
                .await;
            sessions.push(s["id"].clone());
        }
        let ann = app.create_participant(json!({})).await["id"].as_i64().unwrap();
        let replies = join_all(sessions.iter().map(|s| app.book(s, ann))).await;
        let booked = replies.iter().filter(|r| r.status == 201).count();
        assert_eq!(
            booked,
            1,
            "{:?}: {:?}",
            app.backend,
            replies.iter().map(|r| r.status).collect::<Vec<_>>()
        );
        for r in replies.iter().filter(|r| r.status != 201) {
            r.problem(409, "booking_clash");
        }
        assert_eq!(app.count("bookings WHERE status = 'confirmed'").await, 1);
    }
}

#[tokio::test]
async fn concurrent_retries_with_one_idempotency_key_make_one_booking() {
    for app in spawn_apps().await {
        let session = app.open_session(5, json!({})).await;
        let ann = app.create_participant(json!({})).await["id"].as_i64().unwrap();
        let path = format!("/v1/sessions/{}/bookings", session["id"]);
        let replies = join_all((0..20).map(|_| {
            app.send(
                app.request(reqwest::Method::POST, &path)
                    .header("Idempotency-Key", "same-click")
                    .json(&json!({"participant_id": ann})),
            )
        }))
        .await;
        assert!(
            replies.iter().all(|r| r.status == 201),
            "{:?}",
            replies.iter().map(|r| (r.status, r.text.clone())).collect::<Vec<_>>()
        );
        let first = replies[0].json();
        assert!(replies.iter().all(|r| r.json() == first));
        assert_eq!(app.count("bookings").await, 1, "{:?}", app.backend);
    }
}
