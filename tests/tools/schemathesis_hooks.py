"""Schemathesis hooks for Convene's schema test (tests/tests/api/schemathesis.rs).

The OpenAPI document states every rule that bears on one value: types, enums, lengths,
patterns, formats, ranges, required fields. A few rules cannot be stated in JSON Schema, and the
document says them in words instead:

- an id must name a row that exists (`school_id`, `event_id`, `school_ids`, ...), and a cursor
  must be one the server gave;
- rules between fields (a session's `end` after its `start`, a cohort's pins among its schools,
  question keys used once, quiet hours given in pairs);
- rules that hang on stored rows (a survey answer's form follows its question; a hosted SLP
  session needs a host accredited in its topic; triads must hold the cohort's schools).

`positive_data_acceptance` sees a refusal of such a request as "valid data rejected". The hook
below lets through exactly those refusals: a 400 or 422 whose every field at fault is listed here
for the operation, with the words of the rule (or whose `code` is listed for it). A refusal naming
any other field or reason, such as a value outside an enum or a string the pattern allows but the
validator does not, still fails the test.
"""

import json
import re

import schemathesis

# Opaque paging tokens: any string the schema allows, but only the server's own are taken.
EVERY_LIST = {"cursor": "is not a cursor"}

# An id that names no row: the message `unknown_reference` writes.
NO_ROW = "has id"

# An announcement's audience: at least one filter or `all: true` alone; ids of stored rows; the
# event it is about must be published.
ANNOUNCEMENT = {
    "audience": "must have at least one filter",
    "audience.all": "cannot be combined|must be true",
    "audience.programme_id": "no programme has id",
    "audience.event_id": "no event has id",
    "audience.exclude_booked_on_event_id": "no event has id",
    "audience.school_ids": "no school has id",
    "event_id": "no event has id|not published",
}

# By operation, the fields whose refusal depends on other fields or on stored rows, each with
# the words of that refusal (None: any refusal of that field, for values that only stored rows
# decide). A refusal of the same field for another reason (a malformed time, say) still fails.
FIELDS = {
    "POST /v1/participants": {
        "school_id": NO_ROW,
        "quiet_hours_start": "or neither",
        "quiet_hours_end": "or neither|must differ from quiet_hours_start",
    },
    "PATCH /v1/participants/{id}": {
        "school_id": NO_ROW,
        "quiet_hours_start": "or neither",
        "quiet_hours_end": "or neither|must differ from quiet_hours_start",
    },
    "PATCH /v1/me/preferences": {
        "quiet_hours_start": "or neither",
        "quiet_hours_end": "or neither|must differ from quiet_hours_start",
    },
    "POST /v1/events": {"programme_id": NO_ROW, "host_school_id": NO_ROW},
    "PATCH /v1/events/{id}": {"programme_id": NO_ROW, "host_school_id": NO_ROW},
    "POST /v1/events/{id}/sessions": {"end": "must be after start", "per_school_limit": "than the capacity"},
    "PATCH /v1/sessions/{id}": {"end": "must be after start", "per_school_limit": "than the capacity"},
    "POST /v1/surveys": {
        "event_id": NO_ROW + "|give the event",
        "programme_id": NO_ROW + "|not both",
        "questions[].key": "is used by an earlier question",
    },
    "POST /v1/cohorts": {
        "school_ids": NO_ROW,
        "programme_id": NO_ROW,
        "options.pinned": "is not one of the cohort's schools",
        "options.forbidden_pairs": "is not one of the cohort's schools",
        "window.end": "is before window.start|may span at most",
        "visit_times.end": "must be after visit_times.start",
        "facilitators": "is named twice",
        "facilitators.participant_id": NO_ROW,
    },
    "POST /v1/reflections": {"participant_id": NO_ROW, "event_id": NO_ROW},
    "POST /v1/announcements": ANNOUNCEMENT,
    "POST /v1/announcements:preview": ANNOUNCEMENT,
    "POST /v1/me/reflections": {"event_id": NO_ROW},
    "POST /v1/sessions/{id}/bookings": {"participant_id": NO_ROW},
    "POST /v1/me/bookings": {"session_id": NO_ROW},
    "POST /v1/sessions/{id}/attendance": {"marks[].participant_id": "holds no confirmed booking"},
    "POST /v1/schools/{id}/closures": {"closures[].end_date": "before start_date|at most a year"},
    "POST /v1/local-authorities/{name}/closures": {"closures[].end_date": "before start_date|at most a year"},
    "GET /v1/schools/{id}/closed-days": {"to": "must not be before from|days after from"},
    # An answer's form follows its question, which the survey stores.
    "POST /v1/me/surveys/{id}/answers": {"answers.*": None},
}

# Problem codes of refusals that hang on stored rows, by operation.
CODES = {
    "POST /v1/events": {"host_not_accredited"},
    "PATCH /v1/events/{id}": {"host_not_accredited"},
    # A local time the clocks skip or repeat in the event's zone (the zone is the event's, not the body's).
    "POST /v1/events/{id}/sessions": {"nonexistent_local_time", "ambiguous_local_time"},
    "PATCH /v1/sessions/{id}": {"nonexistent_local_time", "ambiguous_local_time"},
    # The same key sent earlier with another body.
    "POST /v1/sessions/{id}/bookings": {"idempotency_key_reused"},
    "POST /v1/me/bookings": {"idempotency_key_reused"},
    "PUT /v1/cohorts/{id}/triads": {"triads_invalid"},
    "POST /v1/cohorts/{id}/triads:propose": {"triads_infeasible"},
    "POST /v1/cohorts/{id}/visits:schedule": {"visits_infeasible"},
    # A link code is the one emailed, while it lasts (`no_code_pending` is a 409, the lock a 429).
    "POST /v1/bot/verify": {"code_incorrect", "code_expired"},
    # A calendar file's lines: a text/calendar body is a string to JSON Schema.
    "POST /v1/schools/{id}/closures": {"invalid_calendar"},
    "POST /v1/local-authorities/{name}/closures": {"invalid_calendar"},
    # A spreadsheet's rows: a text/csv body is a string to JSON Schema.
    "POST /v1/schools:import": {"invalid_rows"},
    "POST /v1/participants:import": {"invalid_rows"},
}


def _field(name):
    """`questions[3].key` as `questions[].key`, `answers.useful` as `answers.*`."""
    name = re.sub(r"\[\d+\]", "[]", name)
    if name.startswith("answers."):
        return "answers.*"
    return name


def _documented(allowed, error):
    """Whether `error` is a refusal `allowed` lists: its field, and one of the words given."""
    field = _field(error.get("field", ""))
    if field not in allowed:
        return False
    words = allowed[field]
    return words is None or any(w in error.get("message", "") for w in words.split("|"))


@schemathesis.hook
def filter_failure(context, failure, case, response):
    """Keeps every failure but a documented stateful or cross-field refusal of schema-valid data."""
    if "Valid data should have been accepted" not in (failure.message or ""):
        return True
    if response.status_code not in (400, 422):
        return True
    try:
        problem = json.loads(response.content)
    except ValueError:
        return True
    operation = f"{case.method.upper()} {case.operation.path}"
    if problem.get("code") in CODES.get(operation, set()):
        return False
    allowed = dict(FIELDS.get(operation, {}))
    if case.method.upper() == "GET":
        allowed.update(EVERY_LIST)
    errors = problem.get("errors", [])
    return not errors or not all(_documented(allowed, error) for error in errors)
