//! Insight: who is taking part and who is working with whom. For every school, what its staff
//! did in a period (booked, attended, hosted, led, answered) and a state — `engaged`,
//! `booked_only` or `none`, the schools where support should go; and the collaboration links
//! between schools: their staff met (attended one session, or one hosted a visit or led an SLP
//! session the other attended), or they share an accepted triad whose cohort's window overlaps the
//! period. A booking alone never links schools. Every count is made by the database, in grouped
//! queries; only one row per school (and per linked pair) comes back.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Days, NaiveDate, Utc};
use entity::state::{BookingStatus, EventStatus, SessionStatus};
use entity::{booking, cohort, event, participant, reflection, school, session, survey_response, triad, triad_member};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, JoinType, QueryFilter, QuerySelect, RelationTrait, Statement,
    Value,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{DomainResult, Validator, contract};

/// How far back a period reaches when `from` is not given.
const DEFAULT_DAYS: u64 = 365;

/// The period and the schools asked about.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct InsightFilter {
    /// The first day (`YYYY-MM-DD`, inclusive; default a year before `to`).
    #[param(value_type = Option<contract::CalendarDate>)]
    pub from: Option<String>,
    /// The last day (`YYYY-MM-DD`, inclusive; default today).
    #[param(value_type = Option<contract::CalendarDate>)]
    pub to: Option<String>,
    /// Only the events (and cohorts) of this programme.
    pub programme_id: Option<i64>,
    /// Only schools of this local authority (exact, any case).
    #[param(value_type = Option<contract::SearchText>)]
    pub local_authority: Option<String>,
    /// Only schools of this phase.
    #[param(value_type = Option<contract::Phase>)]
    pub phase: Option<String>,
}

/// A period, as read: `[start, end)` in UTC, from the first day's start to the day after the last.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    /// The first day.
    pub from: NaiveDate,
    /// The last day.
    pub to: NaiveDate,
}

impl Period {
    /// Reads `from` and `to` (defaults: the year up to today).
    pub fn read(filter: &InsightFilter, now: DateTime<Utc>) -> DomainResult<Self> {
        let mut v = Validator::new();
        let to = match &filter.to {
            Some(text) => super::closure::date(&mut v, "to", Some(text)),
            None => Some(now.date_naive()),
        };
        let from = match &filter.from {
            Some(text) => super::closure::date(&mut v, "from", Some(text)),
            None => to.and_then(|to| to.checked_sub_days(Days::new(DEFAULT_DAYS))),
        };
        v.finish()?;
        Ok(Self {
            from: from.unwrap_or_default(),
            to: to.unwrap_or_default(),
        })
    }

    /// Whether the period has no day in it (`from` after `to`): nothing happened in it.
    pub fn is_empty(self) -> bool {
        self.from > self.to
    }

    /// The first day's first instant, in UTC.
    pub fn start(self) -> DateTime<Utc> {
        self.from.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()
    }

    /// The first instant after the last day, in UTC: the period is `[start, end)`.
    pub fn end(self) -> DateTime<Utc> {
        self.to
            .checked_add_days(Days::new(1))
            .unwrap_or(self.to)
            .and_hms_opt(0, 0, 0)
            .unwrap_or_default()
            .and_utc()
    }
}

/// What a school did in the period.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Engagement {
    /// The school.
    pub school_id: i64,
    /// Its name.
    pub name: String,
    /// Its local authority.
    pub local_authority: String,
    /// Its phase.
    pub phase: String,
    /// `engaged` (its staff attended, or it hosted or led a published session), `booked_only`
    /// (its staff booked but none attended yet) or `none`.
    pub state: String,
    /// Seats its staff booked (confirmed, attended or no-show) on sessions in the period.
    pub booked: u64,
    /// Of those, attended.
    pub attended: u64,
    /// Booked, by kind of event (`conference`, `slp_session`, `triad_visit`).
    pub booked_by_kind: BTreeMap<String, u64>,
    /// Attended, by kind of event.
    pub attended_by_kind: BTreeMap<String, u64>,
    /// Sessions of published conferences it hosted.
    pub hosted: u64,
    /// Sessions of published SLP sessions it led.
    pub slp_led: u64,
    /// Triad visits it hosted.
    pub visits_hosted: u64,
    /// Accepted triads it belongs to, in cohorts whose window overlaps the period.
    pub triads: u64,
    /// Survey responses from its staff in the period.
    pub survey_responses: u64,
    /// Reflections from its staff in the period.
    pub reflections: u64,
}

/// How many schools are in each state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct StateCounts {
    /// Schools engaged.
    pub engaged: u64,
    /// Schools whose staff only booked.
    pub booked_only: u64,
    /// Schools that did nothing.
    pub none: u64,
}

impl StateCounts {
    fn add(&mut self, state: &str) {
        match state {
            ENGAGED => self.engaged += 1,
            BOOKED_ONLY => self.booked_only += 1,
            _ => self.none += 1,
        }
    }
}

/// The totals of the engagement table.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct EngagementTotals {
    /// Every school listed.
    pub all: StateCounts,
    /// By local authority.
    pub by_local_authority: BTreeMap<String, StateCounts>,
    /// By phase.
    pub by_phase: BTreeMap<String, StateCounts>,
}

/// The engagement of the network's schools: those with `none` first (where support should go),
/// then `booked_only`, then `engaged`, each by name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct EngagementReport {
    /// The first day of the period.
    pub from: String,
    /// The last day.
    pub to: String,
    /// One row per school.
    pub items: Vec<Engagement>,
    /// Counts by state, overall, by local authority and by phase.
    pub totals: EngagementTotals,
}

const ENGAGED: &str = "engaged";
const BOOKED_ONLY: &str = "booked_only";
const NONE: &str = "none";

/// The schools the filter names (all of them, or of one authority or phase).
async fn schools_of<C: ConnectionTrait>(db: &C, filter: &InsightFilter) -> DomainResult<Vec<school::Model>> {
    let mut select = school::Entity::find();
    if let Some(la) = filter.local_authority.as_deref().filter(|s| !s.trim().is_empty()) {
        select = select.filter(super::equals_ignoring_case(school::Column::LocalAuthority, la));
    }
    if let Some(phase) = filter.phase.as_deref().filter(|s| !s.trim().is_empty()) {
        select = select.filter(school::Column::Phase.eq(phase.trim()));
    }
    Ok(select.all(db).await?)
}

/// Sessions that count: scheduled, of published events, starting in the period (and of the programme).
pub(super) fn in_period<E: EntityTrait>(
    select: sea_orm::Select<E>,
    period: Period,
    programme_id: Option<i64>,
) -> sea_orm::Select<E> {
    let select = select
        .filter(session::Column::StartsAt.gte(period.start()))
        .filter(session::Column::StartsAt.lt(period.end()))
        .filter(session::Column::Status.eq(SessionStatus::Scheduled))
        .filter(event::Column::Status.eq(EventStatus::Published));
    match programme_id {
        Some(id) => select.filter(event::Column::ProgrammeId.eq(id)),
        None => select,
    }
}

/// Schools' places in accepted triads (`triad_members` joined to `triads` and `cohorts`) of
/// cohorts whose window overlaps the period (and of the programme).
pub(super) fn triad_memberships(period: Period, programme_id: Option<i64>) -> sea_orm::Select<triad_member::Entity> {
    let triads = triad_member::Entity::find()
        .join(JoinType::InnerJoin, triad_member::Relation::Triad.def())
        .join(JoinType::InnerJoin, triad::Relation::Cohort.def())
        .filter(triad::Column::Status.eq("accepted"))
        .filter(cohort::Column::WindowStart.lte(period.to))
        .filter(cohort::Column::WindowEnd.gte(period.from));
    match programme_id {
        Some(id) => triads.filter(cohort::Column::ProgrammeId.eq(id)),
        None => triads,
    }
}

/// Counts by school of rows grouped by `school` (a column of the query's joined tables).
async fn counts_by_school<C: ConnectionTrait, E: EntityTrait>(
    db: &C,
    select: sea_orm::Select<E>,
    school: impl sea_orm::ColumnTrait,
    counted: impl sea_orm::ColumnTrait,
) -> DomainResult<HashMap<i64, u64>> {
    let rows: Vec<(Option<i64>, i64)> = select
        .select_only()
        .column(school)
        .column_as(counted.count(), "n")
        .group_by(school)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(school, n)| Some((school?, u64::try_from(n).unwrap_or(0))))
        .collect())
}

/// What each school (of the filter) did in the period.
pub async fn engagement<C: ConnectionTrait>(
    db: &C,
    filter: &InsightFilter,
    now: DateTime<Utc>,
) -> DomainResult<EngagementReport> {
    let period = Period::read(filter, now)?;
    let schools = schools_of(db, filter).await?;

    // Seats booked and attended, by school, kind of event and state of the booking.
    let seats: Vec<(i64, String, BookingStatus, i64)> = in_period(
        booking::Entity::find()
            .inner_join(session::Entity)
            .join(JoinType::InnerJoin, session::Relation::Event.def()),
        period,
        filter.programme_id,
    )
    .select_only()
    .column(booking::Column::SchoolId)
    .column(event::Column::Kind)
    .column(booking::Column::Status)
    .column_as(booking::Column::Id.count(), "n")
    .filter(booking::Column::SchoolId.is_not_null())
    .filter(booking::Column::Status.is_in(BookingStatus::SEATED))
    .group_by(booking::Column::SchoolId)
    .group_by(event::Column::Kind)
    .group_by(booking::Column::Status)
    .into_tuple()
    .all(db)
    .await?;

    // Sessions hosted or led, by school and kind of event.
    let hosted: Vec<(i64, String, i64)> = in_period(
        session::Entity::find().inner_join(event::Entity),
        period,
        filter.programme_id,
    )
    .select_only()
    .column(event::Column::HostSchoolId)
    .column(event::Column::Kind)
    .column_as(session::Column::Id.count(), "n")
    .filter(event::Column::HostSchoolId.is_not_null())
    .group_by(event::Column::HostSchoolId)
    .group_by(event::Column::Kind)
    .into_tuple()
    .all(db)
    .await?;

    let triads = triad_memberships(period, filter.programme_id);
    let triads = if period.is_empty() {
        HashMap::new()
    } else {
        counts_by_school(
            db,
            triads,
            triad_member::Column::SchoolId,
            triad_member::Column::TriadId,
        )
        .await?
    };
    let responses = counts_by_school(
        db,
        survey_response::Entity::find()
            .inner_join(participant::Entity)
            .filter(survey_response::Column::SubmittedAt.gte(period.start()))
            .filter(survey_response::Column::SubmittedAt.lt(period.end())),
        participant::Column::SchoolId,
        survey_response::Column::Id,
    )
    .await?;
    let reflections = counts_by_school(
        db,
        reflection::Entity::find()
            .inner_join(participant::Entity)
            .filter(reflection::Column::CreatedAt.gte(period.start()))
            .filter(reflection::Column::CreatedAt.lt(period.end())),
        participant::Column::SchoolId,
        reflection::Column::Id,
    )
    .await?;

    let mut rows: BTreeMap<i64, Engagement> = schools
        .into_iter()
        .map(|s| {
            (
                s.id,
                Engagement {
                    school_id: s.id,
                    name: s.name,
                    local_authority: s.local_authority,
                    phase: s.phase,
                    ..Engagement::default()
                },
            )
        })
        .collect();
    for (school_id, kind, status, n) in seats {
        let Some(row) = rows.get_mut(&school_id) else { continue };
        let n = u64::try_from(n).unwrap_or(0);
        row.booked += n;
        *row.booked_by_kind.entry(kind.clone()).or_default() += n;
        if status == BookingStatus::Attended {
            row.attended += n;
            *row.attended_by_kind.entry(kind).or_default() += n;
        }
    }
    for (school_id, kind, n) in hosted {
        let Some(row) = rows.get_mut(&school_id) else { continue };
        let n = u64::try_from(n).unwrap_or(0);
        match kind.as_str() {
            "slp_session" => row.slp_led += n,
            "triad_visit" => row.visits_hosted += n,
            _ => row.hosted += n,
        }
    }
    for row in rows.values_mut() {
        row.triads = triads.get(&row.school_id).copied().unwrap_or(0);
        row.survey_responses = responses.get(&row.school_id).copied().unwrap_or(0);
        row.reflections = reflections.get(&row.school_id).copied().unwrap_or(0);
        row.state = if row.attended > 0 || row.hosted + row.slp_led + row.visits_hosted > 0 {
            ENGAGED
        } else if row.booked > 0 {
            BOOKED_ONLY
        } else {
            NONE
        }
        .to_owned();
    }
    let mut items: Vec<Engagement> = rows.into_values().collect();
    let rank = |state: &str| match state {
        NONE => 0,
        BOOKED_ONLY => 1,
        _ => 2,
    };
    items.sort_by(|a, b| {
        rank(&a.state)
            .cmp(&rank(&b.state))
            .then_with(|| a.name.to_lowercase().cmp(&b.name.to_lowercase()))
            .then(a.school_id.cmp(&b.school_id))
    });
    let mut totals = EngagementTotals::default();
    for row in &items {
        totals.all.add(&row.state);
        totals
            .by_local_authority
            .entry(row.local_authority.clone())
            .or_default()
            .add(&row.state);
        totals.by_phase.entry(row.phase.clone()).or_default().add(&row.state);
    }
    Ok(EngagementReport {
        from: period.from.to_string(),
        to: period.to.to_string(),
        items,
        totals,
    })
}

/// A grouped pair query's row: `(a, b, n, new)`, as [`pairs`] reads it.
type Pair = (i64, i64, i64, i64);

/// The kinds of link, in the order they are listed.
const LINK_KINDS: [&str; 3] = ["attended_together", "hosted", "triad"];

/// Two schools that worked together, how, and how often.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct Link {
    /// The two schools, the lower id first.
    pub school_ids: [i64; 2],
    /// How they met: `attended_together`, `hosted` (one hosted a visit or led an SLP session
    /// the other attended), `triad`.
    pub kinds: Vec<String>,
    /// Sessions they met at (each once, however they met there), plus triads they share.
    pub count: u64,
}

/// A school's partners.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct Partners {
    /// The school.
    pub school_id: i64,
    /// Distinct schools it is linked to.
    pub partners: u64,
    /// Of those, outside its own local authority.
    pub partners_outside_authority: u64,
}

/// Links between local authorities: `matrix[i][j]` counts the links between schools of
/// `names[i]` and `names[j]` (the diagonal: links within one authority).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct AuthorityMatrix {
    /// The authorities, by name.
    pub names: Vec<String>,
    /// The links between them, symmetric.
    pub matrix: Vec<Vec<u64>>,
}

/// Who works with whom.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Collaboration {
    /// The first day of the period.
    pub from: String,
    /// The last day.
    pub to: String,
    /// Every linked pair, by their ids.
    pub links: Vec<Link>,
    /// Every school (of the filter), with its partners.
    pub schools: Vec<Partners>,
    /// The links between local authorities.
    pub authorities: AuthorityMatrix,
}

/// Runs a grouped pair query (`?` placeholders, numbered for PostgreSQL) returning
/// `(a, b, n, new)`: the pair, how many times they were linked this way, and how many of those
/// no other kind of link already counts.
async fn pairs<C: ConnectionTrait>(db: &C, sql: String, values: Vec<Value>) -> DomainResult<Vec<Pair>> {
    let backend = db.get_database_backend();
    let sql = if backend == DbBackend::Postgres {
        let mut numbered = String::with_capacity(sql.len() + 8);
        let mut n = 0;
        for c in sql.chars() {
            if c == '?' {
                n += 1;
                numbered.push_str(&format!("${n}"));
            } else {
                numbered.push(c);
            }
        }
        numbered
    } else {
        sql
    };
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?;
    rows.into_iter()
        .map(|row| {
            Ok((
                row.try_get_by_index(0)?,
                row.try_get_by_index(1)?,
                row.try_get_by_index(2)?,
                row.try_get_by_index(3)?,
            ))
        })
        .collect::<Result<_, sea_orm::DbErr>>()
        .map_err(Into::into)
}

/// The sessions that count, as SQL (`s` and `e` joined), with their values.
fn period_sql(period: Period, programme_id: Option<i64>) -> (String, Vec<Value>) {
    let mut sql = format!(
        "s.starts_at >= ? AND s.starts_at < ? AND s.status = '{}' AND e.status = '{}'",
        SessionStatus::Scheduled.as_str(),
        EventStatus::Published.as_str()
    );
    let mut values = vec![Value::from(period.start()), Value::from(period.end())];
    if let Some(id) = programme_id {
        sql.push_str(" AND e.programme_id = ?");
        values.push(Value::from(id));
    }
    (sql, values)
}

/// The three kinds of link's grouped pairs `(a, b, n)` in the period, in the order of
/// [`LINK_KINDS`]; with `involving`, only sessions and triads that school took part in.
async fn link_rows<C: ConnectionTrait>(
    db: &C,
    period: Period,
    programme_id: Option<i64>,
    involving: Option<i64>,
) -> DomainResult<[Vec<Pair>; 3]> {
    let attended = BookingStatus::Attended.as_str();
    let (when, values) = period_sql(period, programme_id);
    let mut together_values = values.clone();
    let mut hosted_values = values;
    let (with_school, by_school) = match involving {
        Some(id) => {
            together_values.push(Value::from(id));
            hosted_values.extend([Value::from(id), Value::from(id)]);
            (
                format!(
                    " AND s.id IN (SELECT w.session_id FROM bookings w WHERE w.school_id = ? AND w.status = '{attended}')"
                ),
                " AND (e.host_school_id = ? OR b.school_id = ?)",
            )
        }
        None => (String::new(), ""),
    };

    // Staff of two schools attended one session: distinct schools per session, paired (the
    // schools present are worked out once, not once for each side of the pairing).
    let together = pairs(
        db,
        format!(
            "WITH present AS MATERIALIZED (SELECT DISTINCT b.session_id, b.school_id FROM bookings b \
             JOIN sessions s ON s.id = b.session_id JOIN events e ON e.id = s.event_id \
             WHERE b.status = '{attended}' AND b.school_id IS NOT NULL AND {when}{with_school}) \
             SELECT x.school_id, y.school_id, COUNT(*), COUNT(*) FROM present x \
             JOIN present y ON y.session_id = x.session_id AND y.school_id > x.school_id \
             GROUP BY x.school_id, y.school_id"
        ),
        together_values,
    );
    // A school hosted a visit or led an SLP session (or hosted a conference) another's staff
    // attended; a session its own staff attended too is counted once, as attended together.
    let hosted = pairs(
        db,
        format!(
            "SELECT e.host_school_id, b.school_id, COUNT(DISTINCT s.id), \
             COUNT(DISTINCT CASE WHEN NOT EXISTS (SELECT 1 FROM bookings h WHERE h.session_id = s.id \
             AND h.school_id = e.host_school_id AND h.status = '{attended}') THEN s.id END) FROM bookings b \
             JOIN sessions s ON s.id = b.session_id JOIN events e ON e.id = s.event_id \
             WHERE b.status = '{attended}' AND b.school_id IS NOT NULL AND e.host_school_id IS NOT NULL \
             AND e.host_school_id <> b.school_id AND {when}{by_school} \
             GROUP BY e.host_school_id, b.school_id"
        ),
        hosted_values,
    );
    // Members of one accepted triad, in a cohort whose window overlaps the period.
    let mut triad_values = vec![Value::from(period.to), Value::from(period.from)];
    let mut of_programme = String::new();
    if let Some(id) = programme_id {
        of_programme.push_str(" AND c.programme_id = ?");
        triad_values.push(Value::from(id));
    }
    if let Some(id) = involving {
        of_programme.push_str(" AND x.triad_id IN (SELECT m.triad_id FROM triad_members m WHERE m.school_id = ?)");
        triad_values.push(Value::from(id));
    }
    let triad_sql = format!(
        "SELECT x.school_id, y.school_id, COUNT(*), COUNT(*) FROM triad_members x \
         JOIN triad_members y ON y.triad_id = x.triad_id AND y.school_id > x.school_id \
         JOIN triads t ON t.id = x.triad_id JOIN cohorts c ON c.id = t.cohort_id \
         WHERE t.status = 'accepted' AND c.window_start <= ? AND c.window_end >= ?{of_programme} \
         GROUP BY x.school_id, y.school_id"
    );
    let triads = async {
        if period.is_empty() {
            Ok(Vec::new())
        } else {
            pairs(db, triad_sql, triad_values).await
        }
    };
    // The three are independent reads: on a pool they run at once, each on its own connection.
    let (together, hosted, triads) = tokio::try_join!(together, hosted, triads)?;
    Ok([together, hosted, triads])
}

/// The kinds of link whose bits are set, by name.
fn kinds_of(bits: u8) -> Vec<String> {
    LINK_KINDS
        .iter()
        .enumerate()
        .filter(|(bit, _)| bits & (1 << bit) != 0)
        .map(|(_, kind)| (*kind).to_owned())
        .collect()
}

/// Each pair's kinds as bits (in the order of [`LINK_KINDS`]) and its count, of the pairs `keep`
/// accepts, by pair.
fn merged(rows: [Vec<Pair>; 3], keep: impl Fn([i64; 2]) -> bool) -> Vec<([i64; 2], (u8, u64))> {
    let mut links: HashMap<[i64; 2], (u8, u64)> = HashMap::new();
    for (bit, rows) in rows.into_iter().enumerate() {
        for (a, b, n, new) in rows {
            let pair = [a.min(b), a.max(b)];
            if n == 0 || !keep(pair) {
                continue;
            }
            let entry = links.entry(pair).or_default();
            entry.0 |= 1 << bit;
            entry.1 += u64::try_from(new).unwrap_or(0);
        }
    }
    let mut links: Vec<([i64; 2], (u8, u64))> = links.into_iter().collect();
    links.sort_unstable_by_key(|(pair, _)| *pair);
    links
}

/// One of a school's partners.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Partner {
    /// The partner school.
    pub school_id: i64,
    /// Its name.
    pub name: String,
    /// Its local authority.
    pub local_authority: String,
    /// Whether that is another authority than the school's own.
    pub outside_authority: bool,
    /// How they met (as [`Link::kinds`]).
    pub kinds: Vec<String>,
    /// Sessions they met at (each once, however they met there), plus triads they share.
    pub count: u64,
}

/// The schools `school_id` worked with in the period (of the filter's programme), those it met
/// most often first.
pub async fn partners_of<C: ConnectionTrait>(
    db: &C,
    school_id: i64,
    filter: &InsightFilter,
    now: DateTime<Utc>,
) -> DomainResult<Vec<Partner>> {
    let period = Period::read(filter, now)?;
    let own = super::school::find(db, school_id).await?;
    let rows = link_rows(db, period, filter.programme_id, Some(school_id)).await?;
    let links = merged(rows, |pair| pair.contains(&school_id));
    let others: Vec<i64> = links
        .iter()
        .map(|([a, b], _)| if *a == school_id { *b } else { *a })
        .collect();
    let schools: HashMap<i64, school::Model> = school::Entity::find()
        .filter(school::Column::Id.is_in(others))
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    let mut partners: Vec<Partner> = links
        .into_iter()
        .filter_map(|([a, b], (bits, count))| {
            let other = schools.get(&if a == school_id { b } else { a })?;
            Some(Partner {
                school_id: other.id,
                name: other.name.clone(),
                local_authority: other.local_authority.clone(),
                outside_authority: other.local_authority != own.local_authority,
                kinds: kinds_of(bits),
                count,
            })
        })
        .collect();
    partners.sort_by(|x, y| {
        y.count
            .cmp(&x.count)
            .then_with(|| x.name.to_lowercase().cmp(&y.name.to_lowercase()))
    });
    Ok(partners)
}

/// Who worked with whom in the period.
pub async fn collaboration<C: ConnectionTrait>(
    db: &C,
    filter: &InsightFilter,
    now: DateTime<Utc>,
) -> DomainResult<Collaboration> {
    let period = Period::read(filter, now)?;
    let schools = schools_of(db, filter).await?;
    let rows = link_rows(db, period, filter.programme_id, None).await?;

    let listed: HashMap<i64, &school::Model> = schools.iter().map(|s| (s.id, s)).collect();
    let links = merged(rows, |[a, b]| listed.contains_key(&a) && listed.contains_key(&b));
    let mut names: Vec<String> = schools.iter().map(|s| s.local_authority.clone()).collect();
    names.sort();
    names.dedup();
    let index: HashMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (n.as_str(), i)).collect();
    let mut matrix = vec![vec![0u64; names.len()]; names.len()];
    let mut partners: HashMap<i64, (u64, u64)> = HashMap::new();
    for ([a, b], _) in &links {
        let (la_a, la_b) = (&listed[a].local_authority, &listed[b].local_authority);
        let (i, j) = (index[la_a.as_str()], index[la_b.as_str()]);
        matrix[i][j] += 1;
        if i != j {
            matrix[j][i] += 1;
        }
        let outside = u64::from(la_a != la_b);
        for school in [a, b] {
            let p = partners.entry(*school).or_default();
            p.0 += 1;
            p.1 += outside;
        }
    }
    let mut per_school: Vec<Partners> = schools
        .iter()
        .map(|s| {
            let (partners, outside) = partners.get(&s.id).copied().unwrap_or_default();
            Partners {
                school_id: s.id,
                partners,
                partners_outside_authority: outside,
            }
        })
        .collect();
    per_school.sort_by_key(|p| p.school_id);
    Ok(Collaboration {
        from: period.from.to_string(),
        to: period.to.to_string(),
        links: links
            .into_iter()
            .map(|(school_ids, (bits, count))| Link {
                school_ids,
                kinds: kinds_of(bits),
                count,
            })
            .collect(),
        schools: per_school,
        authorities: AuthorityMatrix { names, matrix },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_period_defaults_to_the_year_up_to_today_and_one_ending_before_it_starts_is_empty() {
        let now = "2026-12-05T10:00:00Z".parse().unwrap();
        let p = Period::read(&InsightFilter::default(), now).unwrap();
        assert_eq!(
            (p.from.to_string(), p.to.to_string()),
            ("2025-12-05".into(), "2026-12-05".into())
        );
        assert_eq!(p.end().to_rfc3339(), "2026-12-06T00:00:00+00:00");
        let backwards = InsightFilter {
            from: Some("2027-01-02".into()),
            to: Some("2027-01-01".into()),
            ..InsightFilter::default()
        };
        assert!(Period::read(&backwards, now).unwrap().is_empty());
    }
}
