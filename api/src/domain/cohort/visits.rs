//! Scheduling the visits: the solver dates them and gives them facilitators, each becomes a
//! published `triad_visit` event its people are booked onto; who is invited to a visit; cancelling.

use super::*;
use crate::domain::audit::Change;

/// The scheduling problem of a cohort whose triads are accepted: only days from tomorrow on
/// (in the cohort's zone), every member school's closed days inside the window (its own closures,
/// its authority's term dates, the public holidays: [`crate::domain::closed_days`]), the facilitators.
pub(super) async fn visits_input<C: ConnectionTrait>(
    db: &C,
    c: &cohort::Model,
    triads: &[Triad],
    schools: &HashMap<i64, school::Model>,
    facilitators: &[facilitator_assignment::Model],
    now: DateTime<Utc>,
) -> DomainResult<VisitsInput> {
    let zone = crate::time::stored_zone(&c.time_zone);
    let tomorrow = now.with_timezone(&zone).date_naive() + Days::new(1);
    let start = c.window_start.max(tomorrow);
    let end = c.window_end;
    let members: Vec<&school::Model> = schools.values().collect();
    let closures: BTreeMap<String, Vec<NaiveDate>> = crate::domain::closed_days::of_schools(db, &members, start, end)
        .await?
        .into_iter()
        .map(|(id, closed)| (id.to_string(), closed.into_keys().collect()))
        .filter(|(_, days): &(String, Vec<NaiveDate>)| !days.is_empty())
        .collect();
    let local_authorities = schools
        .values()
        .map(|s| (s.id.to_string(), s.local_authority.clone()))
        .collect();
    let facilitators = facilitators
        .iter()
        .map(|f| scheduling::Facilitator {
            id: f.participant_id.to_string(),
            available: f.available_dates.as_ref().map(json_list),
            max_visits_per_week: u32::try_from(f.max_visits_per_week).unwrap_or(1),
            excluded_local_authorities: json_list(&f.excluded_local_authorities),
        })
        .collect();
    Ok(VisitsInput {
        triads: triads
            .iter()
            .map(|t| t.school_ids.iter().map(i64::to_string).collect())
            .collect(),
        window: scheduling::Window { start, end },
        weekdays: json_list(&c.weekdays),
        min_days_between_visits: i64::from(c.min_days_between_visits),
        closures,
        facilitators,
        local_authorities,
    })
}

/// A plan for a cohort's visits, not yet written: what scheduling them needs.
struct Planned {
    facilitators: Vec<facilitator_assignment::Model>,
    triads: Vec<Triad>,
    school_rows: HashMap<i64, school::Model>,
    scheduled: scheduling::Scheduled,
}

/// Runs the scheduling solver on the cohort's accepted triads (writing nothing), or says which
/// rule no schedule can keep.
async fn plan(
    db: &DatabaseConnection,
    c: &cohort::Model,
    request: &SolveRequest,
    now: DateTime<Utc>,
) -> DomainResult<Planned> {
    let facilitators = facilitators_of(db, c.id).await?;
    if facilitators.is_empty() {
        return Err(DomainError::Unprocessable {
            code: ProblemCode::VisitsInfeasible,
            detail: format!("cohort {} has no facilitators to lead its visits", c.id),
            field: Some("facilitators"),
        });
    }
    let triads = current_triads(db, c.id).await?;
    let school_rows: HashMap<i64, school::Model> = school::Entity::find()
        .filter(school::Column::Id.is_in(triads.iter().flat_map(|t| t.school_ids.clone())))
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    let input = visits_input(db, c, &triads, &school_rows, &facilitators, now).await?;
    if input.window.start > input.window.end {
        return Err(DomainError::Unprocessable {
            code: ProblemCode::VisitsInfeasible,
            detail: format!(
                "the window ({} to {}) has no day left from tomorrow on",
                c.window_start, c.window_end
            ),
            field: Some("window"),
        });
    }
    let params = solve_params(request);
    let scheduled = off_thread(move || scheduling::schedule(&input, &params))
        .await?
        .map_err(|why| infeasible(ProblemCode::VisitsInfeasible, why))?;
    Ok(Planned {
        facilitators,
        triads,
        school_rows,
        scheduled,
    })
}

/// Plans the visits again: the solver runs first, on the triads as they are, and only when it
/// finds a schedule are the current visits cancelled (everyone booked is told) and the new ones
/// made, so a plan that cannot be made leaves the visits as they were.
#[tracing::instrument(skip(db, request, change))]
pub async fn replan(
    db: &DatabaseConnection,
    cohort_id: i64,
    request: &SolveRequest,
    change: &Change,
) -> DomainResult<Schedule> {
    let c = find(db, cohort_id).await?;
    if c.status != CohortStatus::Scheduled {
        return Err(DomainError::conflict(
            ProblemCode::VisitsNotScheduled,
            format!("cohort {cohort_id} has no scheduled visits to plan again; schedule them"),
            None,
        ));
    }
    plan(db, &c, request, change.now).await?;
    cancel_visits(db, cohort_id, change).await?;
    schedule(db, cohort_id, request, change).await
}

/// Schedules the visits of a cohort whose triads are accepted: the solver dates each school's
/// visit and gives it a facilitator; each visit becomes a published `triad_visit` event at the
/// host school with one session, onto which the triad's attendees (the cohort's roles at its
/// schools) and the facilitator are booked, with their confirmations and reminders queued. All in
/// one transaction; the cohort becomes `scheduled`.
#[tracing::instrument(skip(db, request))]
pub async fn schedule(
    db: &DatabaseConnection,
    cohort_id: i64,
    request: &SolveRequest,
    change: &Change,
) -> DomainResult<Schedule> {
    let now = change.now;
    let c = find(db, cohort_id).await?;
    match c.status {
        CohortStatus::TriadsAccepted => {}
        CohortStatus::Scheduled => {
            return Err(DomainError::conflict(
                ProblemCode::VisitsAlreadyScheduled,
                format!("cohort {cohort_id}'s visits are already scheduled; cancel them first to schedule again"),
                None,
            ));
        }
        _ => {
            return Err(DomainError::conflict(
                ProblemCode::TriadsNotAccepted,
                format!(
                    "cohort {cohort_id} has no accepted triads yet; accept them with PUT /v1/cohorts/{cohort_id}/triads"
                ),
                None,
            ));
        }
    }
    let Planned {
        facilitators,
        triads,
        school_rows,
        scheduled,
    } = plan(db, &c, request, now).await?;

    let roles = attendee_roles(&c);
    let attendees: Vec<participant::Model> = participant::Entity::find()
        .filter(participant::Column::SchoolId.is_in(school_rows.keys().copied()))
        .filter(participant::Column::Role.is_in(roles))
        .filter(participant::Column::ErasedAt.is_null())
        .order_by_asc(participant::Column::Id)
        .all(db)
        .await?;
    let facilitator_names: HashMap<i64, String> = participant::Entity::find()
        .filter(participant::Column::Id.is_in(facilitators.iter().map(|f| f.participant_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id, p.name))
        .collect();

    in_write_txn(db, async |txn| {
        // Only one scheduling run wins; a second, concurrent one finds the cohort scheduled.
        let claimed = cohort::Entity::update_many()
            .col_expr(cohort::Column::Status, Expr::value(CohortStatus::Scheduled))
            .col_expr(cohort::Column::UpdatedAt, Expr::value(now))
            .filter(cohort::Column::Id.eq(cohort_id))
            .filter(cohort::Column::Status.eq(CohortStatus::TriadsAccepted))
            .exec(txn)
            .await?;
        if claimed.rows_affected == 0 {
            return Err(DomainError::conflict(
                ProblemCode::VisitsAlreadyScheduled,
                format!("cohort {cohort_id}'s visits were scheduled by another request"),
                None,
            ));
        }
        let mut visits = Vec::with_capacity(scheduled.visits.len());
        let mut unbooked = Vec::new();
        for planned in &scheduled.visits {
            let triad = &triads[planned.triad];
            let host_id = id_of(&planned.host);
            let facilitator_id = id_of(&planned.facilitator);
            let host = &school_rows[&host_id];
            let members: Vec<&str> = triad
                .school_ids
                .iter()
                .filter_map(|id| school_rows.get(id).map(|s| s.name.as_str()))
                .collect();
            let facilitator = facilitator_names.get(&facilitator_id).cloned().unwrap_or_default();
            let people: Vec<i64> = attendees
                .iter()
                .filter(|p| p.school_id.is_some_and(|s| triad.school_ids.contains(&s)))
                .map(|p| p.id)
                .chain(std::iter::once(facilitator_id))
                .collect();
            let event = crate::domain::event::create(
                txn,
                EventInput {
                    kind: Some("triad_visit".to_owned()),
                    title: Some(format!("Triad visit: {}", host.name)),
                    time_zone: Some(c.time_zone.clone()),
                    description: Some(Some(format!(
                        "{}: triad {} ({}) visits {}, facilitated by {}.",
                        c.name,
                        triad.position + 1,
                        members.join(", "),
                        host.name,
                        facilitator
                    ))),
                    venue: Some(Some(format!("{}, {}", host.name, host.local_authority))),
                    online_url: None,
                    programme_id: Some(c.programme_id),
                    host_school_id: Some(Some(host_id)),
                    topic: None,
                    status: Some(EventStatus::Published.as_str().to_owned()),
                },
                change,
            )
            .await?;
            let session = crate::domain::session::create(
                txn,
                event.id,
                SessionInput {
                    label: None,
                    start: Some(format!("{}T{}", planned.date, c.visit_starts)),
                    end: Some(format!("{}T{}", planned.date, c.visit_ends)),
                    capacity: Some(i64::try_from(people.len()).unwrap_or(1).max(1)),
                    per_school_limit: Some(None),
                    waitlist: Some(false),
                    status: None,
                },
                change,
            )
            .await?;
            let row = visit::ActiveModel {
                triad_id: Set(triad.id),
                host_school_id: Set(host_id),
                date: Set(Some(planned.date)),
                facilitator_id: Set(Some(facilitator_id)),
                event_id: Set(Some(event.id)),
                session_id: Set(Some(session.id)),
                status: Set("scheduled".to_owned()),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
            .insert(txn)
            .await?;
            for person in people {
                match crate::domain::booking::book_in(txn, session.id, person, now).await {
                    Ok(_) => {}
                    Err(DomainError::Database(e)) => return Err(DomainError::Database(e)),
                    Err(refused) => unbooked.push(Unbooked {
                        visit_id: row.id,
                        participant_id: person,
                        code: refused.code().as_str().to_owned(),
                        detail: refused.to_string(),
                    }),
                }
            }
            visits.push(visit_view(row));
        }
        Ok(Schedule {
            cohort_id,
            penalties: scheduled.penalties,
            visits,
            unbooked,
        })
    })
    .await
}

/// The visits `person` is invited to: those they facilitate, and those of the triads their
/// school is in. Only these people (and organisers) see a triad's visits and may book them.
pub fn visits_inviting(person: &participant::Model) -> Condition {
    let mut invited = Condition::any().add(visit::Column::FacilitatorId.eq(person.id));
    if let Some(school_id) = person.school_id {
        invited = invited.add(
            visit::Column::TriadId.in_subquery(
                Query::select()
                    .column(triad_member::Column::TriadId)
                    .from(triad_member::Entity)
                    .and_where(triad_member::Column::SchoolId.eq(school_id))
                    .to_owned(),
            ),
        );
    }
    invited
}

/// The sessions of the scheduled visits `person` is invited to, as a subquery.
pub fn invited_sessions(person: &participant::Model) -> SelectStatement {
    Query::select()
        .column(visit::Column::SessionId)
        .from(visit::Entity)
        .and_where(visit::Column::Status.eq("scheduled"))
        .and_where(visit::Column::SessionId.is_not_null())
        .cond_where(visits_inviting(person))
        .to_owned()
}

/// Refuses `person` a triad visit's session (`403 not_invited`) unless they are invited to it.
pub async fn ensure_invited<C: ConnectionTrait>(
    db: &C,
    session_id: i64,
    person: &participant::Model,
) -> DomainResult<()> {
    let invited = visit::Entity::find()
        .filter(visit::Column::SessionId.eq(session_id))
        .filter(visit::Column::Status.eq("scheduled"))
        .filter(visits_inviting(person))
        .one(db)
        .await?
        .is_some();
    if invited {
        return Ok(());
    }
    Err(DomainError::Forbidden {
        code: ProblemCode::NotInvited,
        detail: format!(
            "session {session_id} is a triad's visit; only the triad's schools and its facilitator may book it"
        ),
    })
}

pub(super) fn visit_view(m: visit::Model) -> Visit {
    Visit {
        id: m.id,
        triad_id: m.triad_id,
        host_school_id: m.host_school_id,
        date: m.date,
        facilitator_id: m.facilitator_id,
        event_id: m.event_id,
        session_id: m.session_id,
        status: m.status,
    }
}

pub(super) async fn visit_rows<C: ConnectionTrait>(db: &C, cohort_id: i64) -> DomainResult<Vec<visit::Model>> {
    let triad_ids: Vec<i64> = triad::Entity::find()
        .filter(triad::Column::CohortId.eq(cohort_id))
        .all(db)
        .await?
        .into_iter()
        .map(|t| t.id)
        .collect();
    Ok(visit::Entity::find()
        .filter(visit::Column::TriadId.is_in(triad_ids))
        .order_by_asc(visit::Column::Date)
        .order_by_asc(visit::Column::Id)
        .all(db)
        .await?)
}

/// The cohort's visits, by date (cancelled ones included, marked so).
pub async fn visits<C: ConnectionTrait>(db: &C, cohort_id: i64) -> DomainResult<VisitList> {
    find(db, cohort_id).await?;
    Ok(VisitList {
        items: visit_rows(db, cohort_id).await?.into_iter().map(visit_view).collect(),
    })
}

/// Cancels the cohort's scheduled visits: each visit's event is cancelled (its bookings too, and
/// everyone booked is told, with calendar cancellations), and the cohort goes back to
/// `triads_accepted`, ready to be scheduled again.
#[tracing::instrument(skip(db))]
pub async fn cancel_visits(db: &DatabaseConnection, cohort_id: i64, change: &Change) -> DomainResult<VisitList> {
    let now = change.now;
    let c = find(db, cohort_id).await?;
    if c.status != CohortStatus::Scheduled {
        return Err(DomainError::conflict(
            ProblemCode::VisitsNotScheduled,
            format!("cohort {cohort_id} has no scheduled visits to cancel"),
            None,
        ));
    }
    let rows = visit_rows(db, cohort_id).await?;
    for row in rows.iter().filter(|v| v.status == "scheduled") {
        if let Some(event_id) = row.event_id {
            let still_open = event::Entity::find_by_id(event_id)
                .one(db)
                .await?
                .is_some_and(|e| e.status != EventStatus::Cancelled);
            if still_open {
                crate::domain::event::update(
                    db,
                    event_id,
                    EventInput {
                        status: Some(EventStatus::Cancelled.as_str().to_owned()),
                        ..Default::default()
                    },
                    change,
                )
                .await?;
            }
        }
    }
    in_write_txn(db, async |txn| {
        visit::Entity::update_many()
            .col_expr(visit::Column::Status, Expr::value("cancelled"))
            .col_expr(visit::Column::UpdatedAt, Expr::value(now))
            .filter(visit::Column::Id.is_in(rows.iter().map(|v| v.id)))
            .exec(txn)
            .await?;
        let c = find(txn, cohort_id).await?;
        set_status(txn, c, CohortStatus::TriadsAccepted, now).await?;
        Ok(())
    })
    .await?;
    visits(db, cohort_id).await
}
