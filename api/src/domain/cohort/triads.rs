//! Forming triads: the solver's proposal, an organiser's accepted or edited triads.

use super::*;

/// The forming problem of a cohort: its schools as the solver sees them, its rules, and pins
/// for the triads an organiser pinned (`pinned_triads`, each a triad's schools).
pub(super) async fn forming_input<C: ConnectionTrait>(
    db: &C,
    c: &cohort::Model,
    pinned_triads: &[Vec<i64>],
) -> DomainResult<FormingInput> {
    let ids = school_ids_of(db, c.id).await?;
    let schools = school::Entity::find()
        .filter(school::Column::Id.is_in(ids))
        .order_by_asc(school::Column::Id)
        .all(db)
        .await?;
    let options: CohortOptions = serde_json::from_value(c.options.clone()).unwrap_or_default();
    let mut pinned: Vec<Vec<String>> = options
        .pinned
        .iter()
        .map(|pin| pin.iter().map(i64::to_string).collect())
        .collect();
    for t in pinned_triads {
        pinned.push(t.iter().map(i64::to_string).collect());
    }
    Ok(FormingInput {
        schools: schools
            .into_iter()
            .map(|s| forming::School {
                id: s.id.to_string(),
                local_authority: s.local_authority.clone(),
                phase: s.phase.clone(),
                strengths: crate::domain::school::topics_of(&s.strengths),
                priorities: crate::domain::school::topics_of(&s.priorities),
            })
            .collect(),
        options: FormingOptions {
            allow_mixed_phase: options.allow_mixed_phase,
            pinned,
            forbidden_pairs: options
                .forbidden_pairs
                .iter()
                .map(|[a, b]| [a.to_string(), b.to_string()])
                .collect(),
        },
    })
}

pub(super) fn id_of(text: &str) -> i64 {
    text.parse().unwrap_or_default()
}

pub(super) fn explanation_of(e: &GroupExplanation) -> TriadExplanation {
    TriadExplanation {
        covered: e
            .covered
            .iter()
            .map(|c| CoveredPriority {
                school_id: id_of(&c.school),
                priority: c.priority.clone(),
                by: c.by.iter().map(|b| id_of(b)).collect(),
            })
            .collect(),
        uncovered: e
            .uncovered
            .iter()
            .map(|u| UncoveredPriority {
                school_id: id_of(&u.school),
                priority: u.priority.clone(),
            })
            .collect(),
    }
}

pub(super) async fn current_triads<C: ConnectionTrait>(db: &C, cohort_id: i64) -> DomainResult<Vec<Triad>> {
    let rows = triad::Entity::find()
        .filter(triad::Column::CohortId.eq(cohort_id))
        .order_by_asc(triad::Column::Position)
        .find_with_related(triad_member::Entity)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(t, members)| {
            let mut school_ids: Vec<i64> = members.iter().map(|m| m.school_id).collect();
            school_ids.sort_unstable();
            let explanation = t
                .explanation
                .clone()
                .and_then(|j| serde_json::from_value(j).ok())
                .unwrap_or_default();
            Triad {
                id: t.id,
                position: t.position,
                school_ids,
                status: t.status,
                pinned: t.pinned,
                score: i64::from(t.score),
                explanation,
            }
        })
        .collect())
}

pub(super) fn solve_params(request: &SolveRequest) -> SolveParams {
    SolveParams {
        seed: request.seed.unwrap_or(1),
        max_iterations: request.iterations,
        time_limit: Some(
            request
                .time_limit_ms
                .map_or(DEFAULT_SOLVE_TIME, Duration::from_millis)
                .min(MAX_SOLVE_TIME),
        ),
    }
}

/// Runs a solver off the async threads (it is CPU-bound for up to its time limit).
pub(super) async fn off_thread<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> DomainResult<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| DomainError::Database(sea_orm::DbErr::Custom(format!("the solver stopped: {e}"))))
}

pub(super) fn refuse_if_scheduled(c: &cohort::Model) -> DomainResult<()> {
    if c.status == CohortStatus::Scheduled {
        return Err(DomainError::conflict(
            ProblemCode::CohortScheduled,
            format!(
                "cohort {} has scheduled visits; cancel them (DELETE /v1/cohorts/{}/visits) before changing its triads",
                c.id, c.id
            ),
            None,
        ));
    }
    Ok(())
}

/// Replaces the cohort's triads with `groups`, each with its score and explanation, in `status`.
pub(super) async fn store_triads<C: ConnectionTrait>(
    txn: &C,
    cohort_id: i64,
    groups: &[(Vec<i64>, bool)],
    explanations: &[GroupExplanation],
    status: &str,
    now: DateTime<Utc>,
) -> DomainResult<()> {
    let old: Vec<i64> = triad::Entity::find()
        .filter(triad::Column::CohortId.eq(cohort_id))
        .all(txn)
        .await?
        .into_iter()
        .map(|t| t.id)
        .collect();
    if !old.is_empty() {
        triad_member::Entity::delete_many()
            .filter(triad_member::Column::TriadId.is_in(old.clone()))
            .exec(txn)
            .await?;
        triad::Entity::delete_many()
            .filter(triad::Column::Id.is_in(old))
            .exec(txn)
            .await?;
    }
    for (position, ((members, pinned), explanation)) in groups.iter().zip(explanations).enumerate() {
        let row = triad::ActiveModel {
            cohort_id: Set(cohort_id),
            position: Set(i32::try_from(position).unwrap_or(i32::MAX)),
            status: Set(status.to_owned()),
            pinned: Set(*pinned),
            score: Set(i32::try_from(explanation.score).unwrap_or(i32::MAX)),
            explanation: Set(Some(
                serde_json::to_value(explanation_of(explanation)).unwrap_or_default(),
            )),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        triad_member::Entity::insert_many(members.iter().map(|&school_id| triad_member::ActiveModel {
            triad_id: Set(row.id),
            school_id: Set(school_id),
        }))
        .exec(txn)
        .await?;
    }
    Ok(())
}

/// How long a view of the triads (after an edit, a pin, or on its own) may spend on the bound;
/// a proposal gives it the solve's time limit.
const VIEW_BOUND_TIME: Duration = Duration::from_secs(2);

/// Bounds already computed, by the forming problem they bound. A bound depends only on the
/// cohort's schools, rules and pins, never on the grouping it starts from, so a view of triads
/// whose problem has not changed since the proposal (or the last view) reuses it instead of
/// spending up to [`VIEW_BOUND_TIME`] of a core again: 600 schools take about 5 s to bound, more
/// than a view may spend, so without this each view of such a cohort would show a weaker bound
/// than its proposal did. Bounded in entries; a problem is keyed by its JSON's SHA-256.
static BOUNDS: std::sync::LazyLock<moka::sync::Cache<[u8; 32], Remembered>> =
    std::sync::LazyLock::new(|| moka::sync::Cache::new(1_000));

/// A bound and the time it was given (an incomplete bound is only as good as its time).
#[derive(Clone, Copy)]
struct Remembered {
    bound: forming::Bound,
    given: Duration,
}

/// The key of a forming problem in [`BOUNDS`]: its pins and forbidden pairs in a set order (a
/// proposal stores pinned triads in its own order), so one problem has one key; `None` if it
/// cannot be written out.
fn problem_key(input: &FormingInput) -> Option<[u8; 32]> {
    use sha2::Digest as _;
    let mut input = input.clone();
    for pin in &mut input.options.pinned {
        pin.sort_unstable();
    }
    input.options.pinned.sort_unstable();
    for pair in &mut input.options.forbidden_pairs {
        pair.sort_unstable();
    }
    input.options.forbidden_pairs.sort_unstable();
    let json = serde_json::to_vec(&input).ok()?;
    Some(sha2::Sha256::digest(json).into())
}

/// The bound remembered for the problem `key` that is as good as one computed in `time` would be.
fn recall(key: &[u8; 32], time: Duration) -> Option<forming::Bound> {
    BOUNDS
        .get(key)
        .filter(|r| r.bound.complete || r.given >= time)
        .map(|r| r.bound)
}

/// Remembers `bound`, computed in at most `given`, for the problem `key`, unless a better one is
/// known.
fn remember(key: [u8; 32], bound: forming::Bound, given: Duration) {
    let known = BOUNDS.get(&key);
    let better = known.is_none_or(|k| {
        (bound.complete && !k.bound.complete)
            || (bound.complete == k.bound.complete && bound.upper_bound < k.bound.upper_bound)
    });
    if better {
        BOUNDS.insert(key, Remembered { bound, given });
    }
}

/// The schools of the pinned ones of `triads`.
fn pinned_of(triads: &[Triad]) -> Vec<Vec<i64>> {
    triads
        .iter()
        .filter(|t| t.pinned)
        .map(|t| t.school_ids.clone())
        .collect()
}

/// The bound on the best score of the cohort with `pinned` triads kept together, starting from
/// the grouping `groups`, off the async threads; `None` when the cohort cannot be grouped.
async fn bound_for<C: ConnectionTrait>(
    db: &C,
    c: &cohort::Model,
    pinned: &[Vec<i64>],
    groups: &[Vec<i64>],
) -> DomainResult<Option<forming::Bound>> {
    let input = forming_input(db, c, pinned).await?;
    let key = problem_key(&input);
    if let Some(bound) = key.as_ref().and_then(|key| recall(key, VIEW_BOUND_TIME)) {
        return Ok(Some(bound));
    }
    let groups: Vec<Vec<String>> = groups.iter().map(|g| g.iter().map(i64::to_string).collect()).collect();
    let given = (!groups.is_empty()).then_some(groups);
    let bound = off_thread(move || forming::bound(&input, given.as_deref(), VIEW_BOUND_TIME).ok()).await?;
    if let (Some(key), Some(bound)) = (key, bound) {
        remember(key, bound, VIEW_BOUND_TIME);
    }
    Ok(bound)
}

/// The cohort's triads with their score against `bound` (computed here when `None`: pass it
/// when it is known, to keep the work out of a write transaction).
pub(super) async fn triads_view<C: ConnectionTrait>(
    db: &C,
    c: &cohort::Model,
    iterations: Option<u64>,
    bound: Option<Option<forming::Bound>>,
) -> DomainResult<Triads> {
    let triads = current_triads(db, c.id).await?;
    let bound = match bound {
        Some(bound) => bound,
        None => {
            let groups: Vec<Vec<i64>> = triads.iter().map(|t| t.school_ids.clone()).collect();
            bound_for(db, c, &pinned_of(&triads), &groups).await?
        }
    };
    let score: i64 = triads.iter().map(|t| t.score).sum();
    let score_u = u64::try_from(score).unwrap_or_default();
    Ok(Triads {
        cohort_id: c.id,
        status: c.status,
        score,
        upper_bound: bound.map_or(0, |b| i64::try_from(b.upper_bound).unwrap_or(i64::MAX)),
        gap: bound.map_or(0.0, |b| b.gap(score_u)),
        proven_optimal: bound.is_some_and(|b| !triads.is_empty() && b.proves(score_u)),
        bound_complete: bound.is_some_and(|b| b.complete),
        iterations,
        triads,
    })
}

/// The cohort's current triads (none until proposed).
pub async fn triads<C: ConnectionTrait>(db: &C, cohort_id: i64) -> DomainResult<Triads> {
    let c = find(db, cohort_id).await?;
    triads_view(db, &c, None, None).await
}

/// Runs the forming solver on the cohort and stores its answer as the proposed triads (replacing
/// any earlier proposal or accepted triads; pinned triads and pins are kept together). The cohort
/// goes back to `draft`. A cohort with scheduled visits is refused.
#[tracing::instrument(skip(db, request))]
pub async fn propose(
    db: &DatabaseConnection,
    cohort_id: i64,
    request: &SolveRequest,
    change: &Change,
) -> DomainResult<Triads> {
    let now = change.now;
    let c = find(db, cohort_id).await?;
    refuse_if_scheduled(&c)?;
    let current = current_triads(db, cohort_id).await?;
    let input = forming_input(db, &c, &pinned_of(&current)).await?;
    let pinned_sets: Vec<BTreeSet<i64>> = current
        .into_iter()
        .filter(|t| t.pinned)
        .map(|t| t.school_ids.into_iter().collect())
        .collect();
    let params = solve_params(request);
    let key = problem_key(&input);
    let bound_time = params.time_limit.unwrap_or(forming::BOUND_TIME);
    let formed = off_thread(move || forming::form(&input, &params))
        .await?
        .map_err(|why| infeasible(ProblemCode::TriadsInfeasible, why))?;
    if let Some(key) = key {
        let bound = forming::Bound {
            upper_bound: formed.upper_bound,
            complete: formed.bound_complete,
        };
        remember(key, bound, bound_time);
    }
    let groups: Vec<(Vec<i64>, bool)> = formed
        .groups
        .iter()
        .map(|g| {
            let mut ids: Vec<i64> = g.iter().map(|s| id_of(s)).collect();
            ids.sort_unstable();
            let set: BTreeSet<i64> = ids.iter().copied().collect();
            let pinned = pinned_sets.iter().any(|p| p.is_subset(&set));
            (ids, pinned)
        })
        .collect();
    in_write_txn(db, async |txn| {
        let c = find(txn, cohort_id).await?;
        refuse_if_scheduled(&c)?;
        store_triads(txn, cohort_id, &groups, &formed.explanations, "proposed", now).await?;
        let c = set_status(txn, c, CohortStatus::Draft, now).await?;
        // The proposal's bound holds for the stored triads' pins too: they only add to the
        // pins it was solved under.
        let bound = forming::Bound {
            upper_bound: formed.upper_bound,
            complete: formed.bound_complete,
        };
        let view = triads_view(txn, &c, Some(formed.iterations), Some(Some(bound))).await?;
        change
            .record(
                txn,
                "triads.proposed",
                Target("cohort", cohort_id),
                format!(
                    "{}: {} triads proposed (seed {}), covering {} of at most {} priorities",
                    c.name,
                    view.triads.len(),
                    request.seed.unwrap_or(1),
                    view.score,
                    view.upper_bound
                ),
            )
            .await?;
        Ok(view)
    })
    .await
}

pub(super) async fn set_status<C: ConnectionTrait>(
    txn: &C,
    c: cohort::Model,
    status: CohortStatus,
    now: DateTime<Utc>,
) -> DomainResult<cohort::Model> {
    let mut active: cohort::ActiveModel = c.into();
    active.status = Set(status);
    active.updated_at = Set(now);
    Ok(active.update(txn).await?)
}

/// Accepts the organiser's triads (the proposal as it was, or edited), after checking them
/// against every hard rule; the cohort becomes `triads_accepted`.
#[tracing::instrument(skip(db, input, change))]
pub async fn accept(
    db: &DatabaseConnection,
    cohort_id: i64,
    input: TriadsInput,
    change: &Change,
) -> DomainResult<Triads> {
    save_triads(db, cohort_id, input, Saved::Accepted, change).await
}

/// Saves an organiser's edit of the triads (a school moved, a triad pinned) as the cohort's
/// proposal, after checking it against every hard rule; the cohort stays (or goes back to)
/// `draft`, to be accepted when the organiser is content.
#[tracing::instrument(skip(db, input, change))]
pub async fn rearrange(
    db: &DatabaseConnection,
    cohort_id: i64,
    input: TriadsInput,
    change: &Change,
) -> DomainResult<Triads> {
    save_triads(db, cohort_id, input, Saved::Edited, change).await
}

/// Where an organiser moves a school.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Move {
    /// Into this triad (by id), out of its own.
    Into(i64),
    /// In exchange for this school, each taking the other's place.
    SwapWith(i64),
}

/// The cohort's triads with `school` moved `to` another triad or swapped with a school of
/// another, saved as the proposal (as [`rearrange`]) when every hard rule still holds. A school
/// or triad not in the cohort, or a move that changes nothing, is refused on the form's field
/// (`school_id`, `to`).
#[tracing::instrument(skip(db, change))]
pub async fn move_school(
    db: &DatabaseConnection,
    cohort_id: i64,
    school: i64,
    to: Move,
    change: &Change,
) -> DomainResult<Triads> {
    let current = current_triads(db, find(db, cohort_id).await?.id).await?;
    let refused = |field: &str, message: &str| DomainError::Invalid(vec![FieldError::new(field, message)]);
    let Some(from) = current.iter().find(|t| t.school_ids.contains(&school)) else {
        return Err(refused("school_id", "Choose one of the cohort's schools"));
    };
    let (into, other) = match to {
        Move::Into(triad) => (
            current
                .iter()
                .find(|t| t.id == triad)
                .ok_or_else(|| refused("to", "Choose one of the cohort's triads"))?,
            None,
        ),
        Move::SwapWith(other) => (
            current
                .iter()
                .find(|t| t.school_ids.contains(&other))
                .ok_or_else(|| refused("to", "Choose one of the cohort's schools to swap with"))?,
            Some(other),
        ),
    };
    if into.id == from.id {
        return Err(refused("to", "Choose another triad: the school is in this one already"));
    }
    let (from_id, into_id) = (from.id, into.id);
    let edit = TriadsInput {
        triads: current
            .iter()
            .map(|t| {
                let mut school_ids: Vec<i64> = t
                    .school_ids
                    .iter()
                    .copied()
                    .filter(|&s| s != school && Some(s) != other)
                    .collect();
                if t.id == into_id {
                    school_ids.push(school);
                }
                if t.id == from_id
                    && let Some(other) = other
                {
                    school_ids.push(other);
                }
                TriadEdit {
                    school_ids,
                    pinned: t.pinned,
                }
            })
            .filter(|t| !t.school_ids.is_empty())
            .collect(),
    };
    save_triads(db, cohort_id, edit, Saved::Edited, change).await
}

/// How triads are saved: accepted, or as an edited proposal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Saved {
    Accepted,
    Edited,
}

async fn save_triads(
    db: &DatabaseConnection,
    cohort_id: i64,
    input: TriadsInput,
    saved: Saved,
    change: &Change,
) -> DomainResult<Triads> {
    let now = change.now;
    let c = find(db, cohort_id).await?;
    refuse_if_scheduled(&c)?;
    if input.triads.is_empty() {
        return Err(DomainError::Invalid(vec![FieldError::new("triads", "is required")]));
    }
    // The organiser's own edits decide: earlier pinned triads are not pins on them, only the
    // cohort's own pins are.
    let forming_in = forming_input(db, &c, &[]).await?;
    let saved_groups: Vec<Vec<i64>> = input.triads.iter().map(|t| t.school_ids.clone()).collect();
    let saved_pins: Vec<Vec<i64>> = input
        .triads
        .iter()
        .filter(|t| t.pinned)
        .map(|t| t.school_ids.clone())
        .collect();
    let groups: Vec<Vec<String>> = input
        .triads
        .iter()
        .map(|t| t.school_ids.iter().map(i64::to_string).collect())
        .collect();
    forming::check_groups(&forming_in, &groups).map_err(|why| infeasible(ProblemCode::TriadsInvalid, why))?;
    let explanations =
        forming::explain(&forming_in, &groups).map_err(|why| infeasible(ProblemCode::TriadsInvalid, why))?;
    let groups: Vec<(Vec<i64>, bool)> = input
        .triads
        .into_iter()
        .map(|t| {
            let mut ids = t.school_ids;
            ids.sort_unstable();
            (ids, t.pinned)
        })
        .collect();
    // Bounded before the write transaction, so it does not hold the database while the LP runs.
    let bound = bound_for(db, &c, &saved_pins, &saved_groups).await?;
    let (status, cohort_status, action) = match saved {
        Saved::Accepted => ("accepted", CohortStatus::TriadsAccepted, "triads.accepted"),
        Saved::Edited => ("proposed", CohortStatus::Draft, "triads.edited"),
    };
    in_write_txn(db, async |txn| {
        let c = find(txn, cohort_id).await?;
        refuse_if_scheduled(&c)?;
        store_triads(txn, cohort_id, &groups, &explanations, status, now).await?;
        let c = set_status(txn, c, cohort_status, now).await?;
        let view = triads_view(txn, &c, None, Some(bound)).await?;
        change
            .record(
                txn,
                action,
                Target("cohort", cohort_id),
                format!(
                    "{}: {} triads {}, covering {} of at most {} priorities",
                    c.name,
                    view.triads.len(),
                    if saved == Saved::Accepted { "accepted" } else { "edited" },
                    view.score,
                    view.upper_bound
                ),
            )
            .await?;
        Ok(view)
    })
    .await
}

/// Pins a triad (a new proposal keeps it together) or unpins it. A cohort with scheduled visits
/// is refused, as is a triad of another cohort.
#[tracing::instrument(skip(db, change))]
pub async fn pin(
    db: &DatabaseConnection,
    cohort_id: i64,
    triad_id: i64,
    pinned: bool,
    change: &Change,
) -> DomainResult<Triads> {
    // Bounded before the write transaction, as the triads will be with this one (un)pinned.
    let before = find(db, cohort_id).await?;
    let current = current_triads(db, cohort_id).await?;
    let groups: Vec<Vec<i64>> = current.iter().map(|t| t.school_ids.clone()).collect();
    let pins: Vec<Vec<i64>> = current
        .iter()
        .filter(|t| if t.id == triad_id { pinned } else { t.pinned })
        .map(|t| t.school_ids.clone())
        .collect();
    let bound = bound_for(db, &before, &pins, &groups).await?;
    in_write_txn(db, async |txn| {
        let c = find(txn, cohort_id).await?;
        refuse_if_scheduled(&c)?;
        let row = triad::Entity::find_by_id(triad_id)
            .filter(triad::Column::CohortId.eq(cohort_id))
            .one(txn)
            .await?
            .ok_or_else(|| DomainError::not_found("triad", triad_id))?;
        let position = row.position + 1;
        let mut active: triad::ActiveModel = row.into();
        active.pinned = Set(pinned);
        active.updated_at = Set(change.now);
        active.update(txn).await?;
        change
            .record(
                txn,
                if pinned { "triad.pinned" } else { "triad.unpinned" },
                Target("cohort", cohort_id),
                format!(
                    "{}: triad {position} {}",
                    c.name,
                    if pinned { "pinned" } else { "unpinned" }
                ),
            )
            .await?;
        triads_view(txn, &c, None, Some(bound)).await
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bound(upper_bound: u64, complete: bool) -> forming::Bound {
        forming::Bound { upper_bound, complete }
    }

    #[test]
    fn a_remembered_bound_is_reused_only_where_it_is_as_good_as_one_computed_now() {
        let mut input = crate::solver::generate::cohort(12, 7_326);
        let key = problem_key(&input).unwrap();
        assert_eq!(recall(&key, Duration::ZERO), None);
        // An unfinished bound given 1 ms is not what a view given 2 s would find.
        remember(key, bound(30, false), Duration::from_millis(1));
        assert_eq!(recall(&key, VIEW_BOUND_TIME), None);
        assert_eq!(recall(&key, Duration::from_millis(1)), Some(bound(30, false)));
        // A finished one serves any view, and a worse one never replaces it.
        remember(key, bound(24, true), VIEW_BOUND_TIME);
        remember(key, bound(28, false), Duration::from_secs(60));
        assert_eq!(recall(&key, Duration::from_secs(60)), Some(bound(24, true)));
        // A pin makes another problem, with a bound of its own.
        input.options.pinned.push(vec!["s1".into(), "s2".into()]);
        let pinned = problem_key(&input).unwrap();
        assert_ne!(pinned, key);
        assert_eq!(recall(&pinned, Duration::ZERO), None);
        // The same pins in another order are the same problem.
        input.options.pinned.insert(0, vec!["s5".into(), "s4".into()]);
        let both = problem_key(&input).unwrap();
        input.options.pinned.swap(0, 1);
        input.options.pinned[1].reverse();
        assert_eq!(problem_key(&input).unwrap(), both);
    }
}
