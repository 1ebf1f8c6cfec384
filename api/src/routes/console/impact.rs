//! `/o/programmes/{id}/impact`: what a programme did, for a coordinator to hand to a board —
//! attendance at each event (a chart and a table), its surveys' results (a table, and a chart of
//! the intended actions followed up), its participants' reflections (what changed and how they
//! know, with their school, never their name, as the API's reflections give organisers an id
//! only) and the engagement of its schools over the past year. The page prints on A4 without
//! the console's navigation and forms; `…/impact.csv` gives the attendance table, one event a line.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::surveys::{DONE_HUES, DONE_WORDS, drawn, legend};
use super::{CONSOLE, download, render, shown};
use crate::charts::{self, hue};
use crate::domain::insight::{self, InsightFilter};
use crate::domain::page::PageRequest;
use crate::domain::reflection::{self, ReflectionFilter};
use crate::domain::report::{self, Impact};
use crate::domain::survey::DONE;
use crate::domain::{DomainError, DomainResult};
use crate::spreadsheet::csv_line;
use crate::state::AppState;

/// The parts of an event's bar: attended, marked absent, not marked yet (together: booked).
const ATTENDANCE: [&str; 3] = ["Attended", "No-show", "Not marked yet"];
/// Their colours.
const ATTENDANCE_HUES: [usize; 3] = [hue::BLUE, hue::ORANGE, hue::PURPLE];
/// The most reflections listed (the oldest first).
const REFLECTIONS_MAX: i64 = 500;

/// Registers the pages.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/o/programmes/{id}/impact").route(web::get().to(show)))
        .service(web::resource("/o/programmes/{id}/impact.csv").route(web::get().to(csv)));
}

/// The programme's impact, or `None` when there is no such programme.
async fn impact_of(state: &AppState, id: i64) -> DomainResult<Option<Impact>> {
    match report::programme_impact(&state.db, id).await {
        Ok(impact) => Ok(Some(impact)),
        Err(DomainError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The programme's reflections, oldest first, each with its writer's school (never a name).
async fn reflections(state: &AppState, id: i64) -> DomainResult<Vec<minijinja::Value>> {
    let filter = ReflectionFilter {
        programme_id: Some(id),
        ..ReflectionFilter::default()
    };
    let rows = reflection::list(&state.db, &filter, PageRequest::parse(Some(REFLECTIONS_MAX), None)?)
        .await?
        .items;
    let schools = reflection::writers_schools(&state.db, &rows).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let school = r.participant_id.and_then(|p| schools.get(&p).cloned());
            let date = r.created_at.get(..10).unwrap_or_default().to_owned();
            minijinja::context! {
                event_title => r.event_title,
                date,
                school,
                what_tried => r.what_tried,
                what_changed => r.what_changed,
                evidence => r.evidence,
            }
        })
        .collect())
}

/// `/o/programmes/{id}/impact`.
async fn show(state: web::Data<AppState>, req: HttpRequest, id: web::Path<String>) -> HttpResponse {
    shown(&state, &req, &id, "programme", async |visitor, id| {
        let Some(impact) = impact_of(&state, id).await? else {
            return Ok(CONSOLE.not_found("programme"));
        };
        let attendance: Vec<(String, Vec<u64>)> = impact
            .events
            .iter()
            .map(|e| {
                (
                    e.title.clone().unwrap_or_default(),
                    vec![e.attended, e.no_show, e.unmarked],
                )
            })
            .collect();
        let attendance_chart = drawn(charts::stacked_bars_of(
            "attendance-chart",
            &format!(
                "Seats booked at each event of {}: attended, no-show and not marked yet",
                impact.name
            ),
            &attendance,
            "seats booked",
            &ATTENDANCE_HUES,
        ))?;
        let follow_ups: Vec<(String, Vec<u64>)> = impact
            .surveys
            .iter()
            .map(|s| {
                let mut parts: Vec<u64> = DONE.iter().map(|k| s.done.get(*k).copied().unwrap_or(0)).collect();
                parts.push(s.intended_actions.saturating_sub(s.followed_up));
                (s.title.clone(), parts)
            })
            .collect();
        let follow_up_chart = drawn(charts::stacked_bars_of(
            "actions-chart",
            "Intended actions in each survey: done, partly, not yet, and not followed up yet",
            &follow_ups,
            "intended actions",
            &DONE_HUES,
        ))?;
        let mut done_words = DONE_WORDS.to_vec();
        done_words.push("Not followed up yet");
        let reflections = reflections(&state, id).await?;
        let filter = InsightFilter {
            programme_id: Some(id),
            ..InsightFilter::default()
        };
        let engagement = insight::engagement(&state.db, &filter, visitor.now).await?;
        let schools: Vec<&insight::Engagement> = engagement.items.iter().filter(|r| r.state != "none").collect();
        Ok(render(
            &visitor,
            StatusCode::OK,
            "console/programme_impact.html",
            minijinja::context! {
                impact,
                attendance_chart,
                attendance_legend => legend(&ATTENDANCE, &ATTENDANCE_HUES),
                follow_ups,
                follow_up_chart,
                follow_up_legend => legend(&done_words, &DONE_HUES),
                reflections,
                engagement,
                schools,
            },
        ))
    })
    .await
}

/// `/o/programmes/{id}/impact.csv`: the attendance table, one published event a line —
/// `event_id, title, booked, attended, no_show, unmarked, waitlisted, reflections` (`booked`
/// counts the seats held: attended, no-show and not marked yet) — for a spreadsheet.
async fn csv(state: web::Data<AppState>, req: HttpRequest, id: web::Path<String>) -> HttpResponse {
    shown(&state, &req, &id, "programme", async |_, id| {
        let made = async {
            let impact = report::programme_impact(&state.db, id).await?;
            let mut body = csv_line([
                "event_id",
                "title",
                "booked",
                "attended",
                "no_show",
                "unmarked",
                "waitlisted",
                "reflections",
            ]);
            for e in &impact.events {
                let event_id = e.event_id.map(|id| id.to_string()).unwrap_or_default();
                let reflections = impact.reflections_by_event.get(&event_id).copied().unwrap_or(0);
                body.push_str(&csv_line([
                    event_id.clone(),
                    e.title.clone().unwrap_or_default(),
                    e.booked.to_string(),
                    e.attended.to_string(),
                    e.no_show.to_string(),
                    e.unmarked.to_string(),
                    e.waitlisted.to_string(),
                    reflections.to_string(),
                ]));
            }
            DomainResult::Ok(crate::spreadsheet::csv_download(
                &format!("programme-{id}-impact.csv"),
                body,
            ))
        };
        download(made.await, "programme")
    })
    .await
}
