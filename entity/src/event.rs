//! `events`: bookable events (a conference, an SLP session, a triad visit), each with one or more sessions.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub programme_id: Option<i64>,
    /// `conference` | `slp_session` | `triad_visit`.
    #[sea_orm(column_type = "String(StringLen::N(32))")]
    pub kind: String,
    #[sea_orm(column_type = "String(StringLen::N(300))")]
    pub title: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub description: Option<String>,
    #[sea_orm(column_type = "String(StringLen::N(500))", nullable)]
    pub venue: Option<String>,
    #[sea_orm(column_type = "String(StringLen::N(2000))", nullable)]
    pub online_url: Option<String>,
    /// IANA time-zone name the event is scheduled in.
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub time_zone: String,
    /// `draft` | `published` | `cancelled`.
    pub status: crate::state::EventStatus,
    /// The school hosting the event, if any.
    pub host_school_id: Option<i64>,
    #[sea_orm(column_type = "String(StringLen::N(100))", nullable)]
    pub topic: Option<String>,
    /// Bumped on every change to the event.
    pub revision: i32,
    pub published_at: Option<DateTimeUtc>,
    pub cancelled_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::programme::Entity",
        from = "Column::ProgrammeId",
        to = "super::programme::Column::Id",
        on_delete = "SetNull",
        fk_name = "fk_events_programme_id"
    )]
    Programme,
    #[sea_orm(
        belongs_to = "super::school::Entity",
        from = "Column::HostSchoolId",
        to = "super::school::Column::Id",
        on_delete = "SetNull",
        fk_name = "fk_events_host_school_id"
    )]
    HostSchool,
    #[sea_orm(has_many = "super::session::Entity")]
    Sessions,
    #[sea_orm(has_many = "super::visit::Entity")]
    Visits,
    #[sea_orm(has_many = "super::survey::Entity")]
    Surveys,
    #[sea_orm(has_many = "super::reflection::Entity")]
    Reflections,
}

impl Related<super::programme::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Programme.def()
    }
}

impl Related<super::school::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::HostSchool.def()
    }
}

impl Related<super::session::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Sessions.def()
    }
}

impl Related<super::visit::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Visits.def()
    }
}

impl Related<super::survey::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Surveys.def()
    }
}

impl Related<super::reflection::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Reflections.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
