//! The organiser console in a real browser: headless Chromium with JavaScript on, at a phone's
//! width and a desktop's, clicks through an organiser's morning (`tools/console_browser.py`) while
//! axe-core checks every page met on the way against WCAG 2.1 A and AA and its best practices.

use chrono::{DateTime, NaiveDate, TimeDelta, TimeZone as _, Utc};
use chrono_tz::Europe::London;
use convene_tests::browser::{self, JavaScript};
use convene_tests::web::console_link;
use convene_tests::{backends, json, spawn_app};
use serde_json::Value;

/// The window widths the console is used at: a small phone and a desktop.
const WIDTHS: [u32; 2] = [360, 1280];

/// The instant it is `hour:minute` in London on `day` (a time every day has exactly once).
fn london(day: NaiveDate, hour: u32, minute: u32) -> DateTime<Utc> {
    let local = day.and_hms_opt(hour, minute, 0).unwrap();
    London.from_local_datetime(&local).single().unwrap().with_timezone(&Utc)
}

/// The numbers written in `text`, as read.
fn numbers_in(text: &str) -> Vec<u64> {
    text.split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect()
}

use convene_tests::browser::violations_of;

/// The texts of `rows` (an array of strings in the script's outcome), for looking names up in.
fn rows(outcome: &Value, name: &str) -> Vec<String> {
    outcome[name]
        .as_array()
        .unwrap_or_else(|| panic!("the script read no {name}: {outcome}"))
        .iter()
        .map(|row| row.as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn the_console_is_used_in_headless_chromium_at_phone_and_desktop_width_with_no_serious_accessibility_violations()
{
    let shots = browser::artifacts("organiser-console");
    let axe = tokio::task::spawn_blocking(browser::axe_core).await.unwrap();
    for backend in backends() {
        let app = spawn_app(backend).await;
        let lead = app
            .create_participant(json!({"name": "Priya Shah", "email": "priya@network.example", "role": "organiser"}))
            .await;
        let school = app.create_school(json!({"name": "Northfield Primary School"})).await;
        // Its authority's term dates, to be seen on their console page.
        let loaded = app
            .post(
                "/v1/local-authorities/Camden/closures",
                &json!({"closures": [
                    {"start_date": "2027-02-15", "end_date": "2027-02-19", "kind": "holiday", "summary": "Spring half term"},
                    {"start_date": "2027-04-05", "end_date": "2027-04-16", "kind": "holiday", "summary": "Easter holiday"},
                ]}),
            )
            .await;
        assert_eq!(loaded.status, 201, "{}", loaded.text);
        let mut people = Vec::new();
        for name in ["Ann Jones", "Bob Smith", "Cara Walker"] {
            let person = app
                .create_participant(json!({"name": name, "school_id": school["id"]}))
                .await;
            people.push(json!({"id": person["id"], "name": name}));
        }
        let dir = shots.join(format!("{backend:?}").to_lowercase());
        std::fs::create_dir_all(&dir).unwrap();

        for width in WIDTHS {
            let title = format!("Spring conference at {width} px: oracy across the network");
            // The organiser works on the morning of the event's day, a month on: both sessions
            // (09:30 and 13:30) are still to come, so seats can be booked; when the script pauses
            // before the register, the clock moves on to just after the afternoon session starts.
            let day = (app.clock.now() + TimeDelta::days(30))
                .with_timezone(&London)
                .date_naive();
            app.clock.advance(london(day, 8, 0) - app.clock.now());
            let plan = json!({
                "title": title,
                "day1": day.to_string(),
                "day2": day.to_string(),
                "first": people[0],
                "second": people[1],
                "walk_in": people[2],
            });
            let link = console_link(&app, &lead).await;
            let (axe, into, clock) = (axe.clone(), dir.clone(), app.clock.clone());
            let seen = tokio::task::spawn_blocking(move || {
                browser::run_with(
                    "console_browser.py",
                    &link,
                    &into,
                    &[&width.to_string(), axe.to_str().unwrap(), &plan.to_string()],
                    JavaScript::On,
                    |pause| {
                        assert_eq!(pause["pause"], "sessions-booked", "{pause}");
                        clock.advance(london(day, 13, 35) - clock.now());
                    },
                )
            })
            .await
            .unwrap();
            let at = format!("{backend:?} at {width} px");
            let pages = seen["pages"]
                .as_array()
                .unwrap_or_else(|| panic!("{at}: no pages: {seen}"));
            let outcome = &seen["outcome"];

            let headings: Vec<String> = pages
                .iter()
                .filter(|p| p["h1_count"] != 1)
                .map(|p| format!("{} has {} h1", p["slug"], p["h1_count"]))
                .collect();
            assert!(headings.is_empty(), "{at}: every page has one h1: {headings:?}");
            let wide: Vec<String> = pages
                .iter()
                .filter(|p| p["scroll_width"].as_u64().is_none_or(|w| w > u64::from(width) + 1))
                .map(|p| format!("{} is {} px wide", p["slug"], p["scroll_width"]))
                .collect();
            assert!(wide.is_empty(), "{at}: no page scrolls sideways: {wide:?}");
            let violations = violations_of(pages);
            assert!(
                violations.is_empty(),
                "{at}: serious or critical accessibility violations (axe-core):\n{}",
                violations.join("\n")
            );
            for page in pages {
                let shot = dir.join(page["screenshot"].as_str().unwrap());
                assert!(
                    std::fs::metadata(&shot).is_ok_and(|m| m.len() > 1000),
                    "{at}: {} is a real image",
                    shot.display()
                );
            }

            assert_eq!(outcome["landed"], "/o", "{at}: {outcome}");
            assert!(
                outcome["empty_form_errors"]
                    .as_str()
                    .is_some_and(|t| !t.trim().is_empty()),
                "{at}: the empty form is answered with an error summary: {outcome}"
            );
            let links = outcome["empty_form_error_links"].as_array().unwrap();
            assert!(
                !links.is_empty() && links.iter().all(|l| l["field_exists"] == true),
                "{at}: each error in the summary links to its field on the page: {links:?}"
            );
            assert_eq!(outcome["status_after_publish"], "Published", "{at}: {outcome}");

            let (first, second, walk_in) = (&people[0]["name"], &people[1]["name"], &people[2]["name"]);
            let (first, second) = (first.as_str().unwrap(), second.as_str().unwrap());
            let bookings = rows(outcome, "bookings");
            let waitlist = rows(outcome, "waitlist");
            assert!(
                bookings.iter().any(|r| r.contains(first)) && !bookings.iter().any(|r| r.contains(second)),
                "{at}: {first} has the one seat: {bookings:?}"
            );
            assert!(
                waitlist.iter().any(|r| r.contains(second)),
                "{at}: {second} waits for it: {waitlist:?}"
            );
            assert_eq!(outcome["first_mark"], "Attended", "{at}: {outcome}");
            assert_eq!(outcome["walk_in_mark"], "Attended", "{at}: {walk_in}: {outcome}");
            // Only the person still waiting holds a booking to cancel: the others were marked at
            // the door, and a register is kept.
            let count = outcome["cancel_count_text"].as_str().unwrap_or_default();
            assert_eq!(
                numbers_in(count),
                [1],
                "{at}: cancelling says how many people will be told: {count:?}"
            );
            assert!(count.contains("1 person"), "{at}: {count:?}");
            assert_eq!(outcome["status_after_cancel"], "Cancelled", "{at}: {outcome}");
            let audit = rows(outcome, "audit_rows").join("\n");
            for action in [
                "event.published",
                "booking.created",
                "booking.waitlisted",
                "attendance.marked",
                "event.cancelled",
            ] {
                assert!(audit.contains(action), "{at}: {action} is in the audit log:\n{audit}");
            }

            let term_dates = rows(outcome, "term_dates_rows");
            assert!(
                term_dates.len() == 2 && term_dates[0].contains("Spring half term"),
                "{at}: Camden's term dates are listed on its page: {term_dates:?}"
            );
            let remove = outcome["remove_count_text"].as_str().unwrap_or_default();
            assert!(
                remove.contains("This removes 2 closures, from 2027-02-15 to 2027-04-16"),
                "{at}: removing all says what it removes first: {remove:?}"
            );

            // The event made in the browser is the API's too, cancelled.
            let path = outcome["event_path"].as_str().unwrap_or_default();
            let id: i64 = path
                .strip_prefix("/o/events/")
                .and_then(|id| id.parse().ok())
                .unwrap_or_else(|| panic!("{at}: the new event's page is /o/events/{{id}}, not {path:?}"));
            let event = app.get(&format!("/v1/events/{id}")).await;
            assert_eq!(event.status, 200, "{at}: {}", event.text);
            let event = event.json();
            assert_eq!(event["title"], title, "{at}: {event}");
            assert_eq!(event["status"], "cancelled", "{at}: {event}");
        }
    }
}
