//! `surveys`: feedback surveys attached to an event or a programme, sent at set offsets.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "surveys")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(column_type = "String(StringLen::N(300))")]
    pub title: String,
    pub event_id: Option<i64>,
    pub programme_id: Option<i64>,
    /// Responses are not linked to participants.
    pub anonymous: bool,
    /// JSON array of day offsets at which invitations are sent.
    #[sea_orm(column_type = "JsonBinary")]
    pub offsets_days: Json,
    /// `draft` | `open` | `closed`.
    pub status: crate::state::SurveyStatus,
    pub closes_at: Option<DateTimeUtc>,
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
        fk_name = "fk_surveys_event_id"
    )]
    Event,
    #[sea_orm(
        belongs_to = "super::programme::Entity",
        from = "Column::ProgrammeId",
        to = "super::programme::Column::Id",
        on_delete = "Cascade",
        fk_name = "fk_surveys_programme_id"
    )]
    Programme,
    #[sea_orm(has_many = "super::survey_question::Entity")]
    SurveyQuestions,
    #[sea_orm(has_many = "super::survey_invitation::Entity")]
    SurveyInvitations,
    #[sea_orm(has_many = "super::survey_response::Entity")]
    SurveyResponses,
}

impl Related<super::event::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Event.def()
    }
}

impl Related<super::programme::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Programme.def()
    }
}

impl Related<super::survey_question::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::SurveyQuestions.def()
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

impl ActiveModelBehavior for ActiveModel {}
