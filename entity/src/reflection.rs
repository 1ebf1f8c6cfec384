//! `reflections`: a participant's written reflection on practice after an event.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "reflections")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub participant_id: Option<i64>,
    /// The event reflected on, if any.
    pub event_id: Option<i64>,
    /// What the participant tried.
    #[sea_orm(column_type = "Text")]
    pub what_tried: String,
    /// What changed as a result.
    #[sea_orm(column_type = "Text")]
    pub what_changed: String,
    /// Evidence of the change.
    #[sea_orm(column_type = "Text")]
    pub evidence: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::participant::Entity",
        from = "Column::ParticipantId",
        to = "super::participant::Column::Id",
        on_delete = "SetNull",
        fk_name = "fk_reflections_participant_id"
    )]
    Participant,
    #[sea_orm(
        belongs_to = "super::event::Entity",
        from = "Column::EventId",
        to = "super::event::Column::Id",
        on_delete = "SetNull",
        fk_name = "fk_reflections_event_id"
    )]
    Event,
}

impl Related<super::participant::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Participant.def()
    }
}

impl Related<super::event::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Event.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
