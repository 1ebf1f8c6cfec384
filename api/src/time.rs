//! Time-zone resolution: turning what an organiser typed into a UTC instant, and back.
//!
//! Pure code, no database. Sessions are stored as UTC instants beside the event's IANA zone;
//! a local wall-clock time is accepted only when it names exactly one instant in that zone.

use std::str::FromStr;

use chrono::{DateTime, Datelike, LocalResult, NaiveDateTime, SecondsFormat, TimeZone, Utc};
use chrono_tz::Tz;

/// The earliest and latest years Convene accepts for a session (calendar rules are generated up to 2099).
pub const YEARS: std::ops::RangeInclusive<i32> = 2000..=2099;

/// A valid IANA time-zone name such as `Europe/London`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeZoneName(Tz);

impl TimeZoneName {
    /// Coordinated Universal Time.
    pub const UTC: Self = Self(Tz::UTC);

    /// Parses an IANA zone name; `UTC` and `Etc/…` zones are accepted too.
    pub fn parse(name: &str) -> Result<Self, TimeError> {
        Tz::from_str(name.trim())
            .map(Self)
            .map_err(|_| TimeError::UnknownZone(name.to_owned()))
    }

    /// The chrono-tz zone.
    pub fn tz(self) -> Tz {
        self.0
    }

    /// The canonical name, as stored.
    pub fn name(self) -> &'static str {
        self.0.name()
    }
}

/// A time as an organiser gave it: an instant with an offset, or a wall-clock time in the event's zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeInput {
    /// An RFC 3339 instant such as `2027-06-04T08:30:00Z` or `2027-06-04T09:30:00+01:00`.
    Instant(DateTime<Utc>),
    /// A local date-time `YYYY-MM-DDTHH:MM[:SS]` with no offset, read in the event's zone.
    Local(NaiveDateTime),
}

/// Why a time could not be read or placed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    /// The zone name is not in the IANA database.
    #[error("'{0}' is not a known IANA time zone (for example Europe/London)")]
    UnknownZone(String),
    /// The text is neither an RFC 3339 instant nor a local `YYYY-MM-DDTHH:MM[:SS]`.
    #[error("'{0}' is not a date-time: use 2027-06-04T09:30 (local) or 2027-06-04T08:30:00Z")]
    Malformed(String),
    /// The year is outside the years Convene schedules.
    #[error("the year {0} is outside 2000 to 2099")]
    YearOutOfRange(i32),
    /// The local time falls in the gap when clocks go forward.
    #[error("{local} does not exist in {zone}: the clocks go forward over that time")]
    Nonexistent {
        /// The local time as given.
        local: NaiveDateTime,
        /// The zone it was read in.
        zone: &'static str,
    },
    /// The local time happens twice because the clocks go back.
    #[error("{local} happens twice in {zone} because the clocks go back: give the instant with its offset instead")]
    Ambiguous {
        /// The local time as given.
        local: NaiveDateTime,
        /// The zone it was read in.
        zone: &'static str,
    },
}

impl TimeInput {
    /// Reads an instant (with `Z` or an offset) or a local date-time (without).
    pub fn parse(text: &str) -> Result<Self, TimeError> {
        let text = text.trim();
        if let Ok(instant) = DateTime::parse_from_rfc3339(text) {
            return Ok(Self::Instant(instant.with_timezone(&Utc)));
        }
        for format in [
            "%Y-%m-%dT%H:%M:%S",
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%d %H:%M:%S",
            "%Y-%m-%d %H:%M",
        ] {
            if let Ok(local) = NaiveDateTime::parse_from_str(text, format) {
                return Ok(Self::Local(local));
            }
        }
        Err(TimeError::Malformed(text.chars().take(64).collect()))
    }

    /// Places the time in `zone`, refusing local times that do not exist or happen twice.
    /// The result is truncated to whole seconds.
    pub fn resolve(self, zone: TimeZoneName) -> Result<DateTime<Utc>, TimeError> {
        let instant = match self {
            Self::Instant(instant) => instant,
            Self::Local(local) => match zone.tz().from_local_datetime(&local) {
                LocalResult::Single(t) => t.with_timezone(&Utc),
                LocalResult::None => {
                    return Err(TimeError::Nonexistent {
                        local,
                        zone: zone.name(),
                    });
                }
                LocalResult::Ambiguous(_, _) => {
                    return Err(TimeError::Ambiguous {
                        local,
                        zone: zone.name(),
                    });
                }
            },
        };
        if !YEARS.contains(&instant.year()) {
            return Err(TimeError::YearOutOfRange(instant.year()));
        }
        Ok(DateTime::from_timestamp(instant.timestamp(), 0).unwrap_or(instant))
    }
}

/// The zone of a stored IANA name (names are checked when stored; an unknown one reads as
/// Europe/London, where the networks are).
pub fn stored_zone(name: &str) -> Tz {
    name.parse().unwrap_or(chrono_tz::Europe::London)
}

/// The instant a wall-clock time names in `zone`, for times Convene computes itself (quiet
/// hours): the earlier one in a repeated hour, and an hour on when it falls in a gap.
pub fn earliest(zone: Tz, local: NaiveDateTime) -> Option<DateTime<Tz>> {
    zone.from_local_datetime(&local).earliest().or_else(|| {
        zone.from_local_datetime(&(local + chrono::Duration::hours(1)))
            .earliest()
    })
}

/// Formats an instant as RFC 3339 in UTC with whole seconds: `2027-06-04T08:30:00Z`.
pub fn format_utc(instant: DateTime<Utc>) -> String {
    instant.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Formats an instant as a wall-clock time in `zone`, without offset: `2027-06-04T09:30:00`.
pub fn format_local(instant: DateTime<Utc>, zone: Tz) -> String {
    instant
        .with_timezone(&zone)
        .naive_local()
        .format("%Y-%m-%dT%H:%M:%S")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn london() -> TimeZoneName {
        TimeZoneName::parse("Europe/London").unwrap()
    }

    #[test]
    fn a_local_time_in_summer_is_read_as_british_summer_time() {
        let t = TimeInput::parse("2027-06-04T09:30").unwrap().resolve(london()).unwrap();
        assert_eq!(format_utc(t), "2027-06-04T08:30:00Z");
    }

    #[test]
    fn the_hour_the_clocks_go_forward_does_not_exist() {
        let err = TimeInput::parse("2027-03-28T01:30")
            .unwrap()
            .resolve(london())
            .unwrap_err();
        assert!(matches!(err, TimeError::Nonexistent { .. }), "{err:?}");
    }

    #[test]
    fn the_hour_the_clocks_go_back_is_ambiguous() {
        let err = TimeInput::parse("2027-10-31T01:30:00")
            .unwrap()
            .resolve(london())
            .unwrap_err();
        assert!(matches!(err, TimeError::Ambiguous { .. }), "{err:?}");
    }

    #[test]
    fn an_instant_with_an_offset_is_kept_as_given() {
        let t = TimeInput::parse("2027-10-31T01:30:00+01:00")
            .unwrap()
            .resolve(london())
            .unwrap();
        assert_eq!(format_utc(t), "2027-10-31T00:30:00Z");
        assert_eq!(format_local(t, london().tz()), "2027-10-31T01:30:00");
    }

    #[test]
    fn unknown_zones_and_garbage_are_refused() {
        assert!(TimeZoneName::parse("Europe/Atlantis").is_err());
        assert!(TimeInput::parse("next tuesday").is_err());
        assert!(TimeInput::parse("2027-02-30T10:00").is_err());
    }

    #[test]
    fn years_outside_the_supported_range_are_refused() {
        let err = TimeInput::parse("2199-01-01T10:00")
            .unwrap()
            .resolve(london())
            .unwrap_err();
        assert_eq!(err, TimeError::YearOutOfRange(2199));
    }

    proptest! {
        /// Every local time that resolves maps back to the same wall-clock time in its zone.
        #[test]
        fn resolved_local_times_round_trip(secs in 946_684_800i64..4_102_444_799i64, zone in prop::sample::select(vec!["Europe/London", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "UTC"])) {
            let zone = TimeZoneName::parse(zone).unwrap();
            let local = DateTime::from_timestamp(secs, 0).unwrap().with_timezone(&zone.tz()).naive_local();
            match TimeInput::Local(local).resolve(zone) {
                Ok(instant) => prop_assert_eq!(instant.with_timezone(&zone.tz()).naive_local(), local),
                Err(TimeError::Ambiguous { .. }) => {}
                Err(other) => prop_assert!(false, "unexpected {:?}", other),
            }
        }
    }
}
