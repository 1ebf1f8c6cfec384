//! Announcements: a message an organiser sends to an audience by email, Discord DM or a Discord
//! channel, through the outbox like every message.
//!
//! - `announcements`: what was sent (subject, body, the event it is about, the audience and the
//!   channels as asked).
//! - `announcement_recipients`: one row per person an announcement was queued for, holding the
//!   hash of the person's one-click unsubscribe token (RFC 8058) for it; unique per announcement
//!   and person.
//! - `notifications.announcement_id`: the announcement an outbox row delivers, with unique
//!   indexes so that the database itself sends a person an announcement at most once per
//!   channel, and a channel post at most once.
//! - `participants.announcements`: whether the person hears announcements (default yes); the
//!   one-click unsubscribe turns it off, never their booking messages.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Announcements {
    Table,
    Id,
    Subject,
    Body,
    EventId,
    Audience,
    Channels,
    CreatedAt,
}

#[derive(DeriveIden)]
enum AnnouncementRecipients {
    Table,
    Id,
    AnnouncementId,
    ParticipantId,
    TokenHash,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Notifications {
    Table,
    AnnouncementId,
}

#[derive(DeriveIden)]
enum Participants {
    Table,
    Id,
    Announcements,
}

#[derive(DeriveIden)]
enum Events {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Announcements::Table)
                    .col(big_pk_auto(Announcements::Id))
                    .col(string_len(Announcements::Subject, 200))
                    .col(text(Announcements::Body))
                    .col(big_integer_null(Announcements::EventId))
                    .col(json_binary(Announcements::Audience))
                    .col(json_binary(Announcements::Channels))
                    .col(timestamp_with_time_zone(Announcements::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_announcements_event_id")
                            .from(Announcements::Table, Announcements::EventId)
                            .to(Events::Table, Events::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AnnouncementRecipients::Table)
                    .col(big_pk_auto(AnnouncementRecipients::Id))
                    .col(big_integer(AnnouncementRecipients::AnnouncementId))
                    .col(big_integer(AnnouncementRecipients::ParticipantId))
                    .col(string_len(AnnouncementRecipients::TokenHash, 64).unique_key())
                    .col(timestamp_with_time_zone(AnnouncementRecipients::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_announcement_recipients_announcement_id")
                            .from(AnnouncementRecipients::Table, AnnouncementRecipients::AnnouncementId)
                            .to(Announcements::Table, Announcements::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_announcement_recipients_participant_id")
                            .from(AnnouncementRecipients::Table, AnnouncementRecipients::ParticipantId)
                            .to(Participants::Table, Participants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_announcement_recipients_once")
                    .table(AnnouncementRecipients::Table)
                    .col(AnnouncementRecipients::AnnouncementId)
                    .col(AnnouncementRecipients::ParticipantId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_announcement_recipients_participant")
                    .table(AnnouncementRecipients::Table)
                    .col(AnnouncementRecipients::ParticipantId)
                    .to_owned(),
            )
            .await?;
        // One change per statement: SQLite alters one column at a time. No foreign key on the
        // new column (SQLite cannot add one to a table); announcements are never deleted.
        manager
            .alter_table(
                Table::alter()
                    .table(Notifications::Table)
                    .add_column(big_integer_null(Notifications::AnnouncementId))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Participants::Table)
                    .add_column(boolean(Participants::Announcements).default(true))
                    .to_owned(),
            )
            .await?;
        // Each person once per announcement and channel (rows of other messages have no
        // announcement, and NULLs never clash); the post to a channel, which has no person,
        // once per announcement. Partial indexes read the same on SQLite and PostgreSQL.
        let db = manager.get_connection();
        db.execute_unprepared(
            "CREATE UNIQUE INDEX ux_notifications_announcement_person \
             ON notifications (announcement_id, participant_id, channel) \
             WHERE announcement_id IS NOT NULL AND participant_id IS NOT NULL",
        )
        .await?;
        db.execute_unprepared(
            "CREATE UNIQUE INDEX ux_notifications_announcement_post \
             ON notifications (announcement_id, channel) \
             WHERE announcement_id IS NOT NULL AND participant_id IS NULL",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("DROP INDEX ux_notifications_announcement_post")
            .await?;
        db.execute_unprepared("DROP INDEX ux_notifications_announcement_person")
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Participants::Table)
                    .drop_column(Participants::Announcements)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Notifications::Table)
                    .drop_column(Notifications::AnnouncementId)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(AnnouncementRecipients::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Announcements::Table).to_owned())
            .await
    }
}
