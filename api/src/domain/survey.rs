//! Follow-up surveys: question sets attached to an event or a programme, sent to the people who
//! attended at set offsets after it ended (by default 14 days, 6 weeks and 6 months), and
//! answered by email link (`/s/{token}`) or through the bot.
//!
//! The impact cycle: an `intended_action` question is asked at the first offset ("what will you
//! try?"); an `action_follow_up` question is asked at the later ones, showing the person what they
//! wrote ("In March you planned to …: did you? what changed? how do you know?").

use std::collections::BTreeMap;

use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use entity::state::{BookingStatus, EventStatus, InvitationState, SessionStatus, SurveyStatus};
use entity::{booking, event, participant, session, survey, survey_invitation, survey_question, survey_response};
use rand::RngCore as _;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder, Set,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::audit::{Change, Target};
use super::contract::{self, InstantInput, Name};
use super::outbox::{self, Kind};
use super::page::{Page, PageRequest, fetch_page};
use super::validate::{LONG_LINE_MAX, NAME_MAX, SHORT_LINE_MAX};
use super::{DomainError, DomainResult, Validator, in_write_txn, unknown_reference};
use crate::db::begin_write;
use crate::problem_code::ProblemCode;
use crate::time::format_utc;
pub use crate::wire::survey::{Invitation, Question};

/// The kinds of question.
pub const KINDS: &[&str] = &[
    "likert",
    "single_choice",
    "multi_choice",
    "text",
    "intended_action",
    "action_follow_up",
];
/// Offsets used when none are given: 14 days, 6 weeks, 6 months.
pub const DEFAULT_OFFSETS: [i64; 3] = [14, 42, 182];
/// Unanswered invitations are reminded once, this many days after they were sent.
pub const REMIND_AFTER_DAYS: i64 = 5;
/// The longest text answer.
pub const ANSWER_MAX: usize = 4000;
/// The answers to "did you?" in a follow-up.
pub const DONE: &[&str] = &["yes", "partly", "no"];
/// The kinds of question that list choices.
pub const CHOICE_KINDS: &[&str] = &["single_choice", "multi_choice"];
/// How many choices a choice question has.
pub const CHOICES: std::ops::RangeInclusive<usize> = 2..=25;
/// The longest question key.
pub const KEY_MAX: usize = 64;
/// The most questions a survey has.
pub const MAX_QUESTIONS: usize = 50;
/// The days after the event a survey may be sent, and how many offsets it may have.
pub const OFFSET_DAYS: std::ops::RangeInclusive<i64> = 1..=730;
/// The most send offsets a survey may have.
pub const MAX_OFFSETS: usize = 6;
/// The states a survey may be put in.
pub const STATUSES: [SurveyStatus; 2] = [SurveyStatus::Open, SurveyStatus::Closed];

contract::create_body!(
    /// A survey as sent to create one, `title` and `questions` required.
    NewSurvey => SurveyInput, &["title", "questions"],
    "A new survey: `title` and `questions` are required, and exactly one of `event_id` and `programme_id`, \
naming a row that exists. Question keys are each used once."
);

/// A question as sent to create a survey.
#[derive(Clone, Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuestionInput {
    /// A short unique key, e.g. `useful` (letters, digits, `_`).
    #[schema(example = "useful")]
    pub key: Option<String>,
    /// `likert` (1–5), `single_choice`, `multi_choice`, `text`, `intended_action` or `action_follow_up`.
    #[schema(example = "likert")]
    pub kind: Option<String>,
    /// What is asked.
    #[schema(example = "How useful was the session for your school?")]
    pub prompt: Option<String>,
    /// The choices, for `single_choice` and `multi_choice` (2 to 25).
    pub options: Option<Vec<String>>,
    /// Whether an answer is needed to submit (default false).
    pub required: Option<bool>,
}

/// A survey as sent to create one.
#[derive(Clone, Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SurveyInput {
    /// Its title, shown to the people asked.
    #[schema(value_type = Option<Name>, example = "Oracy in the early years: what changed?")]
    pub title: Option<String>,
    /// The event whose attendees are asked (or give `programme_id`, not both).
    pub event_id: Option<i64>,
    /// The programme whose events' attendees are asked (or give `event_id`, not both).
    pub programme_id: Option<i64>,
    /// When true, no report or export links an answer to a person.
    pub anonymous: Option<bool>,
    /// Days after the event ends to send it (default `[14, 42, 182]`).
    #[schema(value_type = Option<contract::OffsetsDays>, example = json!([14, 42, 182]))]
    pub offsets_days: Option<Vec<i64>>,
    /// The questions, in order (1 to 50, each key used once).
    #[schema(value_type = Option<contract::Questions>)]
    pub questions: Option<Vec<QuestionInput>>,
}

/// A survey as Convene shows it.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, ToSchema)]
pub struct Survey {
    /// Its id.
    pub id: i64,
    /// Its title.
    pub title: String,
    /// Its event.
    pub event_id: Option<i64>,
    /// Its programme.
    pub programme_id: Option<i64>,
    /// Whether answers are anonymous.
    pub anonymous: bool,
    /// Days after the event's end it is sent.
    pub offsets_days: Vec<i64>,
    /// `open` or `closed`.
    #[schema(value_type = contract::SurveyStatus)]
    pub status: SurveyStatus,
    /// When it stops taking answers by itself (UTC), if set.
    #[schema(value_type = Option<contract::Instant>)]
    pub closes_at: Option<String>,
    /// The questions.
    pub questions: Vec<Question>,
    /// When it was made (UTC).
    pub created_at: String,
}

/// A change to a survey: close it (no more answers or invitations) or reopen it, or set when it
/// closes by itself.
#[derive(Clone, Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SurveyChange {
    /// `open` or `closed`.
    #[schema(value_type = Option<contract::SurveyStatus>, example = "closed")]
    pub status: Option<String>,
    /// When answers stop being taken (UTC instant, e.g. `2027-09-01T00:00:00Z`); `null` for never.
    #[serde(
        default,
        deserialize_with = "super::validate::nullable",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<InstantInput>, example = "2027-09-01T00:00:00Z")]
    pub closes_at: Option<Option<String>>,
}

/// What a sweep or a send did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
pub struct Sent {
    /// Invitations made and queued now.
    pub invited: u64,
    /// Reminders queued for unanswered invitations.
    pub reminded: u64,
}

fn view(s: survey::Model, questions: Vec<survey_question::Model>) -> Survey {
    Survey {
        id: s.id,
        title: s.title,
        event_id: s.event_id,
        programme_id: s.programme_id,
        anonymous: s.anonymous,
        offsets_days: offsets_of(&s.offsets_days),
        status: s.status,
        closes_at: s.closes_at.map(format_utc),
        questions: questions.into_iter().map(question_view).collect(),
        created_at: format_utc(s.created_at),
    }
}

fn offsets_of(value: &Value) -> Vec<i64> {
    value
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_i64).collect())
        .unwrap_or_default()
}

fn question_view(q: survey_question::Model) -> Question {
    Question {
        options: q
            .options
            .as_ref()
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|o| o.as_str().map(str::to_owned)).collect()),
        key: q.key,
        kind: q.kind,
        prompt: q.prompt,
        required: q.required,
    }
}

/// The URL of an invitation's form.
pub fn form_url(public_url: &str, token: &str) -> String {
    format!("{public_url}/s/{token}")
}

fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The ready-made surveys an organiser starts from, by name: `impact` (14 days after the event:
/// was it useful, and what will you try? then 6 weeks after: did you do it, what changed, how do
/// you know?) and `intended_action` (the 14-day questions alone). Their send offsets in days and
/// their questions; `None` for another name.
pub fn template(name: &str) -> Option<(Vec<i64>, Vec<QuestionInput>)> {
    let question = |key: &str, kind: &str, prompt: &str, required: bool| QuestionInput {
        key: Some(key.to_owned()),
        kind: Some(kind.to_owned()),
        prompt: Some(prompt.to_owned()),
        options: None,
        required: Some(required),
    };
    let mut questions = vec![
        question("useful", "likert", "How useful was it for your school?", true),
        question(
            "intended_action",
            "intended_action",
            "What will you try in your school as a result, and by when?",
            true,
        ),
    ];
    let offsets = match name {
        "intended_action" => vec![14],
        "impact" => {
            questions.push(question(
                "follow_up",
                "action_follow_up",
                "Did you do what you planned? What changed, and how do you know?",
                true,
            ));
            vec![14, 42]
        }
        _ => return None,
    };
    questions.push(question(
        "anything_else",
        "text",
        "Anything else you would like the organisers to know?",
        false,
    ));
    Some((offsets, questions))
}

/// The ready-made surveys' names, with what each is called on the page.
pub const TEMPLATES: &[(&str, &str)] = &[
    (
        "impact",
        "Impact: an intended action 14 days after, and its follow-up 6 weeks after",
    ),
    ("intended_action", "An intended action only, 14 days after"),
];

/// Creates a survey (open at once).
#[tracing::instrument(skip(db, input))]
pub async fn create(db: &DatabaseConnection, input: SurveyInput, change: &Change) -> DomainResult<Survey> {
    let now = change.now;
    let mut v = Validator::new();
    let title = v.required_line("title", input.title, NAME_MAX);
    match (input.event_id, input.programme_id) {
        (Some(_), Some(_)) => v.fail("programme_id", "give event_id or programme_id, not both"),
        (None, None) => v.fail("event_id", "give the event (or programme_id) whose attendees are asked"),
        _ => {}
    }
    let offsets = input.offsets_days.unwrap_or_else(|| DEFAULT_OFFSETS.to_vec());
    if offsets.is_empty() || offsets.len() > MAX_OFFSETS {
        v.fail("offsets_days", "give 1 to 6 offsets");
    }
    for (i, days) in offsets.iter().enumerate() {
        if !OFFSET_DAYS.contains(days) {
            v.fail(format!("offsets_days[{i}]"), "must be between 1 and 730 days");
        }
    }
    let mut offsets = offsets;
    offsets.sort_unstable();
    offsets.dedup();
    let questions = input.questions.unwrap_or_default();
    if questions.is_empty() || questions.len() > MAX_QUESTIONS {
        v.fail("questions", "give 1 to 50 questions");
    }
    let mut keys: Vec<String> = Vec::new();
    let mut checked = Vec::with_capacity(questions.len());
    for (i, q) in questions.into_iter().enumerate() {
        let field = |name: &str| format!("questions[{i}].{name}");
        let key = v.required_line(&field("key"), q.key, KEY_MAX);
        if !key.is_empty() && !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            v.fail(field("key"), "may use only letters, digits and _");
        }
        if keys.contains(&key) {
            v.fail(field("key"), format!("'{key}' is used by an earlier question"));
        }
        keys.push(key.clone());
        let kind = v.one_of(&field("kind"), q.kind, KINDS).unwrap_or("text");
        let prompt = v.required_line(&field("prompt"), q.prompt, LONG_LINE_MAX);
        let options = match (kind, q.options) {
            (kind, Some(options)) if CHOICE_KINDS.contains(&kind) => {
                if !CHOICES.contains(&options.len()) {
                    v.fail(field("options"), "give 2 to 25 choices");
                }
                let options: Vec<String> = options
                    .into_iter()
                    .enumerate()
                    .map(|(j, o)| v.line(&format!("questions[{i}].options[{j}]"), o, SHORT_LINE_MAX))
                    .collect();
                Some(options)
            }
            (kind, None) if CHOICE_KINDS.contains(&kind) => {
                v.fail(field("options"), "a choice question needs its choices");
                None
            }
            (_, Some(_)) => {
                v.fail(field("options"), format!("a {kind} question has no choices"));
                None
            }
            (_, None) => None,
        };
        checked.push((key, kind, prompt, options, q.required.unwrap_or(false)));
    }
    v.finish()?;
    if let Some(id) = input.event_id
        && event::Entity::find_by_id(id).one(db).await?.is_none()
    {
        return Err(unknown_reference("event_id", "event", id));
    }
    if let Some(id) = input.programme_id
        && entity::programme::Entity::find_by_id(id).one(db).await?.is_none()
    {
        return Err(unknown_reference("programme_id", "programme", id));
    }
    in_write_txn(db, async |txn| {
        let row = survey::ActiveModel {
            title: Set(title.clone()),
            event_id: Set(input.event_id),
            programme_id: Set(input.programme_id),
            anonymous: Set(input.anonymous.unwrap_or(false)),
            offsets_days: Set(json!(offsets)),
            status: Set(SurveyStatus::Open),
            closes_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        let mut questions = Vec::with_capacity(checked.len());
        for (position, (key, kind, prompt, options, required)) in checked.iter().enumerate() {
            let q = survey_question::ActiveModel {
                survey_id: Set(row.id),
                position: Set(i32::try_from(position).unwrap_or(i32::MAX)),
                key: Set(key.clone()),
                kind: Set((*kind).to_owned()),
                prompt: Set(prompt.clone()),
                options: Set(options.as_ref().map(|o| json!(o))),
                required: Set(*required),
                ..Default::default()
            }
            .insert(txn)
            .await?;
            questions.push(q);
        }
        change
            .record(
                txn,
                "survey.created",
                Target("survey", row.id),
                format!(
                    "\"{}\" with {} question{}, sent {} day{} after",
                    row.title,
                    questions.len(),
                    if questions.len() == 1 { "" } else { "s" },
                    offsets.iter().map(i64::to_string).collect::<Vec<_>>().join(", "),
                    if offsets == [1] { "" } else { "s" }
                ),
            )
            .await?;
        Ok(view(row, questions))
    })
    .await
}

async fn questions_of<C: ConnectionTrait>(db: &C, survey_id: i64) -> DomainResult<Vec<survey_question::Model>> {
    Ok(survey_question::Entity::find()
        .filter(survey_question::Column::SurveyId.eq(survey_id))
        .order_by_asc(survey_question::Column::Position)
        .all(db)
        .await?)
}

/// Closes or reopens a survey, or sets when it closes.
pub async fn change(db: &DatabaseConnection, id: i64, input: SurveyChange, change: &Change) -> DomainResult<Survey> {
    let now = change.now;
    let existing = find(db, id).await?;
    let mut v = Validator::new();
    let status = match input.status {
        Some(status) => v.state("status", Some(status), &STATUSES),
        None => None,
    };
    let closes_at = match input.closes_at {
        Some(Some(text)) => match DateTime::parse_from_rfc3339(text.trim()) {
            Ok(t) => Some(Some(t.with_timezone(&Utc))),
            Err(_) => {
                v.fail("closes_at", "must be an instant like 2027-09-01T00:00:00Z");
                None
            }
        },
        Some(None) => Some(None),
        None => None,
    };
    v.finish()?;
    let mut active: survey::ActiveModel = existing.into();
    if let Some(status) = status {
        active.status = Set(status);
    }
    if let Some(closes_at) = closes_at {
        active.closes_at = Set(closes_at);
    }
    active.updated_at = Set(now);
    let row = in_write_txn(db, async |txn| {
        let row = active.clone().update(txn).await?;
        let closes = row.closes_at.map_or_else(|| "never".to_owned(), format_utc);
        let summary = format!("\"{}\" is {}; closes {closes}", row.title, row.status);
        change
            .record(txn, "survey.updated", Target("survey", id), summary)
            .await?;
        Ok(row)
    })
    .await?;
    let questions = questions_of(db, id).await?;
    Ok(view(row, questions))
}

/// Finds a survey row.
pub async fn find<C: ConnectionTrait>(db: &C, id: i64) -> DomainResult<survey::Model> {
    survey::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| DomainError::not_found("survey", id))
}

/// Reads a survey with its questions.
pub async fn get<C: ConnectionTrait>(db: &C, id: i64) -> DomainResult<Survey> {
    let s = find(db, id).await?;
    let questions = questions_of(db, id).await?;
    Ok(view(s, questions))
}

/// Lists surveys, oldest first.
pub async fn list<C: ConnectionTrait>(db: &C, page: PageRequest) -> DomainResult<Page<Survey>> {
    let rows = fetch_page(db, survey::Entity::find(), survey::Column::Id, |s| s.id, page).await?;
    let mut items = Vec::with_capacity(rows.items.len());
    for s in rows.items {
        let questions = questions_of(db, s.id).await?;
        items.push(view(s, questions));
    }
    Ok(Page {
        items,
        next_cursor: rows.next_cursor,
    })
}

/// The invitations of open surveys that will go out after `from` and by `until`: each survey
/// with the time its next invitations are due (the same times [`sweep`] sends them at), soonest
/// first.
pub async fn sends_due<C: ConnectionTrait>(
    db: &C,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> DomainResult<Vec<(survey::Model, DateTime<Utc>)>> {
    let open = survey::Entity::find()
        .filter(survey::Column::Status.eq(SurveyStatus::Open))
        .all(db)
        .await?;
    let mut due = Vec::new();
    for s in open.into_iter().filter(|s| is_open(s, from)) {
        let events = events_of(db, &s).await?;
        let Some(ended) = ended_at(db, &events).await? else {
            continue;
        };
        let next = offsets_of(&s.offsets_days)
            .into_iter()
            .map(|days| ended + Duration::days(days))
            .filter(|at| *at > from && *at <= until)
            .min();
        if let Some(at) = next {
            due.push((s, at));
        }
    }
    due.sort_by_key(|(s, at)| (*at, s.id));
    Ok(due)
}

/// The events a survey follows up: its event, or its programme's published events.
async fn events_of<C: ConnectionTrait>(db: &C, s: &survey::Model) -> DomainResult<Vec<event::Model>> {
    let mut select = event::Entity::find().filter(event::Column::Status.eq(EventStatus::Published));
    select = match (s.event_id, s.programme_id) {
        (Some(id), _) => select.filter(event::Column::Id.eq(id)),
        (None, Some(id)) => select.filter(event::Column::ProgrammeId.eq(id)),
        (None, None) => return Ok(Vec::new()),
    };
    Ok(select.all(db).await?)
}

/// When the survey's events ended (the last session's end), or `None` before any session.
async fn ended_at<C: ConnectionTrait>(db: &C, events: &[event::Model]) -> DomainResult<Option<DateTime<Utc>>> {
    if events.is_empty() {
        return Ok(None);
    }
    let last = session::Entity::find()
        .filter(session::Column::EventId.is_in(events.iter().map(|e| e.id)))
        .filter(session::Column::Status.ne(SessionStatus::Cancelled))
        .order_by_desc(session::Column::EndsAt)
        .one(db)
        .await?;
    Ok(last.map(|s| s.ends_at))
}

/// Who attended the survey's events: people marked attended, or confirmed on sessions whose
/// attendance was not taken.
async fn attendees<C: ConnectionTrait>(db: &C, events: &[event::Model]) -> DomainResult<Vec<participant::Model>> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let sessions: Vec<i64> = session::Entity::find()
        .filter(session::Column::EventId.is_in(events.iter().map(|e| e.id)))
        .all(db)
        .await?
        .into_iter()
        .map(|s| s.id)
        .collect();
    let bookings = booking::Entity::find()
        .filter(booking::Column::SessionId.is_in(sessions))
        .filter(booking::Column::Status.is_in([
            BookingStatus::Confirmed,
            BookingStatus::Attended,
            BookingStatus::NoShow,
        ]))
        .all(db)
        .await?;
    let taken: std::collections::HashSet<i64> = bookings
        .iter()
        .filter(|b| b.status != BookingStatus::Confirmed)
        .map(|b| b.session_id)
        .collect();
    let mut people: Vec<i64> = bookings
        .iter()
        .filter(|b| {
            b.status == BookingStatus::Attended
                || (b.status == BookingStatus::Confirmed && !taken.contains(&b.session_id))
        })
        .map(|b| b.participant_id)
        .collect();
    people.sort_unstable();
    people.dedup();
    Ok(participant::Entity::find()
        .filter(participant::Column::Id.is_in(people))
        .filter(participant::Column::ErasedAt.is_null())
        .all(db)
        .await?)
}

/// Invites each attendee of `s` once for `offset_days` (sent at `now`, the sweep's clock), queuing the invitation by email and
/// Discord (as each person chose) in the same transaction. Returns how many were invited.
async fn invite(
    db: &DatabaseConnection,
    public_url: &str,
    s: &survey::Model,
    offset_days: i64,
    due_at: DateTime<Utc>,
    people: &[participant::Model],
    now: DateTime<Utc>,
) -> DomainResult<u64> {
    let mut invited = 0;
    for person in people {
        let txn = begin_write(db).await?;
        match invite_one(&txn, public_url, s, offset_days, due_at, person, now).await {
            Ok(done) => {
                txn.commit().await?;
                invited += u64::from(done);
            }
            Err(err) => {
                txn.rollback().await.ok();
                return Err(err);
            }
        }
    }
    Ok(invited)
}

/// Invites one person (unless they already are) and queues their message; `true` if invited.
#[allow(clippy::too_many_arguments)]
async fn invite_one(
    txn: &DatabaseTransaction,
    public_url: &str,
    s: &survey::Model,
    offset_days: i64,
    due_at: DateTime<Utc>,
    person: &participant::Model,
    now: DateTime<Utc>,
) -> DomainResult<bool> {
    let token = new_token();
    let row = survey_invitation::ActiveModel {
        survey_id: Set(s.id),
        participant_id: Set(Some(person.id)),
        token: Set(token.clone()),
        offset_days: Set(Some(i32::try_from(offset_days).unwrap_or(0))),
        due_at: Set(due_at),
        sent_at: Set(Some(now)),
        responded_at: Set(None),
        reminded_at: Set(None),
        state: Set(InvitationState::Sent),
        created_at: Set(now),
        ..Default::default()
    };
    let inserted = survey_invitation::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([
                survey_invitation::Column::SurveyId,
                survey_invitation::Column::ParticipantId,
                survey_invitation::Column::OffsetDays,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(txn)
        .await?;
    if inserted == 0 {
        return Ok(false);
    }
    let payload = json!({"survey_title": s.title, "url": form_url(public_url, &token), "survey_id": s.id});
    outbox::notify_person(
        txn,
        person,
        &outbox::channels(person),
        Kind::SurveyInvitation,
        payload,
        now,
    )
    .await?;
    Ok(true)
}

/// Sends every invitation that has fallen due by `now` (offsets after the events' end) and
/// reminds, once, invitations unanswered for [`REMIND_AFTER_DAYS`]. Safe to run from several
/// processes at once: nobody is invited or reminded twice. Tests pass a later `now` to move time on.
pub async fn sweep(db: &DatabaseConnection, public_url: &str, now: DateTime<Utc>) -> DomainResult<Sent> {
    let mut sent = Sent::default();
    let open = survey::Entity::find()
        .filter(survey::Column::Status.eq(SurveyStatus::Open))
        .all(db)
        .await?;
    for s in open.into_iter().filter(|s| is_open(s, now)) {
        let events = events_of(db, &s).await?;
        let Some(ended) = ended_at(db, &events).await? else {
            continue;
        };
        let due: Vec<i64> = offsets_of(&s.offsets_days)
            .into_iter()
            .filter(|days| ended + Duration::days(*days) <= now)
            .collect();
        if due.is_empty() {
            continue;
        }
        let people = attendees(db, &events).await?;
        for days in due {
            sent.invited += invite(db, public_url, &s, days, ended + Duration::days(days), &people, now).await?;
        }
    }
    sent.reminded = remind(db, public_url, now).await?;
    Ok(sent)
}

/// Reminds unanswered invitations sent at least [`REMIND_AFTER_DAYS`] before `now`, once each.
async fn remind(db: &DatabaseConnection, public_url: &str, now: DateTime<Utc>) -> DomainResult<u64> {
    let stale = survey_invitation::Entity::find()
        .filter(survey_invitation::Column::State.eq(InvitationState::Sent))
        .filter(survey_invitation::Column::RemindedAt.is_null())
        .filter(survey_invitation::Column::SentAt.lte(now - Duration::days(REMIND_AFTER_DAYS)))
        .all(db)
        .await?;
    let mut reminded = 0;
    for invitation in stale {
        let Some(person_id) = invitation.participant_id else {
            continue;
        };
        let txn = begin_write(db).await?;
        match remind_one(&txn, public_url, &invitation, person_id, now).await {
            Ok(done) => {
                txn.commit().await?;
                reminded += u64::from(done);
            }
            Err(err) => {
                txn.rollback().await.ok();
                return Err(err);
            }
        }
    }
    Ok(reminded)
}

/// Reminds one invitation unless another process did; `true` if reminded.
async fn remind_one(
    txn: &DatabaseTransaction,
    public_url: &str,
    invitation: &survey_invitation::Model,
    person_id: i64,
    now: DateTime<Utc>,
) -> DomainResult<bool> {
    let s = find(txn, invitation.survey_id).await?;
    if !is_open(&s, now) {
        return Ok(false);
    }
    let claimed = survey_invitation::Entity::update_many()
        .col_expr(survey_invitation::Column::RemindedAt, Expr::value(now))
        .filter(survey_invitation::Column::Id.eq(invitation.id))
        .filter(survey_invitation::Column::RemindedAt.is_null())
        .filter(survey_invitation::Column::State.eq(InvitationState::Sent))
        .exec(txn)
        .await?;
    if claimed.rows_affected == 0 {
        return Ok(false);
    }
    let Some(person) = participant::Entity::find_by_id(person_id).one(txn).await? else {
        return Ok(false);
    };
    let payload = json!({
        "survey_title": s.title,
        "url": form_url(public_url, &invitation.token),
        "survey_id": s.id,
        "reminder": true,
    });
    outbox::notify_person(
        txn,
        &person,
        &outbox::channels(&person),
        Kind::SurveyInvitation,
        payload,
        now,
    )
    .await?;
    Ok(true)
}

/// Sends the survey to its events' attendees now (each person once), whatever the offsets.
pub async fn send_now(db: &DatabaseConnection, public_url: &str, id: i64, change: &Change) -> DomainResult<Sent> {
    let now = change.now;
    let s = find(db, id).await?;
    if !is_open(&s, now) {
        return Err(DomainError::conflict(
            ProblemCode::SurveyClosed,
            format!("survey {id} is closed"),
            None,
        ));
    }
    let events = events_of(db, &s).await?;
    let people = attendees(db, &events).await?;
    let invited = invite(db, public_url, &s, 0, now, &people, now).await?;
    // Each person's invitation is its own transaction (one bad address never holds back the
    // rest), so the send is recorded once they are all written.
    change
        .record(
            db,
            "survey.sent",
            Target("survey", id),
            format!(
                "\"{}\" sent: {invited} new invitation{} of {} attendee{}",
                s.title,
                if invited == 1 { "" } else { "s" },
                people.len(),
                if people.len() == 1 { "" } else { "s" }
            ),
        )
        .await?;
    Ok(Sent { invited, reminded: 0 })
}

/// The intended action a person gave in an earlier invitation of the same survey, and when.
async fn intended_action<C: ConnectionTrait>(
    db: &C,
    invitation: &survey_invitation::Model,
    questions: &[survey_question::Model],
) -> DomainResult<Option<(String, DateTime<Utc>)>> {
    let Some(person) = invitation.participant_id else {
        return Ok(None);
    };
    let keys: Vec<&str> = questions
        .iter()
        .filter(|q| q.kind == "intended_action")
        .map(|q| q.key.as_str())
        .collect();
    if keys.is_empty() {
        return Ok(None);
    }
    let earlier = survey_invitation::Entity::find()
        .filter(survey_invitation::Column::SurveyId.eq(invitation.survey_id))
        .filter(survey_invitation::Column::ParticipantId.eq(person))
        .filter(survey_invitation::Column::Id.ne(invitation.id))
        .filter(survey_invitation::Column::CreatedAt.lte(invitation.created_at))
        .order_by_asc(survey_invitation::Column::Id)
        .all(db)
        .await?;
    for e in earlier {
        if let Some(r) = survey_response::Entity::find()
            .filter(survey_response::Column::InvitationId.eq(e.id))
            .one(db)
            .await?
        {
            for key in &keys {
                if let Some(text) = r
                    .answers
                    .get(*key)
                    .and_then(Value::as_str)
                    .filter(|t| !t.trim().is_empty())
                {
                    return Ok(Some((text.to_owned(), r.submitted_at)));
                }
            }
        }
    }
    Ok(None)
}

/// The questions that apply to an invitation: intended actions when nothing was planned yet,
/// follow-ups (showing the plan back) when something was.
async fn questions_for<C: ConnectionTrait>(
    db: &C,
    invitation: &survey_invitation::Model,
) -> DomainResult<Vec<Question>> {
    let questions = questions_of(db, invitation.survey_id).await?;
    let planned = intended_action(db, invitation, &questions).await?;
    Ok(questions
        .into_iter()
        .filter_map(|q| match (q.kind.as_str(), &planned) {
            ("intended_action", Some(_)) => None,
            ("action_follow_up", None) => None,
            ("action_follow_up", Some((plan, when))) => {
                let mut q = question_view(q);
                q.prompt = format!("In {} you planned to: “{plan}”. {}", when.format("%B %Y"), q.prompt);
                Some(q)
            }
            _ => Some(question_view(q)),
        })
        .collect())
}

/// Whether answers to `s` can still be given.
fn is_open(s: &survey::Model, now: DateTime<Utc>) -> bool {
    s.status == SurveyStatus::Open && s.closes_at.is_none_or(|c| c > now)
}

/// An invitation as its person sees it.
pub async fn invitation_view<C: ConnectionTrait>(
    db: &C,
    public_url: &str,
    invitation: &survey_invitation::Model,
    now: DateTime<Utc>,
) -> DomainResult<Invitation> {
    let s = find(db, invitation.survey_id).await?;
    let questions = questions_for(db, invitation).await?;
    let answers: BTreeMap<String, Value> = survey_response::Entity::find()
        .filter(survey_response::Column::InvitationId.eq(invitation.id))
        .one(db)
        .await?
        .and_then(|r| serde_json::from_value(r.answers).ok())
        .unwrap_or_default();
    let complete = questions
        .iter()
        .filter(|q| q.required)
        .all(|q| answers.contains_key(&q.key));
    let event_title = match s.event_id {
        Some(id) => event::Entity::find_by_id(id).one(db).await?.map(|e| e.title),
        None => None,
    };
    Ok(Invitation {
        id: invitation.id,
        title: s.title.clone(),
        event_title,
        offset_days: i64::from(invitation.offset_days.unwrap_or(0)),
        questions,
        answers,
        complete,
        open: is_open(&s, now),
        url: form_url(public_url, &invitation.token),
    })
}

/// The invitation with `token`, or `None`.
pub async fn by_token<C: ConnectionTrait>(db: &C, token: &str) -> DomainResult<Option<survey_invitation::Model>> {
    Ok(survey_invitation::Entity::find()
        .filter(survey_invitation::Column::Token.eq(token))
        // An erased person's invitations are no one's: their links answer as unknown.
        .filter(survey_invitation::Column::ParticipantId.is_not_null())
        .one(db)
        .await?)
}

/// A person's invitations to open surveys, newest first.
pub async fn open_for<C: ConnectionTrait>(
    db: &C,
    public_url: &str,
    person: &participant::Model,
    now: DateTime<Utc>,
) -> DomainResult<Vec<Invitation>> {
    let rows = survey_invitation::Entity::find()
        .filter(survey_invitation::Column::ParticipantId.eq(person.id))
        .order_by_desc(survey_invitation::Column::Id)
        .all(db)
        .await?;
    let mut out = Vec::new();
    for row in rows {
        let view = invitation_view(db, public_url, &row, now).await?;
        if view.open {
            out.push(view);
        }
    }
    Ok(out)
}

/// Checks one answer against its question; `None` means "not answered" (blank).
fn check_answer(v: &mut Validator, q: &Question, value: &Value) -> Option<Value> {
    let field = format!("answers.{}", q.key);
    let text = |v: &mut Validator, value: &Value, field: &str| -> Option<String> {
        match value {
            Value::String(s) => v.optional_text(field, Some(s.clone()), ANSWER_MAX),
            Value::Null => None,
            _ => {
                v.fail(field, "must be text");
                None
            }
        }
    };
    match q.kind.as_str() {
        "likert" => match value {
            Value::Null => None,
            Value::String(s) if s.trim().is_empty() => None,
            other => {
                let n = other
                    .as_i64()
                    .or_else(|| other.as_str().and_then(|s| s.trim().parse().ok()));
                match n {
                    Some(n) if (1..=5).contains(&n) => Some(json!(n)),
                    _ => {
                        v.fail(field, "must be a whole number from 1 to 5");
                        None
                    }
                }
            }
        },
        "single_choice" => match text(v, value, &field) {
            None => None,
            Some(choice) => {
                let options = q.options.clone().unwrap_or_default();
                match options.iter().find(|o| o.eq_ignore_ascii_case(&choice)) {
                    Some(o) => Some(json!(o)),
                    None => {
                        v.fail(field, format!("must be one of: {}", options.join(", ")));
                        None
                    }
                }
            }
        },
        "multi_choice" => {
            let picked: Vec<String> = match value {
                Value::Null => Vec::new(),
                Value::Array(items) => items.iter().filter_map(|i| i.as_str().map(str::to_owned)).collect(),
                Value::String(s) => s
                    .split(',')
                    .map(|p| p.trim().to_owned())
                    .filter(|p| !p.is_empty())
                    .collect(),
                _ => {
                    v.fail(&field, "must be a list of choices");
                    return None;
                }
            };
            if picked.is_empty() {
                return None;
            }
            let options = q.options.clone().unwrap_or_default();
            let mut chosen = Vec::new();
            for p in picked {
                match options.iter().find(|o| o.eq_ignore_ascii_case(&p)) {
                    Some(o) if !chosen.contains(o) => chosen.push(o.clone()),
                    Some(_) => {}
                    None => {
                        v.fail(&field, format!("“{p}” is not one of: {}", options.join(", ")));
                        return None;
                    }
                }
            }
            Some(json!(chosen))
        }
        "action_follow_up" => {
            let Value::Object(parts) = value else {
                if !value.is_null() {
                    v.fail(
                        &field,
                        "must be {\"done\": \"yes|partly|no\", \"what_changed\": …, \"evidence\": …}",
                    );
                }
                return None;
            };
            let done = parts
                .get("done")
                .and_then(Value::as_str)
                .map(|d| d.trim().to_lowercase());
            let changed = text(
                v,
                parts.get("what_changed").unwrap_or(&Value::Null),
                &format!("{field}.what_changed"),
            );
            let evidence = text(
                v,
                parts.get("evidence").unwrap_or(&Value::Null),
                &format!("{field}.evidence"),
            );
            match done.as_deref() {
                None | Some("") if changed.is_none() && evidence.is_none() => None,
                Some(d) if DONE.contains(&d) => Some(json!({"done": d, "what_changed": changed, "evidence": evidence})),
                _ => {
                    v.fail(format!("{field}.done"), "must be yes, partly or no");
                    None
                }
            }
        }
        _ => text(v, value, &field).map(|t| json!(t)),
    }
}

/// Saves answers to an invitation: the keys given replace earlier answers (a later submission
/// edits the first), until the survey closes. With `complete`, every required question must
/// be answered (after the merge). Returns the invitation as it now stands.
pub async fn answer(
    db: &DatabaseConnection,
    public_url: &str,
    invitation: &survey_invitation::Model,
    answers: BTreeMap<String, Value>,
    complete: bool,
    now: DateTime<Utc>,
) -> DomainResult<Invitation> {
    let current = invitation_view(db, public_url, invitation, now).await?;
    if !current.open {
        return Err(DomainError::conflict(
            ProblemCode::SurveyClosed,
            "this survey has closed: answers can no longer be given or changed",
            None,
        ));
    }
    let mut v = Validator::new();
    let mut merged = current.answers.clone();
    for (key, value) in &answers {
        match current.questions.iter().find(|q| &q.key == key) {
            None => v.fail(format!("answers.{key}"), "is not a question of this survey"),
            Some(q) => match check_answer(&mut v, q, value) {
                Some(checked) => {
                    merged.insert(key.clone(), checked);
                }
                // Blank: a required question is unanswered again; an optional one is skipped
                // (kept as `null`, so a question-at-a-time client moves past it).
                None if q.required => {
                    merged.remove(key);
                }
                None => {
                    merged.insert(key.clone(), Value::Null);
                }
            },
        }
    }
    if complete {
        for q in current.questions.iter().filter(|q| q.required) {
            if !merged.contains_key(&q.key) {
                v.fail(format!("answers.{}", q.key), "is required");
            }
        }
    }
    v.finish()?;
    let s = find(db, invitation.survey_id).await?;
    let done = current
        .questions
        .iter()
        .filter(|q| q.required)
        .all(|q| merged.contains_key(&q.key));
    in_write_txn(db, async |txn| {
        let existing = survey_response::Entity::find()
            .filter(survey_response::Column::InvitationId.eq(invitation.id))
            .one(txn)
            .await?;
        match existing {
            Some(r) => {
                let mut active: survey_response::ActiveModel = r.into();
                active.answers = Set(json!(merged));
                active.updated_at = Set(now);
                active.update(txn).await?;
            }
            None => {
                survey_response::ActiveModel {
                    survey_id: Set(s.id),
                    invitation_id: Set(Some(invitation.id)),
                    participant_id: Set(if s.anonymous { None } else { invitation.participant_id }),
                    answers: Set(json!(merged)),
                    submitted_at: Set(now),
                    updated_at: Set(now),
                    ..Default::default()
                }
                .insert(txn)
                .await?;
            }
        }
        if done {
            survey_invitation::Entity::update_many()
                .col_expr(survey_invitation::Column::State, Expr::value(InvitationState::Answered))
                .col_expr(survey_invitation::Column::RespondedAt, Expr::value(now))
                .filter(survey_invitation::Column::Id.eq(invitation.id))
                .exec(txn)
                .await?;
        }
        Ok(())
    })
    .await?;
    let fresh = survey_invitation::Entity::find_by_id(invitation.id)
        .one(db)
        .await?
        .ok_or_else(|| DomainError::not_found("invitation", invitation.id))?;
    invitation_view(db, public_url, &fresh, now).await
}

/// A person's own invitation by id; someone else's is not found.
pub async fn invitation_of<C: ConnectionTrait>(
    db: &C,
    person: &participant::Model,
    id: i64,
) -> DomainResult<survey_invitation::Model> {
    survey_invitation::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|i| i.participant_id == Some(person.id))
        .ok_or_else(|| DomainError::not_found("survey invitation", id))
}
