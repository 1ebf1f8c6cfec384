//! `survey_questions`: the ordered questions of a survey.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "survey_questions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub survey_id: i64,
    /// Display order within the survey.
    pub position: i32,
    /// Stable key for the answer in responses; unique within the survey.
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub key: String,
    /// `likert` | `single_choice` | `multi_choice` | `text` | `intended_action` | `action_follow_up`.
    #[sea_orm(column_type = "String(StringLen::N(32))")]
    pub kind: String,
    #[sea_orm(column_type = "Text")]
    pub prompt: String,
    /// JSON choices / scale for the question kinds that need them.
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub options: Option<Json>,
    pub required: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::survey::Entity",
        from = "Column::SurveyId",
        to = "super::survey::Column::Id",
        on_delete = "Cascade",
        fk_name = "fk_survey_questions_survey_id"
    )]
    Survey,
}

impl Related<super::survey::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Survey.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
