//! Data protection: everything Convene holds about one person, as one document (a subject access
//! request), and the retention sweep that detaches old survey responses and reflections from the
//! people who wrote them.
//!
//! Retention follows what erasing a participant does (`participant::erase`): the rows stay, so
//! counts, reports and programme impact still add up, but nothing links them to a person any more
//! (`participant_id` is cleared on the response, on the invitation it answered, and on the
//! reflection). The free text is kept: it is the network's evidence of what changed in schools,
//! which is what the reports are for, and it is kept on erasure too. Convene cannot tell whether
//! someone wrote their own name into an answer; organisers who ask for names in free-text
//! questions should not.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{
    booking, discord_link_code, event, notification, participant, reflection, school, session, survey,
    survey_invitation, survey_question, survey_response,
};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::DomainResult;
use super::participant::Participant;
use crate::db::begin_write;
use crate::time::format_utc;

/// Everything held about one participant.
#[derive(Debug, Serialize, ToSchema)]
pub struct PersonalData {
    /// When this export was made (UTC).
    pub exported_at: String,
    /// Their profile, as organisers see it.
    pub profile: Participant,
    /// Their school, if any.
    pub school: Option<SchoolRef>,
    /// How and when they hear from Convene.
    pub preferences: Preferences,
    /// Their Discord link.
    pub discord: DiscordLink,
    /// Whether they have a private calendar feed (its address is a secret and is not shown here).
    pub has_private_feed: bool,
    /// Every booking, with its session and event.
    pub bookings: Vec<BookingRecord>,
    /// Their reflections.
    pub reflections: Vec<ReflectionRecord>,
    /// The survey invitations sent to them.
    pub survey_invitations: Vec<InvitationRecord>,
    /// Their survey answers, each with its question.
    pub survey_responses: Vec<ResponseRecord>,
    /// The messages queued or sent to them (what and when; not their text).
    pub notifications: Vec<NotificationRecord>,
}

/// A school, briefly.
#[derive(Debug, Serialize, ToSchema)]
pub struct SchoolRef {
    /// Its id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Its URN.
    pub urn: String,
}

/// A participant's channels and reminders.
#[derive(Debug, Serialize, ToSchema)]
pub struct Preferences {
    /// Their time zone.
    pub time_zone: String,
    /// Whether they hear by email.
    pub notify_email: bool,
    /// Whether they hear by Discord DM.
    pub notify_discord: bool,
    /// Minutes before a session they are reminded.
    pub reminder_offsets_minutes: Vec<i64>,
    /// Start of their quiet hours.
    pub quiet_hours_start: Option<String>,
    /// End of their quiet hours.
    pub quiet_hours_end: Option<String>,
    /// Whether they take announcements (off once they unsubscribe from one).
    pub announcements: bool,
}

/// A participant's Discord link.
#[derive(Debug, Serialize, ToSchema)]
pub struct DiscordLink {
    /// The linked Discord user id, if any.
    pub discord_id: Option<String>,
    /// Link codes asked for in their name (when, and whether they were used up).
    pub link_codes: Vec<LinkCodeRecord>,
}

/// A link code asked for (never the code itself: only its hash is kept).
#[derive(Debug, Serialize, ToSchema)]
pub struct LinkCodeRecord {
    /// The Discord user that asked.
    pub discord_id: String,
    /// When it was asked for (UTC).
    pub created_at: String,
    /// When it stops working (UTC).
    pub expires_at: String,
    /// Wrong codes tried.
    pub failed_attempts: i32,
}

/// A booking with its session and event.
#[derive(Debug, Serialize, ToSchema)]
pub struct BookingRecord {
    /// The booking's id.
    pub id: i64,
    /// `confirmed`, `waitlisted`, `cancelled`, `attended` or `no_show`.
    pub status: String,
    /// Why it was waitlisted, if it was.
    pub waitlist_reason: Option<String>,
    /// The session's id.
    pub session_id: i64,
    /// The session's label.
    pub session_label: Option<String>,
    /// The event's id.
    pub event_id: Option<i64>,
    /// The event's title.
    pub event_title: Option<String>,
    /// The session's start (UTC).
    pub starts_at: String,
    /// The session's end (UTC).
    pub ends_at: String,
    /// When it was booked (UTC).
    pub created_at: String,
    /// When it was confirmed (UTC).
    pub confirmed_at: Option<String>,
    /// When it was cancelled (UTC).
    pub cancelled_at: Option<String>,
}

/// A reflection.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReflectionRecord {
    /// Its id.
    pub id: i64,
    /// The event reflected on.
    pub event_id: Option<i64>,
    /// That event's title.
    pub event_title: Option<String>,
    /// What they tried.
    pub what_tried: String,
    /// What changed.
    pub what_changed: String,
    /// How they know.
    pub evidence: String,
    /// When it was written (UTC).
    pub created_at: String,
}

/// A survey invitation.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationRecord {
    /// Its id.
    pub id: i64,
    /// The survey's id.
    pub survey_id: i64,
    /// The survey's title.
    pub survey_title: Option<String>,
    /// When it was due (UTC).
    pub due_at: String,
    /// When it was sent (UTC).
    pub sent_at: Option<String>,
    /// When it was answered (UTC).
    pub responded_at: Option<String>,
    /// Its state.
    pub state: String,
}

/// A survey response with its questions.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResponseRecord {
    /// Its id.
    pub id: i64,
    /// The survey's id.
    pub survey_id: i64,
    /// The survey's title.
    pub survey_title: Option<String>,
    /// When it was submitted (UTC).
    pub submitted_at: String,
    /// Each answer with its question.
    pub answers: Vec<AnswerRecord>,
}

/// One answer and the question it answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct AnswerRecord {
    /// The question's key.
    pub key: String,
    /// The question as asked (absent if the question was since removed).
    pub prompt: Option<String>,
    /// The question's kind.
    #[schema(value_type = Option<super::contract::QuestionKind>)]
    pub kind: Option<String>,
    /// The answer as given: its form follows the question's kind.
    #[schema(value_type = super::contract::Answer)]
    pub answer: Value,
}

/// A message to them: what and when, not its text.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationRecord {
    /// Its id.
    pub id: i64,
    /// `email` or `discord`.
    pub channel: String,
    /// What it was about (`booking_confirmed`, `reminder`, ...).
    pub kind: String,
    /// `pending`, `leased`, `sent`, `dead` or `withdrawn`.
    pub state: String,
    /// When it was due (UTC).
    pub due_at: String,
    /// When it was sent (UTC).
    pub sent_at: Option<String>,
    /// When it was queued (UTC).
    pub created_at: String,
}

fn utc(at: Option<DateTime<Utc>>) -> Option<String> {
    at.map(format_utc)
}

/// Everything held about participant `id` (404 if there is none).
#[tracing::instrument(skip(db))]
pub async fn export<C: ConnectionTrait>(db: &C, id: i64, now: DateTime<Utc>) -> DomainResult<PersonalData> {
    let person: participant::Model = super::participant::find(db, id).await?;
    let school = match person.school_id {
        Some(school_id) => school::Entity::find_by_id(school_id).one(db).await?.map(|s| SchoolRef {
            id: s.id,
            name: s.name,
            urn: s.urn,
        }),
        None => None,
    };
    let preferences = Preferences {
        time_zone: person.time_zone.clone(),
        notify_email: person.notify_email,
        notify_discord: person.notify_discord,
        reminder_offsets_minutes: super::outbox::reminder_offsets(&person),
        quiet_hours_start: person.quiet_hours_start.clone(),
        quiet_hours_end: person.quiet_hours_end.clone(),
        announcements: person.announcements,
    };
    let link_codes = discord_link_code::Entity::find()
        .filter(discord_link_code::Column::ParticipantId.eq(id))
        .order_by_asc(discord_link_code::Column::CreatedAt)
        .all(db)
        .await?
        .into_iter()
        .map(|c| LinkCodeRecord {
            discord_id: c.discord_id,
            created_at: format_utc(c.created_at),
            expires_at: format_utc(c.expires_at),
            failed_attempts: c.failed_attempts,
        })
        .collect();
    let discord = DiscordLink {
        discord_id: person.discord_id.clone(),
        link_codes,
    };

    let bookings = booking::Entity::find()
        .filter(booking::Column::ParticipantId.eq(id))
        .order_by_asc(booking::Column::Id)
        .all(db)
        .await?;
    let sessions: HashMap<i64, session::Model> = session::Entity::find()
        .filter(session::Column::Id.is_in(bookings.iter().map(|b| b.session_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    let reflections = reflection::Entity::find()
        .filter(reflection::Column::ParticipantId.eq(id))
        .order_by_asc(reflection::Column::Id)
        .all(db)
        .await?;
    let event_ids = sessions
        .values()
        .map(|s| s.event_id)
        .chain(reflections.iter().filter_map(|r| r.event_id));
    let events: HashMap<i64, String> = event::Entity::find()
        .filter(event::Column::Id.is_in(event_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|e| (e.id, e.title))
        .collect();
    let bookings = bookings
        .into_iter()
        .map(|b| {
            let s = sessions.get(&b.session_id);
            let event_id = s.map(|s| s.event_id);
            BookingRecord {
                id: b.id,
                status: b.status.to_string(),
                waitlist_reason: b.waitlist_reason,
                session_id: b.session_id,
                session_label: s.and_then(|s| s.label.clone()),
                event_id,
                event_title: event_id.and_then(|e| events.get(&e).cloned()),
                starts_at: format_utc(b.starts_at),
                ends_at: format_utc(b.ends_at),
                created_at: format_utc(b.created_at),
                confirmed_at: utc(b.confirmed_at),
                cancelled_at: utc(b.cancelled_at),
            }
        })
        .collect();
    let reflections = reflections
        .into_iter()
        .map(|r| ReflectionRecord {
            id: r.id,
            event_title: r.event_id.and_then(|e| events.get(&e).cloned()),
            event_id: r.event_id,
            what_tried: r.what_tried,
            what_changed: r.what_changed,
            evidence: r.evidence,
            created_at: format_utc(r.created_at),
        })
        .collect();

    let invitations = survey_invitation::Entity::find()
        .filter(survey_invitation::Column::ParticipantId.eq(id))
        .order_by_asc(survey_invitation::Column::Id)
        .all(db)
        .await?;
    let responses = survey_response::Entity::find()
        .filter(survey_response::Column::ParticipantId.eq(id))
        .order_by_asc(survey_response::Column::Id)
        .all(db)
        .await?;
    let survey_ids: Vec<i64> = invitations
        .iter()
        .map(|i| i.survey_id)
        .chain(responses.iter().map(|r| r.survey_id))
        .collect();
    let surveys: HashMap<i64, String> = survey::Entity::find()
        .filter(survey::Column::Id.is_in(survey_ids.clone()))
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.id, s.title))
        .collect();
    let questions = survey_question::Entity::find()
        .filter(survey_question::Column::SurveyId.is_in(survey_ids))
        .order_by_asc(survey_question::Column::Position)
        .all(db)
        .await?;
    let survey_invitations = invitations
        .into_iter()
        .map(|i| InvitationRecord {
            id: i.id,
            survey_id: i.survey_id,
            survey_title: surveys.get(&i.survey_id).cloned(),
            due_at: format_utc(i.due_at),
            sent_at: utc(i.sent_at),
            responded_at: utc(i.responded_at),
            state: i.state.to_string(),
        })
        .collect();
    let survey_responses = responses
        .into_iter()
        .map(|r| {
            let given = r.answers.as_object().cloned().unwrap_or_default();
            // In the survey's question order, then any answer whose question has gone.
            let mut answers: Vec<AnswerRecord> = questions
                .iter()
                .filter(|q| q.survey_id == r.survey_id)
                .filter_map(|q| {
                    given.get(&q.key).map(|a| AnswerRecord {
                        key: q.key.clone(),
                        prompt: Some(q.prompt.clone()),
                        kind: Some(q.kind.clone()),
                        answer: a.clone(),
                    })
                })
                .collect();
            for (key, answer) in &given {
                if !answers.iter().any(|a| &a.key == key) {
                    answers.push(AnswerRecord {
                        key: key.clone(),
                        prompt: None,
                        kind: None,
                        answer: answer.clone(),
                    });
                }
            }
            ResponseRecord {
                id: r.id,
                survey_id: r.survey_id,
                survey_title: surveys.get(&r.survey_id).cloned(),
                submitted_at: format_utc(r.submitted_at),
                answers,
            }
        })
        .collect();

    let notifications = notification::Entity::find()
        .filter(notification::Column::ParticipantId.eq(id))
        .order_by_asc(notification::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|n| NotificationRecord {
            id: n.id,
            channel: n.channel,
            kind: n.kind,
            state: n.state.to_string(),
            due_at: format_utc(n.due_at),
            sent_at: utc(n.sent_at),
            created_at: format_utc(n.created_at),
        })
        .collect();

    Ok(PersonalData {
        exported_at: format_utc(now),
        has_private_feed: person.feed_token.is_some(),
        profile: person.into(),
        school,
        preferences,
        discord,
        bookings,
        reflections,
        survey_invitations,
        survey_responses,
        notifications,
    })
}

/// What one retention sweep detached from people.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Anonymised {
    /// Survey responses no longer linked to their person.
    pub survey_responses: u64,
    /// Reflections no longer linked to their person.
    pub reflections: u64,
}

/// Detaches survey responses submitted, and reflections written, more than `retention_days`
/// before `now` from the people who wrote them (see the module's note on what is kept). `0`
/// keeps everything linked. One transaction; running it again finds nothing more to do.
#[tracing::instrument(skip(db))]
pub async fn sweep(db: &DatabaseConnection, retention_days: u32, now: DateTime<Utc>) -> DomainResult<Anonymised> {
    if retention_days == 0 {
        return Ok(Anonymised::default());
    }
    let cutoff = now - chrono::Duration::days(i64::from(retention_days));
    let txn = begin_write(db).await?;
    // The invitations those responses answered name the person too.
    let answered = Query::select()
        .column(survey_response::Column::InvitationId)
        .from(survey_response::Entity)
        .and_where(survey_response::Column::ParticipantId.is_not_null())
        .and_where(survey_response::Column::SubmittedAt.lt(cutoff))
        .and_where(survey_response::Column::InvitationId.is_not_null())
        .to_owned();
    survey_invitation::Entity::update_many()
        .col_expr(
            survey_invitation::Column::ParticipantId,
            Expr::value(Option::<i64>::None),
        )
        .filter(survey_invitation::Column::Id.in_subquery(answered))
        .exec(&*txn)
        .await?;
    let responses = survey_response::Entity::update_many()
        .col_expr(survey_response::Column::ParticipantId, Expr::value(Option::<i64>::None))
        .filter(survey_response::Column::ParticipantId.is_not_null())
        .filter(survey_response::Column::SubmittedAt.lt(cutoff))
        .exec(&*txn)
        .await?
        .rows_affected;
    let reflections = reflection::Entity::update_many()
        .col_expr(reflection::Column::ParticipantId, Expr::value(Option::<i64>::None))
        .filter(reflection::Column::ParticipantId.is_not_null())
        .filter(reflection::Column::CreatedAt.lt(cutoff))
        .exec(&*txn)
        .await?
        .rows_affected;
    txn.commit().await?;
    Ok(Anonymised {
        survey_responses: responses,
        reflections,
    })
}
