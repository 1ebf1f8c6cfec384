//! `audit_entries`: the audit trail. Every change made through the API, the console, the pages,
//! the bot or the command line writes one row in the change's own transaction: when, who (the
//! actor's kind, id and name), what (`event.published`, `booking.cancelled`, …), to what (the
//! target's type and id) and a short summary. No foreign keys: the trail outlives what it names
//! (a deleted draft, an erased person, whose name is then blanked out of it).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuditEntries {
    Table,
    Id,
    At,
    ActorKind,
    ActorId,
    ActorName,
    Action,
    TargetType,
    TargetId,
    Summary,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuditEntries::Table)
                    .col(big_pk_auto(AuditEntries::Id))
                    .col(timestamp_with_time_zone(AuditEntries::At))
                    .col(string_len(AuditEntries::ActorKind, 16))
                    .col(big_integer_null(AuditEntries::ActorId))
                    .col(string_len(AuditEntries::ActorName, 200))
                    .col(string_len(AuditEntries::Action, 64))
                    .col(string_len(AuditEntries::TargetType, 32))
                    .col(big_integer(AuditEntries::TargetId))
                    .col(string_len(AuditEntries::Summary, 1000))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_audit_entries_target")
                    .table(AuditEntries::Table)
                    .col(AuditEntries::TargetType)
                    .col(AuditEntries::TargetId)
                    .col(AuditEntries::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_audit_entries_actor")
                    .table(AuditEntries::Table)
                    .col(AuditEntries::ActorKind)
                    .col(AuditEntries::ActorId)
                    .col(AuditEntries::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AuditEntries::Table).to_owned())
            .await
    }
}
