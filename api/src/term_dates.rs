//! Reading a school's term-dates or INSET-days `.ics` file into closed day ranges. Pure code: the
//! `ical` crate parses; this module checks the structure first so that every refusal names the
//! line at fault, then turns each `VEVENT` into the days it covers.

use std::collections::HashMap;
use std::io::BufReader;

use chrono::{Duration, NaiveDate, NaiveDateTime, TimeZone as _, Utc};
use ical::parser::ical::component::IcalEvent;
use ical::property::Property;

/// One closed range read from the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClosedDays {
    /// The first closed day.
    pub start_date: NaiveDate,
    /// The last closed day (inclusive).
    pub end_date: NaiveDate,
    /// `holiday`, `inset` or `closure`, guessed from the summary.
    pub kind: &'static str,
    /// The event's summary, unescaped.
    pub summary: Option<String>,
    /// The line of the event's `BEGIN:VEVENT`.
    pub line: usize,
}

/// An event of the file that is not a closure, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The line of the event's `BEGIN:VEVENT`.
    pub line: usize,
    /// The event's summary.
    pub summary: Option<String>,
    /// Why it was left out.
    pub reason: &'static str,
}

/// What a file holds.
#[derive(Debug, Default)]
pub struct TermDates {
    /// The closed ranges, in file order.
    pub closures: Vec<ClosedDays>,
    /// The events left out.
    pub skipped: Vec<Skipped>,
}

/// Why a file was refused: the line (1-based, physical) and what is wrong there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct IcsError {
    /// The physical line at fault.
    pub line: usize,
    /// What is wrong, in words.
    pub message: String,
}

fn refuse(line: usize, message: impl Into<String>) -> IcsError {
    IcsError {
        line,
        message: message.into(),
    }
}

/// Components the `ical` parser accepts, by parent.
fn allowed_child(parent: &str, child: &str) -> bool {
    match parent {
        "" => child == "VCALENDAR",
        "VCALENDAR" => matches!(
            child,
            "VEVENT" | "VTODO" | "VJOURNAL" | "VFREEBUSY" | "VTIMEZONE" | "VALARM"
        ),
        "VEVENT" | "VTODO" => child == "VALARM",
        "VTIMEZONE" => matches!(child, "STANDARD" | "DAYLIGHT"),
        _ => false,
    }
}

/// Where each top-level `VEVENT` starts, and the first line of each of its properties.
#[derive(Default)]
struct EventLines {
    begin: usize,
    properties: HashMap<String, usize>,
}

/// Checks the structure line by line, so that errors name their line, and returns the line map
/// of the top-level events.
fn scan(text: &str) -> Result<Vec<EventLines>, IcsError> {
    let mut stack: Vec<(String, usize)> = Vec::new();
    let mut events = Vec::new();
    let mut last = 0;
    let mut seen_content = false;
    for (index, raw) in text.split('\n').enumerate() {
        let number = index + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.is_empty() {
            continue;
        }
        last = number;
        if line.starts_with([' ', '\t']) {
            if !seen_content {
                return Err(refuse(number, "the file starts with a continuation line"));
            }
            continue;
        }
        seen_content = true;
        if line.chars().any(|c| c.is_control() && c != '\t') {
            return Err(refuse(number, "the line holds a control character"));
        }
        let Some(colon) = line.find(':') else {
            return Err(refuse(
                number,
                format!("\"{}\" has no ':' between name and value", clip(line)),
            ));
        };
        let head = line.get(..colon).unwrap_or_default();
        let value = line.get(colon + 1..).unwrap_or_default().trim();
        let name = head.split(';').next().unwrap_or_default().trim().to_ascii_uppercase();
        if name.is_empty() {
            return Err(refuse(number, "a property has no name"));
        }
        let parent = stack.last().map(|(n, _)| n.as_str()).unwrap_or("");
        match name.as_str() {
            "BEGIN" => {
                let child = value.to_ascii_uppercase();
                if !allowed_child(parent, &child) {
                    return Err(refuse(
                        number,
                        if parent.is_empty() {
                            "the file must start with BEGIN:VCALENDAR".to_owned()
                        } else {
                            format!("BEGIN:{} is not allowed inside {parent}", clip(value))
                        },
                    ));
                }
                if child == "VEVENT" {
                    events.push(EventLines {
                        begin: number,
                        properties: HashMap::new(),
                    });
                }
                stack.push((child, number));
            }
            "END" => {
                let child = value.to_ascii_uppercase();
                match stack.pop() {
                    Some((open, _)) if open == child => {}
                    Some((open, at)) => {
                        return Err(refuse(
                            number,
                            format!("END:{} does not close BEGIN:{open} of line {at}", clip(value)),
                        ));
                    }
                    None => return Err(refuse(number, format!("END:{} closes nothing", clip(value)))),
                }
                if stack.is_empty() && child == "VCALENDAR" {
                    // Anything after the calendar must be blank.
                    if let Some((extra, _)) = text
                        .split('\n')
                        .enumerate()
                        .skip(index + 1)
                        .find(|(_, l)| !l.trim().is_empty())
                    {
                        return Err(refuse(extra + 1, "there is content after END:VCALENDAR"));
                    }
                }
            }
            _ if parent.is_empty() => return Err(refuse(number, "the file must start with BEGIN:VCALENDAR")),
            _ => {
                if parent == "VEVENT"
                    && let Some(event) = events.last_mut()
                {
                    event.properties.entry(name).or_insert(number);
                }
            }
        }
    }
    if let Some((open, at)) = stack.first() {
        return Err(refuse(
            last.max(1),
            format!("the file ends before BEGIN:{open} of line {at} is closed"),
        ));
    }
    if !seen_content {
        return Err(refuse(1, "the file is empty"));
    }
    Ok(events)
}

fn clip(text: &str) -> String {
    text.chars().take(40).collect()
}

/// Reads a term-dates `.ics` file. All or nothing: the first problem refuses the whole file.
pub fn read(text: &str) -> Result<TermDates, IcsError> {
    let lines = scan(text)?;
    // Unfolded here, as RFC 5545 says (the crate's own unfolding drops a space before a fold).
    let (unfolded, physical) = unfold(text);
    let mut parser = ical::IcalParser::new(BufReader::new(unfolded.as_bytes()));
    let calendar = match parser.next() {
        Some(Ok(calendar)) => calendar,
        Some(Err(err)) => return Err(parser_error(&err, &physical)),
        None => return Err(refuse(1, "the file holds no calendar")),
    };
    if let Some(Ok(_)) = parser.next() {
        return Err(refuse(1, "the file holds more than one calendar"));
    }
    let mut dates = TermDates::default();
    for (event, where_) in calendar.events.iter().zip(lines.iter()) {
        read_event(event, where_, &mut dates)?;
    }
    Ok(dates)
}

/// Joins folded lines (CRLF or LF, then a space or tab), dropping blank lines. Also returns, for
/// each logical line (1-based, at index − 1), the physical line it starts on.
fn unfold(text: &str) -> (String, Vec<usize>) {
    let mut out = String::with_capacity(text.len());
    let mut starts = Vec::new();
    for (index, raw) in text.split('\n').enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if let Some(rest) = line.strip_prefix([' ', '\t'])
            && !starts.is_empty()
        {
            out.push_str(rest);
        } else if !line.is_empty() {
            if !starts.is_empty() {
                out.push_str("\r\n");
            }
            out.push_str(line);
            starts.push(index + 1);
        }
    }
    out.push_str("\r\n");
    (out, starts)
}

fn parser_error(err: &ical::parser::ParserError, physical: &[usize]) -> IcsError {
    use ical::parser::ParserError;
    use ical::property::PropertyError;
    let (line, what) = match err {
        ParserError::PropertyError(e) => match e {
            PropertyError::MissingName { line } => (*line, "a property has no name".to_owned()),
            PropertyError::MissingClosingQuote { line } => (*line, "a quoted parameter is never closed".to_owned()),
            PropertyError::MissingDelimiter { line, delimiter } => (*line, format!("a \"{delimiter}\" is missing")),
            PropertyError::MissingContentAfter { line, letter } => (*line, format!("nothing follows \"{letter}\"")),
            PropertyError::MissingParamKey { line } => (*line, "a parameter has no name".to_owned()),
        },
        other => return refuse(1, format!("the calendar could not be read: {other}")),
    };
    let physical_line = line
        .checked_sub(1)
        .and_then(|i| physical.get(i))
        .copied()
        .unwrap_or(line);
    refuse(physical_line, what)
}

fn property<'e>(event: &'e IcalEvent, name: &str) -> Option<&'e Property> {
    event.properties.iter().find(|p| p.name.eq_ignore_ascii_case(name))
}

fn read_event(event: &IcalEvent, at: &EventLines, dates: &mut TermDates) -> Result<(), IcsError> {
    let line_of = |name: &str| at.properties.get(name).copied().unwrap_or(at.begin);
    let summary = property(event, "SUMMARY")
        .and_then(|p| p.value.as_deref())
        .map(unescape)
        .filter(|s| !s.trim().is_empty());
    if property(event, "RRULE").is_some() || property(event, "RDATE").is_some() {
        return Err(refuse(
            line_of(if property(event, "RRULE").is_some() {
                "RRULE"
            } else {
                "RDATE"
            }),
            "repeating events are not supported: list each closure as its own event",
        ));
    }
    let skip = |reason: &'static str, dates: &mut TermDates| {
        dates.skipped.push(Skipped {
            line: at.begin,
            summary: summary.clone(),
            reason,
        });
    };
    if property(event, "STATUS")
        .and_then(|p| p.value.as_deref())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("CANCELLED"))
    {
        skip("cancelled", dates);
        return Ok(());
    }
    let Some(start) = property(event, "DTSTART") else {
        return Err(refuse(at.begin, "the event has no DTSTART"));
    };
    let start_date = day_of(start, line_of("DTSTART"), false)?;
    let end_date = if let Some(end) = property(event, "DTEND") {
        day_of(end, line_of("DTEND"), true)?
    } else if let Some(duration) = property(event, "DURATION") {
        let days = duration_days(duration.value.as_deref().unwrap_or_default()).ok_or_else(|| {
            refuse(
                line_of("DURATION"),
                "DURATION must be a whole number of days or weeks, e.g. P1D",
            )
        })?;
        start_date + Duration::days((days - 1).max(0))
    } else {
        start_date
    };
    if end_date < start_date {
        return Err(refuse(line_of("DTEND"), "DTEND is before DTSTART"));
    }
    if (end_date - start_date).num_days() > 366 {
        return Err(refuse(line_of("DTEND"), "a closure may last at most a year"));
    }
    if summary.as_deref().is_some_and(is_marker) {
        skip("marks a term's start or end, not a closure", dates);
        return Ok(());
    }
    dates.closures.push(ClosedDays {
        start_date,
        end_date,
        kind: kind_of(summary.as_deref().unwrap_or_default()),
        summary: summary.map(|s| s.chars().take(500).collect()),
        line: at.begin,
    });
    Ok(())
}

/// The day a `DTSTART`/`DTEND` falls on. An all-day `DTEND` is exclusive, so the day before it is
/// returned; a timed end gives the day of its last second.
fn day_of(property: &Property, line: usize, is_end: bool) -> Result<NaiveDate, IcsError> {
    let value = property.value.as_deref().unwrap_or_default().trim();
    let name = property.name.to_ascii_uppercase();
    let bad = || {
        refuse(
            line,
            format!(
                "{name} \"{}\" is not a date (YYYYMMDD) or date-time (YYYYMMDDTHHMMSS)",
                clip(value)
            ),
        )
    };
    let day = if value.len() == 8 {
        let date = NaiveDate::parse_from_str(value, "%Y%m%d").map_err(|_| bad())?;
        if is_end { date.pred_opt().ok_or_else(bad)? } else { date }
    } else {
        let (local, utc) = match value.strip_suffix('Z') {
            Some(v) => (v, true),
            None => (value, false),
        };
        let mut time = NaiveDateTime::parse_from_str(local, "%Y%m%dT%H%M%S").map_err(|_| bad())?;
        if is_end {
            time -= Duration::seconds(1);
        }
        if utc {
            // A UTC time is read on the UK's clock, where the schools are. A local time (with a
            // TZID or floating) is read as written: Outlook's Windows zone names need no lookup.
            Utc.from_utc_datetime(&time)
                .with_timezone(&chrono_tz::Europe::London)
                .date_naive()
        } else {
            time.date()
        }
    };
    if !(2000..=2099).contains(&chrono::Datelike::year(&day)) {
        return Err(refuse(
            line,
            format!("{name} must fall between the years 2000 and 2099"),
        ));
    }
    Ok(day)
}

/// `P1D`, `P2W`, `P1DT0H`: whole days only.
fn duration_days(value: &str) -> Option<i64> {
    let rest = value.trim().strip_prefix('P')?;
    let rest = rest
        .strip_suffix("T0H")
        .or(rest.strip_suffix("T0H0M0S"))
        .unwrap_or(rest);
    if let Some(weeks) = rest.strip_suffix('W') {
        return weeks.parse::<i64>().ok().filter(|w| *w > 0).map(|w| w * 7);
    }
    rest.strip_suffix('D')?.parse::<i64>().ok().filter(|d| *d > 0)
}

fn unescape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n' | 'N') => out.push('\n'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether a summary marks the start or end of a term rather than days off.
fn is_marker(summary: &str) -> bool {
    let s = summary.to_lowercase();
    let holiday = [
        "half term",
        "half-term",
        "holiday",
        "inset",
        "closed",
        "closure",
        "training",
    ];
    if holiday.iter().any(|w| s.contains(w)) {
        return false;
    }
    [
        "term starts",
        "term begins",
        "term ends",
        "term finishes",
        "start of term",
        "end of term",
        "first day of term",
        "last day of term",
        "school opens",
        "schools open",
        "term dates",
    ]
    .iter()
    .any(|w| s.contains(w))
}

/// Guesses the kind of closure from its summary.
fn kind_of(summary: &str) -> &'static str {
    let s = summary.to_lowercase();
    if [
        "inset",
        "training day",
        "staff development",
        "teacher day",
        "pd day",
        "professional development",
    ]
    .iter()
    .any(|w| s.contains(w))
    {
        "inset"
    } else if [
        "holiday",
        "half term",
        "half-term",
        "christmas",
        "easter",
        "summer",
        "bank",
        "break",
        "may day",
    ]
    .iter()
    .any(|w| s.contains(w))
    {
        "holiday"
    } else {
        "closure"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    const TERM: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Llanfair LA//Term dates//EN\r\n\
BEGIN:VEVENT\r\nUID:1@la\r\nDTSTART;VALUE=DATE:20261026\r\nDTEND;VALUE=DATE:20261031\r\nSUMMARY:Autumn half term\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:2@la\r\nDTSTART;VALUE=DATE:20261102\r\nSUMMARY:INSET day\\, staff training\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:3@la\r\nDTSTART;VALUE=DATE:20260903\r\nSUMMARY:Autumn term starts\r\nTRANSP:TRANSPARENT\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:4@la\r\nDTSTART;TZID=Europe/London:20261218T000000\r\nDTEND;TZID=Europe/London:20270105T000000\r\nSUMMARY:Christmas holiday\r\nEND:VEVENT\r\n\
END:VCALENDAR\r\n";

    #[test]
    fn a_term_dates_file_gives_closed_days_with_exclusive_ends_and_kinds() {
        let dates = read(TERM).unwrap();
        let got: Vec<_> = dates
            .closures
            .iter()
            .map(|c| (c.start_date, c.end_date, c.kind))
            .collect();
        assert_eq!(
            got,
            vec![
                (d("2026-10-26"), d("2026-10-30"), "holiday"),
                (d("2026-11-02"), d("2026-11-02"), "inset"),
                (d("2026-12-18"), d("2027-01-04"), "holiday"),
            ]
        );
        assert_eq!(dates.closures[1].summary.as_deref(), Some("INSET day, staff training"));
        assert_eq!(dates.skipped.len(), 1);
        assert_eq!(dates.skipped[0].line, 15);
    }

    #[test]
    fn a_broken_line_is_named() {
        let broken = TERM.replace("SUMMARY:Autumn half term", "SUMMARY Autumn half term");
        assert_eq!(read(&broken).unwrap_err().line, 8);
        let bad_date = TERM.replace("20261102", "20261302");
        let err = read(&bad_date).unwrap_err();
        assert_eq!(err.line, 12);
        assert!(err.message.contains("DTSTART"), "{err}");
    }

    #[test]
    fn an_unclosed_or_mismatched_component_is_named() {
        let unclosed = TERM.replace("END:VCALENDAR\r\n", "");
        assert!(read(&unclosed).unwrap_err().message.contains("line 1"));
        let mismatched = TERM.replacen("END:VEVENT", "END:VTODO", 1);
        assert_eq!(read(&mismatched).unwrap_err().line, 9);
        assert_eq!(read("hello").unwrap_err().line, 1);
        assert_eq!(read("").unwrap_err().message, "the file is empty");
    }

    #[test]
    fn a_space_before_a_fold_is_kept_and_errors_name_physical_lines() {
        let folded = TERM.replace("SUMMARY:Autumn half term", "SUMMARY:Autumn half \r\n term");
        assert_eq!(
            read(&folded).unwrap().closures[0].summary.as_deref(),
            Some("Autumn half term")
        );
        let quote = folded.replace("UID:2@la", "UID;X-A=\"open:2@la");
        let err = read(&quote).unwrap_err();
        assert_eq!(err.line, 12, "{err}");
    }

    #[test]
    fn repeating_events_are_refused_at_their_rule() {
        let rrule = TERM.replace("UID:2@la\r\n", "UID:2@la\r\nRRULE:FREQ=WEEKLY;COUNT=3\r\n");
        assert_eq!(read(&rrule).unwrap_err().line, 12);
    }

    #[test]
    fn durations_and_utc_times_are_read() {
        let text = "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;VALUE=DATE:20270215\nDURATION:P1W\nSUMMARY:Half term\nEND:VEVENT\nBEGIN:VEVENT\nDTSTART:20270301T230000Z\nDTEND:20270302T230000Z\nSUMMARY:Closed for polling\nEND:VEVENT\nEND:VCALENDAR\n";
        let dates = read(text).unwrap();
        assert_eq!(dates.closures[0].end_date, d("2027-02-21"));
        assert_eq!(
            (dates.closures[1].start_date, dates.closures[1].end_date),
            (d("2027-03-01"), d("2027-03-02"))
        );
        assert_eq!(dates.closures[1].kind, "closure");
    }
}
