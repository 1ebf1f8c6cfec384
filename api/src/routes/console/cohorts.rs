//! `/o/cohorts`: triad cohorts. A cohort's page shows its triads as cards — each school with its
//! authority and phase, its priorities marked covered (by which partner) or uncovered, the score
//! against the upper bound — with forms to propose again (with a seed), pin a triad, move a school
//! to another triad (checked against every hard rule before it is saved: a refusal is the API's
//! `triads_invalid`, shown on the page) and accept. Its visits page is a calendar (weeks as rows,
//! closures greyed), each facilitator's visits by week against their limit, forms to schedule,
//! cancel and re-plan, and the visits as CSV and `.ics`.

use std::collections::{BTreeMap, HashMap};

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{Datelike, Days, NaiveDate};
use serde::Serialize;

use super::{
    CONSOLE, Problems, download, listed, next_page, number, posted, query, render, shown, signed_in_page, values,
};
use crate::domain::cohort::{self, CohortFilter, Move, SolveRequest, TriadEdit, Triads, TriadsInput, VisitCalendar};
use crate::domain::school::School;
use crate::domain::{DomainError, DomainResult, FieldError};
use crate::routes::web_session::{Form, Visitor, see_other};
use crate::spreadsheet::csv_line;
use crate::state::AppState;

/// The weekdays, as the cohort stores them and as a calendar heads its columns.
const WEEKDAYS: [(&str, &str); 7] = [
    ("mon", "Monday"),
    ("tue", "Tuesday"),
    ("wed", "Wednesday"),
    ("thu", "Thursday"),
    ("fri", "Friday"),
    ("sat", "Saturday"),
    ("sun", "Sunday"),
];

/// Registers the pages.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/o/cohorts").route(web::get().to(list)))
        .service(web::resource("/o/cohorts/{id}").route(web::get().to(show)))
        .service(web::resource("/o/cohorts/{id}/propose").route(web::post().to(propose)))
        .service(web::resource("/o/cohorts/{id}/move").route(web::post().to(move_school)))
        .service(web::resource("/o/cohorts/{id}/pin").route(web::post().to(pin)))
        .service(web::resource("/o/cohorts/{id}/accept").route(web::post().to(accept)))
        .service(web::resource("/o/cohorts/{id}/visits").route(web::get().to(visits)))
        .service(web::resource("/o/cohorts/{id}/visits.csv").route(web::get().to(visits_csv)))
        .service(web::resource("/o/cohorts/{id}/visits.ics").route(web::get().to(visits_ics)))
        .service(web::resource("/o/cohorts/{id}/visits/schedule").route(web::post().to(schedule)))
        .service(web::resource("/o/cohorts/{id}/visits/cancel").route(web::post().to(cancel)))
        .service(web::resource("/o/cohorts/{id}/visits/replan").route(web::post().to(replan)));
}

/// `/o/cohorts`: every cohort, newest last.
async fn list(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let q = query(&req);
    signed_in_page(&state, &req, async |visitor| {
        let (rows, problems) = listed(100, q.text("cursor").as_deref(), async |page| {
            cohort::list(&state.db, &CohortFilter::default(), page).await
        })
        .await?;
        let next = rows.next_cursor.as_deref().map(|c| next_page("/o/cohorts", &q, &[], c));
        DomainResult::Ok(render(
            &visitor,
            problems.status(),
            "console/cohorts.html",
            minijinja::context! { rows => rows.items, next, problems },
        ))
    })
    .await
}

/// A priority of a school on its triad's card.
#[derive(Debug, Serialize)]
struct Priority {
    topic: String,
    /// The partners strong in it, by name (none: uncovered).
    covered_by: Vec<String>,
}

/// A school on its triad's card.
#[derive(Debug, Serialize)]
struct Member {
    id: i64,
    name: String,
    local_authority: String,
    phase: String,
    strengths: Vec<String>,
    priorities: Vec<Priority>,
}

/// A triad's card.
#[derive(Debug, Serialize)]
struct Card {
    id: i64,
    number: i32,
    status: String,
    pinned: bool,
    score: i64,
    uncovered: usize,
    members: Vec<Member>,
}

/// The triads as cards: each member's priorities with who covers them.
fn cards(triads: &Triads, schools: &HashMap<i64, School>) -> Vec<Card> {
    let name_of = |id: i64| {
        schools
            .get(&id)
            .map_or_else(|| format!("school {id}"), |s| s.name.clone())
    };
    triads
        .triads
        .iter()
        .map(|t| {
            let members = t
                .school_ids
                .iter()
                .map(|&id| {
                    let school = schools.get(&id);
                    let priorities = school
                        .map(|s| s.priorities.clone())
                        .unwrap_or_default()
                        .into_iter()
                        .map(|topic| {
                            let covered_by = t
                                .explanation
                                .covered
                                .iter()
                                .filter(|c| c.school_id == id && c.priority == topic)
                                .flat_map(|c| c.by.iter().map(|&b| name_of(b)))
                                .collect();
                            Priority { topic, covered_by }
                        })
                        .collect();
                    Member {
                        id,
                        name: name_of(id),
                        local_authority: school.map(|s| s.local_authority.clone()).unwrap_or_default(),
                        phase: school.map(|s| s.phase.clone()).unwrap_or_default(),
                        strengths: school.map(|s| s.strengths.clone()).unwrap_or_default(),
                        priorities,
                    }
                })
                .collect();
            Card {
                id: t.id,
                number: t.position + 1,
                status: t.status.clone(),
                pinned: t.pinned,
                score: t.score,
                uncovered: t.explanation.uncovered.len(),
                members,
            }
        })
        .collect()
}

/// A cohort's page: its triads as cards and the forms that change them, with `refused`'s
/// problems (and the form's `sent` values) when a change was refused.
async fn cohort_page(
    state: &AppState,
    visitor: &Visitor,
    id: i64,
    done: Option<String>,
    refused: Problems,
    sent: BTreeMap<String, String>,
) -> DomainResult<HttpResponse> {
    let found = match cohort::get(&state.db, id).await {
        Ok(c) => c,
        Err(DomainError::NotFound { .. }) => return Ok(CONSOLE.not_found("cohort")),
        Err(e) => return Err(e),
    };
    let triads = cohort::triads(&state.db, id).await?;
    let schools: HashMap<i64, School> = cohort::members(&state.db, id)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    let cards = cards(&triads, &schools);
    let uncovered: usize = cards.iter().map(|c| c.uncovered).sum();
    let school_options: Vec<(i64, String)> = cards
        .iter()
        .flat_map(|card| {
            card.members.iter().map(|m| {
                (
                    m.id,
                    format!("{} (triad {}, {})", m.name, card.number, m.local_authority),
                )
            })
        })
        .collect();
    let triad_options: Vec<(String, String)> = cards
        .iter()
        .map(|card| {
            let names: Vec<&str> = card.members.iter().map(|m| m.name.as_str()).collect();
            (
                format!("t{}", card.id),
                format!("Triad {}: {}", card.number, names.join(", ")),
            )
        })
        .collect();
    let swap_options: Vec<(String, String)> = cards
        .iter()
        .flat_map(|card| {
            card.members
                .iter()
                .map(|m| (format!("s{}", m.id), format!("{} (triad {})", m.name, card.number)))
        })
        .collect();
    Ok(render(
        visitor,
        refused.status(),
        "console/cohort.html",
        minijinja::context! {
            cohort => found,
            triads,
            cards,
            uncovered,
            school_options,
            triad_options,
            swap_options,
            done,
            problems => refused,
            values => sent,
        },
    ))
}

/// `/o/cohorts/{id}`.
async fn show(state: web::Data<AppState>, req: HttpRequest, id: web::Path<String>) -> HttpResponse {
    let done = query(&req).text("done");
    shown(&state, &req, &id, "cohort", async |visitor, id| {
        cohort_page(&state, &visitor, id, done, Problems::default(), BTreeMap::new()).await
    })
    .await
}

/// A refusal shown on the form's own field: the solver names the rule's field of the API's body
/// (`school_ids`, `triads`), which the page does not have.
fn at_field(err: DomainError, field: &'static str) -> DomainError {
    match err {
        DomainError::Unprocessable { code, detail, .. } => DomainError::Unprocessable {
            code,
            detail,
            field: Some(field),
        },
        DomainError::Conflict { code, detail, .. } => DomainError::Conflict {
            code,
            detail,
            field: Some(field),
        },
        other => other,
    }
}

/// The solver's seed from the form (empty: the default).
fn seed_of(form: &Form) -> Result<SolveRequest, DomainError> {
    let seed = number(form, "seed", "the seed")?;
    let seed = seed
        .map(|s| {
            u64::try_from(s)
                .map_err(|_| DomainError::Invalid(vec![FieldError::new("seed", "enter the seed as 0 or more, like 7")]))
        })
        .transpose()?;
    Ok(SolveRequest {
        seed,
        ..SolveRequest::default()
    })
}

/// The cohort's pages a form is posted from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Page {
    /// `/o/cohorts/{id}`: its triads.
    Triads,
    /// `/o/cohorts/{id}/visits`: its visits.
    Visits,
}

/// A form posted from one of the cohort's `page`s: `act` makes the change and names what was
/// done; back to the page saying so (waking the worker for the visits' messages), or the page
/// again with the refusal's problems and the form's `fields` as they were sent.
async fn changed<F>(
    state: &AppState,
    req: &HttpRequest,
    path: &str,
    body: &[u8],
    page: Page,
    fields: &[&str],
    act: F,
) -> HttpResponse
where
    F: AsyncFnOnce(&AppState, &Visitor, &Form, i64) -> DomainResult<&'static str>,
{
    posted(state, req, body, path, "cohort", async |state, visitor, form, id| {
        let made = act(state, &visitor, &form, id).await;
        match (made, page) {
            (Ok(done), Page::Triads) => Ok(see_other(&format!("/o/cohorts/{id}?done={done}"))),
            (Ok(done), Page::Visits) => {
                state.wake.notify_one();
                Ok(see_other(&format!("/o/cohorts/{id}/visits?done={done}")))
            }
            (Err(err), Page::Triads) => {
                cohort_page(state, &visitor, id, None, Problems::of(err)?, values(&form, fields)).await
            }
            (Err(err), Page::Visits) => {
                visits_page(state, &visitor, id, None, Problems::of(err)?, values(&form, fields)).await
            }
        }
    })
    .await
}

/// `POST /o/cohorts/{id}/propose`: the solver proposes triads again, with the form's seed.
async fn propose(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    changed(
        &state,
        &req,
        &path,
        &body,
        Page::Triads,
        &["seed"],
        async |state, visitor, form, id| {
            let request = seed_of(form)?;
            cohort::propose(&state.db, id, &request, &visitor.change())
                .await
                .map_err(|e| at_field(e, "seed"))?;
            Ok("proposed")
        },
    )
    .await
}

/// Where the move form sends a school: `t{id}` into a triad, `s{id}` in exchange for a school.
fn destination(value: &str) -> Result<Move, DomainError> {
    let id = |text: &str| text.parse::<i64>().ok().filter(|id| *id > 0);
    match (value.get(..1), value.get(1..).and_then(id)) {
        (Some("t"), Some(triad)) => Ok(Move::Into(triad)),
        (Some("s"), Some(school)) => Ok(Move::SwapWith(school)),
        _ => Err(DomainError::Invalid(vec![FieldError::new(
            "to",
            "Choose where it goes: a triad, or a school to swap it with",
        )])),
    }
}

/// `POST /o/cohorts/{id}/move`: moves a school to another triad, saved as the cohort's proposal
/// when the result keeps every hard rule.
async fn move_school(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    changed(
        &state,
        &req,
        &path,
        &body,
        Page::Triads,
        &["school_id", "to"],
        async |state, visitor, form, id| {
            let school = number(form, "school_id", "the school")?
                .ok_or_else(|| DomainError::Invalid(vec![FieldError::new("school_id", "choose the school to move")]))?;
            let to = destination(form.get("to").unwrap_or_default())?;
            cohort::move_school(&state.db, id, school, to, &visitor.change())
                .await
                .map_err(|e| at_field(e, "to"))?;
            Ok("moved")
        },
    )
    .await
}

/// `POST /o/cohorts/{id}/pin`: pins a triad (`pinned=true`) or unpins it.
async fn pin(state: web::Data<AppState>, req: HttpRequest, path: web::Path<String>, body: web::Bytes) -> HttpResponse {
    changed(
        &state,
        &req,
        &path,
        &body,
        Page::Triads,
        &[],
        async |state, visitor, form, id| {
            let pinned = form.get("pinned") == Some("true");
            let triad = number(form, "triad_id", "the triad")?
                .ok_or_else(|| DomainError::Invalid(vec![FieldError::new("triad_id", "choose a triad")]))?;
            cohort::pin(&state.db, id, triad, pinned, &visitor.change()).await?;
            Ok(if pinned { "pinned" } else { "unpinned" })
        },
    )
    .await
}

/// `POST /o/cohorts/{id}/accept`: accepts the triads as they are on the page.
async fn accept(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    changed(
        &state,
        &req,
        &path,
        &body,
        Page::Triads,
        &[],
        async |state, visitor, _form, id| {
            let current = cohort::triads(&state.db, id).await?;
            let input = TriadsInput {
                triads: current
                    .triads
                    .iter()
                    .map(|t| TriadEdit {
                        school_ids: t.school_ids.clone(),
                        pinned: t.pinned,
                    })
                    .collect(),
            };
            if input.triads.is_empty() {
                return Err(DomainError::Invalid(vec![FieldError::new(
                    "seed",
                    "propose triads before accepting them",
                )]));
            }
            cohort::accept(&state.db, id, input, &visitor.change())
                .await
                .map_err(|e| at_field(e, "seed"))?;
            Ok("accepted")
        },
    )
    .await
}

/// A day of the visits calendar.
#[derive(Debug, Serialize)]
struct Day {
    date: NaiveDate,
    /// `3 Feb`.
    label: String,
    in_window: bool,
    closed: Option<cohort::ClosedDay>,
    visits: Vec<cohort::CalendarVisit>,
}

/// A week of the visits calendar.
#[derive(Debug, Serialize)]
struct Week {
    monday: NaiveDate,
    days: Vec<Day>,
}

/// The calendar's columns (the cohort's weekdays and any day a visit falls on) and its weeks,
/// from the window's first week to its last.
fn weeks(calendar: &VisitCalendar) -> (Vec<&'static str>, Vec<Week>) {
    let shown: Vec<usize> = WEEKDAYS
        .iter()
        .enumerate()
        .filter(|(i, (key, _))| {
            calendar.weekdays.iter().any(|w| w == key)
                || calendar
                    .visits
                    .iter()
                    .any(|v| v.date.weekday().num_days_from_monday() as usize == *i)
        })
        .map(|(i, _)| i)
        .collect();
    let mut by_day: BTreeMap<NaiveDate, Vec<cohort::CalendarVisit>> = BTreeMap::new();
    for v in &calendar.visits {
        by_day.entry(v.date).or_default().push(v.clone());
    }
    let mut weeks = Vec::new();
    let mut monday = cohort::monday_of(calendar.window_start);
    let last = calendar
        .visits
        .iter()
        .map(|v| v.date)
        .max()
        .map_or(calendar.window_end, |d| d.max(calendar.window_end));
    while monday <= last {
        let days = shown
            .iter()
            .map(|&i| {
                let date = monday + Days::new(i as u64);
                Day {
                    date,
                    label: date.format("%-d %b").to_string(),
                    in_window: date >= calendar.window_start && date <= calendar.window_end,
                    closed: calendar.closed.get(&date).cloned(),
                    visits: by_day.remove(&date).unwrap_or_default(),
                }
            })
            .collect();
        weeks.push(Week { monday, days });
        monday = monday + Days::new(7);
    }
    (shown.iter().map(|&i| WEEKDAYS[i].1).collect(), weeks)
}

/// A cohort's visits page, with `refused`'s problems when a change was refused.
async fn visits_page(
    state: &AppState,
    visitor: &Visitor,
    id: i64,
    done: Option<String>,
    refused: Problems,
    sent: BTreeMap<String, String>,
) -> DomainResult<HttpResponse> {
    let found = match cohort::get(&state.db, id).await {
        Ok(c) => c,
        Err(DomainError::NotFound { .. }) => return Ok(CONSOLE.not_found("cohort")),
        Err(e) => return Err(e),
    };
    let calendar = cohort::visit_calendar(&state.db, id).await?;
    let (columns, weeks) = weeks(&calendar);
    // The weeks any facilitator has a visit in, for the load table's columns.
    let mut busy: Vec<NaiveDate> = calendar
        .facilitators
        .iter()
        .flat_map(|f| f.by_week.keys().copied())
        .collect();
    busy.sort_unstable();
    busy.dedup();
    let scheduled = calendar.visits.iter().filter(|v| v.status == "scheduled").count();
    Ok(render(
        visitor,
        refused.status(),
        "console/cohort_visits.html",
        minijinja::context! {
            cohort => found,
            calendar,
            columns,
            weeks,
            busy,
            scheduled,
            done,
            problems => refused,
            values => sent,
        },
    ))
}

/// `/o/cohorts/{id}/visits`.
async fn visits(state: web::Data<AppState>, req: HttpRequest, id: web::Path<String>) -> HttpResponse {
    let done = query(&req).text("done");
    shown(&state, &req, &id, "cohort", async |visitor, id| {
        visits_page(&state, &visitor, id, done, Problems::default(), BTreeMap::new()).await
    })
    .await
}

/// `POST /o/cohorts/{id}/visits/schedule`: dates the visits, books their people and invites them.
async fn schedule(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    changed(
        &state,
        &req,
        &path,
        &body,
        Page::Visits,
        &["seed"],
        async |state, visitor, form, id| {
            let request = seed_of(form)?;
            cohort::schedule(&state.db, id, &request, &visitor.change())
                .await
                .map_err(|e| at_field(e, "seed"))?;
            Ok("scheduled")
        },
    )
    .await
}

/// `POST /o/cohorts/{id}/visits/replan`: plans the visits again with the form's seed; only when
/// a new plan is found are the current visits cancelled (everyone is told) and replaced.
async fn replan(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    changed(
        &state,
        &req,
        &path,
        &body,
        Page::Visits,
        &["seed"],
        async |state, visitor, form, id| {
            let request = seed_of(form)?;
            cohort::replan(&state.db, id, &request, &visitor.change())
                .await
                .map_err(|e| at_field(e, "seed"))?;
            Ok("replanned")
        },
    )
    .await
}

/// `POST /o/cohorts/{id}/visits/cancel`: cancels every visit (everyone booked is told).
async fn cancel(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    changed(
        &state,
        &req,
        &path,
        &body,
        Page::Visits,
        &["seed"],
        async |state, visitor, _form, id| {
            cohort::cancel_visits(&state.db, id, &visitor.change()).await?;
            Ok("cancelled")
        },
    )
    .await
}

/// `/o/cohorts/{id}/visits.csv`: the visits, one a line.
async fn visits_csv(state: web::Data<AppState>, req: HttpRequest, id: web::Path<String>) -> HttpResponse {
    shown(&state, &req, &id, "cohort", async |_, id| {
        let made = async {
            let calendar = cohort::visit_calendar(&state.db, id).await?;
            let mut body = csv_line([
                "date",
                "weekday",
                "host_school_id",
                "host",
                "triad",
                "schools",
                "facilitator",
                "status",
                "event_id",
            ]);
            for v in &calendar.visits {
                body.push_str(&csv_line([
                    v.date.to_string(),
                    v.date.format("%A").to_string(),
                    v.host_school_id.to_string(),
                    v.host.clone(),
                    v.triad.to_string(),
                    v.members.join("; "),
                    v.facilitator.clone().unwrap_or_default(),
                    v.status.clone(),
                    v.event_id.map(|e| e.to_string()).unwrap_or_default(),
                ]));
            }
            Ok(crate::spreadsheet::csv_download(
                &format!("cohort-{id}-visits.csv"),
                body,
            ))
        };
        download(made.await, "cohort")
    })
    .await
}

/// `/o/cohorts/{id}/visits.ics`: the scheduled visits as a calendar file, for the facilitators.
async fn visits_ics(state: web::Data<AppState>, req: HttpRequest, id: web::Path<String>) -> HttpResponse {
    shown(
        &state,
        &req,
        &id,
        "cohort",
        async |_, id| match crate::domain::feed::cohort_visits_feed(&state.db, &state.site, id).await? {
            Some(feed) => Ok(HttpResponse::Ok()
                .content_type("text/calendar; charset=utf-8")
                .insert_header((
                    "Content-Disposition",
                    format!("attachment; filename=\"cohort-{id}-visits.ics\""),
                ))
                .insert_header(("Cache-Control", "no-store"))
                .body(feed.calendar.render())),
            None => Ok(CONSOLE.not_found("cohort")),
        },
    )
    .await
}
