//! VTIMEZONE generation from chrono-tz offsets.
//!
//! chrono-tz exposes offsets, not rules, so transitions are found by sampling the zone once a
//! day and bisecting each change down to the exact second. Each transition becomes one STANDARD
//! or DAYLIGHT observance with a single DTSTART (no RRULE), which is simple and exact.

use chrono::{DateTime, Datelike, NaiveDate, Offset, TimeZone, Utc};
use chrono_tz::{OffsetComponents, OffsetName, Tz, TzOffset};

use super::write::{ContentLine, local_datetime, utc_offset};

/// Seconds between samples when looking for offset changes.
const STEP: i64 = 86_400;
/// How far before the range start to look for the observance already in force.
const LOOKBACK: i64 = 2 * 366 * 86_400;
/// 2099-12-31T23:59:59Z: observances are never generated past this instant.
const LAST_INSTANT: i64 = 4_102_444_799;
/// 1800-01-01T00:00:00Z: ranges are never started before this instant.
const FIRST_INSTANT: i64 = -5_364_662_400;

/// The offset state of a zone at one instant. chrono-tz's `TzOffset` compares its base offset,
/// DST part and abbreviation, which is exactly what makes a transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct State(TzOffset);

impl State {
    fn at(tz: Tz, secs: i64) -> Self {
        let utc = DateTime::from_timestamp(secs, 0).unwrap_or_default().naive_utc();
        Self(tz.offset_from_utc_datetime(&utc))
    }

    /// Total offset from UTC in seconds.
    fn offset(&self) -> i32 {
        self.0.fix().local_minus_utc()
    }

    /// DST part of the offset in seconds (negative in Europe/Dublin's winter).
    fn dst(&self) -> i64 {
        self.0.dst_offset().num_seconds()
    }
}

/// One change of a zone's offset, DST flag or abbreviation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// First instant of the new offset.
    pub at: DateTime<Utc>,
    /// Total UTC offset in seconds before the change.
    pub offset_from: i32,
    /// Total UTC offset in seconds from the change on.
    pub offset_to: i32,
    /// Whether this starts daylight time: the new DST part is positive, or larger than before
    /// (so Europe/Dublin's negative-DST winter is STANDARD and its summer DAYLIGHT).
    pub daylight: bool,
    /// Abbreviation from the change on, or a numeric one such as `-03` or `+0530`.
    pub name: String,
}

impl Transition {
    fn new(secs: i64, before: State, after: State) -> Self {
        Self {
            at: DateTime::from_timestamp(secs, 0).unwrap_or_default(),
            offset_from: before.offset(),
            offset_to: after.offset(),
            daylight: after.dst() > 0 || after.dst() > before.dst(),
            name: display_name(&after),
        }
    }
}

/// Every transition of `tz` after `from` and at or before `to`, in order.
///
/// The zone is sampled daily, so two changes less than a day apart that return to the same
/// state are not seen (modern tzdata has no such pairs). Cost grows with the range: about one
/// offset lookup per day.
pub fn transitions(tz: Tz, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Transition> {
    scan(tz, from.timestamp(), to.timestamp())
}

fn scan(tz: Tz, from: i64, to: i64) -> Vec<Transition> {
    let mut out = Vec::new();
    let mut lo = from;
    let mut lo_state = State::at(tz, lo);
    while lo < to {
        let hi = lo.saturating_add(STEP).min(to);
        let hi_state = State::at(tz, hi);
        // Several changes may fall in one step: peel them off one by one.
        while lo_state != hi_state {
            let (at, after) = bisect(tz, lo, lo_state, hi);
            out.push(Transition::new(at, lo_state, after));
            lo = at;
            lo_state = after;
        }
        lo = hi;
        lo_state = hi_state;
    }
    out
}

/// Finds the first second in `(lo, hi]` whose state differs from `lo_state`, given that `hi`'s does.
fn bisect(tz: Tz, mut lo: i64, lo_state: State, mut hi: i64) -> (i64, State) {
    let mut hi_state = State::at(tz, hi);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        let mid_state = State::at(tz, mid);
        if mid_state == lo_state {
            lo = mid;
        } else {
            hi = mid;
            hi_state = mid_state;
        }
    }
    (hi, hi_state)
}

/// The UTC range covered for events between `from` and `to`: whole years, clamped to 1800–2099.
fn year_range(from: DateTime<Utc>, to: DateTime<Utc>) -> (i64, i64) {
    let (first, last) = if from <= to { (from, to) } else { (to, from) };
    let year_start = |y: i32| {
        NaiveDate::from_ymd_opt(y, 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map_or(0, |d| d.and_utc().timestamp())
    };
    // A day of margin either side keeps whole local years covered in zones far from UTC.
    let end = year_start(last.year().saturating_add(1)).saturating_add(STEP);
    let end = end.clamp(FIRST_INSTANT, LAST_INSTANT);
    let start = year_start(first.year()).saturating_sub(STEP);
    let start = start.clamp(FIRST_INSTANT, LAST_INSTANT);
    // An event after 2099 still gets the observances of 2099.
    let start = start.min(year_start(2099).min(end));
    (start, end)
}

/// The VTIMEZONE component for `tz`, folded and ending in CRLF.
///
/// It covers every year from `from` to `to` (never past 2099-12-31) and starts with the
/// observance already in force at the start of that range. A zone without changes gets one
/// STANDARD observance starting 1970-01-01.
pub fn vtimezone(tz: Tz, from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    let (start, end) = year_range(from, to);
    let found = scan(tz, start.saturating_sub(LOOKBACK).max(FIRST_INSTANT), end);
    let in_range = found.partition_point(|t| t.at.timestamp() <= start);

    let mut out = String::with_capacity(256 + 180 * (found.len() - in_range + 1));
    out.push_str(&ContentLine::new("BEGIN").raw("VTIMEZONE"));
    out.push_str(&ContentLine::new("TZID").raw(tz.name()));
    match in_range.checked_sub(1).and_then(|i| found.get(i)) {
        Some(before) => push_observance(&mut out, before),
        None => {
            let state = State::at(tz, start);
            let epoch = DateTime::<Utc>::UNIX_EPOCH;
            let onset = if start < 0 {
                DateTime::from_timestamp(start, 0).unwrap_or(epoch)
            } else {
                epoch
            };
            // The wall clock 1970-01-01T00:00:00 (or the range start, if earlier) in this zone.
            let at = onset - chrono::Duration::seconds(i64::from(state.offset()));
            push_observance(&mut out, &Transition::new(at.timestamp(), state, state));
        }
    }
    for t in found.iter().skip(in_range) {
        push_observance(&mut out, t);
    }
    out.push_str(&ContentLine::new("END").raw("VTIMEZONE"));
    out
}

fn push_observance(out: &mut String, t: &Transition) {
    let kind = if t.daylight { "DAYLIGHT" } else { "STANDARD" };
    // RFC 5545: DTSTART is the onset in the wall-clock time in force before it (TZOFFSETFROM).
    let local = t.at.naive_utc() + chrono::Duration::seconds(i64::from(t.offset_from));
    out.push_str(&ContentLine::new("BEGIN").raw(kind));
    out.push_str(&ContentLine::new("DTSTART").raw(&local_datetime(&local)));
    out.push_str(&ContentLine::new("TZOFFSETFROM").raw(&utc_offset(t.offset_from)));
    out.push_str(&ContentLine::new("TZOFFSETTO").raw(&utc_offset(t.offset_to)));
    out.push_str(&ContentLine::new("TZNAME").text(&t.name));
    out.push_str(&ContentLine::new("END").raw(kind));
}

/// The abbreviation, or a numeric name in tzdata's style (`-03`, `+0530`) when there is none.
fn display_name(state: &State) -> String {
    if let Some(name) = state.0.abbreviation() {
        return name.to_owned();
    }
    let offset = state.offset();
    let sign = if offset < 0 { '-' } else { '+' };
    let abs = offset.unsigned_abs();
    let (h, m, s) = (abs / 3600, abs / 60 % 60, abs % 60);
    match (m, s) {
        (0, 0) => format!("{sign}{h:02}"),
        (_, 0) => format!("{sign}{h:02}{m:02}"),
        _ => format!("{sign}{h:02}{m:02}{s:02}"),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::super::write::unfold;
    use super::*;
    use chrono::{NaiveDateTime, TimeZone};

    /// One observance read back from VTIMEZONE text.
    #[derive(Debug)]
    struct Obs {
        onset: i64,
        from: i32,
        to: i32,
        kind: String,
    }

    fn parse_offset(s: &str) -> i32 {
        let sign = if s.starts_with('-') { -1 } else { 1 };
        let digits = &s[1..];
        let h: i32 = digits[0..2].parse().unwrap();
        let m: i32 = digits[2..4].parse().unwrap();
        let sec: i32 = if digits.len() == 6 {
            digits[4..6].parse().unwrap()
        } else {
            0
        };
        sign * (h * 3600 + m * 60 + sec)
    }

    /// A tiny VTIMEZONE interpreter: onsets from DTSTART (local) minus TZOFFSETFROM.
    fn interpret(text: &str) -> Vec<Obs> {
        let unfolded = unfold(text);
        let mut out = Vec::new();
        type Partial = (String, Option<NaiveDateTime>, Option<i32>, Option<i32>);
        let mut cur: Option<Partial> = None;
        for line in unfolded.split("\r\n") {
            if let Some(kind) = line.strip_prefix("BEGIN:") {
                if kind == "STANDARD" || kind == "DAYLIGHT" {
                    cur = Some((kind.to_owned(), None, None, None));
                }
            } else if let Some(kind) = line.strip_prefix("END:") {
                if kind == "STANDARD" || kind == "DAYLIGHT" {
                    let (k, start, from, to) = cur.take().unwrap();
                    let (start, from, to) = (start.unwrap(), from.unwrap(), to.unwrap());
                    let onset = start.and_utc().timestamp() - i64::from(from);
                    out.push(Obs {
                        onset,
                        from,
                        to,
                        kind: k,
                    });
                }
            } else if let Some(c) = cur.as_mut() {
                if let Some(v) = line.strip_prefix("DTSTART:") {
                    c.1 = Some(NaiveDateTime::parse_from_str(v, "%Y%m%dT%H%M%S").unwrap());
                } else if let Some(v) = line.strip_prefix("TZOFFSETFROM:") {
                    c.2 = Some(parse_offset(v));
                } else if let Some(v) = line.strip_prefix("TZOFFSETTO:") {
                    c.3 = Some(parse_offset(v));
                }
            }
        }
        out.sort_by_key(|o| o.onset);
        out
    }

    fn interp_offset(obs: &[Obs], t: i64) -> i32 {
        match obs.iter().rev().find(|o| o.onset <= t) {
            Some(o) => o.to,
            None => obs.first().unwrap().from,
        }
    }

    fn chrono_offset(tz: Tz, t: i64) -> i32 {
        let utc = DateTime::from_timestamp(t, 0).unwrap().naive_utc();
        tz.offset_from_utc_datetime(&utc).fix().local_minus_utc()
    }

    fn utc(y: i32, mo: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, 0, 0, 0).unwrap()
    }

    /// Checks every offset change 2000–2037 (found independently, hourly + bisection), one second
    /// either side, plus a sample every 10 days. Returns how many changes were checked.
    fn check_zone(tz: Tz) -> usize {
        let from = utc(2000, 1, 1);
        let to = utc(2037, 12, 31);
        let text = vtimezone(tz, from, to);
        let obs = interpret(&text);
        assert!(!obs.is_empty());
        let (start, end) = (from.timestamp(), to.timestamp());
        let mut changes = 0;
        let mut t = start;
        while t < end {
            let next = t + 3600;
            if chrono_offset(tz, t) != chrono_offset(tz, next) {
                let (mut lo, mut hi) = (t, next);
                while hi - lo > 1 {
                    let mid = (lo + hi) / 2;
                    if chrono_offset(tz, mid) == chrono_offset(tz, t) {
                        lo = mid;
                    } else {
                        hi = mid;
                    }
                }
                for probe in [hi - 1, hi] {
                    assert_eq!(
                        interp_offset(&obs, probe),
                        chrono_offset(tz, probe),
                        "{tz} at {}",
                        DateTime::from_timestamp(probe, 0).unwrap()
                    );
                }
                changes += 1;
            }
            t = next;
        }
        let mut t = start;
        while t <= end {
            assert_eq!(interp_offset(&obs, t), chrono_offset(tz, t), "{tz} sample {t}");
            t += 10 * 86_400;
        }
        // Every observance onset is a real change (or the leading one), and none is duplicated.
        for w in obs.windows(2) {
            assert!(w[0].onset < w[1].onset);
            assert_eq!(w[0].to, w[1].from);
        }
        changes
    }

    #[test]
    fn agrees_with_chrono_tz_2000_2037() {
        assert_eq!(check_zone(chrono_tz::Europe::London), 76);
        // 2000–2006 old US rules, 2007 on new ones: still two changes a year.
        assert_eq!(check_zone(chrono_tz::America::New_York), 76);
        // Southern hemisphere: observances cross the year end.
        assert_eq!(check_zone(chrono_tz::Australia::Sydney), 76);
        assert_eq!(check_zone(chrono_tz::Asia::Kolkata), 0);
    }

    #[test]
    fn transitions_are_exact_to_the_second() {
        let ts = transitions(chrono_tz::America::New_York, utc(2030, 1, 1), utc(2030, 12, 31));
        assert_eq!(ts.len(), 2);
        assert_eq!(ts[0].at, Utc.with_ymd_and_hms(2030, 3, 10, 7, 0, 0).unwrap());
        assert_eq!(
            (ts[0].offset_from, ts[0].offset_to, ts[0].daylight),
            (-18000, -14400, true)
        );
        assert_eq!(ts[0].name, "EDT");
        assert_eq!(ts[1].at, Utc.with_ymd_and_hms(2030, 11, 3, 6, 0, 0).unwrap());
        assert_eq!(
            (ts[1].offset_from, ts[1].offset_to, ts[1].daylight),
            (-14400, -18000, false)
        );
        assert_eq!(ts[1].name, "EST");
    }

    #[test]
    fn observance_dtstart_is_local_time_before_change() {
        let text = vtimezone(chrono_tz::America::New_York, utc(2030, 6, 1), utc(2030, 6, 2));
        // Spring forward at 02:00 EST; fall back at 02:00 EDT.
        assert!(text.contains("BEGIN:DAYLIGHT\r\nDTSTART:20300310T020000\r\nTZOFFSETFROM:-0500\r\nTZOFFSETTO:-0400\r\nTZNAME:EDT\r\nEND:DAYLIGHT\r\n"));
        assert!(text.contains("BEGIN:STANDARD\r\nDTSTART:20301103T020000\r\nTZOFFSETFROM:-0400\r\nTZOFFSETTO:-0500\r\nTZNAME:EST\r\nEND:STANDARD\r\n"));
        // The observance in force on 2030-01-01 is the November 2029 one.
        assert!(text.contains("DTSTART:20291104T020000\r\n"));
        assert_eq!(
            text.matches("BEGIN:STANDARD").count() + text.matches("BEGIN:DAYLIGHT").count(),
            3
        );
    }

    #[test]
    fn zones_without_changes_get_one_standard() {
        for tz in [chrono_tz::Asia::Kolkata, chrono_tz::UTC, chrono_tz::Asia::Tokyo] {
            let text = vtimezone(tz, utc(2030, 3, 1), utc(2031, 3, 1));
            let off = utc_offset(chrono_offset(tz, utc(2030, 3, 1).timestamp()));
            let expected = format!(
                "BEGIN:VTIMEZONE\r\nTZID:{}\r\nBEGIN:STANDARD\r\nDTSTART:19700101T000000\r\n\
                 TZOFFSETFROM:{off}\r\nTZOFFSETTO:{off}\r\nTZNAME:{}\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n",
                tz.name(),
                match tz.name() {
                    "Asia/Kolkata" => "IST",
                    "Asia/Tokyo" => "JST",
                    _ => "UTC",
                }
            );
            assert_eq!(text, expected);
        }
    }

    #[test]
    fn numeric_and_negative_dst_names() {
        // America/Sao_Paulo has no abbreviation in tzdata: a numeric name is used.
        let text = vtimezone(chrono_tz::America::Sao_Paulo, utc(2030, 1, 1), utc(2030, 2, 1));
        assert!(text.contains("TZNAME:-03\r\n"), "{text}");
        // Europe/Dublin: negative DST in winter; summer is still labelled DAYLIGHT.
        let text = vtimezone(chrono_tz::Europe::Dublin, utc(2030, 1, 1), utc(2030, 2, 1));
        let obs = interpret(&text);
        let kinds: Vec<_> = obs.iter().map(|o| o.kind.as_str()).collect();
        assert_eq!(kinds, ["STANDARD", "DAYLIGHT", "STANDARD"]);
    }

    #[test]
    fn range_is_clamped_to_2099() {
        let text = vtimezone(chrono_tz::Europe::London, utc(2099, 6, 1), utc(2099, 6, 2));
        assert!(!text.contains("DTSTART:2100"));
        assert!(text.contains("DTSTART:20991025T020000\r\n"), "{text}");
        // An event after 2099 still gets a valid, non-empty VTIMEZONE.
        let text = vtimezone(chrono_tz::Europe::London, utc(2150, 6, 1), utc(2150, 6, 2));
        assert!(text.contains("BEGIN:STANDARD") && !text.contains("DTSTART:21"));
    }

    #[test]
    fn one_year_is_fast() {
        let start = std::time::Instant::now();
        let text = vtimezone(chrono_tz::Europe::London, utc(2030, 1, 1), utc(2030, 12, 31));
        let elapsed = start.elapsed();
        assert!(text.contains("TZID:Europe/London"));
        // Generous bound for unoptimised test builds; release takes tens of microseconds.
        assert!(elapsed < std::time::Duration::from_millis(50), "{elapsed:?}");
    }
}
