//! How often someone can be sent a message that others can ask for on their behalf (a sign-in
//! link, a Discord link code), and how often one asker can ask: at most one a minute and
//! [`MAX_PER_HOUR`] an hour, counted from the rows that record what was issued.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select};

use super::DomainResult;

/// The least time between two messages.
pub const MIN_GAP_SECONDS: i64 = 60;
/// The most messages in an hour.
pub const MAX_PER_HOUR: u64 = 5;

/// How long to wait before one more may be issued, given `issued` (the rows already issued to or
/// asked for by one subject) and their `created_at` column; `None` when one may be issued now.
pub async fn wait_before_next<C, E>(
    db: &C,
    issued: Select<E>,
    created_at: E::Column,
    now: DateTime<Utc>,
) -> DomainResult<Option<Duration>>
where
    C: ConnectionTrait,
    E: EntityTrait,
{
    let times: Vec<DateTime<Utc>> = issued
        .filter(created_at.gt(now - Duration::hours(1)))
        .select_only()
        .column(created_at)
        .order_by_desc(created_at)
        .limit(MAX_PER_HOUR)
        .into_tuple()
        .all(db)
        .await?;
    let gap = times
        .first()
        .map(|latest| *latest + Duration::seconds(MIN_GAP_SECONDS) - now)
        .filter(|wait| *wait > Duration::zero());
    let full = (times.len() as u64 >= MAX_PER_HOUR)
        .then(|| times.last().map(|oldest| *oldest + Duration::hours(1) - now))
        .flatten()
        .filter(|wait| *wait > Duration::zero());
    Ok(gap.max(full))
}
