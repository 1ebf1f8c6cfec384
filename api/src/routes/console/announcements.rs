//! `/o/announcements`: the announcements sent, with how their messages fared; a form for a new
//! one whose preview (how many each channel reaches, and who) is shown before it can be sent.

use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, web};

use super::{CONSOLE, Problems, number, query, render, shown, signed_in_page, values};
use entity::state::EventStatus;

use crate::domain::announcement::{self, AnnouncementInput, Audience, Preview};
use crate::domain::event::{self, Audience as Seen, EventFilter};
use crate::domain::page::PageRequest;
use crate::domain::{DomainError, DomainResult, programme};
use crate::routes::web_session::{Form, Visitor, see_other};
use crate::state::AppState;

/// The form's one-value fields, kept to fill it again.
const FIELDS: &[&str] = &[
    "subject",
    "body",
    "event_id",
    "all",
    "programme_id",
    "audience_event_id",
    "local_authorities",
    "exclude_event_id",
];

/// Registers the pages.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/o/announcements")
            .route(web::get().to(list))
            .route(web::post().to(send)),
    )
    .service(
        web::resource("/o/announcements/new")
            .route(web::get().to(new))
            .route(web::post().to(preview)),
    )
    .service(web::resource("/o/announcements/{id}").route(web::get().to(show)));
}

/// `/o/announcements`: those sent, newest first.
async fn list(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    signed_in_page(&state, &req, async |visitor| {
        let sent = announcement::list(&state.db, PageRequest::parse(Some(500), None)?).await?;
        let rows: Vec<_> = sent.items.into_iter().rev().collect();
        Ok(render(
            &visitor,
            actix_web::http::StatusCode::OK,
            "console/announcements.html",
            minijinja::context! { rows },
        ))
    })
    .await
}

/// The form, filled with `form` (empty for a new one), with the preview when there is one.
async fn form_page(
    state: &AppState,
    visitor: &Visitor,
    form: &Form,
    preview: Option<Preview>,
    problems: Problems,
) -> DomainResult<HttpResponse> {
    let page = || PageRequest::parse(Some(500), None);
    let events = event::list(&state.db, &EventFilter::default(), page()?, Seen::Organiser)
        .await?
        .items;
    let programmes = programme::list(&state.db, &Default::default(), page()?).await?.items;
    let chosen = |name: &str| form.all(name).into_iter().map(str::to_owned).collect::<Vec<String>>();
    Ok(render(
        visitor,
        problems.status(),
        "console/announcement_new.html",
        minijinja::context! {
            values => values(form, FIELDS),
            channels => chosen("channels"),
            phases => chosen("phases"),
            roles => chosen("roles"),
            all_phases => crate::domain::school::PHASES,
            all_roles => crate::domain::participant::ROLES,
            events => events.iter().map(|e| (e.id, e.title.clone())).collect::<Vec<_>>(),
            published => events
                .iter()
                .filter(|e| e.status == EventStatus::Published)
                .map(|e| (e.id, e.title.clone()))
                .collect::<Vec<_>>(),
            programmes => programmes.iter().map(|p| (p.id, p.name.clone())).collect::<Vec<_>>(),
            preview,
            problems,
        },
    ))
}

/// `/o/announcements/new`: an empty form, email ticked.
async fn new(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    signed_in_page(&state, &req, async |visitor| {
        let form = Form::parse(b"channels=email");
        form_page(&state, &visitor, &form, None, Problems::default()).await
    })
    .await
}

/// The announcement the form describes.
fn input_of(form: &Form) -> Result<AnnouncementInput, DomainError> {
    let list = |name: &str| {
        let picked: Vec<String> = form.all(name).into_iter().map(str::to_owned).collect();
        (!picked.is_empty()).then_some(picked)
    };
    let local_authorities = form.text("local_authorities").map(|text| {
        text.split([',', '\n'])
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_owned)
            .collect::<Vec<_>>()
    });
    Ok(AnnouncementInput {
        subject: form.text("subject"),
        body: form.text("body"),
        event_id: number(form, "event_id", "the event")?,
        audience: Some(Audience {
            all: (form.get("all") == Some("true")).then_some(true),
            programme_id: number(form, "programme_id", "the programme")?,
            event_id: number(form, "audience_event_id", "the event")?,
            school_ids: None,
            local_authorities: local_authorities.filter(|l| !l.is_empty()),
            phases: list("phases"),
            roles: list("roles"),
            exclude_booked_on_event_id: number(form, "exclude_event_id", "the event")?,
        }),
        channels: Some(form.all("channels").into_iter().map(str::to_owned).collect()),
    })
}

/// `POST /o/announcements/new`: the preview, above the form and its button to send.
async fn preview(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    CONSOLE
        .guarded(&state, &req, &body, async |state, visitor, form| {
            let previewed = match input_of(&form) {
                Ok(input) => announcement::preview(&state.db, input).await,
                Err(e) => Err(e),
            };
            match previewed {
                Ok(preview) => form_page(state, &visitor, &form, Some(preview), Problems::default()).await,
                Err(err) => form_page(state, &visitor, &form, None, Problems::of(err)?).await,
            }
        })
        .await
}

/// `POST /o/announcements`: sends it and goes to its page.
async fn send(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    CONSOLE
        .guarded(&state, &req, &body, async |state, visitor, form| {
            let sent = match input_of(&form) {
                Ok(input) => announcement::send(&state.db, &state.public_url, input, &visitor.change()).await,
                Err(e) => Err(e),
            };
            match sent {
                Ok(a) => {
                    state.wake.notify_one();
                    Ok(see_other(&format!("/o/announcements/{}?done=sent", a.id)))
                }
                Err(err) => form_page(state, &visitor, &form, None, Problems::of(err)?).await,
            }
        })
        .await
}

/// `/o/announcements/{id}`: what was sent, to whom, and how it fared.
async fn show(state: web::Data<AppState>, req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    let done = query(&req).text("done");
    shown(&state, &req, &path, "announcement", async |visitor, id| {
        let a = match announcement::get(&state.db, id).await {
            Ok(a) => a,
            Err(DomainError::NotFound { .. }) => return Ok(CONSOLE.not_found("announcement")),
            Err(e) => return Err(e),
        };
        let channels: BTreeMap<&str, _> = [
            ("Email", a.by_channel.email.clone()),
            ("Discord message", a.by_channel.discord_dm.clone()),
            ("Discord channel post", a.by_channel.discord_channel.clone()),
        ]
        .into_iter()
        .filter_map(|(name, counts)| Some((name, counts?)))
        .collect();
        Ok(render(
            &visitor,
            actix_web::http::StatusCode::OK,
            "console/announcement.html",
            minijinja::context! { a, channels, sent => done.as_deref() == Some("sent") },
        ))
    })
    .await
}
