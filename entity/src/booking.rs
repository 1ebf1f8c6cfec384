//! `bookings`: a participant's place (confirmed, waitlisted, ...) on a session.
//!
//! At most one active (`confirmed` or `waitlisted`) booking per (session, participant),
//! enforced by the partial unique index `ux_bookings_active`.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "bookings")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub session_id: i64,
    pub participant_id: i64,
    /// The participant's school at booking time, for per-school limits.
    pub school_id: Option<i64>,
    /// `confirmed` | `waitlisted` | `cancelled` | `attended` | `no_show`.
    pub status: crate::state::BookingStatus,
    /// Why the booking is waitlisted: `capacity` | `per_school_limit`.
    #[sea_orm(column_type = "String(StringLen::N(32))", nullable)]
    pub waitlist_reason: Option<String>,
    /// Copied from the session (and kept in step when it moves) for the clash check.
    pub starts_at: DateTimeUtc,
    /// Copied from the session (and kept in step when it moves) for the clash check.
    pub ends_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// When the booking was confirmed (at once, or on promotion from the waitlist).
    pub confirmed_at: Option<DateTimeUtc>,
    pub cancelled_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::session::Entity",
        from = "Column::SessionId",
        to = "super::session::Column::Id",
        on_delete = "Cascade",
        fk_name = "fk_bookings_session_id"
    )]
    Session,
    #[sea_orm(
        belongs_to = "super::participant::Entity",
        from = "Column::ParticipantId",
        to = "super::participant::Column::Id",
        on_delete = "Cascade",
        fk_name = "fk_bookings_participant_id"
    )]
    Participant,
    #[sea_orm(
        belongs_to = "super::school::Entity",
        from = "Column::SchoolId",
        to = "super::school::Column::Id",
        on_delete = "SetNull",
        fk_name = "fk_bookings_school_id"
    )]
    School,
    #[sea_orm(has_many = "super::notification::Entity")]
    Notifications,
}

impl Related<super::session::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Session.def()
    }
}

impl Related<super::participant::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Participant.def()
    }
}

impl Related<super::school::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::School.def()
    }
}

impl Related<super::notification::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Notifications.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
