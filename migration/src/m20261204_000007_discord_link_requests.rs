//! `discord_link_requests`: the link codes issued in the last hour, one row each, so that codes
//! can be limited per participant and per Discord user as sign-in links are. Rows older than an
//! hour are removed as new ones are written; a row goes with its participant.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum DiscordLinkRequests {
    Table,
    Id,
    DiscordId,
    ParticipantId,
    CreatedAt,
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
                    .table(DiscordLinkRequests::Table)
                    .col(big_pk_auto(DiscordLinkRequests::Id))
                    .col(string_len(DiscordLinkRequests::DiscordId, 32))
                    .col(big_integer_null(DiscordLinkRequests::ParticipantId))
                    .col(timestamp_with_time_zone(DiscordLinkRequests::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_discord_link_requests_participant_id")
                            .from(DiscordLinkRequests::Table, DiscordLinkRequests::ParticipantId)
                            .to(Participants::Table, Participants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_discord_link_requests_discord_created")
                    .table(DiscordLinkRequests::Table)
                    .col(DiscordLinkRequests::DiscordId)
                    .col(DiscordLinkRequests::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_discord_link_requests_participant_created")
                    .table(DiscordLinkRequests::Table)
                    .col(DiscordLinkRequests::ParticipantId)
                    .col(DiscordLinkRequests::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_discord_link_requests_created")
                    .table(DiscordLinkRequests::Table)
                    .col(DiscordLinkRequests::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(DiscordLinkRequests::Table).to_owned())
            .await
    }
}
