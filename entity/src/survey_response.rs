//! `survey_responses`: submitted answers to a survey.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "survey_responses")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub survey_id: i64,
    /// The invitation answered (at most one response per invitation).
    #[sea_orm(unique)]
    pub invitation_id: Option<i64>,
    /// The respondent; `None` for anonymous surveys or after deletion.
    pub participant_id: Option<i64>,
    /// JSON object of answers keyed by `survey_questions.key`.
    #[sea_orm(column_type = "JsonBinary")]
    pub answers: Json,
    pub submitted_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::survey::Entity",
        from = "Column::SurveyId",
        to = "super::survey::Column::Id",
        on_delete = "Cascade",
        fk_name = "fk_survey_responses_survey_id"
    )]
    Survey,
    #[sea_orm(
        belongs_to = "super::survey_invitation::Entity",
        from = "Column::InvitationId",
        to = "super::survey_invitation::Column::Id",
        on_delete = "SetNull",
        fk_name = "fk_survey_responses_invitation_id"
    )]
    Invitation,
    #[sea_orm(
        belongs_to = "super::participant::Entity",
        from = "Column::ParticipantId",
        to = "super::participant::Column::Id",
        on_delete = "SetNull",
        fk_name = "fk_survey_responses_participant_id"
    )]
    Participant,
}

impl Related<super::survey::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Survey.def()
    }
}

impl Related<super::survey_invitation::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Invitation.def()
    }
}

impl Related<super::participant::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Participant.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
