//! `discord_link_codes`: the pending code that links a Discord account to a participant, one row
//! per Discord user. A row exists whether or not the email given was known (then
//! `participant_id` is null and no code was sent), so verifying answers alike either way. Wrong
//! tries are counted per Discord user and lock them out for an hour after five.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum DiscordLinkCodes {
    Table,
    DiscordId,
    ParticipantId,
    CodeHash,
    ExpiresAt,
    FailedAttempts,
    LockedUntil,
    CreatedAt,
    UpdatedAt,
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
                    .table(DiscordLinkCodes::Table)
                    .col(string_len(DiscordLinkCodes::DiscordId, 32).primary_key())
                    .col(big_integer_null(DiscordLinkCodes::ParticipantId))
                    .col(string_len(DiscordLinkCodes::CodeHash, 64))
                    .col(timestamp_with_time_zone(DiscordLinkCodes::ExpiresAt))
                    .col(integer(DiscordLinkCodes::FailedAttempts).default(0))
                    .col(timestamp_with_time_zone_null(DiscordLinkCodes::LockedUntil))
                    .col(timestamp_with_time_zone(DiscordLinkCodes::CreatedAt))
                    .col(timestamp_with_time_zone(DiscordLinkCodes::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_discord_link_codes_participant_id")
                            .from(DiscordLinkCodes::Table, DiscordLinkCodes::ParticipantId)
                            .to(Participants::Table, Participants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(DiscordLinkCodes::Table).to_owned())
            .await
    }
}
