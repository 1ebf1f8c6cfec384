//! The organiser console (`/o`): signing in by an emailed link (organisers only), its own
//! session cookie that a participant's never stands in for, the anti-forgery token on every
//! post, and the dashboard — over HTTP with a cookie jar, as a browser would.

use chrono::Utc;
use convene_tests::web::{WebVisitor, console_link, csrf_of, heading_of, link_sent_to, plain};
use convene_tests::{TestApp, backends, json, spawn_app};
use serde_json::Value;

const COOKIE: &str = "convene_console";

/// An organiser, as created through the API.
async fn organiser(app: &TestApp, name: &str, email: &str) -> Value {
    app.create_participant(json!({"name": name, "email": email, "role": "organiser"}))
        .await
}

/// Signs `person` in to the console through the form and the emailed link, as a new visitor.
async fn console_visitor(app: &TestApp, person: &Value) -> WebVisitor {
    let link = console_link(app, person).await;
    let visitor = WebVisitor::new(app);
    let followed = visitor.get(&link).await;
    assert_eq!(followed.status, 303, "{}", followed.text);
    visitor
}

/// A published event `days` from now with sessions of the given capacities, 09:30 to 12:00 in
/// London, one a day.
async fn event_with_sessions(app: &TestApp, title: &str, days: i64, capacities: &[i64]) -> (Value, Vec<Value>) {
    let event = app.create_event(json!({"title": title})).await;
    let mut sessions = Vec::new();
    for (n, capacity) in capacities.iter().enumerate() {
        let day = (Utc::now() + chrono::Duration::days(days + n as i64))
            .format("%Y-%m-%d")
            .to_string();
        sessions.push(
            app.create_session(
                &event["id"],
                json!({"start": format!("{day}T09:30"), "end": format!("{day}T12:00"), "capacity": capacity}),
            )
            .await,
        );
    }
    (event, sessions)
}

#[tokio::test]
async fn an_organiser_signs_in_from_an_emailed_link_and_the_dashboard_shows_seats_and_waitlists() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let lead = organiser(&app, "Priya Shah", "priya@network.example").await;
        let teacher = app
            .create_participant(json!({"name": "Tom Reed", "email": "tom@school.example"}))
            .await;
        let (_, sessions) = event_with_sessions(&app, "Spring conference: oracy", 10, &[2, 40]).await;
        let people = app.create_participants(3, None).await;
        for person in &people {
            assert!(app.book(&sessions[0]["id"], *person).await.status.is_success());
        }

        let visitor = WebVisitor::new(&app);
        let away = visitor.get("/o").await;
        assert_eq!(away.status, 303, "{backend:?}");
        assert_eq!(away.headers["location"], "/o/sign-in");
        let form = visitor.get("/o/sign-in").await;
        assert_eq!(form.status, 200);
        assert_eq!(heading_of(&form.text), "Sign in to the organiser console");
        assert!(plain(&form.text).contains(r#"action="/o/sign-in""#), "{}", form.text);

        // The same answer for an organiser, a participant who is not one, and a stranger.
        let mut pages = Vec::new();
        for address in ["priya@network.example", "tom@school.example", "nobody@school.example"] {
            let page = visitor.post_form("/o/sign-in", &[("email", address)]).await;
            assert_eq!(page.status, 200, "{backend:?}: {}", page.text);
            assert_eq!(heading_of(&page.text), "Check your email");
            pages.push(page.text.replace(address, "ADDRESS"));
        }
        assert!(
            pages.windows(2).all(|w| w[0] == w[1]),
            "{backend:?}: the page must not tell an organiser's address from others"
        );
        let link = link_sent_to(&app, lead["id"].as_i64().unwrap(), 0)
            .await
            .expect("the organiser was sent a link");
        assert!(
            link.starts_with(&format!("{}/o/auth/", app.address)),
            "{backend:?}: {link}"
        );
        assert_eq!(
            link_sent_to(&app, teacher["id"].as_i64().unwrap(), 0).await,
            None,
            "{backend:?}: a participant who is not an organiser gets no console link"
        );

        let followed = visitor.get(&link).await;
        assert_eq!(followed.status, 303, "{backend:?}: {}", followed.text);
        assert_eq!(followed.headers["location"], "/o");
        let cookie = visitor.cookie(COOKIE).expect("a console session cookie");
        for attribute in ["HttpOnly", "SameSite=Strict", "Path=/o", "Max-Age=43200"] {
            assert!(
                cookie.set_by.split("; ").any(|a| a == attribute),
                "{backend:?}: {attribute} missing from {}",
                cookie.set_by
            );
        }
        assert!(!cookie.set_by.contains("Secure"), "plain http: {}", cookie.set_by);
        assert!(
            visitor.cookie("convene_session").is_none(),
            "no participant session was opened"
        );
        // Each link works once.
        assert_eq!(WebVisitor::new(&app).get(&link).await.status, 410);

        let board = visitor.get("/o").await;
        assert_eq!(board.status, 200, "{backend:?}: {}", board.text);
        assert_eq!(heading_of(&board.text), "Dashboard");
        let text = plain(&board.text);
        assert!(text.contains("Priya Shah"), "{text}");
        assert!(text.contains("Spring conference: oracy"), "{text}");
        // Two seats of two taken and one person waiting; the other session empty.
        let row = |html: &str, id: &Value| -> Vec<String> {
            let marker = format!("data-session=\"{id}\"");
            let start = html
                .find(&marker)
                .unwrap_or_else(|| panic!("no row for session {id}:\n{html}"));
            let end = html[start..].find("</tr>").unwrap() + start;
            html[start..end]
                .split("class=\"number\">")
                .skip(1)
                .map(|cell| cell.split('<').next().unwrap().to_owned())
                .collect()
        };
        assert_eq!(row(&board.text, &sessions[0]["id"]), ["2", "2", "1"], "{backend:?}");
        assert_eq!(row(&board.text, &sessions[1]["id"]), ["0", "40", "0"], "{backend:?}");
        let nearly_full = &board.text[board.text.find("id=\"nearly-full\"").unwrap()..];
        let nearly_full = &nearly_full[..nearly_full.find("id=\"undelivered\"").unwrap()];
        assert!(nearly_full.contains(&format!("data-session=\"{}\"", sessions[0]["id"])));
        assert!(!nearly_full.contains(&format!("data-session=\"{}\"", sessions[1]["id"])));
    }
}

#[tokio::test]
async fn a_participant_session_never_opens_the_console_and_a_console_link_never_opens_the_pages() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let lead = organiser(&app, "Priya Shah", "priya@network.example").await;

        // Signed in to the participant pages (an organiser is a participant too)...
        let sent = app
            .post(&format!("/v1/participants/{}/sign-in-link", lead["id"]), &json!({}))
            .await;
        assert_eq!(sent.status, 202, "{}", sent.text);
        let pages_link = link_sent_to(&app, lead["id"].as_i64().unwrap(), 0).await.unwrap();
        assert!(pages_link.contains("/p/auth/"), "{pages_link}");
        let visitor = WebVisitor::new(&app);
        assert_eq!(visitor.get(&pages_link).await.status, 303);
        assert_eq!(visitor.get("/p").await.status, 200);
        // ... is not signed in to the console, even with that session's secret in its cookie.
        assert_eq!(visitor.get("/o").await.headers["location"], "/o/sign-in");
        let secret = visitor.cookie("convene_session").unwrap().value;
        visitor.set_cookie(COOKIE, &secret, "/o");
        let refused = visitor.get("/o").await;
        assert_eq!(refused.status, 303, "{backend:?}");
        assert_eq!(refused.headers["location"], "/o/sign-in");
        assert!(visitor.cookie(COOKIE).is_none(), "the useless cookie is cleared");

        // A console link followed on the participant pages is not one of theirs. (A person is sent
        // one link a minute, whichever its area.)
        app.clock.advance(chrono::TimeDelta::seconds(61));
        let asked = WebVisitor::new(&app)
            .post_form("/o/sign-in", &[("email", "priya@network.example")])
            .await;
        assert_eq!(asked.status, 200);
        let console_link = link_sent_to(&app, lead["id"].as_i64().unwrap(), 1)
            .await
            .expect("a console link was sent");
        let misused = console_link.replace("/o/auth/", "/p/auth/");
        assert_eq!(WebVisitor::new(&app).get(&misused).await.status, 404, "{backend:?}");
        // It still works where it belongs.
        assert_eq!(WebVisitor::new(&app).get(&console_link).await.status, 303);

        // Someone no longer an organiser is signed out of the console at their next request.
        app.clock.advance(chrono::TimeDelta::seconds(61));
        let visitor = console_visitor(&app, &lead).await;
        assert_eq!(visitor.get("/o").await.status, 200);
        let demoted = app
            .patch(&format!("/v1/participants/{}", lead["id"]), &json!({"role": "teacher"}))
            .await;
        assert_eq!(demoted.status, 200, "{}", demoted.text);
        assert_eq!(visitor.get("/o").await.status, 303, "{backend:?}");
    }
}

#[tokio::test]
async fn a_console_post_without_its_anti_forgery_token_changes_nothing_and_signing_out_ends_the_session() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let lead = organiser(&app, "Priya Shah", "priya@network.example").await;
        let visitor = console_visitor(&app, &lead).await;
        let board = visitor.get("/o").await;
        assert_eq!(board.status, 200);
        let csrf = csrf_of(&board.text);

        for fields in [vec![], vec![("csrf", "not-the-token")]] {
            let forged = visitor.post_form("/o/sign-out", &fields).await;
            assert_eq!(forged.status, 403, "{backend:?}: {}", forged.text);
            assert_eq!(visitor.get("/o").await.status, 200, "{backend:?}: still signed in");
        }
        // Nothing else under /o is a page, signed in or not.
        assert_eq!(visitor.get("/o/no-such-page").await.status, 404);
        assert_eq!(
            WebVisitor::new(&app).get("/o/no-such-page").await.headers["location"],
            "/o/sign-in"
        );

        let out = visitor.post_form("/o/sign-out", &[("csrf", &csrf)]).await;
        assert_eq!(out.status, 200, "{backend:?}: {}", out.text);
        assert_eq!(heading_of(&out.text), "You are signed out");
        assert!(visitor.cookie(COOKIE).is_none(), "the cookie is cleared");
        assert_eq!(
            app.count("participant_web_sessions WHERE scope = 'organiser' AND revoked_at IS NOT NULL")
                .await,
            1,
            "{backend:?}: the session is revoked on the server"
        );
        assert_eq!(visitor.get("/o").await.status, 303);
    }
}
