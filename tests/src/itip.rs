//! libical's iTIP check (see `tools/itip_check.c`): the calendar a mail carries is parsed by
//! libical and run through `icalrestriction_check`, which holds each component to the property
//! counts RFC 5546 sets for the calendar's METHOD. The checker is compiled on first use into
//! `<target>/test-tools/`; libical's headers are installed with apt when missing (the tests run
//! as root). Nothing is skipped: a machine that cannot have them fails the test with the reason.
//!
//! What libical 3.0.16 (Debian's) asks, found by the tests below and by hand:
//! - every method: the VCALENDAR has PRODID and VERSION once each, and METHOD (without METHOD
//!   libical checks against no iTIP table and passes anything, so `itip_check.c` refuses it);
//!   a VEVENT has at most one DESCRIPTION, never both DTEND and DURATION.
//! - `METHOD:REQUEST`: each VEVENT has exactly one ORGANIZER, DTSTAMP, DTSTART, UID and SUMMARY,
//!   one or more ATTENDEE; SEQUENCE and DTEND at most once each (both may be absent); STATUS, if
//!   present, TENTATIVE or CONFIRMED (CANCELLED is refused).
//! - `METHOD:CANCEL`: each VEVENT has exactly one ORGANIZER, DTSTAMP, UID and SEQUENCE; ATTENDEE,
//!   DTSTART, DTEND and SUMMARY may be absent (RFC 5546 3.2.5 still wants the attendees being
//!   removed listed, so send them); no REQUEST-STATUS; any STATUS value passes (send CANCELLED).
//! - `METHOD:PUBLISH` (the feeds): ORGANIZER, DTSTAMP, DTSTART, UID and SUMMARY once each, and no
//!   ATTENDEE at all.
//!
//! libical is lax about values: `DTSTART:2027-03-20`, `SEQUENCE:abc`, `RSVP=MAYBE`, a TZID with no
//! VTIMEZONE and a calendar with no VEVENT all pass; only values it cannot read at all (a
//! `DTSTART:garbage`, a line with no property name) fail, as parse errors. Pair it with
//! [`crate::python::read_ics`] or [`crate::smtp::ReceivedMail::read`] for those.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use crate::python::{target_dir, tool};

static BUILD: Mutex<()> = Mutex::new(());

/// The header whose absence means libical's development files must be installed.
const HEADER: &str = "/usr/include/libical/ical.h";

/// FNV-1a, 64 bits: a stable name for the checker built from one version of its source.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn output_text(output: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The compiled checker, built on first use.
fn checker() -> PathBuf {
    let source = tool("itip_check.c");
    let code = std::fs::read(&source).unwrap_or_else(|e| panic!("reading {}: {e}", source.display()));
    let dir = target_dir().join("test-tools");
    let binary = dir.join(format!("itip_check-{:016x}", fnv1a(&code)));
    let _guard = BUILD.lock().unwrap_or_else(|e| e.into_inner());
    if binary.exists() {
        return binary;
    }
    let mut missing = Vec::new();
    if !Path::new(HEADER).exists() {
        missing.push("libical-dev");
    }
    if Command::new("gcc").arg("--version").output().is_err() {
        missing.push("gcc");
    }
    if Command::new("pkg-config").arg("--version").output().is_err() {
        missing.push("pkg-config");
    }
    if !missing.is_empty() {
        crate::debian::install(&missing, "the iTIP check (libical's headers and a C compiler)");
        assert!(
            Path::new(HEADER).exists(),
            "{HEADER} is still missing after installing libical-dev"
        );
    }
    let flags = Command::new("pkg-config")
        .args(["--cflags", "--libs", "libical"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_else(|| vec!["-lical".to_owned()]);
    std::fs::create_dir_all(&dir).unwrap();
    // Build beside, then rename: another test binary never runs a half-written checker.
    let building = dir.join(format!("itip_check.building-{}", std::process::id()));
    let output = Command::new("gcc")
        .args(["-O1", "-Wall", "-o"])
        .arg(&building)
        .arg(&source)
        .args(&flags)
        .output()
        .unwrap_or_else(|e| panic!("could not start gcc to build the iTIP checker: {e}"));
    assert!(
        output.status.success(),
        "compiling {} with libical failed: {}",
        source.display(),
        output_text(&output)
    );
    if std::fs::rename(&building, &binary).is_err() {
        let _ = std::fs::remove_file(&building);
        assert!(
            binary.exists(),
            "could not move the iTIP checker to {}",
            binary.display()
        );
    }
    binary
}

/// Runs libical's parser and `icalrestriction_check` on a calendar: `Ok(())` if both pass, else
/// every `X-LIC-ERROR` libical recorded, one a line (`restriction: VEVENT: ...: Failed iTIP
/// restrictions for ORGANIZER property. Expected 1 instances of the property and got 0`).
/// Panics, with the reason, if the checker cannot be built or run.
pub fn itip_check(ics: &[u8]) -> Result<(), String> {
    let binary = checker();
    let dir = std::env::temp_dir().join(format!("convene-itip-{}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("invite.ics");
    std::fs::write(&file, ics).unwrap();
    let output = Command::new(&binary)
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("could not run {}: {e}", binary.display()));
    let _ = std::fs::remove_dir_all(&dir);
    match output.status.code() {
        Some(0) => Ok(()),
        Some(1) => Err(output_text(&output)),
        _ => panic!("the iTIP checker failed: {:?} {}", output.status, output_text(&output)),
    }
}

#[cfg(test)]
mod tests {
    use super::itip_check;

    const REQUEST: &str = "BEGIN:VCALENDAR\r\n\
        VERSION:2.0\r\n\
        PRODID:-//Convene//Tests//EN\r\n\
        METHOD:REQUEST\r\n\
        BEGIN:VEVENT\r\n\
        UID:session-1@convene.test\r\n\
        DTSTAMP:20270101T090000Z\r\n\
        DTSTART:20270320T093000Z\r\n\
        DTEND:20270320T120000Z\r\n\
        SEQUENCE:0\r\n\
        SUMMARY:Oracy across the curriculum\r\n\
        ORGANIZER;CN=Convene:mailto:noreply@convene.test\r\n\
        ATTENDEE;CN=Ann Jones;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:\r\n \
        mailto:ann@example.org\r\n\
        END:VEVENT\r\n\
        END:VCALENDAR\r\n";

    fn without(ics: &str, property: &str) -> String {
        ics.split_inclusive("\r\n")
            .filter(|line| !line.starts_with(&format!("{property}:")) && !line.starts_with(&format!("{property};")))
            .collect()
    }

    fn cancel() -> String {
        REQUEST
            .replace("METHOD:REQUEST", "METHOD:CANCEL")
            .replace("SEQUENCE:0", "SEQUENCE:1\r\nSTATUS:CANCELLED")
    }

    fn refused(ics: &str, needle: &str) -> String {
        let reason = itip_check(ics.as_bytes()).expect_err(&format!("libical took:\n{ics}"));
        assert!(reason.contains(needle), "expected {needle:?} in {reason}");
        reason
    }

    #[test]
    fn a_whole_request_passes() {
        itip_check(REQUEST.as_bytes()).unwrap();
    }

    #[test]
    fn a_request_needs_organizer_attendee_dtstamp_dtstart_uid_and_summary() {
        for property in ["ORGANIZER", "ATTENDEE", "DTSTAMP", "DTSTART", "UID", "SUMMARY"] {
            refused(&without(REQUEST, property), &format!("for {property} property"));
        }
        // SEQUENCE and DTEND may be left out of a REQUEST.
        itip_check(without(REQUEST, "SEQUENCE").as_bytes()).unwrap();
        itip_check(without(REQUEST, "DTEND").as_bytes()).unwrap();
        // Two ORGANIZERs are one too many.
        refused(
            &REQUEST.replace("SUMMARY:", "ORGANIZER:mailto:b@convene.test\r\nSUMMARY:"),
            "for ORGANIZER property",
        );
        // A REQUEST may not say CANCELLED, nor carry both DTEND and DURATION; each reason once.
        let reason = refused(
            &REQUEST.replace("SEQUENCE:0", "SEQUENCE:0\r\nSTATUS:CANCELLED"),
            "STATUS property. Value must be one of TENTATIVE or CONFIRMED",
        );
        assert_eq!(reason.lines().count(), 1, "{reason}");
        itip_check(
            REQUEST
                .replace("SEQUENCE:0", "SEQUENCE:0\r\nSTATUS:CONFIRMED")
                .as_bytes(),
        )
        .unwrap();
        refused(
            &REQUEST.replace("SEQUENCE:0", "SEQUENCE:0\r\nDURATION:PT1H"),
            "must not have both DURATION and DTEND",
        );
    }

    #[test]
    fn a_cancel_needs_organizer_dtstamp_uid_and_sequence_but_no_attendee_dtstart_or_summary() {
        let cancel = cancel();
        itip_check(cancel.as_bytes()).unwrap();
        for property in ["ORGANIZER", "DTSTAMP", "UID", "SEQUENCE"] {
            refused(&without(&cancel, property), &format!("for {property} property"));
        }
        let bare = ["ATTENDEE", "DTSTART", "DTEND", "SUMMARY"]
            .iter()
            .fold(cancel.clone(), |ics, property| without(&ics, property));
        itip_check(bare.as_bytes()).unwrap();
        refused(
            &cancel.replace("SEQUENCE:1", "SEQUENCE:1\r\nREQUEST-STATUS:2.0;Success"),
            "for REQUEST-STATUS property",
        );
    }

    #[test]
    fn the_calendar_needs_prodid_version_and_method_and_parse_errors_fail() {
        refused(&without(REQUEST, "PRODID"), "for PRODID property");
        refused(&without(REQUEST, "VERSION"), "for VERSION property");
        refused(&without(REQUEST, "METHOD"), "no METHOD");
        refused(
            &REQUEST.replace("DTSTART:20270320T093000Z", "DTSTART:garbage"),
            "parse: VEVENT: VALUE-PARSE-ERROR",
        );
        refused(
            &REQUEST.replace("SEQUENCE:0\r\n", "SEQUENCE:0\r\nNOT A PROPERTY\r\n"),
            "parse: VEVENT: COMPONENT-PARSE-ERROR",
        );
        refused("not a calendar", "parse");
    }
}
