//! What surveys and programmes show organisers: a survey's report (counts, means,
//! distributions, response rate, intended actions followed up), its answers day by day since it
//! was sent, and its responses as rows, and a programme's impact (attendance, surveys,
//! reflections). An anonymous survey's report and rows
//! never link an answer to a person.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use entity::state::{BookingStatus, InvitationState};
use entity::{booking, event, participant, reflection, school, session, survey, survey_invitation, survey_response};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::DomainResult;
use super::survey::{self as surveys, DONE, Question};
use crate::time::format_utc;

/// How many were asked and answered.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize, ToSchema)]
pub struct Rate {
    /// Invitations sent.
    pub invited: u64,
    /// Invitations answered in full (every required question).
    pub responded: u64,
    /// `responded / invited`, 0 when nobody was invited (three decimals).
    pub response_rate: f64,
}

impl Rate {
    fn new(invited: u64, responded: u64) -> Self {
        let rate = if invited == 0 {
            0.0
        } else {
            (responded as f64 / invited as f64 * 1000.0).round() / 1000.0
        };
        Self {
            invited,
            responded,
            response_rate: rate,
        }
    }
}

/// The rate at one offset.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, ToSchema)]
pub struct OffsetRate {
    /// Days after the event (0: sent by hand).
    pub offset_days: i64,
    /// The rate.
    #[serde(flatten)]
    pub rate: Rate,
}

/// One question's results.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, ToSchema)]
pub struct QuestionResult {
    /// Its key.
    pub key: String,
    /// Its kind.
    pub kind: String,
    /// Its prompt.
    pub prompt: String,
    /// Responses that answered it.
    pub answered: u64,
    /// Likert: the mean of the answers (two decimals), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean: Option<f64>,
    /// Likert and choice questions: how many gave each answer (every value listed, zeros included).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distribution: Option<BTreeMap<String, u64>>,
    /// Text and intended actions: the answers, oldest first (never with names).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub texts: Option<Vec<String>>,
    /// Intended actions: of the people who planned one, how many answered a follow-up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub followed_up: Option<u64>,
    /// Intended actions and follow-ups: at follow-up, how many said they did it (`yes`,
    /// `partly`, `no`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub done: Option<BTreeMap<String, u64>>,
}

/// A survey's report.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, ToSchema)]
pub struct Report {
    /// The survey.
    pub survey_id: i64,
    /// Its title.
    pub title: String,
    /// Whether its answers are anonymous.
    pub anonymous: bool,
    /// Responses with at least one answer.
    pub responses: u64,
    /// Invited and answered, overall.
    #[serde(flatten)]
    pub rate: Rate,
    /// The same by offset.
    pub by_offset: Vec<OffsetRate>,
    /// Each question's results, in order.
    pub questions: Vec<QuestionResult>,
}

struct Loaded {
    survey: survey::Model,
    questions: Vec<Question>,
    invitations: Vec<survey_invitation::Model>,
    responses: Vec<survey_response::Model>,
}

async fn load<C: ConnectionTrait>(db: &C, id: i64) -> DomainResult<Loaded> {
    let s = surveys::get(db, id).await?;
    let row = surveys::find(db, id).await?;
    let invitations = survey_invitation::Entity::find()
        .filter(survey_invitation::Column::SurveyId.eq(id))
        .order_by_asc(survey_invitation::Column::Id)
        .all(db)
        .await?;
    let responses = survey_response::Entity::find()
        .filter(survey_response::Column::SurveyId.eq(id))
        .order_by_asc(survey_response::Column::Id)
        .all(db)
        .await?;
    Ok(Loaded {
        survey: row,
        questions: s.questions,
        invitations,
        responses,
    })
}

fn answered(value: Option<&Value>) -> Option<&Value> {
    value.filter(|v| !v.is_null())
}

fn count_of<'a>(keys: impl IntoIterator<Item = &'a str>) -> BTreeMap<String, u64> {
    keys.into_iter().map(|k| (k.to_owned(), 0)).collect()
}

/// The report of survey `id`.
pub async fn survey_report<C: ConnectionTrait>(db: &C, id: i64) -> DomainResult<Report> {
    let data = load(db, id).await?;
    let answered_invitations = |filter: &dyn Fn(&survey_invitation::Model) -> bool| {
        let invited = data.invitations.iter().filter(|i| filter(i)).count() as u64;
        let responded = data
            .invitations
            .iter()
            .filter(|i| filter(i) && i.state == InvitationState::Answered)
            .count() as u64;
        Rate::new(invited, responded)
    };
    let mut offsets: Vec<i64> = data
        .invitations
        .iter()
        .map(|i| i64::from(i.offset_days.unwrap_or(0)))
        .collect();
    offsets.sort_unstable();
    offsets.dedup();
    let by_offset = offsets
        .into_iter()
        .map(|days| OffsetRate {
            offset_days: days,
            rate: answered_invitations(&|i| i64::from(i.offset_days.unwrap_or(0)) == days),
        })
        .collect();
    let responses: Vec<&survey_response::Model> = data
        .responses
        .iter()
        .filter(|r| r.answers.as_object().is_some_and(|o| o.values().any(|v| !v.is_null())))
        .collect();
    // Follow-ups, by the person (through their invitation) who planned an action.
    let person_of = |r: &survey_response::Model| {
        r.invitation_id
            .and_then(|id| data.invitations.iter().find(|i| i.id == id))
            .and_then(|i| i.participant_id.map(|p| (p, i.id)))
    };
    let follow_up_keys: Vec<&str> = data
        .questions
        .iter()
        .filter(|q| q.kind == "action_follow_up")
        .map(|q| q.key.as_str())
        .collect();
    let mut questions = Vec::with_capacity(data.questions.len());
    for q in &data.questions {
        let values: Vec<&Value> = responses
            .iter()
            .filter_map(|r| answered(r.answers.get(&q.key)))
            .collect();
        let mut result = QuestionResult {
            key: q.key.clone(),
            kind: q.kind.clone(),
            prompt: q.prompt.clone(),
            answered: values.len() as u64,
            mean: None,
            distribution: None,
            texts: None,
            followed_up: None,
            done: None,
        };
        match q.kind.as_str() {
            "likert" => {
                let numbers: Vec<i64> = values.iter().filter_map(|v| v.as_i64()).collect();
                let mut distribution = count_of(["1", "2", "3", "4", "5"]);
                for n in &numbers {
                    *distribution.entry(n.to_string()).or_default() += 1;
                }
                if !numbers.is_empty() {
                    let mean = numbers.iter().sum::<i64>() as f64 / numbers.len() as f64;
                    result.mean = Some((mean * 100.0).round() / 100.0);
                }
                result.distribution = Some(distribution);
            }
            "single_choice" | "multi_choice" => {
                let options = q.options.clone().unwrap_or_default();
                let mut distribution = count_of(options.iter().map(String::as_str));
                for v in &values {
                    let picked: Vec<&str> = match v {
                        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
                        other => other.as_str().into_iter().collect(),
                    };
                    for p in picked {
                        *distribution.entry(p.to_owned()).or_default() += 1;
                    }
                }
                result.distribution = Some(distribution);
            }
            "action_follow_up" => {
                let mut done = count_of(DONE.iter().copied());
                for v in &values {
                    if let Some(d) = v.get("done").and_then(Value::as_str) {
                        *done.entry(d.to_owned()).or_default() += 1;
                    }
                }
                result.done = Some(done);
            }
            "intended_action" => {
                result.texts = Some(values.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect());
                // Each planner's later follow-ups, counted once per planner (their latest).
                let planners: Vec<(i64, i64)> = responses
                    .iter()
                    .filter(|r| answered(r.answers.get(&q.key)).is_some())
                    .filter_map(|r| person_of(r))
                    .collect();
                let mut followed_up = 0;
                let mut done = count_of(DONE.iter().copied());
                for (person, planned_in) in &planners {
                    let latest = responses
                        .iter()
                        .filter(|r| person_of(r).is_some_and(|(p, inv)| p == *person && inv > *planned_in))
                        .filter_map(|r| follow_up_keys.iter().find_map(|k| answered(r.answers.get(*k))))
                        .next_back();
                    if let Some(answer) = latest {
                        followed_up += 1;
                        if let Some(d) = answer.get("done").and_then(Value::as_str) {
                            *done.entry(d.to_owned()).or_default() += 1;
                        }
                    }
                }
                result.followed_up = Some(followed_up);
                result.done = Some(done);
            }
            _ => {
                result.texts = Some(values.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect());
            }
        }
        questions.push(result);
    }
    Ok(Report {
        survey_id: data.survey.id,
        title: data.survey.title.clone(),
        anonymous: data.survey.anonymous,
        responses: responses.len() as u64,
        rate: answered_invitations(&|_| true),
        by_offset,
        questions,
    })
}

/// A survey's invitations and answers at the end of one day since its first invitation went out.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
pub struct ResponseDay {
    /// Whole days (24 hours) since the first invitation was sent: 0 is the first day.
    pub day: i64,
    /// Invitations sent by the end of that day.
    pub invited: u64,
    /// Invitations answered in full by the end of that day.
    pub responded: u64,
}

/// Whole days from `first` to the timestamp `column` of `survey_invitations`, as SQL: the one
/// place where PostgreSQL (`EXTRACT(EPOCH …)`, its value written `$1`) and SQLite (`julianday`,
/// its value `?`) differ here.
fn days_after(backend: DbBackend, column: &str, first: DateTime<Utc>) -> Expr {
    match backend {
        DbBackend::Postgres => Expr::cust_with_values(
            format!("CAST(FLOOR(EXTRACT(EPOCH FROM (\"{column}\" - $1)) / 86400) AS BIGINT)"),
            [first],
        ),
        _ => Expr::cust_with_values(
            format!("CAST(julianday(\"{column}\") - julianday(?) AS INTEGER)"),
            [first],
        ),
    }
}

/// How many of survey `id`'s invitations were sent and answered by the end of each day since the
/// first was sent, up to the last day anything happened (empty before it is sent). The database
/// counts them by day (two grouped queries); nothing is loaded row by row.
#[tracing::instrument(skip(db))]
pub async fn response_days<C: ConnectionTrait>(db: &C, id: i64) -> DomainResult<Vec<ResponseDay>> {
    surveys::find(db, id).await?;
    let first: Option<Option<DateTime<Utc>>> = survey_invitation::Entity::find()
        .select_only()
        .column_as(survey_invitation::Column::SentAt.min(), "first")
        .filter(survey_invitation::Column::SurveyId.eq(id))
        .filter(survey_invitation::Column::SentAt.is_not_null())
        .into_tuple()
        .one(db)
        .await?;
    let Some(first) = first.flatten() else {
        return Ok(Vec::new());
    };
    let backend = db.get_database_backend();
    let by_day = async |column: survey_invitation::Column, answered: bool| -> DomainResult<BTreeMap<i64, u64>> {
        let name = match column {
            survey_invitation::Column::RespondedAt => "responded_at",
            _ => "sent_at",
        };
        let mut select = survey_invitation::Entity::find()
            .select_only()
            .column_as(days_after(backend, name, first), "day")
            .column_as(survey_invitation::Column::Id.count(), "n")
            .filter(survey_invitation::Column::SurveyId.eq(id))
            .filter(column.is_not_null());
        if answered {
            select = select.filter(survey_invitation::Column::State.eq(InvitationState::Answered));
        }
        // Grouped by the first column: the day's expression carries a bound value, which
        // PostgreSQL would not match between the select list and the GROUP BY.
        let rows: Vec<(i64, i64)> = select.group_by(Expr::cust("1")).into_tuple().all(db).await?;
        let mut days = BTreeMap::new();
        for (day, n) in rows {
            *days.entry(day.max(0)).or_default() += u64::try_from(n).unwrap_or(0);
        }
        Ok(days)
    };
    let sent = by_day(survey_invitation::Column::SentAt, false).await?;
    let answered = by_day(survey_invitation::Column::RespondedAt, true).await?;
    let last = sent.keys().chain(answered.keys()).copied().max().unwrap_or(0);
    let (mut invited, mut responded) = (0, 0);
    Ok((0..=last)
        .map(|day| {
            invited += sent.get(&day).copied().unwrap_or(0);
            responded += answered.get(&day).copied().unwrap_or(0);
            ResponseDay {
                day,
                invited,
                responded,
            }
        })
        .collect())
}

/// A survey's responses as CSV rows: a header, then one row per response, oldest first. The
/// columns are stable: `response_id, offset_days, participant_id, name, school, submitted_at,
/// updated_at`, then one per question (three for a follow-up: `.done`, `.what_changed`,
/// `.evidence`). In an anonymous survey the person's columns are always empty.
pub async fn response_rows<C: ConnectionTrait>(db: &C, id: i64) -> DomainResult<Vec<Vec<String>>> {
    let data = load(db, id).await?;
    let mut header: Vec<String> = [
        "response_id",
        "offset_days",
        "participant_id",
        "name",
        "school",
        "submitted_at",
        "updated_at",
    ]
    .iter()
    .map(|h| (*h).to_owned())
    .collect();
    for q in &data.questions {
        if q.kind == "action_follow_up" {
            for part in ["done", "what_changed", "evidence"] {
                header.push(format!("{}.{part}", q.key));
            }
        } else {
            header.push(q.key.clone());
        }
    }
    let people: Vec<i64> = data.responses.iter().filter_map(|r| r.participant_id).collect();
    let people = if data.survey.anonymous || people.is_empty() {
        Vec::new()
    } else {
        participant::Entity::find()
            .filter(participant::Column::Id.is_in(people))
            .find_also_related(school::Entity)
            .all(db)
            .await?
    };
    let mut rows = vec![header];
    for r in &data.responses {
        let offset = r
            .invitation_id
            .and_then(|id| data.invitations.iter().find(|i| i.id == id))
            .map(|i| i.offset_days.unwrap_or(0).to_string())
            .unwrap_or_default();
        let person = r
            .participant_id
            .filter(|_| !data.survey.anonymous)
            .and_then(|id| people.iter().find(|(p, _)| p.id == id));
        let mut row = vec![
            r.id.to_string(),
            offset,
            person.map(|(p, _)| p.id.to_string()).unwrap_or_default(),
            person.map(|(p, _)| p.name.clone()).unwrap_or_default(),
            person
                .and_then(|(_, s)| s.as_ref().map(|s| s.name.clone()))
                .unwrap_or_default(),
            format_utc(r.submitted_at),
            format_utc(r.updated_at),
        ];
        for q in &data.questions {
            let value = answered(r.answers.get(&q.key));
            if q.kind == "action_follow_up" {
                for part in ["done", "what_changed", "evidence"] {
                    row.push(
                        value
                            .and_then(|v| v.get(part))
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned(),
                    );
                }
            } else {
                row.push(match value {
                    None => String::new(),
                    Some(Value::String(s)) => s.clone(),
                    Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("; "),
                    Some(other) => other.to_string(),
                });
            }
        }
        rows.push(row);
    }
    Ok(rows)
}

/// Attendance at one event.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize, ToSchema)]
pub struct Attendance {
    /// The event (none for the programme's totals).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<i64>,
    /// Its title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Seats held (confirmed, attended or marked absent).
    pub booked: u64,
    /// Marked attended.
    pub attended: u64,
    /// Marked absent.
    pub no_show: u64,
    /// Confirmed, attendance not taken.
    pub unmarked: u64,
    /// Waiting for a seat.
    pub waitlisted: u64,
}

/// A survey's results in brief.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, ToSchema)]
pub struct SurveySummary {
    /// The survey.
    pub survey_id: i64,
    /// Its title.
    pub title: String,
    /// Invited and answered.
    #[serde(flatten)]
    pub rate: Rate,
    /// Likert questions' means, by key.
    pub means: BTreeMap<String, f64>,
    /// Intended actions followed up, and how many said they did them.
    pub intended_actions: u64,
    /// Of those, how many were followed up.
    pub followed_up: u64,
    /// At follow-up: `yes`, `partly`, `no`.
    pub done: BTreeMap<String, u64>,
}

/// A programme's impact: attendance, surveys and reflections across its events.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, ToSchema)]
pub struct Impact {
    /// The programme.
    pub programme_id: i64,
    /// Its name.
    pub name: String,
    /// Attendance at each published or cancelled event.
    pub events: Vec<Attendance>,
    /// Attendance across them.
    pub totals: Attendance,
    /// Surveys of the programme or its events.
    pub surveys: Vec<SurveySummary>,
    /// Reflections on its events.
    pub reflections: u64,
    /// Reflections by event id.
    pub reflections_by_event: BTreeMap<String, u64>,
}

/// The impact of programme `id`.
pub async fn programme_impact<C: ConnectionTrait>(db: &C, id: i64) -> DomainResult<Impact> {
    let programme = super::programme::find(db, id).await?;
    let events = event::Entity::find()
        .filter(event::Column::ProgrammeId.eq(id))
        .filter(event::Column::PublishedAt.is_not_null())
        .order_by_asc(event::Column::Id)
        .all(db)
        .await?;
    let mut totals = Attendance::default();
    let mut rows = Vec::with_capacity(events.len());
    for e in &events {
        let sessions = session::Entity::find()
            .filter(session::Column::EventId.eq(e.id))
            .all(db)
            .await?;
        let bookings = booking::Entity::find()
            .filter(booking::Column::SessionId.is_in(sessions.iter().map(|s| s.id)))
            .all(db)
            .await?;
        let count = |status: BookingStatus| bookings.iter().filter(|b| b.status == status).count() as u64;
        let row = Attendance {
            event_id: Some(e.id),
            title: Some(e.title.clone()),
            booked: count(BookingStatus::Confirmed) + count(BookingStatus::Attended) + count(BookingStatus::NoShow),
            attended: count(BookingStatus::Attended),
            no_show: count(BookingStatus::NoShow),
            unmarked: count(BookingStatus::Confirmed),
            waitlisted: count(BookingStatus::Waitlisted),
        };
        totals.booked += row.booked;
        totals.attended += row.attended;
        totals.no_show += row.no_show;
        totals.unmarked += row.unmarked;
        totals.waitlisted += row.waitlisted;
        rows.push(row);
    }
    let event_ids: Vec<i64> = events.iter().map(|e| e.id).collect();
    let survey_rows = survey::Entity::find()
        .filter(
            sea_orm::Condition::any()
                .add(survey::Column::ProgrammeId.eq(id))
                .add(survey::Column::EventId.is_in(event_ids.clone())),
        )
        .order_by_asc(survey::Column::Id)
        .all(db)
        .await?;
    let mut summaries = Vec::with_capacity(survey_rows.len());
    for s in survey_rows {
        let report = survey_report(db, s.id).await?;
        let planned: Vec<&QuestionResult> = report
            .questions
            .iter()
            .filter(|q| q.kind == "intended_action")
            .collect();
        let mut done = count_of(DONE.iter().copied());
        for q in &planned {
            for (k, n) in q.done.iter().flatten() {
                *done.entry(k.clone()).or_default() += n;
            }
        }
        summaries.push(SurveySummary {
            survey_id: report.survey_id,
            title: report.title,
            rate: report.rate,
            means: report
                .questions
                .iter()
                .filter_map(|q| q.mean.map(|m| (q.key.clone(), m)))
                .collect(),
            intended_actions: planned.iter().map(|q| q.answered).sum(),
            followed_up: planned.iter().filter_map(|q| q.followed_up).sum(),
            done,
        });
    }
    let reflections = reflection::Entity::find()
        .filter(reflection::Column::EventId.is_in(event_ids))
        .all(db)
        .await?;
    let mut by_event: BTreeMap<String, u64> = BTreeMap::new();
    for r in &reflections {
        if let Some(e) = r.event_id {
            *by_event.entry(e.to_string()).or_default() += 1;
        }
    }
    Ok(Impact {
        programme_id: programme.id,
        name: programme.name,
        events: rows,
        totals,
        surveys: summaries,
        reflections: reflections.len() as u64,
        reflections_by_event: by_event,
    })
}
