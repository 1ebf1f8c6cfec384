//! Calendar feeds: a participant's private feed (reached by a secret token), a published event's
//! sessions and a published programme's events, as [`Calendar`]s for the iCal writer. Join links
//! appear only in a private feed, and only for a confirmed booking.

use std::collections::{BTreeMap, HashMap};

use base64::Engine as _;
use chrono::{DateTime, Utc};
use entity::state::{self, BookingStatus, SessionStatus};
use entity::{booking, event, participant, programme, session, visit};
use rand::RngCore as _;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};

use super::{DomainError, DomainResult};
use crate::ical::{Calendar, Event, EventStatus, Method, Person, Tz};
use crate::problem_code::ProblemCode;
use crate::time::stored_zone;
pub use crate::wire::feed::FeedToken;

/// What every feed says about the service itself.
#[derive(Clone, Debug)]
pub struct FeedSite {
    /// The public URL, without a trailing slash.
    pub public_url: String,
    /// The host `UID`s end in.
    pub host: String,
    /// The calendars' `ORGANIZER`.
    pub organiser: Person,
}

/// A feed ready to write, with the time its contents last changed.
pub struct Feed {
    /// The calendar.
    pub calendar: Calendar,
    /// The latest change to anything in it (for `Last-Modified`).
    pub last_modified: DateTime<Utc>,
}

/// The URL of a private feed.
pub fn private_feed_url(public_url: &str, token: &str) -> String {
    format!("{public_url}/ical/p/{token}.ics")
}

/// Gives a participant a new feed token (the first call creates one); the old URL stops working.
pub async fn rotate_token<C: ConnectionTrait>(
    db: &C,
    site: &FeedSite,
    participant_id: i64,
    now: DateTime<Utc>,
) -> DomainResult<FeedToken> {
    let existing = super::participant::find(db, participant_id).await?;
    if existing.erased_at.is_some() {
        return Err(DomainError::conflict(
            ProblemCode::ParticipantErased,
            format!("participant {participant_id} was erased and has no feed"),
            None,
        ));
    }
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let mut active: participant::ActiveModel = existing.into();
    active.feed_token = Set(Some(token.clone()));
    active.updated_at = Set(now);
    active.update(db).await?;
    Ok(FeedToken {
        url: private_feed_url(&site.public_url, &token),
        token,
    })
}

/// Why a session is in a private feed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    Confirmed,
    Waitlisted,
    Visit,
    /// A public feed: no join links.
    Public,
}

/// A participant's private feed: confirmed and waitlisted bookings, and their triad's scheduled
/// visits, on published events. `None` when no participant holds the token.
pub async fn participant_feed<C: ConnectionTrait>(db: &C, site: &FeedSite, token: &str) -> DomainResult<Option<Feed>> {
    if token.len() < 20 || token.len() > 64 {
        return Ok(None);
    }
    let Some(person) = participant::Entity::find()
        .filter(participant::Column::FeedToken.eq(token))
        .filter(participant::Column::ErasedAt.is_null())
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let mut places: HashMap<i64, Place> = HashMap::new();
    let bookings: Vec<(i64, BookingStatus, DateTime<Utc>)> = booking::Entity::find()
        .select_only()
        .columns([
            booking::Column::SessionId,
            booking::Column::Status,
            booking::Column::UpdatedAt,
        ])
        .filter(booking::Column::ParticipantId.eq(person.id))
        .filter(booking::Column::Status.is_in([
            BookingStatus::Confirmed,
            BookingStatus::Attended,
            BookingStatus::NoShow,
            BookingStatus::Waitlisted,
        ]))
        .into_tuple()
        .all(db)
        .await?;
    let mut last_modified = person.updated_at;
    for (session_id, status, updated_at) in bookings {
        last_modified = last_modified.max(updated_at);
        places.insert(
            session_id,
            if status == BookingStatus::Waitlisted {
                Place::Waitlisted
            } else {
                Place::Confirmed
            },
        );
    }
    let visit_sessions: Vec<(Option<i64>, DateTime<Utc>)> = visit::Entity::find()
        .select_only()
        .columns([visit::Column::SessionId, visit::Column::UpdatedAt])
        .filter(visit::Column::Status.eq("scheduled"))
        .filter(visit::Column::SessionId.is_not_null())
        .filter(super::cohort::visits_inviting(&person))
        .into_tuple()
        .all(db)
        .await?;
    for (session_id, updated_at) in visit_sessions {
        if let Some(session_id) = session_id {
            last_modified = last_modified.max(updated_at);
            places.entry(session_id).or_insert(Place::Visit);
        }
    }
    let zone = stored_zone(&person.time_zone);
    let mut events = Vec::with_capacity(places.len());
    let ids: Vec<i64> = places.keys().copied().collect();
    for chunk in ids.chunks(1000) {
        let rows = session::Entity::find()
            .find_also_related(event::Entity)
            .filter(session::Column::Id.is_in(chunk.iter().copied()))
            .filter(session::Column::Status.eq(SessionStatus::Scheduled))
            .filter(event::Column::Status.eq(state::EventStatus::Published))
            .all(db)
            .await?;
        for (s, e) in rows {
            let (Some(e), Some(place)) = (e, places.get(&s.id).copied()) else {
                continue;
            };
            last_modified = last_modified.max(s.updated_at).max(e.updated_at);
            events.push((s.starts_at, s.id, vevent(site, &s, &e, place)));
        }
    }
    events.sort_by_key(|(starts_at, id, _)| (*starts_at, *id));
    Ok(Some(Feed {
        calendar: calendar(
            format!("Convene: {}", person.name),
            zone,
            events.into_iter().map(|(_, _, e)| e).collect(),
        ),
        last_modified,
    }))
}

/// A published event's scheduled sessions (a cancelled event's feed is empty, so subscribers
/// drop it). `None` for an unknown or draft event, and for a triad's visit (its people have it in
/// their own feeds).
pub async fn event_feed<C: ConnectionTrait>(db: &C, site: &FeedSite, id: i64) -> DomainResult<Option<Feed>> {
    let Some(e) = event::Entity::find_by_id(id).one(db).await? else {
        return Ok(None);
    };
    if !super::event::visible(&e, super::event::Audience::Public) {
        return Ok(None);
    }
    let zone = stored_zone(&e.time_zone);
    let mut last_modified = e.updated_at;
    let sessions = if e.status == state::EventStatus::Published {
        session::Entity::find()
            .filter(session::Column::EventId.eq(e.id))
            .filter(session::Column::Status.eq(SessionStatus::Scheduled))
            .order_by_asc(session::Column::StartsAt)
            .order_by_asc(session::Column::Id)
            .all(db)
            .await?
    } else {
        Vec::new()
    };
    let events = sessions
        .iter()
        .map(|s| {
            last_modified = last_modified.max(s.updated_at);
            vevent(site, s, &e, Place::Public)
        })
        .collect();
    Ok(Some(Feed {
        calendar: calendar(e.title.clone(), zone, events),
        last_modified,
    }))
}

/// A published (or archived) programme's published events, but not its triads' visits (they are
/// private to their people). `None` for an unknown or draft programme.
pub async fn programme_feed<C: ConnectionTrait>(db: &C, site: &FeedSite, id: i64) -> DomainResult<Option<Feed>> {
    let Some(p) = programme::Entity::find_by_id(id).one(db).await? else {
        return Ok(None);
    };
    if p.status == "draft" {
        return Ok(None);
    }
    let rows = session::Entity::find()
        .find_also_related(event::Entity)
        .filter(event::Column::ProgrammeId.eq(p.id))
        .filter(event::Column::Status.eq(state::EventStatus::Published))
        .filter(event::Column::Kind.ne(super::event::PRIVATE_KIND))
        .filter(session::Column::Status.eq(SessionStatus::Scheduled))
        .order_by_asc(session::Column::StartsAt)
        .order_by_asc(session::Column::Id)
        .all(db)
        .await?;
    let mut last_modified = p.updated_at;
    let mut zones: BTreeMap<String, usize> = BTreeMap::new();
    let mut events = Vec::with_capacity(rows.len());
    for (s, e) in rows {
        let Some(e) = e else { continue };
        last_modified = last_modified.max(s.updated_at).max(e.updated_at);
        *zones.entry(e.time_zone.clone()).or_default() += 1;
        events.push(vevent(site, &s, &e, Place::Public));
    }
    let zone = zones
        .into_iter()
        .max_by_key(|(_, n)| *n)
        .map_or(chrono_tz::Europe::London, |(z, _)| stored_zone(&z));
    Ok(Some(Feed {
        calendar: calendar(p.name.clone(), zone, events),
        last_modified,
    }))
}

/// A cohort's scheduled visits, for its facilitators and organisers to download (`None` for an
/// unknown cohort): each visit's session as its people see it in their own feeds.
pub async fn cohort_visits_feed<C: ConnectionTrait>(
    db: &C,
    site: &FeedSite,
    cohort_id: i64,
) -> DomainResult<Option<Feed>> {
    let Some(c) = entity::cohort::Entity::find_by_id(cohort_id).one(db).await? else {
        return Ok(None);
    };
    let session_ids: Vec<i64> = super::cohort::visits(db, cohort_id)
        .await?
        .items
        .into_iter()
        .filter(|v| v.status == "scheduled")
        .filter_map(|v| v.session_id)
        .collect();
    let rows = session::Entity::find()
        .find_also_related(event::Entity)
        .filter(session::Column::Id.is_in(session_ids))
        .filter(session::Column::Status.eq(SessionStatus::Scheduled))
        .order_by_asc(session::Column::StartsAt)
        .order_by_asc(session::Column::Id)
        .all(db)
        .await?;
    let mut last_modified = c.updated_at;
    let events = rows
        .iter()
        .filter_map(|(s, e)| {
            let e = e.as_ref()?;
            last_modified = last_modified.max(s.updated_at).max(e.updated_at);
            Some(vevent(site, s, e, Place::Visit))
        })
        .collect();
    Ok(Some(Feed {
        calendar: calendar(format!("{}: visits", c.name), stored_zone(&c.time_zone), events),
        last_modified,
    }))
}

fn calendar(name: String, zone: Tz, events: Vec<Event>) -> Calendar {
    Calendar {
        prod_id: "-//Convene//Convene feeds//EN".to_owned(),
        method: Some(Method::Publish),
        name: Some(name),
        time_zone: Some(zone),
        refresh_hourly: true,
        events,
    }
}

/// The `UID` of a session, the same in feeds and invitations.
pub fn session_uid(site: &FeedSite, session_id: i64) -> String {
    format!("session-{session_id}@{}", site.host)
}

/// `Title — Label`, or the title alone.
pub fn session_title(s: &session::Model, e: &event::Model) -> String {
    match s.label.as_deref().map(str::trim).filter(|l| !l.is_empty()) {
        Some(label) => format!("{} — {label}", e.title),
        None => e.title.clone(),
    }
}

/// One session as a `VEVENT`. Only a confirmed participant's feed carries the join link.
fn vevent(site: &FeedSite, s: &session::Model, e: &event::Model, place: Place) -> Event {
    let mut summary = session_title(s, e);
    if place == Place::Waitlisted {
        summary.push_str(" (waitlisted)");
    }
    let join = match place {
        Place::Confirmed | Place::Visit => e.online_url.clone(),
        Place::Waitlisted | Place::Public => None,
    };
    let mut description = e.description.clone().unwrap_or_default();
    if place == Place::Waitlisted {
        push_paragraph(
            &mut description,
            "You are on the waitlist: this place is not confirmed yet.",
        );
    }
    if let Some(url) = &join {
        push_paragraph(&mut description, &format!("Join online: {url}"));
    }
    let location = e
        .venue
        .clone()
        .or_else(|| e.online_url.as_ref().map(|_| "Online".to_owned()));
    let changed = s.updated_at.max(e.updated_at);
    Event {
        uid: session_uid(site, s.id),
        sequence: s.revision,
        dtstamp: changed,
        start: s.starts_at,
        end: s.ends_at,
        time_zone: stored_zone(&s.time_zone),
        summary,
        description: Some(description).filter(|d| !d.is_empty()),
        location,
        url: join,
        status: if place == Place::Waitlisted {
            EventStatus::Tentative
        } else {
            EventStatus::Confirmed
        },
        organizer: Some(site.organiser.clone()),
        attendees: Vec::new(),
        created: Some(s.created_at),
        last_modified: Some(changed),
    }
}

fn push_paragraph(text: &mut String, paragraph: &str) {
    if !text.is_empty() {
        text.push_str("\n\n");
    }
    text.push_str(paragraph);
}
