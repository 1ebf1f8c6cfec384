//! The UK's public (bank) holidays, 2024–2030, shipped with Convene as data (`data/uk-bank-holidays.json`,
//! in GOV.UK's own format; `data/bank_holidays.py` says where each year comes from). No network at
//! run time. A school keeps the holidays of its nation, chosen from its `region`: Scotland,
//! Northern Ireland, or England and Wales for every other region.

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use chrono::NaiveDate;
use serde::Deserialize;

/// The first and last years the data covers.
pub const YEARS: std::ops::RangeInclusive<i32> = 2024..=2030;

/// A nation's list of bank holidays (GOV.UK calls them divisions).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Division {
    /// England and Wales (the default).
    EnglandAndWales,
    /// Scotland.
    Scotland,
    /// Northern Ireland.
    NorthernIreland,
}

impl Division {
    /// The division of a school's region: `Scotland` and `Northern Ireland` (also `NI`) have their
    /// own; every other region, and none, keeps England and Wales's.
    pub fn of_region(region: &str) -> Self {
        let folded: String = region
            .chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect();
        match folded.as_str() {
            "scotland" | "scot" => Self::Scotland,
            "northernireland" | "ni" => Self::NorthernIreland,
            _ => Self::EnglandAndWales,
        }
    }

    /// The division's name in GOV.UK's file.
    pub fn key(self) -> &'static str {
        match self {
            Self::EnglandAndWales => "england-and-wales",
            Self::Scotland => "scotland",
            Self::NorthernIreland => "northern-ireland",
        }
    }

    /// The division's name in words.
    pub fn name(self) -> &'static str {
        match self {
            Self::EnglandAndWales => "England and Wales",
            Self::Scotland => "Scotland",
            Self::NorthernIreland => "Northern Ireland",
        }
    }
}

#[derive(Deserialize)]
struct File {
    events: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    title: String,
    date: NaiveDate,
    notes: String,
}

type Table = HashMap<Division, BTreeMap<NaiveDate, String>>;

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        #[allow(clippy::expect_used)] // The file is part of the build; a unit test reads it.
        let files: HashMap<String, File> = serde_json::from_str(include_str!("../data/uk-bank-holidays.json"))
            .expect("data/uk-bank-holidays.json is GOV.UK's format");
        [Division::EnglandAndWales, Division::Scotland, Division::NorthernIreland]
            .into_iter()
            .map(|division| {
                let days = files
                    .get(division.key())
                    .map(|f| {
                        f.events
                            .iter()
                            .map(|e| {
                                let title = if e.notes.is_empty() {
                                    e.title.clone()
                                } else {
                                    format!("{} ({})", e.title, e.notes.to_lowercase())
                                };
                                (e.date, title)
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                (division, days)
            })
            .collect()
    })
}

/// The division's holidays from `from` to `to` (inclusive), each with its title.
pub fn between(division: Division, from: NaiveDate, to: NaiveDate) -> impl Iterator<Item = (NaiveDate, &'static str)> {
    table()
        .get(&division)
        .into_iter()
        .flat_map(move |days| days.range(from..=to.max(from)))
        .map(|(d, t)| (*d, t.as_str()))
}

/// The holiday on `day` in `division`, if any.
pub fn on(division: Division, day: NaiveDate) -> Option<&'static str> {
    table().get(&division)?.get(&day).map(String::as_str)
}

#[cfg(test)]
mod tests {
    use chrono::{Datelike, Weekday};

    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn every_year_of_every_nation_is_there_and_on_weekdays() {
        for (division, per_year) in [
            (Division::EnglandAndWales, 8),
            (Division::Scotland, 9),
            (Division::NorthernIreland, 10),
        ] {
            for year in YEARS {
                let days: Vec<_> = between(division, d(year, 1, 1), d(year, 12, 31)).collect();
                let extra = usize::from(division == Division::Scotland && year == 2026);
                assert_eq!(days.len(), per_year + extra, "{division:?} {year}: {days:?}");
                assert!(days.iter().all(|(day, _)| !matches!(day.weekday(), Weekday::Sat | Weekday::Sun)));
            }
        }
    }

    #[test]
    fn the_published_lists_are_matched() {
        // GOV.UK's lists for 2026 and 2027.
        let england: Vec<_> = between(Division::EnglandAndWales, d(2026, 1, 1), d(2027, 12, 31))
            .map(|(day, _)| day.to_string())
            .collect();
        assert_eq!(
            england,
            [
                "2026-01-01", "2026-04-03", "2026-04-06", "2026-05-04", "2026-05-25", "2026-08-31", "2026-12-25",
                "2026-12-28", "2027-01-01", "2027-03-26", "2027-03-29", "2027-05-03", "2027-05-31", "2027-08-30",
                "2027-12-27", "2027-12-28",
            ]
        );
        assert_eq!(on(Division::Scotland, d(2026, 6, 15)), Some("Extra bank holiday for the FIFA World Cup"));
        assert_eq!(on(Division::Scotland, d(2027, 1, 4)), Some("2nd January (substitute day)"));
        assert_eq!(on(Division::Scotland, d(2026, 8, 3)), Some("Summer bank holiday"));
        assert_eq!(on(Division::EnglandAndWales, d(2026, 8, 3)), None);
        assert_eq!(on(Division::NorthernIreland, d(2026, 7, 13)), Some("Battle of the Boyne (Orangemen’s Day) (substitute day)"));
        assert_eq!(on(Division::NorthernIreland, d(2024, 3, 18)), Some("St Patrick’s Day (substitute day)"));
        assert_eq!(on(Division::Scotland, d(2026, 4, 6)), None, "no Easter Monday in Scotland");
    }

    #[test]
    fn a_region_chooses_its_nation() {
        assert_eq!(Division::of_region("Scotland"), Division::Scotland);
        assert_eq!(Division::of_region(" northern ireland "), Division::NorthernIreland);
        assert_eq!(Division::of_region("NI"), Division::NorthernIreland);
        assert_eq!(Division::of_region("Wales"), Division::EnglandAndWales);
        assert_eq!(Division::of_region("London"), Division::EnglandAndWales);
        assert_eq!(Division::of_region(""), Division::EnglandAndWales);
    }
}
