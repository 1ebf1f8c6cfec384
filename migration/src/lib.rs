//! Database migrations for Convene. The api crate runs [`Migrator`] at start-up.

pub use sea_orm_migration::prelude::*;

mod m20261123_000001_initial;
mod m20261123_000002_calendar_sequences;
mod m20261123_000003_discord_link_codes;
mod m20261123_000004_survey_invitation_once;
mod m20261202_000005_cohort_visit_times;
mod m20261202_000006_participant_web_sessions;
mod m20261204_000007_discord_link_requests;
mod m20261205_000008_sign_in_scopes;
mod m20261205_000009_audit_entries;
mod m20261206_000010_authority_closures;
mod m20261206_000011_announcements;
mod m20261206_000012_discord_guild_events;

/// All of Convene's migrations, oldest first.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_initial::Migration),
            Box::new(m20261123_000002_calendar_sequences::Migration),
            Box::new(m20261123_000003_discord_link_codes::Migration),
            Box::new(m20261123_000004_survey_invitation_once::Migration),
            Box::new(m20261202_000005_cohort_visit_times::Migration),
            Box::new(m20261202_000006_participant_web_sessions::Migration),
            Box::new(m20261204_000007_discord_link_requests::Migration),
            Box::new(m20261205_000008_sign_in_scopes::Migration),
            Box::new(m20261205_000009_audit_entries::Migration),
            Box::new(m20261206_000010_authority_closures::Migration),
            Box::new(m20261206_000011_announcements::Migration),
            Box::new(m20261206_000012_discord_guild_events::Migration),
        ]
    }
}
