//! `participants`: people who book, facilitate or answer surveys (teachers, leaders, organisers).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "participants")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(column_type = "String(StringLen::N(300))")]
    pub name: String,
    /// Stored lower-cased; `None` after erasure.
    #[sea_orm(column_type = "String(StringLen::N(320))", nullable, unique)]
    pub email: Option<String>,
    /// The participant's current school, if any.
    pub school_id: Option<i64>,
    #[sea_orm(column_type = "String(StringLen::N(32))")]
    pub role: String,
    /// IANA time-zone name used to render times for this participant.
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub time_zone: String,
    /// Linked Discord user id (a snowflake, as text).
    #[sea_orm(column_type = "String(StringLen::N(32))", nullable, unique)]
    pub discord_id: Option<String>,
    /// Secret token in the participant's personal iCal feed URL.
    #[sea_orm(column_type = "String(StringLen::N(64))", nullable, unique)]
    pub feed_token: Option<String>,
    pub notify_email: bool,
    pub notify_discord: bool,
    /// JSON array of minutes before a session to send reminders, e.g. `[1440, 60]`.
    #[sea_orm(column_type = "JsonBinary")]
    pub reminder_offsets_minutes: Json,
    /// Start of quiet hours as local `"HH:MM"`, e.g. `"22:00"`.
    #[sea_orm(column_type = "String(StringLen::N(5))", nullable)]
    pub quiet_hours_start: Option<String>,
    /// End of quiet hours as local `"HH:MM"`.
    #[sea_orm(column_type = "String(StringLen::N(5))", nullable)]
    pub quiet_hours_end: Option<String>,
    /// When the participant's personal data was erased.
    pub erased_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// Whether they hear announcements (default true); the one-click unsubscribe turns it off.
    pub announcements: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::school::Entity",
        from = "Column::SchoolId",
        to = "super::school::Column::Id",
        on_delete = "SetNull",
        fk_name = "fk_participants_school_id"
    )]
    School,
    #[sea_orm(has_many = "super::booking::Entity")]
    Bookings,
    #[sea_orm(has_many = "super::facilitator_assignment::Entity")]
    FacilitatorAssignments,
    /// Triad visits this participant facilitates.
    #[sea_orm(has_many = "super::visit::Entity")]
    FacilitatedVisits,
    #[sea_orm(has_many = "super::survey_invitation::Entity")]
    SurveyInvitations,
    #[sea_orm(has_many = "super::survey_response::Entity")]
    SurveyResponses,
    #[sea_orm(has_many = "super::reflection::Entity")]
    Reflections,
    #[sea_orm(has_many = "super::notification::Entity")]
    Notifications,
}

impl Related<super::school::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::School.def()
    }
}

impl Related<super::booking::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Bookings.def()
    }
}

impl Related<super::facilitator_assignment::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::FacilitatorAssignments.def()
    }
}

impl Related<super::visit::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::FacilitatedVisits.def()
    }
}

impl Related<super::survey_invitation::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::SurveyInvitations.def()
    }
}

impl Related<super::survey_response::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::SurveyResponses.def()
    }
}

impl Related<super::reflection::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Reflections.def()
    }
}

impl Related<super::notification::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Notifications.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
