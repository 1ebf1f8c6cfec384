//! Parse, don't validate: the constructors that turn request values into checked ones,
//! collecting every field at fault so an organiser sees all their mistakes at once.

use entity::state::State;

use crate::time::{TimeError, TimeInput, TimeZoneName};
pub use crate::wire::nullable;
pub use crate::wire::problem::FieldError;

impl FieldError {
    /// A field error with a message.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Collects field errors while request values are parsed; `finish` fails if any were found.
#[derive(Debug, Default)]
pub struct Validator {
    errors: Vec<FieldError>,
}

/// The longest name or title Convene stores.
pub const NAME_MAX: usize = 300;
/// The longest free text (descriptions, reflections) Convene stores.
pub const TEXT_MAX: usize = 20_000;
/// The longest short line: a topic, a local authority, a region, a question's choice.
pub const SHORT_LINE_MAX: usize = 100;
/// The longest long line: a venue, a question's prompt.
pub const LONG_LINE_MAX: usize = 500;
/// The most topics one list holds.
pub const MAX_TOPICS: usize = 50;

impl Validator {
    /// An empty collector.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a problem with `field`.
    pub fn fail(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, message));
    }

    /// Records a time error against `field`.
    pub fn fail_time(&mut self, field: &str, error: &TimeError) {
        self.fail(field, error.to_string());
    }

    /// Ok when nothing failed, else every field error found.
    pub fn finish(self) -> Result<(), Vec<FieldError>> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(self.errors)
        }
    }

    /// A required single-line text: trimmed, non-empty, at most `max` characters, no control characters.
    pub fn required_line(&mut self, field: &str, value: Option<String>, max: usize) -> String {
        match value {
            None => {
                self.fail(field, "is required");
                String::new()
            }
            Some(v) => self.line(field, v, max),
        }
    }

    /// A single-line text that was given: trimmed, non-empty, at most `max` characters, no control characters.
    pub fn line(&mut self, field: &str, value: String, max: usize) -> String {
        let value = value.trim().to_owned();
        if value.is_empty() {
            self.fail(field, "must not be empty");
        } else if value.chars().any(char::is_control) {
            self.fail(field, "must be one line without control characters");
        } else if value.chars().count() > max {
            self.fail(field, format!("must be at most {max} characters"));
        }
        value
    }

    /// An optional single-line text; blank becomes `None`.
    pub fn optional_line(&mut self, field: &str, value: Option<String>, max: usize) -> Option<String> {
        let value = value?;
        if value.trim().is_empty() {
            return None;
        }
        Some(self.line(field, value, max))
    }

    /// An optional multi-line text (newlines and tabs allowed, other control characters not); blank becomes `None`.
    pub fn optional_text(&mut self, field: &str, value: Option<String>, max: usize) -> Option<String> {
        let value = value?.trim().to_owned();
        if value.is_empty() {
            return None;
        }
        if value
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
        {
            self.fail(
                field,
                "must not contain control characters other than newlines and tabs",
            );
        } else if value.chars().count() > max {
            self.fail(field, format!("must be at most {max} characters"));
        }
        Some(value)
    }

    /// A list of topics (strengths, priorities, accredited practice): each a short line, duplicates dropped.
    pub fn topics(&mut self, field: &str, value: Option<Vec<String>>) -> Vec<String> {
        let mut topics: Vec<String> = Vec::new();
        let items = value.unwrap_or_default();
        if items.len() > MAX_TOPICS {
            self.fail(field, format!("must list at most {MAX_TOPICS} topics"));
            return topics;
        }
        for (i, item) in items.into_iter().enumerate() {
            let topic = self.line(&format!("{field}[{i}]"), item, SHORT_LINE_MAX);
            if !topics.iter().any(|t| t.eq_ignore_ascii_case(&topic)) {
                topics.push(topic);
            }
        }
        topics
    }

    /// A required email address, lower-cased.
    pub fn required_email(&mut self, field: &str, value: Option<String>) -> String {
        let Some(value) = value else {
            self.fail(field, "is required");
            return String::new();
        };
        self.email(field, value)
    }

    /// An email address, lower-cased: one `@`, a dotted domain, no spaces, at most 254 characters.
    pub fn email(&mut self, field: &str, value: String) -> String {
        let value = value.trim().to_lowercase();
        if !is_email(&value) {
            self.fail(field, "is not an email address (like name@school.org.uk)");
        }
        value
    }

    /// A required IANA zone.
    pub fn zone(&mut self, field: &str, value: Option<String>) -> Option<TimeZoneName> {
        let Some(value) = value else {
            self.fail(field, "is required (an IANA time zone such as Europe/London)");
            return None;
        };
        match TimeZoneName::parse(&value) {
            Ok(zone) => Some(zone),
            Err(e) => {
                self.fail_time(field, &e);
                None
            }
        }
    }

    /// A required time, read as an instant or a local date-time (placed later, once the zone is known).
    pub fn time(&mut self, field: &str, value: Option<String>) -> Option<TimeInput> {
        let Some(value) = value else {
            self.fail(field, "is required");
            return None;
        };
        match TimeInput::parse(&value) {
            Ok(t) => Some(t),
            Err(e) => {
                self.fail_time(field, &e);
                None
            }
        }
    }

    /// A value that must be one of `allowed`.
    pub fn one_of(&mut self, field: &str, value: Option<String>, allowed: &[&'static str]) -> Option<&'static str> {
        let Some(value) = value else {
            self.fail(field, format!("is required (one of {})", allowed.join(", ")));
            return None;
        };
        let found = allowed.iter().find(|a| **a == value.trim()).copied();
        if found.is_none() {
            self.fail(field, format!("must be one of {}", allowed.join(", ")));
        }
        found
    }

    /// A state that must be one of `allowed` (all of its kind, or the few a request may ask for).
    pub fn state<S: State>(&mut self, field: &str, value: Option<String>, allowed: &[S]) -> Option<S> {
        let names: Vec<&'static str> = allowed.iter().map(|s| s.as_str()).collect();
        self.one_of(field, value, &names).and_then(S::parse)
    }

    /// A whole number in `range`.
    pub fn int_in(&mut self, field: &str, value: i64, range: std::ops::RangeInclusive<i64>) -> i32 {
        if !range.contains(&value) {
            self.fail(field, format!("must be between {} and {}", range.start(), range.end()));
            return 0;
        }
        i32::try_from(value).unwrap_or_default()
    }
}

fn is_email(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else {
        return false;
    };
    value.len() <= super::contract::EMAIL_MAX
        && !local.is_empty()
        && local.len() <= 64
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && value
            .chars()
            .all(|c| c.is_ascii_graphic() || (!c.is_ascii() && !c.is_control()))
        && domain.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_lower_cased_and_checked() {
        let mut v = Validator::new();
        assert_eq!(v.email("email", " Ann@School.ORG.uk ".into()), "ann@school.org.uk");
        assert!(v.finish().is_ok());
        for bad in [
            "ann",
            "ann@",
            "@school.org",
            "ann@school",
            "a b@school.org",
            "ann@school..org",
            "ann@@x.org",
        ] {
            let mut v = Validator::new();
            v.email("email", bad.into());
            assert!(v.finish().is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn every_bad_field_is_listed() {
        let mut v = Validator::new();
        v.required_line("name", None, 10);
        v.line("title", "a\u{0}b".into(), 10);
        v.topics("strengths", Some(vec!["ok".into(), " ".into()]));
        let errors = v.finish().unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "title", "strengths[1]"]);
    }
}
