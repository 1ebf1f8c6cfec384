//! Participants' own web pages (`/p`), for people not on Discord: `participant_sign_in_tokens`
//! holds the single-use links emailed to sign in (valid 30 minutes), `participant_web_sessions`
//! the sessions a followed link opens (30 days, revocable). Only SHA-256 hashes of the secrets
//! are stored, as for API keys and link codes. Both go with their participant.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ParticipantSignInTokens {
    Table,
    Id,
    ParticipantId,
    TokenHash,
    CreatedAt,
    ExpiresAt,
    UsedAt,
}

#[derive(DeriveIden)]
enum ParticipantWebSessions {
    Table,
    Id,
    ParticipantId,
    TokenHash,
    CreatedAt,
    ExpiresAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum Participants {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ParticipantSignInTokens::Table)
                    .col(big_pk_auto(ParticipantSignInTokens::Id))
                    .col(big_integer(ParticipantSignInTokens::ParticipantId))
                    .col(string_len_uniq(ParticipantSignInTokens::TokenHash, 64))
                    .col(timestamp_with_time_zone(ParticipantSignInTokens::CreatedAt))
                    .col(timestamp_with_time_zone(ParticipantSignInTokens::ExpiresAt))
                    .col(timestamp_with_time_zone_null(ParticipantSignInTokens::UsedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_participant_sign_in_tokens_participant_id")
                            .from(ParticipantSignInTokens::Table, ParticipantSignInTokens::ParticipantId)
                            .to(Participants::Table, Participants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_participant_sign_in_tokens_participant_created")
                    .table(ParticipantSignInTokens::Table)
                    .col(ParticipantSignInTokens::ParticipantId)
                    .col(ParticipantSignInTokens::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ParticipantWebSessions::Table)
                    .col(big_pk_auto(ParticipantWebSessions::Id))
                    .col(big_integer(ParticipantWebSessions::ParticipantId))
                    .col(string_len_uniq(ParticipantWebSessions::TokenHash, 64))
                    .col(timestamp_with_time_zone(ParticipantWebSessions::CreatedAt))
                    .col(timestamp_with_time_zone(ParticipantWebSessions::ExpiresAt))
                    .col(timestamp_with_time_zone_null(ParticipantWebSessions::RevokedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_participant_web_sessions_participant_id")
                            .from(ParticipantWebSessions::Table, ParticipantWebSessions::ParticipantId)
                            .to(Participants::Table, Participants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_participant_web_sessions_participant_id")
                    .table(ParticipantWebSessions::Table)
                    .col(ParticipantWebSessions::ParticipantId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ParticipantWebSessions::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(ParticipantSignInTokens::Table).to_owned())
            .await
    }
}
