//! `survey_invitations`: one participant's invitation to answer a survey, reached by a secret token.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "survey_invitations")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub survey_id: i64,
    /// `None` once the participant has been deleted.
    pub participant_id: Option<i64>,
    /// Secret token in the response link.
    #[sea_orm(column_type = "String(StringLen::N(64))", unique)]
    pub token: String,
    /// Which of the survey's `offsets_days` this invitation is for; `None` = sent at once.
    pub offset_days: Option<i32>,
    /// When the invitation is due to be sent.
    pub due_at: DateTimeUtc,
    pub sent_at: Option<DateTimeUtc>,
    pub responded_at: Option<DateTimeUtc>,
    pub reminded_at: Option<DateTimeUtc>,
    /// `sent` | `answered`.
    pub state: crate::state::InvitationState,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::survey::Entity",
        from = "Column::SurveyId",
        to = "super::survey::Column::Id",
        on_delete = "Cascade",
        fk_name = "fk_survey_invitations_survey_id"
    )]
    Survey,
    #[sea_orm(
        belongs_to = "super::participant::Entity",
        from = "Column::ParticipantId",
        to = "super::participant::Column::Id",
        on_delete = "SetNull",
        fk_name = "fk_survey_invitations_participant_id"
    )]
    Participant,
    /// The response to this invitation, if any (`survey_responses.invitation_id` is unique).
    #[sea_orm(has_one = "super::survey_response::Entity")]
    SurveyResponse,
}

impl Related<super::survey::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Survey.def()
    }
}

impl Related<super::participant::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Participant.def()
    }
}

impl Related<super::survey_response::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::SurveyResponse.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
