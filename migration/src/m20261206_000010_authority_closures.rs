//! `authority_closures`: the days a local authority's schools are shut (its published term dates:
//! holidays, and INSET days where the authority sets them). A school follows them unless it has
//! term dates of its own for that school year. Keyed by the authority's name as schools carry it
//! (`schools.local_authority`), compared without regard to case; no foreign key, since an
//! authority's dates may be loaded before its schools.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuthorityClosures {
    Table,
    Id,
    LocalAuthority,
    AuthorityKey,
    StartDate,
    EndDate,
    Kind,
    Summary,
    Source,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuthorityClosures::Table)
                    .col(big_pk_auto(AuthorityClosures::Id))
                    .col(string_len(AuthorityClosures::LocalAuthority, 200))
                    .col(string_len(AuthorityClosures::AuthorityKey, 200))
                    .col(date(AuthorityClosures::StartDate))
                    .col(date(AuthorityClosures::EndDate))
                    .col(string_len(AuthorityClosures::Kind, 32))
                    .col(string_len_null(AuthorityClosures::Summary, 500))
                    .col(string_len(AuthorityClosures::Source, 32))
                    .col(timestamp_with_time_zone(AuthorityClosures::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_authority_closures_key_dates")
                    .table(AuthorityClosures::Table)
                    .col(AuthorityClosures::AuthorityKey)
                    .col(AuthorityClosures::StartDate)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AuthorityClosures::Table).to_owned())
            .await
    }
}
