//! `discord_guild_events`: each published conference or SLP session mirrored in the Discord
//! server as a Guild Scheduled Event. A row per session: the Discord event's id once made, a
//! version the API bumps whenever the session changes in a way the mirror shows (published,
//! moved, renamed, cancelled), the version last synced, and the bot's lease while it syncs.
//!
//! `session_id` has no foreign key on purpose: a session that is deleted must still have its
//! Discord event removed, so its row outlives it until the bot has done so.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum DiscordGuildEvents {
    Table,
    Id,
    SessionId,
    DiscordEventId,
    Version,
    SyncedVersion,
    LeasedUntil,
    LeaseOwner,
    Attempts,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(DiscordGuildEvents::Table)
                    .col(big_pk_auto(DiscordGuildEvents::Id))
                    .col(big_integer(DiscordGuildEvents::SessionId))
                    .col(string_len_null(DiscordGuildEvents::DiscordEventId, 32))
                    .col(integer(DiscordGuildEvents::Version))
                    .col(integer(DiscordGuildEvents::SyncedVersion).default(0))
                    .col(timestamp_with_time_zone_null(DiscordGuildEvents::LeasedUntil))
                    .col(string_len_null(DiscordGuildEvents::LeaseOwner, 100))
                    .col(integer(DiscordGuildEvents::Attempts).default(0))
                    .col(timestamp_with_time_zone(DiscordGuildEvents::CreatedAt))
                    .col(timestamp_with_time_zone(DiscordGuildEvents::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_discord_guild_events_session")
                    .table(DiscordGuildEvents::Table)
                    .col(DiscordGuildEvents::SessionId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_discord_guild_events_pending")
                    .table(DiscordGuildEvents::Table)
                    .col(DiscordGuildEvents::UpdatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(DiscordGuildEvents::Table).to_owned())
            .await
    }
}
