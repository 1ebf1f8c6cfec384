//! The wire contract: schema types that say in the OpenAPI document what the validators accept,
//! built from the same constants the validators use (`school::PHASES`, `NAME_MAX`, the zone
//! database), so a client generated from `/openapi.json` sends what the server takes and the two
//! cannot drift apart.
//!
//! Each type here exists only for the document: a request or response field keeps its plain Rust
//! type (checked by [`super::Validator`], which names every field at fault) and points at one of
//! these with `#[schema(value_type = …)]`. Rules that span fields or rows (an end after a start,
//! an id that must exist, a key used once) cannot be said in JSON Schema; the fields that carry
//! them say so in their descriptions.

use entity::state as states;
use serde_json::{Value, json};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;
use utoipa::{PartialSchema, ToSchema};

use super::validate::{LONG_LINE_MAX, NAME_MAX, SHORT_LINE_MAX, TEXT_MAX};
use super::{
    announcement, closure, cohort, event, idempotency, me, notification, outbox, participant, programme, reflection,
    school, session, survey,
};

/// A one-line text as [`super::Validator::line`] takes it: no control characters (U+0000–U+001F,
/// U+007F–U+009F) and at least one character that is not white space (it is trimmed).
pub const LINE_PATTERN: &str = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$";

/// A multi-line text as [`super::Validator::optional_text`] takes it: newlines and tabs allowed,
/// other control characters not, and something besides white space.
pub const TEXT_PATTERN: &str =
    r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$";

/// A query-string value: the query reader refuses control characters in any parameter.
pub const QUERY_TEXT_PATTERN: &str = r"^[^\x00-\x1f\x7f-\x9f]*$";

/// The dates every year has, `YYYY-MM-DD` without the year (the 29th of February, which the
/// server takes in leap years, is left out: a pattern cannot tell leap years).
macro_rules! month_day {
    () => {
        r"((0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])|(0[13-9]|1[0-2])-(29|30)|(0[13578]|1[02])-31)"
    };
}

/// The years in the patterns of times: 2001 to 2098, so that whatever the offset or zone, the
/// instant falls inside the years Convene accepts ([`crate::time::YEARS`], 2000 to 2099).
macro_rules! year {
    () => {
        r"20(0[1-9]|[1-8][0-9]|9[0-8])"
    };
}

/// A date-time as [`crate::time::TimeInput::parse`] reads it: a local `YYYY-MM-DDTHH:MM[:SS]`
/// (read in the event's zone), or an RFC 3339 instant, which has seconds and `Z` or an offset.
pub const DATE_TIME_INPUT_PATTERN: &str = concat!(
    "^",
    year!(),
    "-",
    month_day!(),
    r"T([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](Z|[+-](0[0-9]|1[0-3]):[0-5][0-9])?)?$"
);

/// An RFC 3339 instant: seconds and `Z` or an offset.
pub const INSTANT_INPUT_PATTERN: &str = concat!(
    "^",
    year!(),
    "-",
    month_day!(),
    r"T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](Z|[+-](0[0-9]|1[0-3]):[0-5][0-9])$"
);

/// A calendar date `YYYY-MM-DD` in the years Convene accepts.
pub const DATE_PATTERN: &str = concat!(r"^20[0-9][0-9]-", month_day!(), "$");

/// A local time of day `HH:MM`.
pub const LOCAL_TIME_PATTERN: &str = r"^([01][0-9]|2[0-3]):[0-5][0-9]$";

/// The longest email address taken (RFC 5321's path limit).
pub const EMAIL_MAX: usize = 254;

/// An email address as the validator takes it: a local part of printable ASCII without `@` (at
/// most 64 characters), `@`, and a dotted domain of letters, digits and hyphens.
pub const EMAIL_PATTERN: &str = r"^[!-?A-~]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$";

/// A schema from its JSON form. The forms here are fixed and tested
/// (`every_contract_schema_reads_back_as_written`), so the fallback is never taken.
fn from_json(value: Value) -> RefOr<Schema> {
    serde_json::from_value(value).unwrap_or_else(|_| RefOr::T(Schema::default()))
}

/// A string that is one of `values`.
pub fn enum_of(values: &[&str], description: &str) -> Value {
    json!({"type": "string", "enum": values, "description": description})
}

/// A one-line text of 1 to `max` characters.
pub fn line(max: usize, description: &str) -> Value {
    json!({"type": "string", "minLength": 1, "maxLength": max, "pattern": LINE_PATTERN, "description": description})
}

/// A multi-line text of 1 to `max` characters.
pub fn text(max: usize, description: &str) -> Value {
    json!({"type": "string", "minLength": 1, "maxLength": max, "pattern": TEXT_PATTERN, "description": description})
}

/// Declares a schema-only type: `$name`'s schema is the JSON `$schema`, named `$name` in the document.
/// `uses` names the types its JSON refers to by `$ref`, so that they are in the document too.
macro_rules! contract_type {
    ($(#[$doc:meta])* $name:ident => $schema:expr $(, uses $($used:ident),+)?) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name;

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                from_json($schema)
            }
        }

        impl ToSchema for $name {
            fn schemas(_schemas: &mut Vec<(String, RefOr<Schema>)>) {
                $($( _schemas.push(($used::name().into_owned(), $used::schema())); )+)?
            }
        }
    };
}

/// Declares the body a create takes: the schema of the `PATCH` body `$base` it shares, with
/// `$required` required and not `null`, and each `with` field's schema replaced by the type given
/// (a narrower one: a new event cannot start `cancelled`).
macro_rules! create_body {
    ($(#[$doc:meta])* $name:ident => $base:ty, $required:expr, $description:expr $(, with $($field:ident = $ty:ty),+)?) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name;

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                let narrower: Vec<(&str, String)> = vec![$($(
                    (stringify!($field), <$ty as utoipa::ToSchema>::name().into_owned()),
                )+)?];
                $crate::domain::contract::requiring::<$base>($required, $description, &narrower)
            }
        }

        impl utoipa::ToSchema for $name {
            fn schemas(schemas: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)>) {
                <$base as utoipa::ToSchema>::schemas(schemas);
                $($(
                    schemas.push((
                        <$ty as utoipa::ToSchema>::name().into_owned(),
                        <$ty as utoipa::PartialSchema>::schema(),
                    ));
                )+)?
            }
        }
    };
}
pub(crate) use create_body;

contract_type!(
    /// A school's phase of education.
    Phase => enum_of(school::PHASES, "A phase of education.")
);
contract_type!(
    /// A participant's role in the network.
    Role => enum_of(participant::ROLES, "A role in the network.")
);
contract_type!(
    /// An event's kind.
    EventKind => enum_of(event::KINDS, "The kind of event.")
);
contract_type!(
    /// An event's state.
    EventStatus => enum_of(states::EventStatus::NAMES, "An event's state: draft, published or cancelled.")
);
contract_type!(
    /// The states a new event may start in (never `cancelled`).
    NewEventStatus => enum_of(&states::EventStatus::NAMES[..2], "A new event's state (a new event is never cancelled).")
);
contract_type!(
    /// A session's state.
    SessionStatus => enum_of(states::SessionStatus::NAMES, "A session's state.")
);
contract_type!(
    /// The state a new session has (a new session is never cancelled).
    NewSessionStatus => enum_of(&states::SessionStatus::NAMES[..1], "A new session's state (a new session is never cancelled).")
);
contract_type!(
    /// A programme's kind.
    ProgrammeKind => enum_of(programme::KINDS, "The kind of programme.")
);
contract_type!(
    /// A programme's state.
    ProgrammeStatus => enum_of(programme::STATUSES, "A programme's state: only a published programme has a public feed.")
);
contract_type!(
    /// A survey question's kind.
    QuestionKind => enum_of(survey::KINDS, "The kind of question: `likert` is a whole number from 1 to 5.")
);
contract_type!(
    /// A triad cohort's state.
    CohortStatus => enum_of(
        states::CohortStatus::NAMES,
        "A cohort's state: `draft` while its triads are proposed, then `triads_accepted`, then `scheduled`."
    )
);
contract_type!(
    /// A survey's state.
    SurveyStatus => enum_of(&survey::STATUSES.map(states::SurveyStatus::as_str), "A survey's state.")
);
contract_type!(
    /// An IANA time-zone name, exactly as the zone database spells it.
    TimeZone => {
        let names: Vec<&str> = chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()).collect();
        json!({"type": "string", "enum": names, "example": "Europe/London",
            "description": "An IANA time-zone name such as `Europe/London` (any name of the IANA database, as spelt there)."})
    }
);
contract_type!(
    /// A name or title: one line.
    Name => line(NAME_MAX, "One line of text (trimmed; no control characters).")
);
contract_type!(
    /// A short one-line text: a topic, a local authority, a region, a choice.
    ShortLine => line(SHORT_LINE_MAX, "One short line of text (trimmed; no control characters).")
);
contract_type!(
    /// A longer one-line text: a venue, a question's prompt.
    LongLine => line(LONG_LINE_MAX, "One line of text (trimmed; no control characters).")
);
contract_type!(
    /// A description: any number of lines.
    Description => text(TEXT_MAX, "Text of one or more lines (trimmed; no control characters but newlines and tabs).")
);
contract_type!(
    /// A reflection's or an answer's paragraph.
    Paragraph => text(reflection::TEXT_MAX, "Text of one or more lines (trimmed; no control characters but newlines and tabs).")
);
contract_type!(
    /// A participant's reminder times.
    Reminders => json!({"type": "array", "maxItems": participant::MAX_REMINDERS,
        "items": {"type": "integer", "format": "int64",
            "minimum": participant::REMINDER_MINUTES.start(), "maximum": participant::REMINDER_MINUTES.end()},
        "description": "Minutes before a session to be reminded (5 minutes to 30 days); `[]` for no reminders."})
);
contract_type!(
    /// A number of seats.
    Seats => json!({"type": "integer", "format": "int64", "minimum": 1, "maximum": session::MAX_CAPACITY,
        "description": "A number of seats, 1 to 1,000,000."})
);
contract_type!(
    /// A list of topics.
    Topics => json!({"type": "array", "maxItems": super::validate::MAX_TOPICS, "items": {"$ref": "#/components/schemas/ShortLine"},
        "description": "Topics, each a short line; repeats (in any case) are kept once."}),
    uses ShortLine
);
contract_type!(
    /// A Unique Reference Number.
    Urn => json!({"type": "string", "pattern": format!("^[A-Za-z0-9]{{1,{}}}$", school::URN_MAX), "example": "100001",
        "description": "A Unique Reference Number: letters and digits."})
);
contract_type!(
    /// An email address.
    Email => json!({"type": "string", "format": "email", "maxLength": EMAIL_MAX, "pattern": EMAIL_PATTERN,
        "example": "ann.jones@northfield.sch.uk", "description": "An email address (stored lower-cased)."})
);
contract_type!(
    /// A web address for joining online.
    WebAddress => json!({"type": "string", "format": "uri", "minLength": 10, "maxLength": event::ONLINE_URL_MAX, "pattern": r"^https?://[^\s\x00-\x1f\x7f-\x9f]+$",
        "example": "https://meet.example.org/slp-reading", "description": "An http or https address."})
);
contract_type!(
    /// A time as an organiser gives it: an instant or a local date-time.
    DateTimeInput => json!({"type": "string", "pattern": DATE_TIME_INPUT_PATTERN, "example": "2031-06-04T09:30",
        "description": "An RFC 3339 instant with `Z` or an offset (`2031-06-04T08:30:00Z`), or a local date-time \
(`2031-06-04T09:30`) read in the event's zone. A local time the clocks skip or repeat in that zone is refused \
(`nonexistent_local_time`, `ambiguous_local_time`); the instant must fall in the years 2000 to 2099."})
);
contract_type!(
    /// A list filter's bound: a date or an instant.
    DateOrInstant => json!({"anyOf": [
            {"type": "string", "pattern": DATE_PATTERN},
            {"type": "string", "pattern": INSTANT_INPUT_PATTERN},
        ],
        "example": "2031-06-01",
        "description": "A date (`2031-06-01`, the whole day in UTC) or an instant with `Z` or an offset, in the years 2000 to 2099."})
);
contract_type!(
    /// A calendar date.
    CalendarDate => json!({"type": "string", "format": "date", "pattern": DATE_PATTERN, "example": "2031-06-04",
        "description": "A date, `YYYY-MM-DD`, in the years 2000 to 2099."})
);
contract_type!(
    /// A kind of closed day.
    ClosureKind => enum_of(closure::KINDS, "`holiday`, `inset`, `closure` or `blackout` (open, but not for visits).")
);
contract_type!(
    /// A booking's state.
    BookingStatus => enum_of(states::BookingStatus::NAMES, "A booking's state.")
);
contract_type!(
    /// What attendance marks a booking with.
    AttendanceStatus => enum_of(
        &[states::BookingStatus::Attended.as_str(), states::BookingStatus::NoShow.as_str()],
        "`attended` or `no_show`.")
);
contract_type!(
    /// An `Idempotency-Key` header.
    IdempotencyKey => json!({"type": "string", "pattern": format!("^[!-~]{{1,{}}}$", idempotency::KEY_MAX),
        "description": "Any unique string of 1 to 255 visible ASCII characters; a retry with the same key and body \
returns the first answer (kept 24 h); the same key with another body is refused (`idempotency_key_reused`)."})
);
contract_type!(
    /// A message's state in the outbox.
    NotificationState => enum_of(states::NotificationState::NAMES, "A message's state (`dead`: it could not be delivered).")
);
contract_type!(
    /// A channel messages go by.
    Channel => enum_of(notification::CHANNELS, "`email`, `discord` (a DM) or `discord_channel` (a post to the announcements channel).")
);
contract_type!(
    /// A channel an announcement goes by.
    AnnouncementChannel => enum_of(announcement::CHANNELS, "`email`, `discord_dm` or `discord_channel`.")
);
contract_type!(
    /// A kind of message.
    NotificationKind => {
        let kinds: Vec<&str> = outbox::Kind::ALL.iter().map(|k| k.as_str()).collect();
        enum_of(&kinds, "A kind of message.")
    }
);
contract_type!(
    /// The kinds of event participants book themselves.
    OpenEventKind => enum_of(me::OPEN_KINDS, "`conference` or `slp_session`.")
);
contract_type!(
    /// Which bookings to list.
    When => enum_of(me::WHEN, "`upcoming` (the default) or `past`.")
);
contract_type!(
    /// A day of the week.
    Weekday => enum_of(&cohort::WEEKDAYS, "A day of the week, `mon` to `sun`.")
);
contract_type!(
    /// The days between two visits of a triad.
    DaysBetweenVisits => json!({"type": "integer", "format": "int64",
        "minimum": cohort::DAYS_BETWEEN_VISITS.start(), "maximum": cohort::DAYS_BETWEEN_VISITS.end()})
);
contract_type!(
    /// The visits a facilitator makes in a week.
    VisitsPerWeek => json!({"type": "integer", "format": "int64",
        "minimum": cohort::VISITS_PER_WEEK.start(), "maximum": cohort::VISITS_PER_WEEK.end()})
);
contract_type!(
    /// A cohort's schools.
    CohortSchools => json!({"type": "array", "minItems": 1, "maxItems": cohort::MAX_SCHOOLS, "uniqueItems": true,
        "items": {"type": "integer", "format": "int64"}})
);
contract_type!(
    /// Schools pinned together.
    Pin => json!({"type": "array", "minItems": 2, "maxItems": 4, "uniqueItems": true,
        "items": {"type": "integer", "format": "int64"}})
);
contract_type!(
    /// Two different schools.
    SchoolPair => json!({"type": "array", "minItems": 2, "maxItems": 2, "uniqueItems": true,
        "items": {"type": "integer", "format": "int64"}})
);
contract_type!(
    /// How far a schedule is from the soft goals (`solver::scheduling::Penalties`, which the
    /// solver keeps free of schema attributes; a test checks the names match).
    Penalties => {
        let count = |description: &str| json!({"type": "integer", "format": "int64", "minimum": 0, "description": description});
        json!({"type": "object", "additionalProperties": false,
            "description": "The soft goals' penalties (lower is better).",
            "required": ["spread", "facilitator_changes", "workload_spread", "total"],
            "properties": {
                "spread": count("Days by which consecutive visits of a triad fall short of the ideal gap, summed."),
                "facilitator_changes": count("Facilitators beyond the first per triad, summed."),
                "workload_spread": count("The busiest facilitator's visits minus the least busy's."),
                "total": count("`spread + 20 × facilitator_changes + 5 × workload_spread`."),
            }})
    }
);
contract_type!(
    /// A Discord user id.
    DiscordId => json!({"type": "string", "pattern": "^[0-9]{1,20}$", "example": "80351110224678912",
        "description": "A Discord user id (a snowflake): 1 to 20 digits."})
);
contract_type!(
    /// A link code.
    LinkCode => json!({"type": "string", "pattern": "^[0-9]{6}$", "example": "042917",
        "description": "The six digits from the email."})
);
contract_type!(
    /// A local time of day.
    LocalTime => json!({"type": "string", "pattern": LOCAL_TIME_PATTERN, "example": "09:00",
        "description": "A local time of day, `HH:MM`."})
);
contract_type!(
    /// An instant as Convene shows it.
    Instant => json!({"type": "string", "format": "date-time", "example": "2031-06-04T08:30:00Z",
        "description": "An RFC 3339 instant in UTC, whole seconds."})
);
contract_type!(
    /// Opaque paging token.
    Cursor => json!({"type": "string", "pattern": QUERY_TEXT_PATTERN,
        "description": "The `next_cursor` of the previous page, as it was given (any other value is refused)."})
);
contract_type!(
    /// Free text to search for in a list.
    SearchText => json!({"type": "string", "pattern": QUERY_TEXT_PATTERN, "maxLength": 200,
        "description": "Text to find (any case); no control characters."})
);
contract_type!(
    /// An instant as an organiser gives it.
    InstantInput => json!({"type": "string", "pattern": INSTANT_INPUT_PATTERN, "example": "2031-09-01T00:00:00Z",
        "description": "An RFC 3339 instant with `Z` or an offset, e.g. `2031-09-01T00:00:00Z`."})
);
contract_type!(
    /// When a survey is sent.
    OffsetsDays => json!({"type": "array", "minItems": 1, "maxItems": survey::MAX_OFFSETS,
        "items": {"type": "integer", "format": "int64",
            "minimum": survey::OFFSET_DAYS.start(), "maximum": survey::OFFSET_DAYS.end()},
        "description": "Days after the event ends to send the survey: 1 to 6 offsets, each 1 to 730 days."})
);
contract_type!(
    /// A question as sent to create a survey: choice questions list their choices, others do not.
    NewQuestion => {
        let others: Vec<&str> = survey::KINDS.iter().copied().filter(|k| !survey::CHOICE_KINDS.contains(k)).collect();
        let key = json!({"type": "string", "pattern": format!("^[A-Za-z0-9_]{{1,{}}}$", survey::KEY_MAX),
            "description": "A short key, unique in the survey: letters, digits and `_`.", "example": "useful"});
        let prompt = json!({"$ref": "#/components/schemas/LongLine", "description": "What is asked."});
        let required = json!({"type": ["boolean", "null"], "description": "Whether an answer is needed to submit (default false)."});
        json!({
            "description": "A question. `single_choice` and `multi_choice` list 2 to 25 `options`; the other kinds have none.",
            "oneOf": [
                {"type": "object", "additionalProperties": false, "required": ["key", "kind", "prompt", "options"],
                 "properties": {"key": key, "kind": {"type": "string", "enum": survey::CHOICE_KINDS}, "prompt": prompt,
                    "options": {"type": "array", "minItems": survey::CHOICES.start(), "maxItems": survey::CHOICES.end(),
                        "items": {"$ref": "#/components/schemas/ShortLine"}},
                    "required": required}},
                {"type": "object", "additionalProperties": false, "required": ["key", "kind", "prompt"],
                 "properties": {"key": key, "kind": {"type": "string", "enum": others}, "prompt": prompt,
                    "options": {"type": "null"}, "required": required}},
            ]
        })
    },
    uses LongLine, ShortLine
);
contract_type!(
    /// A survey's questions.
    Questions => json!({"type": "array", "minItems": 1, "maxItems": survey::MAX_QUESTIONS,
        "items": {"$ref": "#/components/schemas/NewQuestion"},
        "description": "The questions, in order: 1 to 50, each key used once."}),
    uses NewQuestion
);
contract_type!(
    /// One answer as sent.
    AnswerInput => json!({
        "description": "An answer, by the question's kind: a whole number from 1 to 5 (`likert`, also as text); \
one of the choices (`single_choice`); a list of choices, or one text with commas between them (`multi_choice`); \
text (`text`, `intended_action`); `{\"done\": \"yes\"|\"partly\"|\"no\", \"what_changed\", \"evidence\"}` \
(`action_follow_up`); `null` to clear. Which applies depends on the survey's questions.",
        "oneOf": [
            {"type": "integer", "minimum": 1, "maximum": 5},
            {"type": "string", "maxLength": survey::ANSWER_MAX},
            {"type": "array", "items": {"type": "string"}},
            {"$ref": "#/components/schemas/FollowUpAnswer"},
            {"type": "null"},
        ]
    }),
    uses FollowUpAnswer
);
contract_type!(
    /// One answer to a survey question, as stored and shown.
    Answer => json!({
        "description": "The answer, by the question's kind: a whole number from 1 to 5 (`likert`); the choice \
as listed (`single_choice`); the choices as listed (`multi_choice`); text (`text`, `intended_action`); \
`{\"done\", \"what_changed\", \"evidence\"}` (`action_follow_up`); or `null` for an optional question skipped.",
        "oneOf": [
            {"type": "integer", "minimum": 1, "maximum": 5},
            {"type": "string"},
            {"type": "array", "items": {"type": "string"}},
            {"$ref": "#/components/schemas/FollowUpAnswer"},
            {"type": "null"},
        ]
    }),
    uses FollowUpAnswer
);
contract_type!(
    /// An `action_follow_up` answer.
    FollowUpAnswer => json!({
        "type": "object",
        "description": "An answer to an `action_follow_up` question: did they do what they planned, what changed, how they know.",
        "required": ["done", "what_changed", "evidence"],
        "additionalProperties": false,
        "properties": {
            "done": {"type": "string", "enum": survey::DONE},
            "what_changed": {"type": ["string", "null"]},
            "evidence": {"type": ["string", "null"]},
        }
    })
);

/// The schema of `T` with `fields` required and not `null`: the body a create takes, from the
/// `PATCH` body type it shares (where every field may be left out).
pub fn requiring<T: PartialSchema>(fields: &[&str], description: &str, narrower: &[(&str, String)]) -> RefOr<Schema> {
    let Ok(mut value) = serde_json::to_value(T::schema()) else {
        return T::schema();
    };
    if let Some(properties) = value.get_mut("properties").and_then(Value::as_object_mut) {
        for (field, schema) in narrower {
            if let Some(property) = properties.get_mut(*field) {
                let description = property.pointer("/oneOf/0/description").cloned();
                let reference = json!({"$ref": format!("#/components/schemas/{schema}"), "description": description});
                *property = json!({"oneOf": [reference, {"type": "null"}]});
            }
        }
        for field in fields {
            if let Some(property) = properties.get_mut(*field) {
                *property = not_null(property.take());
            }
        }
    }
    value["required"] = json!(fields);
    value["description"] = json!(description);
    from_json(value)
}

/// `schema` without its `null`: `oneOf [null, X]` becomes `X`, `type: [T, "null"]` becomes `T`.
fn not_null(mut schema: Value) -> Value {
    let is_null = |s: &Value| s.get("type") == Some(&json!("null"));
    if let Some(items) = schema.get("oneOf").and_then(Value::as_array)
        && items.iter().any(is_null)
    {
        let rest: Vec<Value> = items.iter().filter(|s| !is_null(s)).cloned().collect();
        let description = schema.get("description").cloned();
        let mut single = if let [only] = rest.as_slice() {
            only.clone()
        } else {
            json!({"oneOf": rest})
        };
        if let Some(description) = description {
            single["description"] = description;
        }
        return single;
    }
    if let Some(types) = schema.get("type").and_then(Value::as_array) {
        let rest: Vec<Value> = types.iter().filter(|t| *t != "null").cloned().collect();
        schema["type"] = if let [only] = rest.as_slice() {
            only.clone()
        } else {
            Value::Array(rest)
        };
    }
    if let Some(values) = schema.get_mut("enum").and_then(Value::as_array_mut) {
        values.retain(|v| !v.is_null());
    }
    schema
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Vec<(String, RefOr<Schema>)> {
        let mut schemas = Vec::new();
        macro_rules! each {
            ($($t:ident),*) => { $( schemas.push(($t::name().into_owned(), $t::schema())); )* };
        }
        each!(
            Phase,
            Role,
            EventKind,
            EventStatus,
            NewEventStatus,
            SessionStatus,
            NewSessionStatus,
            ProgrammeKind,
            ProgrammeStatus,
            QuestionKind,
            SurveyStatus,
            TimeZone,
            Name,
            ShortLine,
            LongLine,
            Description,
            Paragraph,
            Topics,
            Reminders,
            Seats,
            Urn,
            Email,
            WebAddress,
            DateTimeInput,
            DateOrInstant,
            LocalTime,
            CalendarDate,
            ClosureKind,
            BookingStatus,
            AttendanceStatus,
            IdempotencyKey,
            NotificationState,
            Channel,
            AnnouncementChannel,
            NotificationKind,
            OpenEventKind,
            Weekday,
            DaysBetweenVisits,
            VisitsPerWeek,
            CohortSchools,
            Pin,
            SchoolPair,
            Penalties,
            DiscordId,
            LinkCode,
            When,
            Instant,
            Cursor,
            SearchText,
            Answer,
            AnswerInput,
            InstantInput,
            OffsetsDays,
            NewQuestion,
            Questions,
            FollowUpAnswer
        );
        schemas
    }

    #[test]
    fn every_contract_schema_reads_back_as_written() {
        for (name, schema) in all() {
            let json = serde_json::to_value(&schema).unwrap();
            assert_ne!(
                json,
                serde_json::to_value(Schema::default()).unwrap(),
                "{name} fell back"
            );
            let again: RefOr<Schema> = serde_json::from_value(json.clone()).unwrap();
            assert_eq!(serde_json::to_value(again).unwrap(), json, "{name}");
        }
    }

    #[test]
    fn the_penalties_schema_names_the_fields_the_solver_sends() {
        let sent = serde_json::to_value(crate::solver::scheduling::Penalties::default()).unwrap();
        let schema = serde_json::to_value(Penalties::schema()).unwrap();
        let mut sent: Vec<&String> = sent.as_object().unwrap().keys().collect();
        let mut documented: Vec<&String> = schema["properties"].as_object().unwrap().keys().collect();
        sent.sort();
        documented.sort();
        assert_eq!(sent, documented);
    }

    #[test]
    fn the_time_zone_enum_is_every_name_the_parser_takes() {
        let json = serde_json::to_value(TimeZone::schema()).unwrap();
        let names = json["enum"].as_array().unwrap();
        assert_eq!(names.len(), chrono_tz::TZ_VARIANTS.len());
        for name in names {
            crate::time::TimeZoneName::parse(name.as_str().unwrap()).unwrap();
        }
    }

    #[test]
    fn the_patterns_accept_what_the_validators_accept() {
        // No regex engine in the service: the checks are spot checks of the patterns' edges,
        // run against the validators themselves.
        for good in ["2031-06-04T09:30", "2098-12-31T23:59:59Z", "2001-01-01T00:00:00+13:59"] {
            crate::time::TimeInput::parse(good)
                .unwrap()
                .resolve(crate::time::TimeZoneName::UTC)
                .unwrap();
        }
        for good in ["00:00", "23:59"] {
            chrono::NaiveTime::parse_from_str(good, "%H:%M").unwrap();
        }
    }

    #[test]
    fn a_create_body_requires_its_fields_and_refuses_null_for_them() {
        let json = serde_json::to_value(requiring::<school::SchoolInput>(&["name", "phase"], "x", &[])).unwrap();
        assert_eq!(json["required"], json!(["name", "phase"]));
        let phase = &json["properties"]["phase"];
        assert_eq!(phase["$ref"], "#/components/schemas/Phase", "{phase}");
        assert!(!json["properties"]["name"].to_string().contains("null"), "{json}");
        assert!(json["properties"]["urn"].to_string().contains("null"), "{json}");
    }
}
