//! `/o/audit`: the audit trail, newest first, with the API's filters (actor, target).

use actix_web::{HttpRequest, HttpResponse, web};

use super::{listed, next_page, query, render, signed_in_page, values};
use crate::domain::audit::{self, AuditFilter};
use crate::domain::{DomainError, DomainResult};
use crate::state::AppState;

/// The filters the page takes.
const FILTERS: &[&str] = &["actor", "target_type", "target_id"];

/// The trail, a page of 100 at a time.
pub async fn show(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let q = query(&req);
    signed_in_page(&state, &req, async |visitor| {
        let target_id = q.text("target_id");
        let parsed_id = target_id.as_deref().map(str::parse::<i64>);
        let filter = AuditFilter {
            actor: q.text("actor"),
            target_type: q.text("target_type"),
            target_id: parsed_id.clone().and_then(Result::ok),
            limit: None,
            cursor: q.text("cursor"),
        };
        let (entries, problems) = listed(100, filter.cursor.as_deref(), async |page| {
            if let Some(Err(_)) = parsed_id {
                return Err(DomainError::Invalid(vec![crate::domain::FieldError::new(
                    "target_id",
                    "is a number, the id of the thing changed",
                )]));
            }
            audit::list(&state.db, &filter, page).await
        })
        .await?;
        let next = entries
            .next_cursor
            .as_deref()
            .map(|cursor| next_page("/o/audit", &q, FILTERS, cursor));
        DomainResult::Ok(render(
            &visitor,
            problems.status(),
            "console/audit.html",
            minijinja::context! {
                entries => entries.items,
                next,
                filter => values(&q, FILTERS),
                problems,
            },
        ))
    })
    .await
}
