//! Sign-in links and web sessions get a scope: `participant` for the participant pages (`/p`),
//! `organiser` for the organiser console (`/o`). A link or a cookie of one scope never opens the
//! other. Rows written before this change are the participant pages'.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ParticipantSignInTokens {
    Table,
    Scope,
}

#[derive(DeriveIden)]
enum ParticipantWebSessions {
    Table,
    Scope,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One change per statement: SQLite alters one column at a time.
        manager
            .alter_table(
                Table::alter()
                    .table(ParticipantSignInTokens::Table)
                    .add_column(string_len(ParticipantSignInTokens::Scope, 16).default("participant"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(ParticipantWebSessions::Table)
                    .add_column(string_len(ParticipantWebSessions::Scope, 16).default("participant"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ParticipantWebSessions::Table)
                    .drop_column(ParticipantWebSessions::Scope)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(ParticipantSignInTokens::Table)
                    .drop_column(ParticipantSignInTokens::Scope)
                    .to_owned(),
            )
            .await
    }
}
