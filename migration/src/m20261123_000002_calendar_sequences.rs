//! `calendar_sequences`: the last iCalendar `SEQUENCE` sent to each person for each session, so
//! that the next invitation or cancellation always goes higher (calendar apps ignore an update
//! whose `SEQUENCE` is not above the one they hold). Also an index for finding a session's
//! pending reminders when it moves.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CalendarSequences {
    Table,
    ParticipantId,
    SessionId,
    Sequence,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Participants {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Notifications {
    Table,
    SessionId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CalendarSequences::Table)
                    .col(big_integer(CalendarSequences::ParticipantId))
                    .col(big_integer(CalendarSequences::SessionId))
                    .col(integer(CalendarSequences::Sequence))
                    .col(timestamp_with_time_zone(CalendarSequences::UpdatedAt))
                    .primary_key(
                        Index::create()
                            .col(CalendarSequences::ParticipantId)
                            .col(CalendarSequences::SessionId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_calendar_sequences_participant_id")
                            .from(CalendarSequences::Table, CalendarSequences::ParticipantId)
                            .to(Participants::Table, Participants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_calendar_sequences_session_id")
                            .from(CalendarSequences::Table, CalendarSequences::SessionId)
                            .to(Sessions::Table, Sessions::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_notifications_session_id")
                    .table(Notifications::Table)
                    .col(Notifications::SessionId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_notifications_session_id")
                    .table(Notifications::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(CalendarSequences::Table).to_owned())
            .await
    }
}
