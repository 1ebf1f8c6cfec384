//! `/o/engagement`: every school's engagement in a period, with the API's filters and a CSV of
//! it; a chart of engagement by local authority and a heat map of the links between authorities,
//! each beside a table of the same numbers.

use actix_web::{HttpRequest, HttpResponse, web};

use super::{Problems, query, render, signed_in_page, values};
use crate::charts;
use crate::domain::insight::{self, Collaboration, EngagementReport, InsightFilter};
use crate::domain::page::PageRequest;
use crate::domain::programme::{self, ProgrammeFilter};
use crate::domain::{DomainError, DomainResult, FieldError};
use crate::routes::web_session::Form;
use crate::spreadsheet::csv_line;
use crate::state::AppState;

/// The page's filters.
const FILTERS: &[&str] = &["from", "to", "programme_id", "local_authority", "phase"];
/// The states, in the order the chart stacks them.
const STATES: [&str; 3] = ["engaged", "booked_only", "none"];

/// Registers the pages.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/o/engagement").route(web::get().to(show)))
        .service(web::resource("/o/engagement.csv").route(web::get().to(csv)));
}

/// The filter the query asks for (a programme that is not a number is the field's problem).
fn filter_of(q: &Form) -> Result<InsightFilter, DomainError> {
    let programme_id = match q.text("programme_id") {
        Some(text) => Some(text.parse().map_err(|_| {
            DomainError::Invalid(vec![FieldError::new(
                "programme_id",
                "choose a programme from the list",
            )])
        })?),
        None => None,
    };
    Ok(InsightFilter {
        from: q.text("from"),
        to: q.text("to"),
        programme_id,
        local_authority: q.text("local_authority"),
        phase: q.text("phase"),
    })
}

/// The engagement and the collaboration the query asks for.
async fn read(
    state: &AppState,
    q: &Form,
    now: chrono::DateTime<chrono::Utc>,
) -> DomainResult<(EngagementReport, Collaboration)> {
    let filter = filter_of(q)?;
    Ok((
        insight::engagement(&state.db, &filter, now).await?,
        insight::collaboration(&state.db, &filter, now).await?,
    ))
}

/// Each school's partners and those outside its authority, by school.
fn partners_by_school(links: &Collaboration) -> std::collections::HashMap<i64, (u64, u64)> {
    links
        .schools
        .iter()
        .map(|p| (p.school_id, (p.partners, p.partners_outside_authority)))
        .collect()
}

/// `/o/engagement`.
async fn show(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let q = query(&req);
    signed_in_page(&state, &req, async |visitor| {
        let (report, links, problems) = match read(&state, &q, visitor.now).await {
            Ok((report, links)) => (report, links, Problems::default()),
            Err(err) => (
                EngagementReport::default(),
                Collaboration::default(),
                Problems::of(err)?,
            ),
        };
        let by_authority: Vec<(String, Vec<u64>)> = report
            .totals
            .by_local_authority
            .iter()
            .map(|(la, c)| (la.clone(), vec![c.engaged, c.booked_only, c.none]))
            .collect();
        let chart = charts::stacked_bars(
            "engagement-chart",
            "Schools engaged, booked only and doing nothing, by local authority",
            &by_authority,
        )
        .map_err(|e| DomainError::Database(sea_orm::DbErr::Custom(e)))?;
        let heat = charts::heat_map(
            "links-chart",
            "Collaboration links between local authorities",
            &links.authorities.names,
            &links.authorities.matrix,
        )
        .map_err(|e| DomainError::Database(sea_orm::DbErr::Custom(e)))?;
        let partners = partners_by_school(&links);
        let rows: Vec<minijinja::Value> = report
            .items
            .iter()
            .map(|row| {
                let (partners, outside) = partners.get(&row.school_id).copied().unwrap_or_default();
                minijinja::context! { partners, outside, ..minijinja::Value::from_serialize(row) }
            })
            .collect();
        let programmes = programme::list(
            &state.db,
            &ProgrammeFilter::default(),
            PageRequest::parse(Some(500), None)?,
        )
        .await?
        .items;
        DomainResult::Ok(render(
            &visitor,
            problems.status(),
            "console/engagement.html",
            minijinja::context! {
                rows,
                report,
                links,
                by_authority,
                chart => minijinja::Value::from_safe_string(chart),
                heat => minijinja::Value::from_safe_string(heat),
                legend => STATES.iter().enumerate().map(|(i, s)| (s.replace('_', " "), charts::colour(i))).collect::<Vec<_>>(),
                programmes,
                phases => crate::domain::school::PHASES,
                filter => values(&q, FILTERS),
                query => req.query_string(),
                problems,
            },
        ))
    })
    .await
}

/// `/o/engagement.csv`: the table, one school a line, for a spreadsheet.
async fn csv(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let q = query(&req);
    signed_in_page(&state, &req, async |visitor| {
        let (report, links) = read(&state, &q, visitor.now).await?;
        let partners = partners_by_school(&links);
        let mut body = csv_line([
            "school_id",
            "name",
            "local_authority",
            "phase",
            "state",
            "booked",
            "attended",
            "hosted",
            "slp_led",
            "visits_hosted",
            "triads",
            "survey_responses",
            "reflections",
            "partners",
            "partners_outside_authority",
        ]);
        for r in &report.items {
            let (p, outside) = partners.get(&r.school_id).copied().unwrap_or_default();
            let numbers = [
                r.booked,
                r.attended,
                r.hosted,
                r.slp_led,
                r.visits_hosted,
                r.triads,
                r.survey_responses,
                r.reflections,
                p,
                outside,
            ]
            .map(|n| n.to_string());
            let mut cells = vec![
                r.school_id.to_string(),
                r.name.clone(),
                r.local_authority.clone(),
                r.phase.clone(),
                r.state.clone(),
            ];
            cells.extend(numbers);
            body.push_str(&csv_line(&cells));
        }
        Ok(crate::spreadsheet::csv_download(
            &format!("engagement-{}-to-{}.csv", report.from, report.to),
            body,
        ))
    })
    .await
}
