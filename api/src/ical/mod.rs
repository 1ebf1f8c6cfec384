//! RFC 5545 iCalendar writer: VCALENDAR with VEVENTs and generated VTIMEZONEs.
//!
//! Output is deterministic: the same input always renders to the same bytes. Every line ends
//! in CRLF and is folded at 75 octets without splitting UTF-8 characters.

pub mod timezone;
pub mod write;

use std::collections::BTreeMap;

use chrono::{DateTime, LocalResult, TimeZone, Utc};
pub use chrono_tz::Tz;

use self::write::{ContentLine, local_datetime, utc_datetime};

/// The calendar's METHOD (RFC 5546).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// `METHOD:PUBLISH`, for feeds and plain exports.
    Publish,
    /// `METHOD:REQUEST`, for invitations and updates.
    Request,
    /// `METHOD:CANCEL`, for cancellations.
    Cancel,
}

impl Method {
    /// The property value, e.g. `PUBLISH`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Publish => "PUBLISH",
            Self::Request => "REQUEST",
            Self::Cancel => "CANCEL",
        }
    }
}

/// An event's STATUS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventStatus {
    /// `STATUS:CONFIRMED`.
    Confirmed,
    /// `STATUS:TENTATIVE`.
    Tentative,
    /// `STATUS:CANCELLED`.
    Cancelled,
}

impl EventStatus {
    /// The property value, e.g. `CONFIRMED`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Confirmed => "CONFIRMED",
            Self::Tentative => "TENTATIVE",
            Self::Cancelled => "CANCELLED",
        }
    }
}

/// A person with an email address, written as a `mailto:` URI with an optional CN parameter.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Person {
    /// Email address.
    pub email: String,
    /// Display name, written as the CN parameter.
    pub name: Option<String>,
}

/// An invited person: a required participant whose answer is still needed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Attendee {
    /// Who is invited.
    pub person: Person,
    /// Whether a reply is requested (`RSVP=TRUE`).
    pub rsvp: bool,
}

/// One VEVENT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Globally unique id, stable across updates.
    pub uid: String,
    /// Revision number; bump it on every significant change.
    pub sequence: i32,
    /// When this copy of the event was created (DTSTAMP).
    pub dtstamp: DateTime<Utc>,
    /// Start instant.
    pub start: DateTime<Utc>,
    /// End instant.
    pub end: DateTime<Utc>,
    /// Zone that DTSTART and DTEND are written in.
    pub time_zone: Tz,
    /// Title.
    pub summary: String,
    /// Longer description.
    pub description: Option<String>,
    /// Where it takes place.
    pub location: Option<String>,
    /// Link to the event (a URI, written as is).
    pub url: Option<String>,
    /// Confirmed, tentative or cancelled.
    pub status: EventStatus,
    /// Who organises it.
    pub organizer: Option<Person>,
    /// Who is invited.
    pub attendees: Vec<Attendee>,
    /// When the event was first created (CREATED).
    pub created: Option<DateTime<Utc>>,
    /// When the event was last changed (LAST-MODIFIED).
    pub last_modified: Option<DateTime<Utc>>,
}

/// A VCALENDAR object.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Calendar {
    /// PRODID, e.g. `-//Convene//Convene//EN`.
    pub prod_id: String,
    /// METHOD, if any.
    pub method: Option<Method>,
    /// Calendar name (X-WR-CALNAME).
    pub name: Option<String>,
    /// Default zone for clients (X-WR-TIMEZONE).
    pub time_zone: Option<Tz>,
    /// Ask subscribers to refresh hourly (REFRESH-INTERVAL and X-PUBLISHED-TTL).
    pub refresh_hourly: bool,
    /// Events, written in this order.
    pub events: Vec<Event>,
}

impl Calendar {
    /// Renders the whole VCALENDAR, folded, with CRLF line endings.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(1024 + self.events.len() * 512);
        out.push_str(&ContentLine::new("BEGIN").raw("VCALENDAR"));
        out.push_str(&ContentLine::new("VERSION").raw("2.0"));
        out.push_str(&ContentLine::new("PRODID").text(&self.prod_id));
        out.push_str(&ContentLine::new("CALSCALE").raw("GREGORIAN"));
        if let Some(method) = self.method {
            out.push_str(&ContentLine::new("METHOD").raw(method.as_str()));
        }
        if let Some(name) = &self.name {
            out.push_str(&ContentLine::new("X-WR-CALNAME").text(name));
        }
        if let Some(tz) = self.time_zone {
            out.push_str(&ContentLine::new("X-WR-TIMEZONE").raw(tz.name()));
        }
        if self.refresh_hourly {
            out.push_str(
                &ContentLine::new("REFRESH-INTERVAL")
                    .param("VALUE", "DURATION")
                    .raw("PT1H"),
            );
            out.push_str(&ContentLine::new("X-PUBLISHED-TTL").raw("PT1H"));
        }

        // One VTIMEZONE per zone, sorted by name, covering that zone's events.
        let mut zones: BTreeMap<&'static str, (Tz, DateTime<Utc>, DateTime<Utc>)> = BTreeMap::new();
        for ev in &self.events {
            let lo = ev.start.min(ev.end);
            let hi = ev.start.max(ev.end);
            zones
                .entry(ev.time_zone.name())
                .and_modify(|(_, from, to)| {
                    *from = (*from).min(lo);
                    *to = (*to).max(hi);
                })
                .or_insert((ev.time_zone, lo, hi));
        }
        for (tz, from, to) in zones.values() {
            out.push_str(&timezone::vtimezone(*tz, *from, *to));
        }

        for ev in &self.events {
            push_event(&mut out, ev);
        }
        out.push_str(&ContentLine::new("END").raw("VCALENDAR"));
        out
    }
}

fn push_event(out: &mut String, ev: &Event) {
    out.push_str(&ContentLine::new("BEGIN").raw("VEVENT"));
    out.push_str(&ContentLine::new("UID").text(&ev.uid));
    out.push_str(&ContentLine::new("DTSTAMP").raw(&utc_datetime(&ev.dtstamp)));
    out.push_str(&zoned("DTSTART", &ev.start, ev.time_zone));
    out.push_str(&zoned("DTEND", &ev.end, ev.time_zone));
    out.push_str(&ContentLine::new("SEQUENCE").raw(&ev.sequence.to_string()));
    out.push_str(&ContentLine::new("STATUS").raw(ev.status.as_str()));
    out.push_str(&ContentLine::new("TRANSP").raw("OPAQUE"));
    out.push_str(&ContentLine::new("SUMMARY").text(&ev.summary));
    if let Some(description) = &ev.description {
        out.push_str(&ContentLine::new("DESCRIPTION").text(description));
    }
    if let Some(location) = &ev.location {
        out.push_str(&ContentLine::new("LOCATION").text(location));
    }
    if let Some(url) = &ev.url {
        out.push_str(&ContentLine::new("URL").raw(url));
    }
    if let Some(organizer) = &ev.organizer {
        out.push_str(&person_line(ContentLine::new("ORGANIZER"), organizer));
    }
    for attendee in &ev.attendees {
        let line = ContentLine::new("ATTENDEE");
        let line = match &attendee.person.name {
            Some(name) => line.param("CN", name),
            None => line,
        };
        let line = line
            .param("ROLE", "REQ-PARTICIPANT")
            .param("PARTSTAT", "NEEDS-ACTION")
            .param("RSVP", if attendee.rsvp { "TRUE" } else { "FALSE" });
        out.push_str(&line.raw(&mailto(&attendee.person.email)));
    }
    if let Some(created) = &ev.created {
        out.push_str(&ContentLine::new("CREATED").raw(&utc_datetime(created)));
    }
    if let Some(last_modified) = &ev.last_modified {
        out.push_str(&ContentLine::new("LAST-MODIFIED").raw(&utc_datetime(last_modified)));
    }
    out.push_str(&ContentLine::new("END").raw("VEVENT"));
}

fn person_line(line: ContentLine, person: &Person) -> String {
    let line = match &person.name {
        Some(name) => line.param("CN", name),
        None => line,
    };
    line.raw(&mailto(&person.email))
}

fn mailto(email: &str) -> String {
    format!("mailto:{email}")
}

/// `NAME;TZID=Zone:local-time`, or the UTC form when the local time is the second of two
/// identical wall-clock times (the hour repeated when clocks go back): RFC 5545 reads such a
/// local time as the first one, which would be an hour off.
fn zoned(name: &str, at: &DateTime<Utc>, tz: Tz) -> String {
    let local = at.with_timezone(&tz).naive_local();
    if let LocalResult::Ambiguous(first, _) = tz.from_local_datetime(&local)
        && first.timestamp() != at.timestamp()
    {
        return ContentLine::new(name).raw(&utc_datetime(at));
    }
    ContentLine::new(name)
        .param("TZID", tz.name())
        .raw(&local_datetime(&local))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::write::unfold;
    use super::*;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    fn event(uid: &str, tz: Tz, start: DateTime<Utc>) -> Event {
        Event {
            uid: uid.to_owned(),
            sequence: 0,
            dtstamp: utc(2030, 1, 2, 3, 4),
            start,
            end: start + chrono::Duration::hours(1),
            time_zone: tz,
            summary: "Meeting".to_owned(),
            description: None,
            location: None,
            url: None,
            status: EventStatus::Confirmed,
            organizer: None,
            attendees: Vec::new(),
            created: None,
            last_modified: None,
        }
    }

    fn sample() -> Calendar {
        let mut governors = event("gov-1@convene", chrono_tz::Europe::London, utc(2030, 6, 12, 17, 30));
        governors.sequence = 2;
        governors.summary = "Governors, Term 3; budget\\plan".to_owned();
        governors.description = Some("Agenda:\r\n1. Minutes\n2. Budget".to_owned());
        governors.location = Some("Hall, Ysgol Llanfair".to_owned());
        governors.url = Some("https://convene.example/e/gov-1?a=1,2;b".to_owned());
        governors.status = EventStatus::Tentative;
        governors.organizer = Some(Person {
            email: "clerk@school.example".to_owned(),
            name: Some("Jones, Clerk".to_owned()),
        });
        governors.attendees = vec![
            Attendee {
                person: Person {
                    email: "jo@example.com".to_owned(),
                    name: Some("Jo \"JJ\" Smith".to_owned()),
                },
                rsvp: true,
            },
            Attendee {
                person: Person {
                    email: "sam@example.com".to_owned(),
                    name: None,
                },
                rsvp: false,
            },
        ];
        governors.created = Some(utc(2029, 12, 1, 9, 0));
        governors.last_modified = Some(utc(2030, 1, 2, 3, 4));
        let mut welsh = event("cy-1@convene", chrono_tz::Asia::Kolkata, utc(2030, 2, 1, 4, 30));
        welsh.summary = "Cyfarfod Llywodraethwyr Ysgol Gynradd Llanfairpwllgwyngyll — ŵ ŷ â".to_owned();
        welsh.status = EventStatus::Cancelled;
        Calendar {
            prod_id: "-//Convene//Convene 1.0//EN".to_owned(),
            method: Some(Method::Publish),
            name: Some("Governors, Ysgol".to_owned()),
            time_zone: Some(chrono_tz::Europe::London),
            refresh_hourly: true,
            events: vec![governors, welsh],
        }
    }

    const EXPECTED: &[&str] = &[
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Convene//Convene 1.0//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "X-WR-CALNAME:Governors\\, Ysgol",
        "X-WR-TIMEZONE:Europe/London",
        "REFRESH-INTERVAL;VALUE=DURATION:PT1H",
        "X-PUBLISHED-TTL:PT1H",
        "BEGIN:VTIMEZONE",
        "TZID:Asia/Kolkata",
        "BEGIN:STANDARD",
        "DTSTART:19700101T000000",
        "TZOFFSETFROM:+0530",
        "TZOFFSETTO:+0530",
        "TZNAME:IST",
        "END:STANDARD",
        "END:VTIMEZONE",
        "BEGIN:VTIMEZONE",
        "TZID:Europe/London",
        "BEGIN:STANDARD",
        "DTSTART:20291028T020000",
        "TZOFFSETFROM:+0100",
        "TZOFFSETTO:+0000",
        "TZNAME:GMT",
        "END:STANDARD",
        "BEGIN:DAYLIGHT",
        "DTSTART:20300331T010000",
        "TZOFFSETFROM:+0000",
        "TZOFFSETTO:+0100",
        "TZNAME:BST",
        "END:DAYLIGHT",
        "BEGIN:STANDARD",
        "DTSTART:20301027T020000",
        "TZOFFSETFROM:+0100",
        "TZOFFSETTO:+0000",
        "TZNAME:GMT",
        "END:STANDARD",
        "END:VTIMEZONE",
        "BEGIN:VEVENT",
        "UID:gov-1@convene",
        "DTSTAMP:20300102T030400Z",
        "DTSTART;TZID=Europe/London:20300612T183000",
        "DTEND;TZID=Europe/London:20300612T193000",
        "SEQUENCE:2",
        "STATUS:TENTATIVE",
        "TRANSP:OPAQUE",
        "SUMMARY:Governors\\, Term 3\\; budget\\\\plan",
        "DESCRIPTION:Agenda:\\n1. Minutes\\n2. Budget",
        "LOCATION:Hall\\, Ysgol Llanfair",
        "URL:https://convene.example/e/gov-1?a=1,2;b",
        "ORGANIZER;CN=\"Jones, Clerk\":mailto:clerk@school.example",
        "ATTENDEE;CN=Jo JJ Smith;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRU",
        " E:mailto:jo@example.com",
        "ATTENDEE;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=FALSE:mailto:sam@e",
        " xample.com",
        "CREATED:20291201T090000Z",
        "LAST-MODIFIED:20300102T030400Z",
        "END:VEVENT",
        "BEGIN:VEVENT",
        "UID:cy-1@convene",
        "DTSTAMP:20300102T030400Z",
        "DTSTART;TZID=Asia/Kolkata:20300201T100000",
        "DTEND;TZID=Asia/Kolkata:20300201T110000",
        "SEQUENCE:0",
        "STATUS:CANCELLED",
        "TRANSP:OPAQUE",
        // This line is 74 octets; "ŷ" (2 bytes) would make 76, so it moves to the next line.
        "SUMMARY:Cyfarfod Llywodraethwyr Ysgol Gynradd Llanfairpwllgwyngyll — ŵ ",
        " ŷ â",
        "END:VEVENT",
        "END:VCALENDAR",
    ];

    #[test]
    fn full_calendar_matches_literal() {
        let rendered = sample().render();
        let expected = EXPECTED.iter().map(|l| format!("{l}\r\n")).collect::<String>();
        assert_eq!(rendered, expected);
        for line in expected.split("\r\n") {
            assert!(line.len() <= 75, "{line:?}");
        }
    }

    #[test]
    fn output_is_crlf_only_and_deterministic() {
        let mut cal = sample();
        cal.events[0].summary = "🏫📚✨ ".repeat(40);
        cal.events[1].description = Some("one\ntwo\r\nthree\rfour\u{7}".repeat(10));
        let a = cal.render();
        assert_eq!(a, cal.render());
        let bytes = a.as_bytes();
        for (i, b) in bytes.iter().enumerate() {
            if *b == b'\n' {
                assert_eq!(bytes[i - 1], b'\r', "bare LF at {i}");
            }
            if *b == b'\r' {
                assert_eq!(bytes.get(i + 1), Some(&b'\n'), "bare CR at {i}");
            }
        }
        assert!(a.ends_with("END:VCALENDAR\r\n"));
        for phys in a.split("\r\n") {
            assert!(phys.len() <= 75, "{phys:?}");
        }
        let logical = unfold(&a);
        assert!(logical.contains(&format!("SUMMARY:{}\r\n", "🏫📚✨ ".repeat(40))));
        assert!(logical.contains("DESCRIPTION:one\\ntwo\\nthree\\nfourone\\n"));
    }

    #[test]
    fn vtimezones_are_sorted_and_deduplicated() {
        let cal = Calendar {
            prod_id: "-//t//EN".to_owned(),
            events: vec![
                event("1", chrono_tz::Europe::London, utc(2030, 1, 1, 9, 0)),
                event("2", chrono_tz::America::New_York, utc(2030, 1, 1, 9, 0)),
                event("3", chrono_tz::Europe::London, utc(2031, 1, 1, 9, 0)),
            ],
            ..Calendar::default()
        };
        let out = cal.render();
        let tzids: Vec<_> = out.split("\r\n").filter(|l| l.starts_with("TZID:")).collect();
        assert_eq!(tzids, ["TZID:America/New_York", "TZID:Europe/London"]);
        // London covers both 2030 and 2031.
        assert!(out.contains("DTSTART:20311026T020000\r\n"));
        assert!(!out.contains("METHOD") && !out.contains("X-WR-") && !out.contains("REFRESH"));
        let uids: Vec<_> = out.split("\r\n").filter(|l| l.starts_with("UID:")).collect();
        assert_eq!(uids, ["UID:1", "UID:2", "UID:3"]);
    }

    #[test]
    fn july_2030_event_includes_march_daylight() {
        let cal = Calendar {
            prod_id: "-//t//EN".to_owned(),
            events: vec![event("1", chrono_tz::Europe::London, utc(2030, 7, 10, 12, 0))],
            ..Calendar::default()
        };
        let out = cal.render();
        assert!(out.contains(
            "BEGIN:DAYLIGHT\r\nDTSTART:20300331T010000\r\nTZOFFSETFROM:+0000\r\nTZOFFSETTO:+0100\r\nTZNAME:BST\r\n"
        ));
        assert!(out.contains("DTSTART;TZID=Europe/London:20300710T130000\r\n"));
    }

    #[test]
    fn event_in_2099_stops_at_2099() {
        let cal = Calendar {
            prod_id: "-//t//EN".to_owned(),
            events: vec![event("1", chrono_tz::Europe::London, utc(2099, 12, 31, 12, 0))],
            ..Calendar::default()
        };
        let out = cal.render();
        assert!(out.contains("DTSTART:20990329T010000\r\n"));
        assert!(!out.contains("DTSTART:2100"));
        assert!(out.contains("DTSTART;TZID=Europe/London:20991231T120000\r\n"));
    }

    #[test]
    fn repeated_hour_uses_utc_form() {
        // 2030-11-03 in New York: 01:30 EDT (05:30Z) and 01:30 EST (06:30Z) share a wall time.
        let tz = chrono_tz::America::New_York;
        let first = event("a", tz, utc(2030, 11, 3, 5, 30));
        let second = event("b", tz, utc(2030, 11, 3, 6, 30));
        let cal = Calendar {
            prod_id: "-//t//EN".to_owned(),
            events: vec![first, second],
            ..Calendar::default()
        };
        let out = cal.render();
        assert!(out.contains("DTSTART;TZID=America/New_York:20301103T013000\r\nDTEND:20301103T063000Z\r\n"));
        assert!(out.contains("DTSTART:20301103T063000Z\r\nDTEND;TZID=America/New_York:20301103T023000\r\n"));
    }
}
