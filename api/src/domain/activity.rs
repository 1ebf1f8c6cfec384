//! A school's activity in a period, newest first, for its page in the console: sessions its
//! staff booked or attended, sessions it hosted or led, triads it belongs to, survey answers and
//! reflections from its staff. People are not named: the timeline is about the school. Answers
//! to anonymous surveys are left out, so a school with one member of staff cannot give them away.

use chrono::{DateTime, NaiveDate, Utc};
use entity::state::BookingStatus;
use entity::{booking, cohort, event, participant, reflection, session, survey, survey_response, triad, triad_member};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, JoinType, QueryFilter, QueryOrder, QuerySelect, RelationTrait,
};
use serde::Serialize;

use super::DomainResult;
use super::insight::{InsightFilter, Period, in_period, triad_memberships};

/// How many entries a timeline holds at most (the newest).
pub const TIMELINE_MAX: u64 = 200;

/// One thing a school did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Activity {
    /// When (a session's start, an answer's time; a triad's cohort's first day).
    pub at: DateTime<Utc>,
    /// Its day where it happened: a session's in the session's own zone, others in UTC.
    pub day: NaiveDate,
    /// `booked`, `attended`, `no_show`, `hosted`, `led`, `visit_hosted`, `triad`,
    /// `survey_answered`, `reflection`.
    pub kind: String,
    /// What it was about, e.g. the event's title.
    pub title: String,
    /// The event, when it was about one.
    pub event_id: Option<i64>,
    /// How many of its staff, for bookings (by state).
    pub people: u64,
}

/// What school `school_id` did in the filter's period, newest first, at most [`TIMELINE_MAX`]
/// entries. A programme in the filter narrows its sessions and triads; answers and reflections
/// are the school's whatever they were about.
pub async fn timeline<C: ConnectionTrait>(
    db: &C,
    school_id: i64,
    filter: &InsightFilter,
    now: DateTime<Utc>,
) -> DomainResult<Vec<Activity>> {
    let period = Period::read(filter, now)?;
    super::school::find(db, school_id).await?;
    let (start, end) = (period.start(), period.end());
    let mut items = Vec::new();

    // Its staff's seats, by session and state.
    let seats: Vec<(DateTime<Utc>, String, String, i64, BookingStatus, i64)> = in_period(
        session::Entity::find()
            .join(JoinType::InnerJoin, session::Relation::Event.def())
            .join(JoinType::InnerJoin, session::Relation::Bookings.def()),
        period,
        filter.programme_id,
    )
    .select_only()
    .column(session::Column::StartsAt)
    .column(session::Column::TimeZone)
    .column(event::Column::Title)
    .column(event::Column::Id)
    .column(booking::Column::Status)
    .column_as(booking::Column::Id.count(), "n")
    .filter(booking::Column::SchoolId.eq(school_id))
    .filter(booking::Column::Status.is_in(BookingStatus::SEATED))
    .group_by(session::Column::Id)
    .group_by(session::Column::StartsAt)
    .group_by(session::Column::TimeZone)
    .group_by(event::Column::Title)
    .group_by(event::Column::Id)
    .group_by(booking::Column::Status)
    .order_by_desc(session::Column::StartsAt)
    .limit(TIMELINE_MAX)
    .into_tuple()
    .all(db)
    .await?;
    for (at, zone, title, event_id, status, n) in seats {
        let kind = match status {
            BookingStatus::Attended => "attended",
            BookingStatus::NoShow => "no_show",
            _ => "booked",
        };
        items.push(Activity {
            at,
            day: local_day(at, &zone),
            kind: kind.to_owned(),
            title,
            event_id: Some(event_id),
            people: u64::try_from(n).unwrap_or(0),
        });
    }

    // Sessions it hosted or led.
    let hosted: Vec<(DateTime<Utc>, String, String, i64, String)> = in_period(
        session::Entity::find().join(JoinType::InnerJoin, session::Relation::Event.def()),
        period,
        filter.programme_id,
    )
    .select_only()
    .column(session::Column::StartsAt)
    .column(session::Column::TimeZone)
    .column(event::Column::Title)
    .column(event::Column::Id)
    .column(event::Column::Kind)
    .filter(event::Column::HostSchoolId.eq(school_id))
    .order_by_desc(session::Column::StartsAt)
    .limit(TIMELINE_MAX)
    .into_tuple()
    .all(db)
    .await?;
    for (at, zone, title, event_id, kind) in hosted {
        let kind = match kind.as_str() {
            "slp_session" => "led",
            "triad_visit" => "visit_hosted",
            _ => "hosted",
        };
        items.push(Activity {
            at,
            day: local_day(at, &zone),
            kind: kind.to_owned(),
            title,
            event_id: Some(event_id),
            people: 0,
        });
    }

    // Accepted triads, in cohorts whose window overlaps the period.
    if !period.is_empty() {
        let rows: Vec<(NaiveDate, String, i32)> = triad_memberships(period, filter.programme_id)
            .filter(triad_member::Column::SchoolId.eq(school_id))
            .select_only()
            .column(cohort::Column::WindowStart)
            .column(cohort::Column::Name)
            .column(triad::Column::Position)
            .into_tuple()
            .all(db)
            .await?;
        for (first_day, cohort_name, position) in rows {
            items.push(Activity {
                at: first_day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc(),
                day: first_day,
                kind: "triad".to_owned(),
                title: format!("{cohort_name}: triad {}", position + 1),
                event_id: None,
                people: 0,
            });
        }
    }

    // Answers from its staff to surveys that are not anonymous.
    let answers: Vec<(DateTime<Utc>, String, Option<i64>)> = survey_response::Entity::find()
        .join(JoinType::InnerJoin, survey_response::Relation::Participant.def())
        .join(JoinType::InnerJoin, survey_response::Relation::Survey.def())
        .select_only()
        .column(survey_response::Column::SubmittedAt)
        .column(survey::Column::Title)
        .column(survey::Column::EventId)
        .filter(participant::Column::SchoolId.eq(school_id))
        .filter(survey::Column::Anonymous.eq(false))
        .filter(survey_response::Column::SubmittedAt.gte(start))
        .filter(survey_response::Column::SubmittedAt.lt(end))
        .order_by_desc(survey_response::Column::SubmittedAt)
        .limit(TIMELINE_MAX)
        .into_tuple()
        .all(db)
        .await?;
    for (at, title, event_id) in answers {
        items.push(Activity {
            at,
            day: at.date_naive(),
            kind: "survey_answered".to_owned(),
            title,
            event_id,
            people: 1,
        });
    }

    // Reflections from its staff.
    let reflections: Vec<(DateTime<Utc>, Option<i64>, Option<String>)> = reflection::Entity::find()
        .join(JoinType::InnerJoin, reflection::Relation::Participant.def())
        .join(JoinType::LeftJoin, reflection::Relation::Event.def())
        .select_only()
        .column(reflection::Column::CreatedAt)
        .column(reflection::Column::EventId)
        .column(event::Column::Title)
        .filter(participant::Column::SchoolId.eq(school_id))
        .filter(reflection::Column::CreatedAt.gte(start))
        .filter(reflection::Column::CreatedAt.lt(end))
        .order_by_desc(reflection::Column::CreatedAt)
        .limit(TIMELINE_MAX)
        .into_tuple()
        .all(db)
        .await?;
    for (at, event_id, title) in reflections {
        items.push(Activity {
            at,
            day: at.date_naive(),
            kind: "reflection".to_owned(),
            title: title.unwrap_or_else(|| "A reflection".to_owned()),
            event_id,
            people: 1,
        });
    }

    items.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| a.kind.cmp(&b.kind)));
    items.truncate(usize::try_from(TIMELINE_MAX).unwrap_or(usize::MAX));
    Ok(items)
}

/// The day `at` falls on in the zone `zone` names.
fn local_day(at: DateTime<Utc>, zone: &str) -> NaiveDate {
    at.with_timezone(&crate::time::stored_zone(zone)).date_naive()
}
