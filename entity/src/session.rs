//! `sessions`: the dated, capacity-limited time slots of an event that participants book.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "sessions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub event_id: i64,
    /// Optional label to tell sessions of one event apart (e.g. "Morning").
    #[sea_orm(column_type = "String(StringLen::N(300))", nullable)]
    pub label: Option<String>,
    pub starts_at: DateTimeUtc,
    pub ends_at: DateTimeUtc,
    /// IANA time-zone name the session is scheduled in.
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub time_zone: String,
    /// Maximum number of confirmed bookings.
    pub capacity: i32,
    /// Current number of confirmed bookings; kept `<= capacity` by guarded updates.
    pub booked: i32,
    /// Maximum confirmed bookings per school; `None` means no limit.
    pub per_school_limit: Option<i32>,
    /// Whether bookings beyond a limit go on the waitlist instead of being refused.
    pub waitlist_enabled: bool,
    /// `scheduled` | `cancelled`.
    pub status: crate::state::SessionStatus,
    /// Bumped on every time, place or status change; the iCal `SEQUENCE`.
    pub revision: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::event::Entity",
        from = "Column::EventId",
        to = "super::event::Column::Id",
        on_delete = "Cascade",
        fk_name = "fk_sessions_event_id"
    )]
    Event,
    #[sea_orm(has_many = "super::booking::Entity")]
    Bookings,
    #[sea_orm(has_many = "super::session_school_count::Entity")]
    SessionSchoolCounts,
    #[sea_orm(has_many = "super::visit::Entity")]
    Visits,
    #[sea_orm(has_many = "super::notification::Entity")]
    Notifications,
}

impl Related<super::event::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Event.def()
    }
}

impl Related<super::booking::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Bookings.def()
    }
}

impl Related<super::session_school_count::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::SessionSchoolCounts.def()
    }
}

impl Related<super::visit::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Visits.def()
    }
}

impl Related<super::notification::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Notifications.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
