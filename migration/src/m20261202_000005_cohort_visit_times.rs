//! What a cohort's visits become: the time of day they run and its zone (the sessions of the
//! `triad_visit` events), and which roles at the member schools are booked onto them.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{json_binary_null, string_len};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Cohorts {
    Table,
    TimeZone,
    VisitStarts,
    VisitEnds,
    AttendeeRoles,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite's ALTER TABLE adds one at a time.
        let columns = [
            string_len(Cohorts::TimeZone, 64).default("Europe/London").to_owned(),
            string_len(Cohorts::VisitStarts, 5).default("09:00").to_owned(),
            string_len(Cohorts::VisitEnds, 5).default("15:30").to_owned(),
            json_binary_null(Cohorts::AttendeeRoles),
        ];
        for column in columns {
            manager
                .alter_table(Table::alter().table(Cohorts::Table).add_column(column).to_owned())
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            Cohorts::AttendeeRoles,
            Cohorts::VisitEnds,
            Cohorts::VisitStarts,
            Cohorts::TimeZone,
        ] {
            manager
                .alter_table(Table::alter().table(Cohorts::Table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
