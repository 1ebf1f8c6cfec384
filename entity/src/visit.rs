//! `visits`: one triad's visit to one of its member schools, scheduled on a date with a facilitator.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "visits")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub triad_id: i64,
    /// The member school being visited.
    pub host_school_id: i64,
    /// The visit date; `None` until scheduled.
    pub date: Option<Date>,
    /// The facilitating participant, once assigned.
    pub facilitator_id: Option<i64>,
    /// The `triad_visit` event created for this visit, once scheduled.
    pub event_id: Option<i64>,
    /// The session of that event, once scheduled.
    pub session_id: Option<i64>,
    /// `unscheduled` | `scheduled` | `cancelled`.
    #[sea_orm(column_type = "String(StringLen::N(32))")]
    pub status: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::triad::Entity",
        from = "Column::TriadId",
        to = "super::triad::Column::Id",
        on_delete = "Cascade",
        fk_name = "fk_visits_triad_id"
    )]
    Triad,
    #[sea_orm(
        belongs_to = "super::school::Entity",
        from = "Column::HostSchoolId",
        to = "super::school::Column::Id",
        on_delete = "Cascade",
        fk_name = "fk_visits_host_school_id"
    )]
    HostSchool,
    #[sea_orm(
        belongs_to = "super::participant::Entity",
        from = "Column::FacilitatorId",
        to = "super::participant::Column::Id",
        on_delete = "SetNull",
        fk_name = "fk_visits_facilitator_id"
    )]
    Facilitator,
    #[sea_orm(
        belongs_to = "super::event::Entity",
        from = "Column::EventId",
        to = "super::event::Column::Id",
        on_delete = "SetNull",
        fk_name = "fk_visits_event_id"
    )]
    Event,
    #[sea_orm(
        belongs_to = "super::session::Entity",
        from = "Column::SessionId",
        to = "super::session::Column::Id",
        on_delete = "SetNull",
        fk_name = "fk_visits_session_id"
    )]
    Session,
}

impl Related<super::triad::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Triad.def()
    }
}

impl Related<super::school::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::HostSchool.def()
    }
}

impl Related<super::participant::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Facilitator.def()
    }
}

impl Related<super::event::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Event.def()
    }
}

impl Related<super::session::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Session.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
