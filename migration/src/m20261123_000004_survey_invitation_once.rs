//! One invitation per person per survey and offset, so that several instances sweeping for due
//! invitations at once (or an organiser sending twice) never invite anyone twice.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SurveyInvitations {
    Table,
    SurveyId,
    ParticipantId,
    OffsetDays,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("ux_survey_invitations_survey_participant_offset")
                    .table(SurveyInvitations::Table)
                    .col(SurveyInvitations::SurveyId)
                    .col(SurveyInvitations::ParticipantId)
                    .col(SurveyInvitations::OffsetDays)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_survey_invitations_participant_id")
                    .table(SurveyInvitations::Table)
                    .col(SurveyInvitations::ParticipantId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_survey_invitations_participant_id")
                    .table(SurveyInvitations::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("ux_survey_invitations_survey_participant_offset")
                    .table(SurveyInvitations::Table)
                    .to_owned(),
            )
            .await
    }
}
