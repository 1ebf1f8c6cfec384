//! The booking engine's promises, one at a time, over HTTP.

use convene_tests::{json, spawn_apps};
use sea_orm::ConnectionTrait as _;

#[tokio::test]
async fn a_free_seat_confirms_the_booking_and_queues_a_confirmation_message() {
    for app in spawn_apps().await {
        let session = app.open_session(30, json!({})).await;
        let ann = app.create_participant(json!({})).await["id"].as_i64().unwrap();
        let reply = app.book(&session["id"], ann).await;
        assert_eq!(reply.status, 201, "{:?}: {}", app.backend, reply.text);
        let booking = reply.json();
        assert_eq!(booking["status"], "confirmed");
        assert_eq!(booking["session_id"], session["id"]);
        assert_eq!(booking["participant_id"], ann);
        assert!(booking.get("waitlist_position").is_none());
        assert_eq!(
            reply.headers["location"],
            format!("/v1/bookings/{}", booking["id"]).as_str()
        );
        assert_eq!(
            app.get(&format!("/v1/sessions/{}", session["id"])).await.json()["booked"],
            1
        );
        assert_eq!(app.notifications("booking_confirmed", Some(ann)).await, 1);
        assert_eq!(
            app.get(&format!("/v1/bookings/{}", booking["id"])).await.json(),
            booking
        );
    }
}

#[tokio::test]
async fn booking_the_same_session_twice_returns_the_existing_booking() {
    for app in spawn_apps().await {
        let session = app.open_session(30, json!({})).await;
        let ann = app.create_participant(json!({})).await["id"].as_i64().unwrap();
        let first = app.book(&session["id"], ann).await.json();
        let again = app.book(&session["id"], ann).await;
        assert_eq!(again.status, 200, "{}", again.text);
        assert_eq!(again.json()["id"], first["id"]);
        assert_eq!(app.count("bookings").await, 1);
        assert_eq!(
            app.get(&format!("/v1/sessions/{}", session["id"])).await.json()["booked"],
            1
        );
    }
}

#[tokio::test]
async fn a_full_session_waitlists_in_arrival_order_and_a_cancellation_promotes_the_head() {
    for app in spawn_apps().await {
        let session = app.open_session(2, json!({})).await;
        let people = app.create_participants(5, None).await;
        let mut bookings = Vec::new();
        for p in &people {
            bookings.push(app.book(&session["id"], *p).await.json());
        }
        let statuses: Vec<_> = bookings
            .iter()
            .map(|b| b["status"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            statuses,
            ["confirmed", "confirmed", "waitlisted", "waitlisted", "waitlisted"],
            "{:?}",
            app.backend
        );
        assert_eq!(bookings[2]["waitlist_position"], 1);
        assert_eq!(bookings[4]["waitlist_position"], 3);
        assert_eq!(bookings[4]["waitlist_reason"], "capacity");
        assert_eq!(app.notifications("booking_waitlisted", None).await, 3);

        let cancelled = app.delete(&format!("/v1/bookings/{}", bookings[0]["id"])).await;
        assert_eq!(cancelled.status, 200, "{}", cancelled.text);
        assert_eq!(cancelled.json()["status"], "cancelled");
        let promoted = app.get(&format!("/v1/bookings/{}", bookings[2]["id"])).await.json();
        assert_eq!(promoted["status"], "confirmed");
        assert_eq!(app.notifications("booking_promoted", Some(people[2])).await, 1);
        assert_eq!(app.notifications("booking_cancelled", Some(people[0])).await, 1);
        let list = app
            .get(&format!("/v1/sessions/{}/bookings?status=waitlisted", session["id"]))
            .await
            .json();
        let positions: Vec<_> = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["waitlist_position"].as_i64().unwrap())
            .collect();
        assert_eq!(positions, [1, 2]);
        assert_eq!(
            app.get(&format!("/v1/sessions/{}", session["id"])).await.json()["booked"],
            2
        );
        // Cancelling again changes nothing; cancelling a waitlisted booking promotes no one.
        assert_eq!(
            app.delete(&format!("/v1/bookings/{}", bookings[0]["id"])).await.status,
            200
        );
        app.delete(&format!("/v1/bookings/{}", bookings[4]["id"])).await;
        assert_eq!(
            app.get(&format!("/v1/sessions/{}", session["id"])).await.json()["booked"],
            2
        );
        app.delete("/v1/bookings/99999").await.problem(404, "not_found");
    }
}

#[tokio::test]
async fn a_full_session_without_a_waitlist_answers_session_full() {
    for app in spawn_apps().await {
        let session = app.open_session(1, json!({"waitlist": false})).await;
        let people = app.create_participants(2, None).await;
        assert_eq!(app.book(&session["id"], people[0]).await.status, 201);
        app.book(&session["id"], people[1]).await.problem(409, "session_full");
        assert_eq!(app.count("bookings").await, 1);
    }
}

#[tokio::test]
async fn an_overlapping_booking_is_refused_naming_the_other_session() {
    for app in spawn_apps().await {
        let morning = app.open_session(10, json!({})).await;
        let event = app.create_event(json!({"title": "Overlapping workshop"})).await;
        let start = chrono::Utc::now() + chrono::Duration::days(7);
        let overlapping = app
            .create_session(&event["id"], json!({"start": start.format("%Y-%m-%dT11:00").to_string(), "end": start.format("%Y-%m-%dT13:00").to_string(), "capacity": 10}))
            .await;
        let afternoon = app
            .create_session(&event["id"], json!({"start": start.format("%Y-%m-%dT12:00").to_string(), "end": start.format("%Y-%m-%dT14:00").to_string(), "capacity": 10}))
            .await;
        let ann = app.create_participant(json!({})).await["id"].as_i64().unwrap();
        assert_eq!(app.book(&morning["id"], ann).await.status, 201);
        let clash = app.book(&overlapping["id"], ann).await;
        let problem = clash.problem(409, "booking_clash");
        let detail = problem["detail"].as_str().unwrap();
        assert!(
            detail.contains(&format!("session {}", morning["id"])) && detail.contains("Summer conference"),
            "{detail}"
        );
        // Back to back is not a clash.
        assert_eq!(app.book(&afternoon["id"], ann).await.status, 201);
    }
}

#[tokio::test]
async fn the_per_school_limit_waitlists_the_extra_staff_of_one_school() {
    for app in spawn_apps().await {
        let session = app.open_session(10, json!({"per_school_limit": 2})).await;
        let north = app.create_school(json!({})).await;
        let south = app.create_school(json!({"name": "Southfield"})).await;
        let north_staff = app.create_participants(3, Some(&north["id"])).await;
        let south_staff = app.create_participants(1, Some(&south["id"])).await;
        let replies: Vec<_> = [north_staff.clone(), south_staff]
            .concat()
            .into_iter()
            .map(|p| (p, session["id"].clone()))
            .collect();
        let mut results = Vec::new();
        for (p, s) in replies {
            results.push(app.book(&s, p).await.json());
        }
        assert_eq!(results[0]["status"], "confirmed");
        assert_eq!(results[1]["status"], "confirmed");
        assert_eq!(results[2]["status"], "waitlisted", "{:?}", app.backend);
        assert_eq!(results[2]["waitlist_reason"], "per_school_limit");
        assert_eq!(results[3]["status"], "confirmed", "another school still has room");
        // When one of North's two cancels, North's third gets the seat.
        app.delete(&format!("/v1/bookings/{}", results[0]["id"])).await;
        assert_eq!(
            app.get(&format!("/v1/bookings/{}", results[2]["id"])).await.json()["status"],
            "confirmed"
        );
    }
}

#[tokio::test]
async fn bookings_are_refused_on_drafts_cancelled_events_and_sessions_that_have_started() {
    for app in spawn_apps().await {
        let ann = app.create_participant(json!({})).await["id"].as_i64().unwrap();
        let draft = app.create_event(json!({"status": "draft"})).await;
        let in_a_week = (chrono::Utc::now() + chrono::Duration::days(7))
            .format("%Y-%m-%d")
            .to_string();
        let draft_session = app
            .create_session(
                &draft["id"],
                json!({"start": format!("{in_a_week}T09:00"), "end": format!("{in_a_week}T10:00"), "capacity": 5}),
            )
            .await;
        app.book(&draft_session["id"], ann)
            .await
            .problem(409, "event_not_published");

        let past = app.create_event(json!({})).await;
        let past_session = app
            .create_session(
                &past["id"],
                json!({"start": "2024-01-10T09:00", "end": "2024-01-10T10:00", "capacity": 5}),
            )
            .await;
        app.book(&past_session["id"], ann).await.problem(409, "session_started");

        let cancelled = app.open_session(5, json!({})).await;
        app.patch(
            &format!("/v1/events/{}", cancelled["event_id"]),
            &json!({"status": "cancelled"}),
        )
        .await;
        app.book(&cancelled["id"], ann).await.problem(409, "event_cancelled");

        let open = app.open_session(5, json!({})).await;
        app.patch(&format!("/v1/sessions/{}", open["id"]), &json!({"status": "cancelled"}))
            .await;
        app.book(&open["id"], ann).await.problem(409, "session_cancelled");

        let other = app.open_session(5, json!({})).await;
        let unknown = app.book(&other["id"], 424242).await;
        unknown.problem(422, "validation_failed");
        assert_eq!(unknown.fields(), ["participant_id"]);
        app.post(&format!("/v1/sessions/{}/bookings", other["id"]), &json!({}))
            .await
            .problem(422, "validation_failed");
        app.book(&json!(999999), ann).await.problem(404, "not_found");
        assert_eq!(app.count("bookings").await, 0);
    }
}

#[tokio::test]
async fn a_retry_with_the_same_idempotency_key_returns_the_first_answer_and_books_once() {
    for app in spawn_apps().await {
        let session = app.open_session(5, json!({})).await;
        let people = app.create_participants(2, None).await;
        let path = format!("/v1/sessions/{}/bookings", session["id"]);
        let send = |p: i64, key: &str| {
            app.send(
                app.request(reqwest::Method::POST, &path)
                    .header("Idempotency-Key", key)
                    .json(&json!({"participant_id": p})),
            )
        };
        let first = send(people[0], "retry-1").await;
        assert_eq!(first.status, 201, "{}", first.text);
        let retry = send(people[0], "retry-1").await;
        assert_eq!(retry.status, 201, "{}", retry.text);
        assert_eq!(retry.json(), first.json());
        assert_eq!(retry.headers["idempotency-replayed"], "true");
        assert_eq!(retry.headers["location"], first.headers["location"]);
        assert_eq!(app.count("bookings").await, 1);
        let reused = send(people[1], "retry-1").await;
        reused.problem(422, "idempotency_key_reused");
        assert_eq!(app.count("bookings").await, 1);
        // Keys expire after 24 hours: an old key is a new request again.
        app.clock
            .advance(chrono::TimeDelta::hours(24) + chrono::TimeDelta::minutes(1));
        let after_expiry = send(people[1], "retry-1").await;
        assert_eq!(after_expiry.status, 201, "{}", after_expiry.text);
        assert_eq!(after_expiry.json()["participant_id"], people[1]);
    }
}

#[tokio::test]
async fn capacity_cannot_drop_below_the_confirmed_seats_and_raising_it_promotes() {
    for app in spawn_apps().await {
        let session = app.open_session(2, json!({})).await;
        let people = app.create_participants(4, None).await;
        for p in &people {
            app.book(&session["id"], *p).await;
        }
        let path = format!("/v1/sessions/{}", session["id"]);
        app.patch(&path, &json!({"capacity": 1}))
            .await
            .problem(409, "capacity_below_booked");
        let raised = app.patch(&path, &json!({"capacity": 3})).await.json();
        assert_eq!(raised["booked"], 3, "{raised}");
        let list = app.get(&format!("{path}/bookings")).await.json();
        let statuses: Vec<_> = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["status"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(statuses, ["confirmed", "confirmed", "confirmed", "waitlisted"]);
        assert_eq!(list["items"][3]["waitlist_position"], 1);
        assert_eq!(app.notifications("booking_promoted", Some(people[2])).await, 1);
    }
}

#[tokio::test]
async fn cancelling_a_session_or_its_event_cancels_every_booking_and_tells_everyone() {
    for app in spawn_apps().await {
        let session = app.open_session(1, json!({})).await;
        let people = app.create_participants(3, None).await;
        for p in &people {
            app.book(&session["id"], *p).await;
        }
        app.patch(
            &format!("/v1/sessions/{}", session["id"]),
            &json!({"status": "cancelled"}),
        )
        .await;
        let list = app
            .get(&format!("/v1/sessions/{}/bookings", session["id"]))
            .await
            .json();
        assert!(
            list["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|b| b["status"] == "cancelled"),
            "{list}"
        );
        assert_eq!(app.notifications("session_cancelled", None).await, 3);
        assert_eq!(
            app.get(&format!("/v1/sessions/{}", session["id"])).await.json()["booked"],
            0
        );

        let other = app.open_session(5, json!({})).await;
        app.book(&other["id"], people[0]).await;
        app.patch(
            &format!("/v1/events/{}", other["event_id"]),
            &json!({"status": "cancelled"}),
        )
        .await;
        let list = app.get(&format!("/v1/sessions/{}/bookings", other["id"])).await.json();
        assert_eq!(list["items"][0]["status"], "cancelled");
        assert_eq!(app.notifications("session_cancelled", Some(people[0])).await, 2);
    }
}

#[tokio::test]
async fn attendance_is_marked_once_the_session_starts_and_the_register_lists_it() {
    for app in spawn_apps().await {
        let session = app.open_session(5, json!({})).await;
        let school = app.create_school(json!({"name": "Hill, Dale & Vale School"})).await;
        let ann = app
            .create_participant(json!({"name": "Ann Jones", "school_id": school["id"]}))
            .await["id"]
            .as_i64()
            .unwrap();
        let bob = app.create_participant(json!({"name": "=Bob Smith"})).await["id"]
            .as_i64()
            .unwrap();
        let ann_booking = app.book(&session["id"], ann).await.json();
        app.book(&session["id"], bob).await;
        let path = format!("/v1/bookings/{}", ann_booking["id"]);
        app.patch(&path, &json!({"status": "attended"}))
            .await
            .problem(409, "session_not_started");
        // The session has now happened.
        app.patch(
            &format!("/v1/sessions/{}", session["id"]),
            &json!({"start": "2025-01-10T09:00", "end": "2025-01-10T12:00"}),
        )
        .await;
        let marked = app.patch(&path, &json!({"status": "attended"})).await;
        assert_eq!(marked.status, 200, "{}", marked.text);
        assert_eq!(marked.json()["status"], "attended");
        app.patch(&path, &json!({"status": "present"}))
            .await
            .problem(422, "validation_failed");

        let sheet = app.post(&format!("/v1/sessions/{}/attendance", session["id"]), &json!({"marks": [{"participant_id": bob, "status": "no_show"}, {"participant_id": 424242, "status": "attended"}]})).await;
        sheet.problem(422, "validation_failed");
        assert_eq!(sheet.fields(), ["marks[1].participant_id"]);
        let sheet = app
            .post(
                &format!("/v1/sessions/{}/attendance", session["id"]),
                &json!({"marks": [{"participant_id": bob, "status": "no_show"}]}),
            )
            .await;
        assert_eq!(sheet.status, 200, "{}", sheet.text);
        assert_eq!(sheet.json()["items"][0]["status"], "no_show");

        let csv = app.get(&format!("/v1/sessions/{}/register.csv", session["id"])).await;
        assert_eq!(csv.status, 200);
        assert!(csv.content_type().starts_with("text/csv"));
        assert_eq!(
            csv.text,
            "name,school,status\r\n'=Bob Smith,,no_show\r\nAnn Jones,\"Hill, Dale & Vale School\",attended\r\n"
        );
        app.delete(&path).await.problem(409, "booking_attendance_marked");
    }
}

#[tokio::test]
async fn adding_a_per_school_limit_later_counts_the_seats_already_taken() {
    for app in spawn_apps().await {
        let session = app.open_session(10, json!({})).await;
        let school = app.create_school(json!({})).await;
        let staff = app.create_participants(4, Some(&school["id"])).await;
        for p in &staff[..3] {
            assert_eq!(app.book(&session["id"], *p).await.json()["status"], "confirmed");
        }
        app.patch(
            &format!("/v1/sessions/{}", session["id"]),
            &json!({"per_school_limit": 2}),
        )
        .await;
        let fourth = app.book(&session["id"], staff[3]).await.json();
        assert_eq!(
            fourth["status"], "waitlisted",
            "{:?}: three already hold seats",
            app.backend
        );
        assert_eq!(fourth["waitlist_reason"], "per_school_limit");
    }
}

#[tokio::test]
async fn moving_a_session_onto_someones_other_booking_is_refused() {
    for app in spawn_apps().await {
        let event = app.create_event(json!({})).await;
        let day = (chrono::Utc::now() + chrono::Duration::days(7))
            .format("%Y-%m-%d")
            .to_string();
        let morning = app
            .create_session(
                &event["id"],
                json!({"start": format!("{day}T09:00"), "end": format!("{day}T10:00"), "capacity": 5}),
            )
            .await;
        let later = app
            .create_session(
                &event["id"],
                json!({"start": format!("{day}T11:00"), "end": format!("{day}T12:00"), "capacity": 5}),
            )
            .await;
        let ann = app.create_participant(json!({})).await["id"].as_i64().unwrap();
        app.book(&morning["id"], ann).await;
        app.book(&later["id"], ann).await;
        let reply = app
            .patch(
                &format!("/v1/sessions/{}", later["id"]),
                &json!({"start": format!("{day}T09:30")}),
            )
            .await;
        reply.problem(409, "booking_clash");
        assert_eq!(
            app.get(&format!("/v1/sessions/{}", later["id"])).await.json()["start_local"],
            format!("{day}T11:00:00")
        );
    }
}

#[tokio::test]
async fn a_retry_of_a_refused_idempotent_request_is_refused_the_same_way() {
    for app in spawn_apps().await {
        let session = app.open_session(1, json!({"waitlist": false})).await;
        let people = app.create_participants(2, None).await;
        let first = app.book(&session["id"], people[0]).await.json();
        let path = format!("/v1/sessions/{}/bookings", session["id"]);
        let send = || {
            app.send(
                app.request(reqwest::Method::POST, &path)
                    .header("Idempotency-Key", "full-click")
                    .json(&json!({"participant_id": people[1]})),
            )
        };
        let refused = send().await;
        refused.problem(409, "session_full");
        // A seat frees, but the retry still gets the first answer.
        app.delete(&format!("/v1/bookings/{}", first["id"])).await;
        let retry = send().await;
        retry.problem(409, "session_full");
        assert_eq!(retry.headers["idempotency-replayed"], "true");
        assert_eq!(retry.json(), refused.json());
        assert_eq!(
            app.count("bookings WHERE status = 'confirmed'").await,
            0,
            "{:?}",
            app.backend
        );
    }
}

#[tokio::test]
async fn a_seat_passed_over_because_of_a_clash_is_offered_again_when_the_clash_goes() {
    for app in spawn_apps().await {
        let event = app.create_event(json!({})).await;
        let day = (chrono::Utc::now() + chrono::Duration::days(7))
            .format("%Y-%m-%d")
            .to_string();
        let workshop = app
            .create_session(
                &event["id"],
                json!({"start": format!("{day}T09:00"), "end": format!("{day}T10:00"), "capacity": 1}),
            )
            .await;
        let talk = app
            .create_session(
                &event["id"],
                json!({"start": format!("{day}T09:30"), "end": format!("{day}T10:30"), "capacity": 5}),
            )
            .await;
        let people = app.create_participants(2, None).await;
        let (ann, pat) = (people[0], people[1]);
        let ann_seat = app.book(&workshop["id"], ann).await.json();
        let pat_waiting = app.book(&workshop["id"], pat).await.json();
        assert_eq!(pat_waiting["status"], "waitlisted");
        let pat_talk = app.book(&talk["id"], pat).await.json();
        assert_eq!(pat_talk["status"], "confirmed");
        // Ann leaves: Pat is next, but holds the overlapping talk, so the seat stays free.
        app.delete(&format!("/v1/bookings/{}", ann_seat["id"])).await;
        assert_eq!(
            app.get(&format!("/v1/bookings/{}", pat_waiting["id"])).await.json()["status"],
            "waitlisted"
        );
        // Pat leaves the talk: the workshop seat is offered to Pat at once.
        app.delete(&format!("/v1/bookings/{}", pat_talk["id"])).await;
        let now = app.get(&format!("/v1/bookings/{}", pat_waiting["id"])).await.json();
        assert_eq!(now["status"], "confirmed", "{:?}: {now}", app.backend);
        assert_eq!(app.notifications("booking_promoted", Some(pat)).await, 1);
    }
}

/// On PostgreSQL a free seat is booked by one statement, and a session with a per-school limit
/// takes the general path: the two must write the same booking and the same messages.
#[tokio::test]
async fn a_seat_booked_with_or_without_a_per_school_limit_writes_the_same_booking_and_messages() {
    use entity::{booking, notification};
    use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _, QueryOrder as _};
    for app in spawn_apps().await {
        let school = app.create_school(json!({})).await;
        let ann = app.create_participant(json!({"school_id": school["id"]})).await["id"]
            .as_i64()
            .unwrap();
        let day = |d: i64| {
            (chrono::Utc::now() + chrono::Duration::days(d))
                .format("%Y-%m-%d")
                .to_string()
        };
        let open = app.open_session(30, json!({})).await;
        let limited = app
            .open_session(
                30,
                json!({"per_school_limit": 5, "start": format!("{}T09:30", day(8)), "end": format!("{}T12:00", day(8))}),
            )
            .await;
        let mut written = Vec::new();
        for session in [&open, &limited] {
            let reply = app.book(&session["id"], ann).await;
            assert_eq!(reply.status, 201, "{:?}: {}", app.backend, reply.text);
            let id = reply.json()["id"].as_i64().unwrap();
            let row = booking::Entity::find_by_id(id).one(&app.db).await.unwrap().unwrap();
            assert_eq!(row.confirmed_at, Some(row.created_at), "{:?}", app.backend);
            assert_eq!(row.updated_at, row.created_at);
            let messages: Vec<_> = notification::Entity::find()
                .filter(notification::Column::BookingId.eq(id))
                .order_by_asc(notification::Column::DueAt)
                .all(&app.db)
                .await
                .unwrap()
                .into_iter()
                .map(|m| {
                    assert_eq!(m.session_id, Some(row.session_id));
                    assert_eq!(m.participant_id, Some(ann));
                    // A reminder by how long before the session it is due; the confirmation is due at
                    // once. (Its state is left out: the app's worker may already be sending it.)
                    let due = if m.kind == "reminder" {
                        (row.starts_at - m.due_at).num_minutes()
                    } else {
                        (m.due_at - row.created_at).num_minutes()
                    };
                    (m.channel, m.kind, m.payload, due)
                })
                .collect();
            written.push((
                (row.status, row.school_id, row.waitlist_reason, row.cancelled_at),
                messages,
            ));
        }
        assert_eq!(written[0], written[1], "{:?}", app.backend);
        let (booked, messages) = &written[0];
        assert_eq!(booked.0, entity::state::BookingStatus::Confirmed);
        assert_eq!(booked.1, school["id"].as_i64());
        let kinds: Vec<_> = messages.iter().map(|m| (m.1.as_str(), m.3)).collect();
        assert_eq!(
            kinds,
            [("booking_confirmed", 0), ("reminder", 1440), ("reminder", 60)],
            "{:?}",
            app.backend
        );
        assert_eq!(
            messages[0].2,
            json!({"waitlist_position": null, "waitlist_reason": null})
        );
    }
}

/// What a booking answered and wrote, as the parity test compares them: the answer's status and
/// code (or the booking's status), and the person's active bookings and messages afterwards.
async fn booking_outcome(
    app: &convene_tests::TestApp,
    session: &serde_json::Value,
    person: i64,
) -> (u16, String, i64, i64) {
    let reply = app.book(&session["id"], person).await;
    let said = if reply.status.is_success() {
        reply.json()["status"].as_str().unwrap().to_owned()
    } else {
        reply.json()["code"].as_str().unwrap().to_owned()
    };
    let active = app
        .count(&format!(
            "bookings WHERE participant_id = {person} AND status IN ('confirmed', 'waitlisted')"
        ))
        .await;
    let messages = app
        .count(&format!("notifications WHERE participant_id = {person}"))
        .await;
    (reply.status.as_u16(), said, active, messages)
}

/// On PostgreSQL a free seat is taken by one statement that restates the general path's rules;
/// a session with a per-school limit always takes the general path. Each case is played on a
/// pair of sessions alike but for a per-school limit (of every seat), by two people alike: the
/// answers and what is written must be the same.
#[tokio::test]
async fn the_one_statement_booking_and_the_general_path_answer_every_case_alike() {
    for app in spawn_apps().await {
        let school = app.create_school(json!({})).await;
        let people = app.create_participants(12, Some(&school["id"])).await;
        let others = app.create_participants(4, None).await;
        let mut pairs = Vec::new();
        for (days, capacity, waitlist) in [
            (8, 30, true),
            (9, 1, true),
            (10, 1, false),
            (11, 30, true),
            (12, 30, true),
        ] {
            let day = (chrono::Utc::now() + chrono::Duration::days(days)).format("%Y-%m-%d");
            let body = |limit: Option<i64>| {
                json!({"start": format!("{day}T09:30"), "end": format!("{day}T12:00"), "capacity": capacity,
                       "waitlist": waitlist, "per_school_limit": limit})
            };
            pairs.push([
                app.open_session(capacity, body(None)).await,
                app.open_session(capacity, body(Some(capacity))).await,
            ]);
        }
        // Full sessions: someone else holds the only seat of each.
        for (i, pair) in pairs[1..3].iter().enumerate() {
            for (j, session) in pair.iter().enumerate() {
                assert_eq!(app.book(&session["id"], others[i * 2 + j]).await.status, 201);
            }
        }
        // A clash: a third session at the same time as the fifth pair, booked by both people.
        let clash_day = (chrono::Utc::now() + chrono::Duration::days(12)).format("%Y-%m-%d");
        let elsewhere = app
            .open_session(
                30,
                json!({"start": format!("{clash_day}T11:00"), "end": format!("{clash_day}T13:00")}),
            )
            .await;
        for person in &people[8..10] {
            assert_eq!(app.book(&elsewhere["id"], *person).await.status, 201);
        }
        let cases = [
            ("a free seat", 0),
            ("a full session with a waitlist", 1),
            ("a full session without one", 2),
            ("a seat already held", 3),
            ("a clash", 4),
        ];
        for (name, n) in cases {
            let (fast, general) = (people[n * 2], people[n * 2 + 1]);
            if name == "a seat already held" {
                booking_outcome(&app, &pairs[n][0], fast).await;
                booking_outcome(&app, &pairs[n][1], general).await;
            }
            let one = booking_outcome(&app, &pairs[n][0], fast).await;
            let other = booking_outcome(&app, &pairs[n][1], general).await;
            assert_eq!(one, other, "{:?}: {name}", app.backend);
            let expected = match name {
                "a free seat" => (201, "confirmed"),
                "a full session with a waitlist" => (201, "waitlisted"),
                "a full session without one" => (409, "session_full"),
                "a seat already held" => (200, "confirmed"),
                _ => (409, "booking_clash"),
            };
            assert_eq!((one.0, one.1.as_str()), expected, "{:?}: {name}", app.backend);
        }
    }
}

#[tokio::test]
async fn a_key_revoked_after_it_booked_is_refused_at_once_and_books_nothing() {
    for app in spawn_apps().await {
        let session = app.open_session(30, json!({})).await;
        let people = app.create_participants(3, None).await;
        // The first booking makes the service remember the key as live.
        assert_eq!(app.book(&session["id"], people[0]).await.status, 201);
        app.db
            .execute_unprepared("UPDATE api_keys SET revoked_at = CURRENT_TIMESTAMP")
            .await
            .unwrap();
        app.book(&session["id"], people[1]).await.problem(401, "unauthorized");
        // Refused before anything else: an unknown session, and with an idempotency key.
        app.book(&json!(999999), people[1]).await.problem(401, "unauthorized");
        let path = format!("/v1/sessions/{}/bookings", session["id"]);
        app.send(
            app.anonymous(reqwest::Method::POST, &path)
                .bearer_auth(&app.key)
                .header("Idempotency-Key", "revoked-1")
                .json(&json!({"participant_id": people[2]})),
        )
        .await
        .problem(401, "unauthorized");
        app.send(
            app.anonymous(reqwest::Method::POST, &path)
                .bearer_auth(&app.key)
                .header("Idempotency-Key", "revoked-2")
                .json(&json!({})),
        )
        .await
        .problem(401, "unauthorized");
        assert_eq!(app.count("bookings").await, 1, "{:?}", app.backend);
        assert_eq!(app.count("idempotency_keys").await, 0, "{:?}", app.backend);
        // And still refused once the service has forgotten the key.
        app.book(&session["id"], people[1]).await.problem(401, "unauthorized");
        assert_eq!(app.count("bookings").await, 1, "{:?}", app.backend);
    }
}
