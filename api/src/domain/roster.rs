//! Who is on a session, as the organiser console shows it: the confirmed bookings and the
//! waitlist in order, with each person's school and when they booked; the register at the door;
//! an event's sessions with their waitlists; and the people an organiser can find by name or
//! email to book. Read in a few queries, whatever the size of the session.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use entity::state::BookingStatus;
use entity::{booking, participant, school, session};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;

use super::{DomainResult, text_search};
use crate::time::stored_zone;

/// The most people a search for someone to book lists.
pub const SEARCH_LIMIT: u64 = 20;

/// A wall-clock time in `zone` as people read it: `Tue 12 Jan 2027, 09:30`.
pub fn human_time(instant: DateTime<Utc>, zone: Tz) -> String {
    instant.with_timezone(&zone).format("%a %-d %b %Y, %H:%M").to_string()
}

/// One person's booking on a session.
#[derive(Clone, Debug, Serialize)]
pub struct Line {
    /// The booking's id.
    pub booking_id: i64,
    /// The person's id.
    pub participant_id: i64,
    /// Their name.
    pub name: String,
    /// Their school's name (empty without one).
    pub school: String,
    /// When they booked, in the session's zone.
    pub booked_at: String,
    /// `confirmed`, `waitlisted`, `attended`, `no_show` or `cancelled`.
    pub status: BookingStatus,
    /// Their place on the waitlist (1 first), if waiting.
    pub position: Option<usize>,
}

/// A session's people, in arrival order.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Roster {
    /// Those holding a seat (confirmed, attended or no-show).
    pub seated: Vec<Line>,
    /// Those waiting, first in line first.
    pub waiting: Vec<Line>,
    /// Those who cancelled or were cancelled.
    pub cancelled: Vec<Line>,
}

/// The people on session `session_id`.
pub async fn of_session<C: ConnectionTrait>(db: &C, session: &session::Model) -> DomainResult<Roster> {
    let rows: Vec<(booking::Model, Option<participant::Model>)> = booking::Entity::find()
        .find_also_related(participant::Entity)
        .filter(booking::Column::SessionId.eq(session.id))
        .order_by_asc(booking::Column::Id)
        .all(db)
        .await?;
    let schools = school_names(db, rows.iter().filter_map(|(b, _)| b.school_id)).await?;
    let zone = stored_zone(&session.time_zone);
    let mut roster = Roster::default();
    for (b, person) in rows {
        let mut line = Line {
            booking_id: b.id,
            participant_id: b.participant_id,
            name: person.map(|p| p.name).unwrap_or_default(),
            school: b.school_id.and_then(|id| schools.get(&id).cloned()).unwrap_or_default(),
            booked_at: human_time(b.created_at, zone),
            status: b.status,
            position: None,
        };
        match b.status {
            BookingStatus::Waitlisted => {
                line.position = Some(roster.waiting.len() + 1);
                roster.waiting.push(line);
            }
            BookingStatus::Cancelled => roster.cancelled.push(line),
            _ => roster.seated.push(line),
        }
    }
    Ok(roster)
}

/// The names of the schools with these ids.
async fn school_names<C: ConnectionTrait>(
    db: &C,
    ids: impl Iterator<Item = i64>,
) -> DomainResult<HashMap<i64, String>> {
    let mut ids: Vec<i64> = ids.collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(school::Entity::find()
        .filter(school::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.id, s.name))
        .collect())
}

/// How many people wait on each session matching `sessions` (a condition on the sessions
/// table), in one grouped query.
pub async fn waiting<C: ConnectionTrait>(
    db: &C,
    sessions: impl sea_orm::sea_query::IntoCondition,
) -> DomainResult<HashMap<i64, u64>> {
    let rows: Vec<(i64, i64)> = booking::Entity::find()
        .select_only()
        .column(booking::Column::SessionId)
        .column_as(booking::Column::Id.count(), "waiting")
        .inner_join(session::Entity)
        .filter(sessions)
        .filter(booking::Column::Status.eq(BookingStatus::Waitlisted))
        .group_by(booking::Column::SessionId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, waiting)| (id, u64::try_from(waiting).unwrap_or(0)))
        .collect())
}

/// How many people wait on each of an event's sessions.
pub async fn waiting_on_event<C: ConnectionTrait>(db: &C, event_id: i64) -> DomainResult<HashMap<i64, u64>> {
    waiting(db, session::Column::EventId.eq(event_id)).await
}

/// Someone an organiser can book: a participant not erased.
#[derive(Clone, Debug, Serialize)]
pub struct Person {
    /// Their id.
    pub id: i64,
    /// Their name.
    pub name: String,
    /// Their email address.
    pub email: String,
    /// Their school's name (empty without one).
    pub school: String,
}

/// Up to [`SEARCH_LIMIT`] people whose name or email contains `text`, by name.
pub async fn find_people<C: ConnectionTrait>(db: &C, text: &str) -> DomainResult<Vec<Person>> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let rows = participant::Entity::find()
        .filter(participant::Column::ErasedAt.is_null())
        .filter(text_search(
            &[participant::Column::Name, participant::Column::Email],
            text,
        ))
        .order_by_asc(participant::Column::Name)
        .order_by_asc(participant::Column::Id)
        .limit(SEARCH_LIMIT)
        .all(db)
        .await?;
    let schools = school_names(db, rows.iter().filter_map(|p| p.school_id)).await?;
    Ok(rows
        .into_iter()
        .map(|p| Person {
            id: p.id,
            school: p.school_id.and_then(|id| schools.get(&id).cloned()).unwrap_or_default(),
            name: p.name,
            email: p.email.unwrap_or_default(),
        })
        .collect())
}

/// The number of people a cancellation of an event would tell: everyone booked or waiting on
/// its sessions, each once.
pub async fn people_to_tell<C: ConnectionTrait>(db: &C, event_id: i64) -> DomainResult<u64> {
    use sea_orm::PaginatorTrait as _;
    Ok(booking::Entity::find()
        .inner_join(session::Entity)
        .filter(session::Column::EventId.eq(event_id))
        .filter(booking::Column::Status.is_in(BookingStatus::ACTIVE))
        .select_only()
        .column(booking::Column::ParticipantId)
        .distinct()
        .count(db)
        .await?)
}
