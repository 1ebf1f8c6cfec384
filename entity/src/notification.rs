//! `notifications`: the outbox of email and Discord messages, leased and sent by workers.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "notifications")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// `email` | `discord`.
    #[sea_orm(column_type = "String(StringLen::N(32))")]
    pub channel: String,
    /// `booking_confirmed` | `booking_waitlisted` | `booking_promoted` | `booking_cancelled` |
    /// `session_changed` | `session_cancelled` | `reminder` | `survey_invitation` | `link_code` | ...
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub kind: String,
    /// The recipient.
    pub participant_id: Option<i64>,
    pub booking_id: Option<i64>,
    pub session_id: Option<i64>,
    /// JSON data the message is rendered from.
    #[sea_orm(column_type = "JsonBinary")]
    pub payload: Json,
    /// Not to be sent before this instant.
    pub due_at: DateTimeUtc,
    /// `pending` | `leased` | `sent` | `dead` | `withdrawn`.
    pub state: crate::state::NotificationState,
    /// Number of delivery attempts so far.
    pub attempts: i32,
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
    /// A `leased` row whose lease has expired may be leased again.
    pub leased_until: Option<DateTimeUtc>,
    /// Identifies the worker holding the lease.
    #[sea_orm(column_type = "String(StringLen::N(100))", nullable)]
    pub lease_owner: Option<String>,
    pub sent_at: Option<DateTimeUtc>,
    /// Message id returned by the channel on delivery (e.g. the email `Message-ID`).
    #[sea_orm(column_type = "String(StringLen::N(255))", nullable)]
    pub message_id: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// The announcement this row delivers, if it is one.
    pub announcement_id: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::participant::Entity",
        from = "Column::ParticipantId",
        to = "super::participant::Column::Id",
        on_delete = "Cascade",
        fk_name = "fk_notifications_participant_id"
    )]
    Participant,
    #[sea_orm(
        belongs_to = "super::booking::Entity",
        from = "Column::BookingId",
        to = "super::booking::Column::Id",
        on_delete = "SetNull",
        fk_name = "fk_notifications_booking_id"
    )]
    Booking,
    #[sea_orm(
        belongs_to = "super::session::Entity",
        from = "Column::SessionId",
        to = "super::session::Column::Id",
        on_delete = "SetNull",
        fk_name = "fk_notifications_session_id"
    )]
    Session,
}

impl Related<super::participant::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Participant.def()
    }
}

impl Related<super::booking::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Booking.def()
    }
}

impl Related<super::session::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Session.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
