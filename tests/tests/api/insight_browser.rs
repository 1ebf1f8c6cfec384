//! The organiser's insight pages in a real browser: headless Chromium with JavaScript on, at a
//! phone's width and a desktop's, over the demo network: engagement, a survey's report and a
//! programme's impact. `tools/pages_browser.py` opens each page after signing in, runs axe-core
//! on it (WCAG 2.1 A and AA and the best practices) and reads its charts as a screen reader is
//! given them: the svg's role, its title and its text.

use convene_tests::browser::{self, console_pages};
use convene_tests::{backends, json, spawn_app};
use serde_json::Value;

/// The demo network's local authorities (`SCHOOLS` in `api/src/demo.rs`).
const AUTHORITIES: [&str; 6] = ["Camden", "Hackney", "Islington", "Lambeth", "Newham", "Southwark"];

/// The pages checked, in order: the whole network's engagement, then one authority's.
const PATHS: [&str; 2] = ["/o/engagement", "/o/engagement?local_authority=Camden"];

/// The inline svgs the script read on `page`.
fn svgs(page: &Value) -> &[Value] {
    page["svgs"].as_array().map(Vec::as_slice).unwrap_or_default()
}

/// The texts of the chart `id` on `page` (failing the test if the page has no such svg).
fn chart_texts<'a>(page: &'a Value, id: &str, at: &str) -> Vec<&'a str> {
    let chart = svgs(page)
        .iter()
        .find(|svg| svg["id"] == id)
        .unwrap_or_else(|| panic!("{at}: {} has no <svg id=\"{id}\": {:?}", page["path"], svgs(page)));
    chart["texts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

/// Every chart on `pages` is one image with a name a screen reader is given (its `<title>`), not
/// loose shapes.
fn charts_named(pages: &[Value], at: &str) {
    for page in pages {
        let unnamed: Vec<&Value> = svgs(page)
            .iter()
            .filter(|svg| {
                svg["role_img"] != true
                    || svg["title"].as_str().is_none_or(str::is_empty)
                    || svg["accessible_name"].as_str().is_none_or(|n| n.trim().is_empty())
            })
            .collect();
        assert!(
            unnamed.is_empty(),
            "{at}: every chart on {} is an image with a name: {unnamed:?}",
            page["path"]
        );
    }
}

#[tokio::test]
async fn a_surveys_report_and_a_programmes_impact_are_used_in_headless_chromium_at_phone_and_desktop_width_with_named_charts()
 {
    // Beside the engagement pages' screenshots (each test empties only its own folder).
    let shots = browser::artifacts("insight/reports");
    for backend in backends() {
        let app = spawn_app(backend).await;
        app.load_demo().await;
        let lead = app
            .create_participant(json!({"name": "Priya Shah", "email": "priya@network.example", "role": "organiser"}))
            .await;
        // The demo's survey of last term's conference, and the conferences' programme.
        let surveys = app.get("/v1/surveys").await.json();
        let survey = surveys["items"][0]["id"].as_i64().expect("the demo has a survey");
        let programmes = app.get("/v1/programmes?limit=100").await.json();
        let programme = programmes["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["kind"] == "conference_series")
            .expect("the demo has a conference series")["id"]
            .as_i64()
            .unwrap();
        let paths = vec![
            format!("/o/surveys/{survey}"),
            format!("/o/programmes/{programme}/impact"),
        ];
        let dir = shots.join(format!("{backend:?}").to_lowercase());
        std::fs::create_dir_all(&dir).unwrap();
        for (width, pages) in console_pages(&app, &lead, &paths, &dir).await {
            let at = format!("{backend:?} at {width} px");
            assert!(
                pages[1]["h1"].as_str().is_some_and(|h| h.starts_with("Impact of ")),
                "{at}: {}",
                pages[1]["h1"]
            );
            charts_named(&pages, &at);

            let over_time = chart_texts(&pages[0], "response-chart", &at);
            assert!(
                over_time.contains(&"Answered") && over_time.contains(&"Invited"),
                "{at}: the lines are named: {over_time:?}"
            );
            let questions = svgs(&pages[0])
                .iter()
                .filter(|svg| svg["id"].as_str().is_some_and(|id| id.starts_with('q')))
                .count();
            assert!(
                questions >= 1,
                "{at}: the survey's questions have charts: {:?}",
                svgs(&pages[0])
            );
            let attendance = chart_texts(&pages[1], "attendance-chart", &at);
            assert!(
                attendance.iter().any(|t| t.starts_with("Autumn conference")),
                "{at}: the attendance chart names last term's conference: {attendance:?}"
            );
            assert!(
                attendance
                    .iter()
                    .any(|t| !t.is_empty() && t.chars().all(|c| c.is_ascii_digit())),
                "{at}: the attendance chart writes its numbers: {attendance:?}"
            );
        }
    }
}

#[tokio::test]
async fn the_engagement_page_is_used_in_headless_chromium_at_phone_and_desktop_width_with_charts_that_screen_readers_can_name()
 {
    let shots = browser::artifacts("insight/engagement");
    let paths: Vec<String> = PATHS.iter().map(|p| (*p).to_owned()).collect();
    for backend in backends() {
        let app = spawn_app(backend).await;
        app.load_demo().await;
        let lead = app
            .create_participant(json!({"name": "Priya Shah", "email": "priya@network.example", "role": "organiser"}))
            .await;
        let dir = shots.join(format!("{backend:?}").to_lowercase());
        std::fs::create_dir_all(&dir).unwrap();

        for (width, pages) in console_pages(&app, &lead, &paths, &dir).await {
            let at = format!("{backend:?} at {width} px");
            for page in &pages {
                assert_eq!(page["h1"], "Engagement", "{at}: {}", page["path"]);
            }
            charts_named(&pages, &at);
            let whole = &pages[0];
            assert!(
                svgs(whole).len() >= 2,
                "{at}: the engagement page has its two charts: {:?}",
                svgs(whole)
            );

            // The bars carry their numbers and the authorities' names as text, not only as
            // lengths and colours.
            let texts = chart_texts(whole, "engagement-chart", &at);
            assert!(
                texts
                    .iter()
                    .any(|t| !t.is_empty() && t.chars().all(|c| c.is_ascii_digit())),
                "{at}: the engagement chart writes its numbers: {texts:?}"
            );
            assert!(
                texts.iter().any(|t| AUTHORITIES.iter().any(|la| t.contains(la))),
                "{at}: the engagement chart names the local authorities: {texts:?}"
            );

            let camden = chart_texts(&pages[1], "engagement-chart", &at);
            let others: Vec<&&str> = camden
                .iter()
                .filter(|t| AUTHORITIES.iter().any(|la| *la != "Camden" && t.contains(la)))
                .collect();
            assert!(
                camden.iter().any(|t| t.contains("Camden")) && others.is_empty(),
                "{at}: filtered to Camden, the chart shows Camden alone: {camden:?}"
            );
        }
    }
}
