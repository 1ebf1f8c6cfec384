//! What the organiser console's dashboard shows: every upcoming published event with its
//! sessions' seats and waitlists, the sessions nearly full, messages that could not be delivered,
//! surveys due to go out and triad visits in the next two weeks. Read in a handful of grouped
//! queries, whatever the size of the network.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use entity::state::{EventStatus, NotificationState, SessionStatus};
use entity::{event, notification, session};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use serde::Serialize;

use super::DomainResult;
use crate::time::{format_local, stored_zone};

/// A session is nearly full when this share of its seats is taken (or it has a waitlist).
const NEARLY_FULL: f64 = 0.9;
/// How far ahead the dashboard lists triad visits.
const VISITS_AHEAD_DAYS: i64 = 14;
/// How far ahead the dashboard lists survey sends.
const SURVEYS_AHEAD_DAYS: i64 = 28;

/// The dashboard.
#[derive(Clone, Debug, Serialize)]
pub struct Dashboard {
    /// Upcoming published events (conferences, SLP sessions and the rest; triad visits apart),
    /// soonest first, however far ahead.
    pub events: Vec<UpcomingEvent>,
    /// Upcoming sessions with at least nine seats in ten taken, or people waiting.
    pub nearly_full: Vec<SessionLoad>,
    /// Messages that could not be delivered (dead letters).
    pub undelivered: u64,
    /// Survey invitations due to go out in the next four weeks.
    pub surveys_due: Vec<SurveyDue>,
    /// Triad visits in the next two weeks.
    pub visits: Vec<SessionLoad>,
}

/// An upcoming published event.
#[derive(Clone, Debug, Serialize)]
pub struct UpcomingEvent {
    /// Its id.
    pub id: i64,
    /// Its title.
    pub title: String,
    /// Its kind (`conference`, `slp_session`, ...).
    pub kind: String,
    /// Its sessions still to come, soonest first.
    pub sessions: Vec<SessionLoad>,
}

/// A session's seats.
#[derive(Clone, Debug, Serialize)]
pub struct SessionLoad {
    /// The session's id.
    pub id: i64,
    /// Its event's title, and the session's own label if it has one.
    pub title: String,
    /// When, in the event's zone.
    pub when: String,
    /// Seats taken.
    pub booked: i32,
    /// Seats.
    pub capacity: i32,
    /// People on the waitlist.
    pub waitlist: u64,
}

/// A survey's invitations due to go out.
#[derive(Clone, Debug, Serialize)]
pub struct SurveyDue {
    /// The survey's id.
    pub id: i64,
    /// Its title.
    pub title: String,
    /// When the invitations go out, in UTC.
    pub due: String,
}

/// The dashboard as it is at `now`.
pub async fn read<C: ConnectionTrait>(db: &C, now: DateTime<Utc>) -> DomainResult<Dashboard> {
    let upcoming: Vec<(session::Model, Option<event::Model>)> = session::Entity::find()
        .find_also_related(event::Entity)
        .filter(event::Column::Status.eq(EventStatus::Published))
        .filter(session::Column::Status.eq(SessionStatus::Scheduled))
        .filter(session::Column::EndsAt.gt(now))
        .order_by_asc(session::Column::StartsAt)
        .order_by_asc(session::Column::Id)
        .all(db)
        .await?;
    let waiting = super::roster::waiting(db, session::Column::EndsAt.gt(now)).await?;
    let mut events: Vec<UpcomingEvent> = Vec::new();
    let mut index: HashMap<i64, usize> = HashMap::new();
    let mut nearly_full = Vec::new();
    let mut visits = Vec::new();
    for (s, e) in upcoming {
        let Some(e) = e else { continue };
        let load = SessionLoad {
            id: s.id,
            title: match &s.label {
                Some(label) => format!("{}: {label}", e.title),
                None => e.title.clone(),
            },
            when: format_local(s.starts_at, stored_zone(&s.time_zone)),
            booked: s.booked,
            capacity: s.capacity,
            waitlist: waiting.get(&s.id).copied().unwrap_or(0),
        };
        if e.kind == "triad_visit" {
            if s.starts_at <= now + Duration::days(VISITS_AHEAD_DAYS) {
                visits.push(load);
            }
            continue;
        }
        if load.waitlist > 0 || f64::from(load.booked) >= NEARLY_FULL * f64::from(load.capacity) {
            nearly_full.push(load.clone());
        }
        let at = *index.entry(e.id).or_insert_with(|| {
            events.push(UpcomingEvent {
                id: e.id,
                title: e.title.clone(),
                kind: e.kind.clone(),
                sessions: Vec::new(),
            });
            events.len() - 1
        });
        events[at].sessions.push(load);
    }
    let undelivered = notification::Entity::find()
        .filter(notification::Column::State.eq(NotificationState::Dead))
        .count(db)
        .await?;
    let surveys_due = super::survey::sends_due(db, now, now + Duration::days(SURVEYS_AHEAD_DAYS))
        .await?
        .into_iter()
        .map(|(s, due)| SurveyDue {
            id: s.id,
            title: s.title,
            due: crate::time::format_utc(due),
        })
        .collect();
    Ok(Dashboard {
        events,
        nearly_full,
        undelivered,
        surveys_due,
        visits,
    })
}
