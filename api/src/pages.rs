//! Server-rendered HTML pages (the survey form, the participant pages, the organiser console), from Jinja templates compiled into the
//! binary, with HTML auto-escaping. A template that does not parse fails the start-up test, not
//! a user's request.

use std::sync::OnceLock;

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use minijinja::Environment;
use serde::Serialize;

/// The console's templates by name (`console/NAME.html`), each compiled into the binary.
macro_rules! console_templates {
    ($($name:literal),+ $(,)?) => {
        [$((
            concat!("console/", $name, ".html"),
            include_str!(concat!("../templates/console/", $name, ".html")),
        )),+]
    };
}

fn templates() -> &'static Result<Environment<'static>, minijinja::Error> {
    static ENV: OnceLock<Result<Environment<'static>, minijinja::Error>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.add_template("base.html", include_str!("../templates/base.html"))?;
        env.add_template("survey.html", include_str!("../templates/survey.html"))?;
        env.add_template("message.html", include_str!("../templates/message.html"))?;
        env.add_template("sign_in.html", include_str!("../templates/sign_in.html"))?;
        env.add_template("participant.html", include_str!("../templates/participant.html"))?;
        env.add_template("unsubscribe.html", include_str!("../templates/unsubscribe.html"))?;
        env.add_template("console/base.html", include_str!("../templates/console/base.html"))?;
        for (name, source) in console_templates!(
            "dashboard",
            "macros",
            "events",
            "event_fields",
            "event_new",
            "event",
            "event_cancel",
            "people_search",
            "session",
            "register",
            "audit",
            "keys",
            "imports",
            "surveys",
            "survey",
            "record_form",
            "programmes",
            "programme_form",
            "programme_impact",
            "schools",
            "school_form",
            "people",
            "person_form",
            "notifications",
            "engagement",
            "cohorts",
            "cohort",
            "cohort_visits",
            "announcements",
            "announcement_new",
            "announcement",
            "term_dates",
            "term_dates_authority",
            "term_dates_remove",
        ) {
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
    fn every_console_template_file_is_compiled_in() {
        let env = templates().as_ref().expect("the templates parse");
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/templates/console");
        for entry in std::fs::read_dir(dir).expect("the templates folder") {
            let name = format!("console/{}", entry.expect("an entry").file_name().to_string_lossy());
            assert!(env.get_template(&name).is_ok(), "{name} is not added in pages.rs");
        }
    }

    #[test]
    fn every_template_parses() {
        assert!(templates().is_ok(), "{:?}", templates().as_ref().err());
    }
}
