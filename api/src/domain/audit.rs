//! The audit trail: who changed what, and when. Every change made through the API, the console,
//! the participant pages, the bot or the command line is made with a [`Change`] (the time, read
//! once, and the [`Actor`]), and writes one row with it in the change's own transaction, so a
//! change and its row land or vanish together. Summaries name things (events, schools), never a
//! person's details beyond an id: the only names kept are the actors', blanked when one is erased.

use chrono::{DateTime, Utc};
use entity::audit_entry;
use sea_orm::prelude::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::contract::{self, Cursor};
use super::page::{Page, PageRequest, encode_cursor};
use super::{DomainResult, FieldError, Validator};
use crate::domain::keys::{AuthenticatedKey, KeyRole};
use crate::time::format_utc;

/// What an erased person's name becomes in the trail.
pub const ERASED_NAME: &str = "(erased)";
/// The longest summary kept (longer ones are cut, on a character boundary).
const SUMMARY_MAX: usize = 1000;

/// The kinds of actor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    /// An API key (an organiser's script or tool).
    Key,
    /// An organiser signed in to the console.
    Organiser,
    /// A participant, on their pages or through the bot.
    Participant,
    /// The Discord bot, acting on its own account.
    Bot,
    /// Convene itself: the command line, the demo, the worker.
    System,
}

impl ActorKind {
    /// Its name as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Key => "key",
            Self::Organiser => "organiser",
            Self::Participant => "participant",
            Self::Bot => "bot",
            Self::System => "system",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        [Self::Key, Self::Organiser, Self::Participant, Self::Bot, Self::System]
            .into_iter()
            .find(|k| k.as_str() == text)
    }
}

/// Who made a change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct Actor {
    /// `key`, `organiser`, `participant`, `bot` or `system`.
    pub kind: ActorKind,
    /// The key's or the person's id (none for the system).
    pub id: Option<i64>,
    /// The key's or the person's name (`(erased)` once the person is erased).
    pub name: String,
}

impl Actor {
    /// The holder of an API key: an organiser's key, or the bot's.
    pub fn key(key: &AuthenticatedKey) -> Self {
        Self {
            kind: if key.role == KeyRole::Bot {
                ActorKind::Bot
            } else {
                ActorKind::Key
            },
            id: Some(key.id),
            name: key.name.clone(),
        }
    }

    /// A person: an organiser in the console, or a participant on their pages or through the bot.
    pub fn person(kind: ActorKind, person: &entity::participant::Model) -> Self {
        Self {
            kind,
            id: Some(person.id),
            name: person.name.clone(),
        }
    }

    /// Convene itself, doing `what` (e.g. `command line`).
    pub fn system(what: &str) -> Self {
        Self {
            kind: ActorKind::System,
            id: None,
            name: what.to_owned(),
        }
    }
}

/// A change about to be made: when (read once from the clock) and by whom.
#[derive(Clone, Debug)]
pub struct Change {
    /// The time of the change.
    pub now: DateTime<Utc>,
    /// Who makes it.
    pub actor: Actor,
}

/// What a change was made to: a type (`event`, `session`, `booking`, …) and an id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Target(pub &'static str, pub i64);

impl Change {
    /// A change made `now` by `actor`.
    pub fn new(actor: Actor, now: DateTime<Utc>) -> Self {
        Self { now, actor }
    }

    /// Writes the change's audit row, in the caller's transaction.
    pub async fn record<C: ConnectionTrait>(
        &self,
        db: &C,
        action: &str,
        target: Target,
        summary: impl Into<String>,
    ) -> DomainResult<()> {
        let mut summary: String = summary.into();
        if summary.len() > SUMMARY_MAX {
            let mut cut = SUMMARY_MAX;
            while !summary.is_char_boundary(cut) {
                cut -= 1;
            }
            summary.truncate(cut);
        }
        audit_entry::ActiveModel {
            at: Set(self.now),
            actor_kind: Set(self.actor.kind.as_str().to_owned()),
            actor_id: Set(self.actor.id),
            actor_name: Set(self.actor.name.chars().take(200).collect()),
            action: Set(action.to_owned()),
            target_type: Set(target.0.to_owned()),
            target_id: Set(target.1),
            summary: Set(summary),
            ..Default::default()
        }
        .insert(db)
        .await?;
        Ok(())
    }
}

/// Removes an erased person's name from the trail, where they were the actor.
pub async fn forget_person<C: ConnectionTrait>(db: &C, participant_id: i64) -> DomainResult<()> {
    audit_entry::Entity::update_many()
        .col_expr(audit_entry::Column::ActorName, Expr::value(ERASED_NAME))
        .filter(audit_entry::Column::ActorKind.is_in([ActorKind::Organiser.as_str(), ActorKind::Participant.as_str()]))
        .filter(audit_entry::Column::ActorId.eq(participant_id))
        .exec(db)
        .await?;
    Ok(())
}

/// What a change was made to, as shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct AuditTarget {
    /// `event`, `session`, `booking`, `school`, `participant`, `programme`, `survey`, `key`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// Its id.
    pub id: i64,
}

/// One row of the audit trail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct AuditEntry {
    /// Its id.
    pub id: i64,
    /// When the change was made (UTC).
    #[schema(value_type = contract::Instant)]
    pub at: String,
    /// Who made it.
    pub actor: Actor,
    /// What was done, e.g. `event.published` or `booking.cancelled`.
    #[schema(example = "event.published")]
    pub action: String,
    /// What it was done to.
    pub target: AuditTarget,
    /// What changed, in a few words.
    pub summary: String,
}

impl From<audit_entry::Model> for AuditEntry {
    fn from(m: audit_entry::Model) -> Self {
        Self {
            id: m.id,
            at: format_utc(m.at),
            actor: Actor {
                kind: ActorKind::parse(&m.actor_kind).unwrap_or(ActorKind::System),
                id: m.actor_id,
                name: m.actor_name,
            },
            action: m.action,
            target: AuditTarget {
                kind: m.target_type,
                id: m.target_id,
            },
            summary: m.summary,
        }
    }
}

/// Filters for the audit trail. A parameter not named here is refused (`invalid_query`).
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditFilter {
    /// Only changes by this actor: `KIND` or `KIND:ID`, e.g. `organiser:12`, `key:3`, `system`.
    #[param(
        example = "organiser:12",
        pattern = "^(key|organiser|participant|bot|system)(:[0-9]{1,18})?$"
    )]
    pub actor: Option<String>,
    /// Only changes to things of this type, e.g. `event`.
    #[param(example = "event", pattern = "^[a-z_]{1,32}$")]
    pub target_type: Option<String>,
    /// Only changes to things with this id (of `target_type`, when given).
    pub target_id: Option<i64>,
    /// How many to return (default 50; more than 500 gives 500).
    #[param(minimum = 1)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    #[param(value_type = Option<Cursor>)]
    pub cursor: Option<String>,
}

/// The audit trail, newest first, filtered.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    filter: &AuditFilter,
    page: PageRequest,
) -> DomainResult<Page<AuditEntry>> {
    let mut v = Validator::new();
    let mut select = audit_entry::Entity::find();
    if let Some(actor) = filter.actor.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
        let (kind, id) = match actor.split_once(':') {
            Some((kind, id)) => (kind, Some(id.trim().parse::<i64>())),
            None => (actor, None),
        };
        match (ActorKind::parse(kind.trim()), id) {
            (Some(kind), None) => select = select.filter(audit_entry::Column::ActorKind.eq(kind.as_str())),
            (Some(kind), Some(Ok(id))) => {
                select = select
                    .filter(audit_entry::Column::ActorKind.eq(kind.as_str()))
                    .filter(audit_entry::Column::ActorId.eq(id));
            }
            _ => v.fail(
                "actor",
                "is KIND or KIND:ID, KIND one of key, organiser, participant, bot, system (e.g. organiser:12)",
            ),
        }
    }
    if let Some(kind) = filter.target_type.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        if kind.len() > 32 || !kind.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
            v.fail("target_type", "is a type such as event, session or booking");
        }
        select = select.filter(audit_entry::Column::TargetType.eq(kind));
    }
    if let Some(id) = filter.target_id {
        select = select.filter(audit_entry::Column::TargetId.eq(id));
    }
    v.finish()
        .map_err(|e: Vec<FieldError>| super::DomainError::Invalid(e))?;
    if let Some(before) = page.after {
        select = select.filter(audit_entry::Column::Id.lt(before));
    }
    let mut items = select
        .order_by_desc(audit_entry::Column::Id)
        .limit(page.limit + 1)
        .all(db)
        .await?;
    let next_cursor = if items.len() as u64 > page.limit {
        items.truncate(usize::try_from(page.limit).unwrap_or(usize::MAX));
        items.last().map(|m| encode_cursor(m.id))
    } else {
        None
    };
    Ok(Page {
        items: items.into_iter().map(AuditEntry::from).collect(),
        next_cursor,
    })
}

/// Creates (`existing` is `None`) or changes (`Some(id)`) one `what` through `work`, in a write
/// transaction of its own with its audit row (`what.created` or `what.updated`); `describe`
/// gives the saved thing's id and summary.
pub(crate) async fn save<T>(
    db: &sea_orm::DatabaseConnection,
    change: &Change,
    what: &'static str,
    existing: Option<i64>,
    work: impl for<'t> AsyncFn(&'t sea_orm::DatabaseTransaction) -> DomainResult<T>,
    describe: impl Fn(&T) -> (i64, String),
) -> DomainResult<T> {
    super::in_write_txn(db, async |txn| {
        let saved = work(txn).await?;
        let (id, summary) = describe(&saved);
        let action = format!("{what}.{}", if existing.is_some() { "updated" } else { "created" });
        change.record(txn, &action, Target(what, id), summary).await?;
        Ok(saved)
    })
    .await
}
