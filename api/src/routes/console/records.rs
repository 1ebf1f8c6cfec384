//! `/o/programmes`, `/o/schools`, `/o/people`: searchable lists, a form for a new one and a form
//! to change one, over the domain's own `save` (the API's rules and audit rows). The three share
//! their pages' flow; each [`Record`] says what its fields are and how to read and write them.

use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;

use super::{
    CONSOLE, Problems, all_schools, listed, next_page, number, posted, query, render, shown, signed_in_page, values,
};
use chrono::{DateTime, Days, Utc};

use crate::domain::activity;
use crate::domain::audit::Change;
use crate::domain::insight::{self, InsightFilter, Period};
use crate::domain::page::{Page, PageRequest};
use crate::domain::participant::{self, ParticipantFilter, ParticipantInput};
use crate::domain::programme::{self, ProgrammeFilter, ProgrammeInput};
use crate::domain::school::{self, SchoolFilter, SchoolInput};
use crate::domain::{DomainError, DomainResult};
use crate::routes::web_session::{Form, Visitor, see_other};
use crate::state::AppState;

/// A kind of record the console lists and edits.
pub trait Record: 'static {
    /// Its name in the page's words, e.g. `school`.
    const WHAT: &'static str;
    /// Its list's heading, e.g. `Schools`.
    const TITLE: &'static str;
    /// Where its pages are, e.g. `/o/schools`.
    const PATH: &'static str;
    /// Its list's template.
    const LIST: &'static str;
    /// Its form's template.
    const FORM: &'static str;
    /// The form's fields.
    const FIELDS: &'static [&'static str];
    /// The list's filters.
    const FILTERS: &'static [&'static str];
    /// What the form sends, as the domain takes it (`changing`: empty fields clear).
    type Input: Clone;

    /// Reads the form.
    fn input(form: &Form, changing: bool) -> Result<Self::Input, DomainError>;
    /// Creates (no id) or changes one, with its audit row; its id.
    async fn save(state: &AppState, id: Option<i64>, input: Self::Input, change: &Change) -> DomainResult<i64>;
    /// One as the form shows it, or `None` when there is no such one.
    async fn current(state: &AppState, id: i64) -> DomainResult<Option<BTreeMap<String, String>>>;
    /// A page of them, filtered by the query.
    async fn list(state: &AppState, q: &Form, page: PageRequest) -> DomainResult<Page<minijinja::Value>>;
    /// What the form offers to choose from (schools, roles, …).
    async fn choices(state: &AppState) -> DomainResult<minijinja::Value>;
    /// What the page shows about one below its form (nothing, unless the record says).
    async fn about(_state: &AppState, _id: i64, _now: DateTime<Utc>) -> DomainResult<minijinja::Value> {
        Ok(minijinja::Value::UNDEFINED)
    }
}

/// Registers a record's pages.
pub fn configure<R: Record>(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource(R::PATH).route(web::get().to(list::<R>)))
        .service(
            web::resource(format!("{}/new", R::PATH))
                .route(web::get().to(new::<R>))
                .route(web::post().to(create::<R>)),
        )
        .service(
            web::resource(format!("{}/{{id}}", R::PATH))
                .route(web::get().to(show::<R>))
                .route(web::post().to(edit::<R>)),
        );
}

/// The list, filtered.
async fn list<R: Record>(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let q = query(&req);
    signed_in_page(&state, &req, async |visitor| {
        let (rows, problems) = listed(100, q.text("cursor").as_deref(), async |page| {
            R::list(&state, &q, page).await
        })
        .await?;
        let next = rows
            .next_cursor
            .as_deref()
            .map(|c| next_page(R::PATH, &q, R::FILTERS, c));
        DomainResult::Ok(render(
            &visitor,
            problems.status(),
            R::LIST,
            minijinja::context! {
                rows => rows.items,
                next,
                filter => values(&q, R::FILTERS),
                problems,
                done => q.text("done"),
                choices => R::choices(&state).await?,
            },
        ))
    })
    .await
}

/// The form: for a new one (`id` none) or to change one.
async fn form_page<R: Record>(
    state: &AppState,
    visitor: &Visitor,
    id: Option<i64>,
    values: BTreeMap<String, String>,
    problems: Problems,
    done: Option<String>,
) -> DomainResult<HttpResponse> {
    Ok(render(
        visitor,
        problems.status(),
        R::FORM,
        minijinja::context! {
            id,
            action => match id {
                Some(id) => format!("{}/{id}", R::PATH),
                None => format!("{}/new", R::PATH),
            },
            values,
            problems,
            done,
            what => R::WHAT,
            back => R::PATH,
            back_text => R::TITLE,
            choices => R::choices(state).await?,
            about => match id {
                Some(id) => R::about(state, id, visitor.now).await?,
                None => minijinja::Value::UNDEFINED,
            },
        },
    ))
}

/// `…/new`.
async fn new<R: Record>(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    signed_in_page(&state, &req, async |visitor| {
        form_page::<R>(&state, &visitor, None, BTreeMap::new(), Problems::default(), None).await
    })
    .await
}

/// `…/{id}`: the form to change one.
async fn show<R: Record>(state: web::Data<AppState>, req: HttpRequest, id: web::Path<String>) -> HttpResponse {
    let done = query(&req).text("done");
    shown(&state, &req, &id, R::WHAT, async |visitor, id| {
        match R::current(&state, id).await? {
            Some(values) => form_page::<R>(&state, &visitor, Some(id), values, Problems::default(), done).await,
            None => Ok(CONSOLE.not_found(R::WHAT)),
        }
    })
    .await
}

/// Saves the form (a new one when `id` is none), back to its page saying so, or the form again
/// with its problems.
async fn save<R: Record>(
    state: &AppState,
    visitor: Visitor,
    form: Form,
    id: Option<i64>,
) -> DomainResult<HttpResponse> {
    let saved = match R::input(&form, id.is_some()) {
        Ok(input) => R::save(state, id, input, &visitor.change()).await,
        Err(e) => Err(e),
    };
    match saved {
        Ok(saved) => Ok(see_other(&format!(
            "{}/{saved}?done={}",
            R::PATH,
            if id.is_some() { "saved" } else { "created" }
        ))),
        Err(err) => form_page::<R>(state, &visitor, id, values(&form, R::FIELDS), Problems::of(err)?, None).await,
    }
}

/// `POST …/new`.
async fn create<R: Record>(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    CONSOLE
        .guarded(&state, &req, &body, async |state, visitor, form| {
            save::<R>(state, visitor, form, None).await
        })
        .await
}

/// `POST …/{id}`.
async fn edit<R: Record>(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    posted(&state, &req, &body, &path, R::WHAT, async |state, visitor, form, id| {
        save::<R>(state, visitor, form, Some(id)).await
    })
    .await
}

/// A list field (`a; b, c`): its items, trimmed.
fn items(form: &Form, name: &str) -> Option<Vec<String>> {
    form.get(name).map(|text| {
        text.split([';', ','])
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect()
    })
}

/// A record's fields as the form shows them: text as it is, numbers as digits, lists joined by `; `.
pub(super) fn shown_values(record: &impl Serialize, fields: &[&str]) -> BTreeMap<String, String> {
    let json = serde_json::to_value(record).unwrap_or_default();
    fields
        .iter()
        .map(|name| {
            let text = match &json[*name] {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Array(items) => items
                    .iter()
                    .filter_map(serde_json::Value::as_str)
                    .collect::<Vec<_>>()
                    .join("; "),
                _ => String::new(),
            };
            ((*name).to_owned(), text)
        })
        .collect()
}

/// `None` for a record that is not there; other errors as they are.
fn found<T>(got: DomainResult<T>) -> DomainResult<Option<T>> {
    match got {
        Ok(value) => Ok(Some(value)),
        Err(DomainError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The network's programmes.
pub struct Programmes;

impl Record for Programmes {
    const WHAT: &'static str = "programme";
    const TITLE: &'static str = "Programmes";
    const PATH: &'static str = "/o/programmes";
    const LIST: &'static str = "console/programmes.html";
    const FORM: &'static str = "console/programme_form.html";
    const FIELDS: &'static [&'static str] = &["name", "kind", "status", "description"];
    const FILTERS: &'static [&'static str] = &["kind", "status", "q"];
    type Input = ProgrammeInput;

    fn input(form: &Form, changing: bool) -> Result<ProgrammeInput, DomainError> {
        Ok(ProgrammeInput {
            name: form.text("name"),
            kind: form.text("kind"),
            status: form.text("status"),
            description: match form.text("description") {
                Some(text) => Some(Some(text)),
                None => changing.then_some(None),
            },
        })
    }

    async fn save(state: &AppState, id: Option<i64>, input: ProgrammeInput, change: &Change) -> DomainResult<i64> {
        Ok(programme::save(&state.db, id, input, change).await?.id)
    }

    async fn current(state: &AppState, id: i64) -> DomainResult<Option<BTreeMap<String, String>>> {
        Ok(found(programme::get(&state.db, id).await)?.map(|p| shown_values(&p, Self::FIELDS)))
    }

    async fn list(state: &AppState, q: &Form, page: PageRequest) -> DomainResult<Page<minijinja::Value>> {
        let filter = ProgrammeFilter {
            kind: q.text("kind"),
            status: q.text("status"),
            q: q.text("q"),
            ..ProgrammeFilter::default()
        };
        Ok(programme::list(&state.db, &filter, page)
            .await?
            .map(|p| minijinja::Value::from_serialize(&p)))
    }

    async fn choices(_: &AppState) -> DomainResult<minijinja::Value> {
        Ok(minijinja::context! { kinds => programme::KINDS, statuses => programme::STATUSES })
    }
}

/// The network's schools.
pub struct Schools;

impl Record for Schools {
    const WHAT: &'static str = "school";
    const TITLE: &'static str = "Schools";
    const PATH: &'static str = "/o/schools";
    const LIST: &'static str = "console/schools.html";
    const FORM: &'static str = "console/school_form.html";
    const FIELDS: &'static [&'static str] = &[
        "name",
        "urn",
        "local_authority",
        "region",
        "phase",
        "strengths",
        "priorities",
        "accredited_practice",
    ];
    const FILTERS: &'static [&'static str] = &["q", "local_authority", "phase"];
    type Input = SchoolInput;

    fn input(form: &Form, _changing: bool) -> Result<SchoolInput, DomainError> {
        Ok(SchoolInput {
            name: form.text("name"),
            urn: form.text("urn"),
            local_authority: form.text("local_authority"),
            region: form.text("region"),
            phase: form.text("phase"),
            strengths: items(form, "strengths"),
            priorities: items(form, "priorities"),
            accredited_practice: items(form, "accredited_practice"),
        })
    }

    async fn save(state: &AppState, id: Option<i64>, input: SchoolInput, change: &Change) -> DomainResult<i64> {
        Ok(school::save(&state.db, id, input, change).await?.id)
    }

    async fn current(state: &AppState, id: i64) -> DomainResult<Option<BTreeMap<String, String>>> {
        Ok(found(school::get(&state.db, id).await)?.map(|s| shown_values(&s, Self::FIELDS)))
    }

    async fn list(state: &AppState, q: &Form, page: PageRequest) -> DomainResult<Page<minijinja::Value>> {
        let filter = SchoolFilter {
            q: q.text("q"),
            local_authority: q.text("local_authority"),
            phase: q.text("phase"),
            ..SchoolFilter::default()
        };
        Ok(school::list(&state.db, &filter, page)
            .await?
            .map(|s| minijinja::Value::from_serialize(&s)))
    }

    async fn choices(_: &AppState) -> DomainResult<minijinja::Value> {
        Ok(minijinja::context! { phases => school::PHASES })
    }

    /// The school's activity from a year ago to half a year ahead (what its staff booked ahead
    /// and the triads it is in), newest first, and the schools it worked with.
    async fn about(state: &AppState, id: i64, now: DateTime<Utc>) -> DomainResult<minijinja::Value> {
        let today = now.date_naive();
        let filter = InsightFilter {
            from: today.checked_sub_days(Days::new(365)).map(|d| d.to_string()),
            to: today.checked_add_days(Days::new(183)).map(|d| d.to_string()),
            ..InsightFilter::default()
        };
        let period = Period::read(&filter, now)?;
        let timeline = activity::timeline(&state.db, id, &filter, now).await?;
        let partners = insight::partners_of(&state.db, id, &filter, now).await?;
        let outside = partners.iter().filter(|p| p.outside_authority).count();
        Ok(minijinja::context! {
            from => period.from,
            to => period.to,
            timeline,
            partners,
            outside,
            most => activity::TIMELINE_MAX,
        })
    }
}

/// The network's people.
pub struct People;

impl Record for People {
    const WHAT: &'static str = "person";
    const TITLE: &'static str = "People";
    const PATH: &'static str = "/o/people";
    const LIST: &'static str = "console/people.html";
    const FORM: &'static str = "console/person_form.html";
    const FIELDS: &'static [&'static str] = &["name", "email", "school_id", "role", "time_zone"];
    const FILTERS: &'static [&'static str] = &["q", "role", "school_id"];
    type Input = ParticipantInput;

    fn input(form: &Form, changing: bool) -> Result<ParticipantInput, DomainError> {
        Ok(ParticipantInput {
            name: form.text("name"),
            email: form.text("email"),
            school_id: match number(form, "school_id", "the school")? {
                Some(id) => Some(Some(id)),
                None => changing.then_some(None),
            },
            role: form.text("role"),
            time_zone: form.text("time_zone"),
            ..ParticipantInput::default()
        })
    }

    async fn save(state: &AppState, id: Option<i64>, input: ParticipantInput, change: &Change) -> DomainResult<i64> {
        Ok(participant::save(&state.db, id, input, change).await?.id)
    }

    async fn current(state: &AppState, id: i64) -> DomainResult<Option<BTreeMap<String, String>>> {
        Ok(found(participant::get(&state.db, id).await)?.map(|p| shown_values(&p, Self::FIELDS)))
    }

    async fn list(state: &AppState, q: &Form, page: PageRequest) -> DomainResult<Page<minijinja::Value>> {
        let school_id = match q.text("school_id") {
            Some(text) => Some(text.parse().map_err(|_| {
                DomainError::Invalid(vec![crate::domain::FieldError::new(
                    "school_id",
                    "choose a school from the list",
                )])
            })?),
            None => None,
        };
        let filter = ParticipantFilter {
            q: q.text("q"),
            role: q.text("role"),
            school_id,
            ..ParticipantFilter::default()
        };
        let people = participant::list(&state.db, &filter, page).await?;
        let schools: BTreeMap<i64, String> = all_schools(state).await?.into_iter().map(|s| (s.id, s.name)).collect();
        Ok(people.map(|p| {
            let school = p.school_id.and_then(|id| schools.get(&id).cloned());
            minijinja::context! { school, ..minijinja::Value::from_serialize(&p) }
        }))
    }

    async fn choices(state: &AppState) -> DomainResult<minijinja::Value> {
        Ok(minijinja::context! { roles => participant::ROLES, schools => all_schools(state).await? })
    }
}
