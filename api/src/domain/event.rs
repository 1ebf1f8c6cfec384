//! Events: conferences, Sharing Leading Practice sessions and triad visits, each with a zone,
//! a state (draft, published, cancelled) and sessions. The online join link is never public.

use chrono::{DateTime, Datelike as _, NaiveDate, NaiveTime, Utc};
use entity::state::{EventStatus, SessionStatus};
use entity::{event, programme, school, session};
use sea_orm::prelude::Expr;
use sea_orm::sea_query::ExprTrait as _;
use sea_orm::sea_query::Query;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::audit::{Change, Target};
use super::contract::{
    self, Cursor, DateOrInstant, Description, EventKind, LongLine, Name, NewEventStatus, SearchText, ShortLine,
    TimeZone, WebAddress,
};
use super::page::{Page, PageRequest, fetch_page};
use super::validate::{LONG_LINE_MAX, NAME_MAX, SHORT_LINE_MAX, TEXT_MAX, nullable};
use super::{DomainError, DomainResult, FieldError, Validator, in_write_txn, text_search, unknown_reference};
use crate::db::for_update;
use crate::problem_code::ProblemCode;
use crate::time::{TimeInput, TimeZoneName, format_utc};

/// The kinds of event.
pub const KINDS: &[&str] = &["conference", "slp_session", "triad_visit"];
/// The kind of event only organisers and the people it is for see: a triad's visit (see
/// [`super::cohort::visits_inviting`]); the public never sees it, by id, list or feed.
pub const PRIVATE_KIND: &str = "triad_visit";
/// The longest online join link.
pub const ONLINE_URL_MAX: usize = 2000;
/// The fields a new event must have (a `PATCH` may leave any out).
pub const REQUIRED_ON_CREATE: &[&str] = &["kind", "title", "time_zone"];

contract::create_body!(
    /// An event as sent to create one: the fields of [`EventInput`], those of
    /// [`REQUIRED_ON_CREATE`] required, and a status of `draft` or `published`.
    NewEvent => EventInput, REQUIRED_ON_CREATE,
    "A new event: `kind`, `title` and `time_zone` are required. A `slp_session` is published only with a \
`host_school_id` whose accredited practice includes its `topic` (else `host_not_accredited`); `programme_id` \
and `host_school_id` name rows that exist.",
    with status = NewEventStatus
);

/// Who is looking: the public (and participants) never see drafts or join links.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Audience {
    /// Anyone, without a key.
    Public,
    /// An organiser with a key.
    Organiser,
}

/// An event as sent to create or change one. On create `kind`, `title` and `time_zone` are
/// required; on `PATCH` only the fields given change (`null` clears an optional one), and
/// `status` moves it from draft to published or cancelled.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventInput {
    /// The kind of event.
    #[schema(value_type = Option<EventKind>, example = "conference")]
    pub kind: Option<String>,
    /// The event's title.
    #[schema(value_type = Option<Name>, example = "Summer conference: closing the disadvantage gap")]
    pub title: Option<String>,
    /// The IANA zone its sessions' local times are read and shown in (fixed once it has sessions:
    /// `event_has_sessions`).
    #[schema(value_type = Option<TimeZone>, example = "Europe/London")]
    pub time_zone: Option<String>,
    /// What it is about.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Description>)]
    pub description: Option<Option<String>>,
    /// Where it happens, for in-person events.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<LongLine>, example = "Northfield Primary School, Hall 2")]
    pub venue: Option<Option<String>>,
    /// The online join link (an http or https URL), shown only to people with a confirmed booking.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<WebAddress>, example = "https://meet.example.org/slp-reading")]
    pub online_url: Option<Option<String>>,
    /// The programme it belongs to (one that exists).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>)]
    pub programme_id: Option<Option<i64>>,
    /// The school that hosts it (one that exists; the accredited school leading an SLP session).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>)]
    pub host_school_id: Option<Option<i64>>,
    /// Its topic, e.g. `reading`.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<ShortLine>, example = "reading")]
    pub topic: Option<Option<String>>,
    /// `draft` (the default on create), `published` or `cancelled`: draft → published →
    /// cancelled, or draft → cancelled (`invalid_status_change` otherwise; a cancelled event is final).
    #[schema(value_type = Option<contract::EventStatus>, example = "published")]
    pub status: Option<String>,
}

/// An event as Convene shows it.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Event {
    /// Its id.
    pub id: i64,
    /// The programme it belongs to.
    pub programme_id: Option<i64>,
    /// `conference`, `slp_session` or `triad_visit`.
    #[schema(value_type = EventKind)]
    pub kind: String,
    /// Its title.
    pub title: String,
    /// What it is about.
    pub description: Option<String>,
    /// Where it happens.
    pub venue: Option<String>,
    /// The online join link: shown to organisers only (participants see it once booked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub online_url: Option<String>,
    /// Whether it has an online join link (so the public can tell it is online).
    pub online: bool,
    /// The IANA zone of its sessions.
    #[schema(value_type = TimeZone)]
    pub time_zone: String,
    /// `draft`, `published` or `cancelled`.
    #[schema(value_type = contract::EventStatus)]
    pub status: EventStatus,
    /// The hosting school.
    pub host_school_id: Option<i64>,
    /// Its topic.
    pub topic: Option<String>,
    /// Bumped whenever it changes in a way calendars must see.
    pub revision: i32,
    /// When it was created (UTC).
    #[schema(value_type = contract::Instant)]
    pub created_at: String,
    /// When it was last changed (UTC).
    #[schema(value_type = contract::Instant)]
    pub updated_at: String,
}

/// Filters for the event list. A parameter not named here is refused (`invalid_query`).
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EventFilter {
    /// `draft`, `published` or `cancelled`; without a key only `published` may be asked for (and is the default).
    #[param(value_type = Option<contract::EventStatus>)]
    pub status: Option<String>,
    /// Only events of this kind.
    #[param(value_type = Option<EventKind>)]
    pub kind: Option<String>,
    /// Only events of this programme.
    pub programme_id: Option<i64>,
    /// Only events on this topic.
    #[param(value_type = Option<SearchText>)]
    pub topic: Option<String>,
    /// Only events with a session ending at or after this instant or date (`2027-06-01`).
    #[param(value_type = Option<DateOrInstant>)]
    pub from: Option<String>,
    /// Only events with a session starting at or before this instant or date.
    #[param(value_type = Option<DateOrInstant>)]
    pub to: Option<String>,
    /// Text to find in the title.
    #[param(value_type = Option<SearchText>)]
    pub q: Option<String>,
    /// How many to return (default 50; more than 500 gives 500).
    #[param(minimum = 1)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    #[param(value_type = Option<Cursor>)]
    pub cursor: Option<String>,
}

impl EventFilter {
    /// The filters in a fixed order, for the response cache's key: two query strings that ask
    /// for the same list (parameters in another order, empty ones) share one entry.
    pub fn cache_key(&self) -> String {
        let present = |v: &Option<String>| v.as_deref().filter(|s| !s.is_empty()).map(str::to_owned);
        let normal = Self {
            status: present(&self.status),
            kind: present(&self.kind),
            programme_id: self.programme_id,
            topic: present(&self.topic),
            from: present(&self.from),
            to: present(&self.to),
            q: present(&self.q),
            limit: self.limit,
            cursor: present(&self.cursor),
        };
        format!("{normal:?}")
    }
}

impl Event {
    /// The view of `m` for `audience`: the join link only for organisers.
    pub fn view(m: event::Model, audience: Audience) -> Self {
        Self {
            id: m.id,
            programme_id: m.programme_id,
            kind: m.kind,
            title: m.title,
            description: m.description,
            venue: m.venue,
            online: m.online_url.is_some(),
            online_url: if audience == Audience::Organiser {
                m.online_url
            } else {
                None
            },
            time_zone: m.time_zone,
            status: m.status,
            host_school_id: m.host_school_id,
            topic: m.topic,
            revision: m.revision,
            created_at: format_utc(m.created_at),
            updated_at: format_utc(m.updated_at),
        }
    }
}

/// Whether `audience` may see `event` at all: the public sees events once published (and
/// still sees them if later cancelled, so a link in an email explains itself), but never a
/// triad's visit; organisers see all.
pub fn visible(event: &event::Model, audience: Audience) -> bool {
    audience == Audience::Organiser || (event.published_at.is_some() && event.kind != PRIVATE_KIND)
}

/// Reads an event row.
pub async fn find<C: ConnectionTrait>(db: &C, id: i64) -> DomainResult<event::Model> {
    event::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| DomainError::not_found("event", id))
}

/// Reads an event row that `audience` may see; a draft or a triad's visit is "not found" to the
/// public.
pub async fn find_visible<C: ConnectionTrait>(db: &C, id: i64, audience: Audience) -> DomainResult<event::Model> {
    let event = find(db, id).await?;
    if !visible(&event, audience) {
        return Err(DomainError::not_found("event", id));
    }
    Ok(event)
}

/// Reads an event as `audience` sees it.
pub async fn get<C: ConnectionTrait>(db: &C, id: i64, audience: Audience) -> DomainResult<Event> {
    Ok(Event::view(find_visible(db, id, audience).await?, audience))
}

/// Reads `from`/`to` filters: an RFC 3339 instant, or a date meaning its start (for `from`) or end (for `to`) in UTC.
fn bound(v: &mut Validator, field: &str, text: Option<&str>, end_of_day: bool) -> Option<DateTime<Utc>> {
    let text = text.filter(|t| !t.trim().is_empty())?.trim();
    let instant = match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        Ok(date) => {
            let time = if end_of_day {
                NaiveTime::from_hms_opt(23, 59, 59)
            } else {
                Some(NaiveTime::MIN)
            };
            time.map(|t| date.and_time(t).and_utc())
        }
        Err(_) => match TimeInput::parse(text) {
            Ok(TimeInput::Instant(t)) => Some(t),
            _ => None,
        },
    };
    match instant {
        Some(t) if crate::time::YEARS.contains(&t.year()) => Some(t),
        Some(_) => {
            v.fail(field, "must be in the years 2000 to 2099");
            None
        }
        None => {
            v.fail(
                field,
                "must be a date (2027-06-01) or an instant with an offset (2027-06-01T08:00:00Z)",
            );
            None
        }
    }
}

/// Lists events matching `filter` as `audience` sees them. The public sees only published events,
/// and no triad visits.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    filter: &EventFilter,
    page: PageRequest,
    audience: Audience,
) -> DomainResult<Page<Event>> {
    let mut v = Validator::new();
    let status = match (filter.status.as_deref().filter(|s| !s.is_empty()), audience) {
        (None, Audience::Public) => Some(EventStatus::Published),
        (None, Audience::Organiser) => None,
        (Some(s), _) => v.state("status", Some(s.to_owned()), EventStatus::ALL),
    };
    if audience == Audience::Public && status.is_some_and(|s| s != EventStatus::Published) {
        v.fail("status", "only published events are listed without an organiser key");
    }
    if let Some(kind) = filter.kind.as_deref().filter(|s| !s.is_empty()) {
        v.one_of("kind", Some(kind.to_owned()), KINDS);
    }
    let from = bound(&mut v, "from", filter.from.as_deref(), false);
    let to = bound(&mut v, "to", filter.to.as_deref(), true);
    v.finish()?;

    let mut query = event::Entity::find();
    if let Some(status) = status {
        query = query.filter(event::Column::Status.eq(status));
    }
    if audience == Audience::Public {
        // A triad's visits are for its members (they reach them through their bookings and
        // private feeds), not for the public list.
        query = query.filter(event::Column::Kind.ne(PRIVATE_KIND));
    }
    if let Some(kind) = filter.kind.as_deref().filter(|s| !s.is_empty()) {
        query = query.filter(event::Column::Kind.eq(kind));
    }
    if let Some(programme_id) = filter.programme_id {
        query = query.filter(event::Column::ProgrammeId.eq(programme_id));
    }
    if let Some(topic) = filter.topic.as_deref().filter(|s| !s.trim().is_empty()) {
        query = query.filter(super::equals_ignoring_case(event::Column::Topic, topic));
    }
    if let Some(q) = filter.q.as_deref().filter(|s| !s.trim().is_empty()) {
        query = query.filter(text_search(&[event::Column::Title], q));
    }
    if from.is_some() || to.is_some() {
        let mut sessions = Query::select();
        sessions.column(session::Column::EventId).from(session::Entity);
        if let Some(from) = from {
            sessions.and_where(Expr::col(session::Column::EndsAt).gte(from));
        }
        if let Some(to) = to {
            sessions.and_where(Expr::col(session::Column::StartsAt).lte(to));
        }
        query = query.filter(event::Column::Id.in_subquery(sessions.to_owned()));
    }
    Ok(fetch_page(db, query, event::Column::Id, |m| m.id, page)
        .await?
        .map(|m| Event::view(m, audience)))
}

/// The checked fields of an event.
struct EventFields {
    kind: &'static str,
    title: String,
    time_zone: TimeZoneName,
    description: Option<String>,
    venue: Option<String>,
    online_url: Option<String>,
    programme_id: Option<i64>,
    host_school_id: Option<i64>,
    topic: Option<String>,
    status: EventStatus,
}

/// Picks the value given in a `PATCH` (`Some(v)`, where `v` may be `None` to clear) or keeps the old one.
fn given_or<T: Clone>(given: Option<Option<T>>, old: Option<&Option<T>>) -> Option<T> {
    match given {
        Some(v) => v,
        None => old.cloned().flatten(),
    }
}

fn parse(input: EventInput, existing: Option<&event::Model>) -> Result<EventFields, Vec<FieldError>> {
    let mut v = Validator::new();
    let kind = v.one_of("kind", input.kind.or_else(|| existing.map(|e| e.kind.clone())), KINDS);
    let title = v.required_line(
        "title",
        input.title.or_else(|| existing.map(|e| e.title.clone())),
        NAME_MAX,
    );
    let time_zone = v.zone(
        "time_zone",
        input.time_zone.or_else(|| existing.map(|e| e.time_zone.clone())),
    );
    let description = v.optional_text(
        "description",
        given_or(input.description, existing.map(|e| &e.description)),
        TEXT_MAX,
    );
    let venue = v.optional_line(
        "venue",
        given_or(input.venue, existing.map(|e| &e.venue)),
        LONG_LINE_MAX,
    );
    let online_url = v.optional_line(
        "online_url",
        given_or(input.online_url, existing.map(|e| &e.online_url)),
        ONLINE_URL_MAX,
    );
    if let Some(url) = &online_url {
        let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
        if !scheme_ok || url.contains(char::is_whitespace) || url.len() < 10 {
            v.fail("online_url", "must be a web address starting with https://");
        }
    }
    let topic = v.optional_line(
        "topic",
        given_or(input.topic, existing.map(|e| &e.topic)),
        SHORT_LINE_MAX,
    );
    let status = v.state(
        "status",
        input
            .status
            .or_else(|| existing.map(|e| e.status.as_str().to_owned()))
            .or_else(|| Some(EventStatus::Draft.as_str().to_owned())),
        EventStatus::ALL,
    );
    v.finish()?;
    Ok(EventFields {
        kind: kind.unwrap_or("conference"),
        title,
        time_zone: time_zone.unwrap_or(TimeZoneName::UTC),
        description,
        venue,
        online_url,
        programme_id: given_or(input.programme_id, existing.map(|e| &e.programme_id)),
        host_school_id: given_or(input.host_school_id, existing.map(|e| &e.host_school_id)),
        topic,
        status: status.unwrap_or(EventStatus::Draft),
    })
}

async fn check_references<C: ConnectionTrait>(db: &C, f: &EventFields) -> DomainResult<()> {
    if let Some(id) = f.programme_id
        && programme::Entity::find_by_id(id).one(db).await?.is_none()
    {
        return Err(unknown_reference("programme_id", "programme", id));
    }
    if let Some(id) = f.host_school_id
        && school::Entity::find_by_id(id).one(db).await?.is_none()
    {
        return Err(unknown_reference("host_school_id", "school", id));
    }
    Ok(())
}

/// A Sharing Leading Practice session is published only when it names a host school whose
/// accredited practice includes its topic (drafts may be anything while being prepared).
async fn check_accredited<C: ConnectionTrait>(db: &C, f: &EventFields) -> DomainResult<()> {
    if f.kind != "slp_session" || f.status != EventStatus::Published {
        return Ok(());
    }
    let refuse = |field: &'static str, detail: String| {
        Err(DomainError::Unprocessable {
            code: ProblemCode::HostNotAccredited,
            detail,
            field: Some(field),
        })
    };
    let (Some(host), Some(topic)) = (f.host_school_id, f.topic.as_deref()) else {
        return refuse(
            if f.host_school_id.is_none() {
                "host_school_id"
            } else {
                "topic"
            },
            "a Sharing Leading Practice session is published with a host school and a topic it is accredited in"
                .to_owned(),
        );
    };
    let school = school::Entity::find_by_id(host)
        .one(db)
        .await?
        .ok_or_else(|| unknown_reference("host_school_id", "school", host))?;
    let accredited: Vec<String> = serde_json::from_value(school.accredited_practice.clone()).unwrap_or_default();
    if accredited.iter().any(|t| t.eq_ignore_ascii_case(topic.trim())) {
        Ok(())
    } else {
        refuse(
            "topic",
            format!(
                "{} is not accredited in '{topic}' (its accredited practice: {}); keep the session as a draft until it is",
                school.name,
                if accredited.is_empty() {
                    "none".to_owned()
                } else {
                    accredited.join(", ")
                }
            ),
        )
    }
}

fn fill(active: &mut event::ActiveModel, f: EventFields, now: DateTime<Utc>) {
    active.kind = Set(f.kind.to_owned());
    active.title = Set(f.title);
    active.time_zone = Set(f.time_zone.name().to_owned());
    active.description = Set(f.description);
    active.venue = Set(f.venue);
    active.online_url = Set(f.online_url);
    active.programme_id = Set(f.programme_id);
    active.host_school_id = Set(f.host_school_id);
    active.topic = Set(f.topic);
    active.status = Set(f.status);
    active.updated_at = Set(now);
}

/// Creates an event, as a draft unless `status` says `published`. A new event cannot start cancelled.
#[tracing::instrument(skip(db, input))]
pub async fn create<C: ConnectionTrait>(db: &C, input: EventInput, change: &Change) -> DomainResult<Event> {
    let now = change.now;
    let fields = parse(input, None)?;
    if fields.status == EventStatus::Cancelled {
        return Err(DomainError::Invalid(vec![FieldError::new(
            "status",
            "a new event is draft or published",
        )]));
    }
    check_references(db, &fields).await?;
    check_accredited(db, &fields).await?;
    let mut active = event::ActiveModel {
        revision: Set(0),
        published_at: Set((fields.status == EventStatus::Published).then_some(now)),
        cancelled_at: Set(None),
        created_at: Set(now),
        ..Default::default()
    };
    fill(&mut active, fields, now);
    let row = active.insert(db).await?;
    change
        .record(
            db,
            if row.status == EventStatus::Published {
                "event.published"
            } else {
                "event.created"
            },
            Target("event", row.id),
            format!(
                "{} \"{}\" created ({})",
                row.kind.replace('_', " "),
                row.title,
                row.status
            ),
        )
        .await?;
    Ok(Event::view(row, Audience::Organiser))
}

/// The names of the fields a change of an event changed, for its audit row.
fn changed_fields(before: &event::Model, after: &event::Model) -> Vec<&'static str> {
    [
        ("kind", before.kind != after.kind),
        ("title", before.title != after.title),
        ("description", before.description != after.description),
        ("venue", before.venue != after.venue),
        ("online link", before.online_url != after.online_url),
        ("programme", before.programme_id != after.programme_id),
        ("host school", before.host_school_id != after.host_school_id),
        ("topic", before.topic != after.topic),
        ("time zone", before.time_zone != after.time_zone),
    ]
    .into_iter()
    .filter_map(|(name, changed)| changed.then_some(name))
    .collect()
}

/// Checks a change of state: draft → published → cancelled (or draft → cancelled); nothing leaves cancelled.
fn check_status_change(event: &event::Model, to: EventStatus) -> DomainResult<()> {
    use EventStatus::{Cancelled, Draft, Published};
    match (event.status, to) {
        (from, to) if from == to => Ok(()),
        (Draft, Published | Cancelled) | (Published, Cancelled) => Ok(()),
        (Published, Draft) => Err(DomainError::conflict(
            ProblemCode::InvalidStatusChange,
            format!(
                "event {} is published and cannot go back to draft; cancel it instead",
                event.id
            ),
            Some("status"),
        )),
        _ => Err(DomainError::conflict(
            ProblemCode::InvalidStatusChange,
            format!("event {} is {} and cannot become {to}", event.id, event.status),
            Some("status"),
        )),
    }
}

/// Changes an event. Publishing stamps it; cancelling cancels its sessions; moving its venue or
/// link bumps its sessions' revisions (the calendars' `SEQUENCE`). A cancelled event is final.
#[tracing::instrument(skip(db, input))]
pub async fn update(db: &DatabaseConnection, id: i64, input: EventInput, change: &Change) -> DomainResult<Event> {
    let now = change.now;
    let input = &input;
    in_write_txn(db, async |txn| {
        let existing = for_update(event::Entity::find_by_id(id), txn.get_database_backend())
            .one(txn)
            .await?
            .ok_or_else(|| DomainError::not_found("event", id))?;
        if existing.status == EventStatus::Cancelled {
            return Err(DomainError::conflict(
                ProblemCode::EventCancelled,
                format!("event {id} was cancelled and cannot be changed"),
                None,
            ));
        }
        let fields = parse(input.clone(), Some(&existing))?;
        check_status_change(&existing, fields.status)?;
        check_references(txn, &fields).await?;
        let host_changed = fields.host_school_id != existing.host_school_id || fields.topic != existing.topic;
        if existing.status != EventStatus::Published || host_changed || fields.kind != existing.kind {
            check_accredited(txn, &fields).await?;
        }
        if fields.time_zone.name() != existing.time_zone
            && session::Entity::find()
                .filter(session::Column::EventId.eq(id))
                .count(txn)
                .await?
                > 0
        {
            return Err(DomainError::conflict(
                ProblemCode::EventHasSessions,
                format!("event {id} has sessions, so its time zone cannot change; delete or move its sessions first"),
                Some("time_zone"),
            ));
        }
        let cancelling = fields.status == EventStatus::Cancelled;
        let mut told = 0;
        let publishing = fields.status == EventStatus::Published && existing.published_at.is_none();
        let place_moved = fields.venue != existing.venue || fields.online_url != existing.online_url;
        let mut active: event::ActiveModel = existing.clone().into();
        fill(&mut active, fields, now);
        if publishing {
            active.published_at = Set(Some(now));
        }
        if cancelling {
            active.cancelled_at = Set(Some(now));
        }
        if cancelling || place_moved {
            active.revision = Set(existing.revision + 1);
            let mut sessions = session::Entity::update_many()
                .col_expr(session::Column::Revision, Expr::col(session::Column::Revision).add(1))
                .col_expr(session::Column::UpdatedAt, Expr::value(now))
                .filter(session::Column::EventId.eq(id))
                .filter(session::Column::Status.ne(SessionStatus::Cancelled));
            if cancelling {
                sessions = sessions.col_expr(session::Column::Status, Expr::value(SessionStatus::Cancelled));
            }
            sessions.exec(txn).await?;
            if cancelling {
                let ids: Vec<i64> = session::Entity::find()
                    .filter(session::Column::EventId.eq(id))
                    .all(txn)
                    .await?
                    .into_iter()
                    .map(|s| s.id)
                    .collect();
                for session_id in ids {
                    told += super::booking::cancel_all_for_session(txn, session_id, now).await?;
                }
            } else if existing.status == EventStatus::Published {
                let moved: Vec<session::Model> = session::Entity::find()
                    .filter(session::Column::EventId.eq(id))
                    .filter(session::Column::Status.ne(SessionStatus::Cancelled))
                    .filter(session::Column::StartsAt.gt(now))
                    .all(txn)
                    .await?;
                for s in moved {
                    super::outbox::session_changed(txn, s.id, s.starts_at, false, now).await?;
                }
            }
        }
        let row = active.update(txn).await?;
        super::discord::event_changed(txn, &existing, &row, now).await?;
        let changed = changed_fields(&existing, &row);
        let (action, mut summary) = if cancelling && existing.status != EventStatus::Cancelled {
            (
                "event.cancelled",
                format!(
                    "\"{}\" cancelled; {told} booking{} cancelled",
                    row.title,
                    if told == 1 { "" } else { "s" }
                ),
            )
        } else if publishing {
            ("event.published", format!("\"{}\" published", row.title))
        } else {
            ("event.updated", format!("\"{}\" changed", row.title))
        };
        if !changed.is_empty() {
            summary.push_str(&format!(": {}", changed.join(", ")));
        } else if action == "event.updated" {
            summary.push_str(": nothing");
        }
        change.record(txn, action, Target("event", id), summary).await?;
        Ok(Event::view(row, Audience::Organiser))
    })
    .await
}

/// Deletes a draft event and its sessions. A published event is cancelled instead, so that
/// the people booked on it are told and calendars drop it.
#[tracing::instrument(skip(db))]
pub async fn delete(db: &DatabaseConnection, id: i64, change: &Change) -> DomainResult<()> {
    in_write_txn(db, async |txn| {
        let event = for_update(event::Entity::find_by_id(id), txn.get_database_backend())
            .one(txn)
            .await?
            .ok_or_else(|| DomainError::not_found("event", id))?;
        if event.status != EventStatus::Draft {
            return Err(DomainError::conflict(
                ProblemCode::EventNotDraft,
                format!(
                    "event {id} is {}; only drafts can be deleted (cancel a published event instead)",
                    event.status
                ),
                None,
            ));
        }
        event::Entity::delete_by_id(id).exec(txn).await?;
        change
            .record(
                txn,
                "event.deleted",
                Target("event", id),
                format!("draft \"{}\" deleted", event.title),
            )
            .await
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_create_body_requires_exactly_the_fields_the_parser_requires() {
        let errors = parse(Default::default(), None).err().unwrap();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, REQUIRED_ON_CREATE);
    }
}
