//! Server-rendered HTML pages (the survey form, the participant pages, the organiser console), from Jinja templates compiled into the
//! binary, with HTML auto-escaping. A template that does not parse fails the start-up test, not
//! a user's request.

use std::sync::OnceLock;

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use minijinja::Environment;
use serde::Serialize;

fn templates() -> &'static Result<Environment<'static>, minijinja::Error> {
    static ENV: OnceLock<Result<Environment<'static>, minijinja::Error>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.add_template("base.html", include_str!("../templates/base.html"))?;
        env.add_template("survey.html", include_str!("../templates/survey.html"))?;
        env.add_template("message.html", include_str!("../templates/message.html"))?;
        env.add_template("sign_in.html", include_str!("../templates/sign_in.html"))?;
        env.add_template("participant.html", include_str!("../templates/participant.html"))?;
        env.add_template("console/base.html", include_str!("../templates/console/base.html"))?;
        for (name, source) in [
            (
                "console/dashboard.html",
                include_str!("../templates/console/dashboard.html"),
            ),
            ("console/macros.html", include_str!("../templates/console/macros.html")),
            ("console/events.html", include_str!("../templates/console/events.html")),
            (
                "console/event_fields.html",
                include_str!("../templates/console/event_fields.html"),
            ),
            (
                "console/event_new.html",
                include_str!("../templates/console/event_new.html"),
            ),
            ("console/event.html", include_str!("../templates/console/event.html")),
            (
                "console/event_cancel.html",
                include_str!("../templates/console/event_cancel.html"),
            ),
            (
                "console/people_search.html",
                include_str!("../templates/console/people_search.html"),
            ),
            (
                "console/session.html",
                include_str!("../templates/console/session.html"),
            ),
            (
                "console/register.html",
                include_str!("../templates/console/register.html"),
            ),
            ("console/audit.html", include_str!("../templates/console/audit.html")),
            ("console/keys.html", include_str!("../templates/console/keys.html")),
            (
                "console/imports.html",
                include_str!("../templates/console/imports.html"),
            ),
            (
                "console/surveys.html",
                include_str!("../templates/console/surveys.html"),
            ),
            ("console/survey.html", include_str!("../templates/console/survey.html")),
            (
                "console/record_form.html",
                include_str!("../templates/console/record_form.html"),
            ),
            (
                "console/programmes.html",
                include_str!("../templates/console/programmes.html"),
            ),
            (
                "console/programme_form.html",
                include_str!("../templates/console/programme_form.html"),
            ),
            (
                "console/schools.html",
                include_str!("../templates/console/schools.html"),
            ),
            (
                "console/school_form.html",
                include_str!("../templates/console/school_form.html"),
            ),
            ("console/people.html", include_str!("../templates/console/people.html")),
            (
                "console/person_form.html",
                include_str!("../templates/console/person_form.html"),
            ),
            (
                "console/notifications.html",
                include_str!("../templates/console/notifications.html"),
            ),
        ] {
            env.add_template(name, source)?;
        }
        Ok(env)
    })
}

/// Renders `name` with `context` as a page with `status`. Personal pages are never cached and
/// never leak their URL (which holds a secret) to other sites.
pub fn render<S: Serialize>(status: StatusCode, name: &str, context: S) -> HttpResponse {
    let body = templates()
        .as_ref()
        .map_err(|e| e.to_string())
        .and_then(|env| env.get_template(name).map_err(|e| e.to_string()))
        .and_then(|t| t.render(context).map_err(|e| e.to_string()));
    match body {
        Ok(html) => HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .insert_header(("Cache-Control", "no-store"))
            .insert_header(("Referrer-Policy", "no-referrer"))
            .insert_header(("X-Frame-Options", "DENY"))
            .insert_header(("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"))
            .body(html),
        Err(e) => {
            tracing::error!(template = name, error = %e, "a page could not be rendered");
            HttpResponse::InternalServerError()
                .content_type("text/plain; charset=utf-8")
                .body("Sorry, this page could not be shown. The problem has been logged.")
        }
    }
}

/// A link on a message page.
#[derive(Serialize)]
pub struct Link {
    /// Where it goes.
    pub href: String,
    /// Its text.
    pub text: String,
}

/// A page with a heading and a few paragraphs (a thank-you, or why a link does not work).
pub fn message(status: StatusCode, heading: &str, paragraphs: &[&str], link: Option<Link>) -> HttpResponse {
    render(
        status,
        "message.html",
        minijinja::context! { heading, paragraphs, link },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses() {
        assert!(templates().is_ok(), "{:?}", templates().as_ref().err());
    }
}
