#!/usr/bin/env python3
"""Writes uk-bank-holidays.json: the UK's bank holidays for 2024-2030, in GOV.UK's own format
(https://www.gov.uk/bank-holidays.json: one division per nation, each a list of
{title, date, notes}).

GOV.UK publishes the coming year or two; the later years follow the standing rules (the Banking
and Financial Dealings Act 1971 with the yearly proclamations for New Year's Day and the early
May bank holiday, and the custom that a holiday falling at a weekend moves to the next weekday),
plus the one-off holidays proclaimed so far. A proclamation can still change a year, as
Scotland's extra holiday on 15 June 2026 did: rerun this when GOV.UK's list changes and check
the diff against it.

Run: python3 api/data/bank_holidays.py > api/data/uk-bank-holidays.json
"""
import datetime as dt
import json

YEARS = range(2024, 2031)

# Proclaimed one-offs inside YEARS.
ONE_OFFS = {
    "scotland": [(dt.date(2026, 6, 15), "Extra bank holiday for the FIFA World Cup", "")],
}


def easter(year):
    """Easter Sunday (Gregorian; the anonymous algorithm)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    l = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l) // 451
    month, day = divmod(h + l - 7 * m + 114, 31)
    return dt.date(year, month, day + 1)


def first_monday(year, month):
    d = dt.date(year, month, 1)
    return d + dt.timedelta(days=(7 - d.weekday()) % 7)


def last_monday(year, month):
    d = dt.date(year + (month == 12), month % 12 + 1, 1) - dt.timedelta(days=1)
    return d - dt.timedelta(days=d.weekday())


def observed(days):
    """Fixed-date holidays in order: each one on a weekend, or on a day an earlier one took,
    moves to the next free weekday (noted "Substitute day")."""
    taken, out = set(), []
    for date, title in days:
        day, notes = date, ""
        while day.weekday() >= 5 or day in taken:
            day += dt.timedelta(days=1)
            notes = "Substitute day"
        taken.add(day)
        out.append((day, title, notes))
    return out


def division(name, year):
    e = easter(year)
    days = []
    new_year = [(dt.date(year, 1, 1), "New Year’s Day")]
    if name == "scotland":
        new_year.append((dt.date(year, 1, 2), "2nd January"))
    days += observed(new_year)
    if name == "northern-ireland":
        days += observed([(dt.date(year, 3, 17), "St Patrick’s Day")])
    days.append((e - dt.timedelta(days=2), "Good Friday", ""))
    if name != "scotland":
        days.append((e + dt.timedelta(days=1), "Easter Monday", ""))
    days.append((first_monday(year, 5), "Early May bank holiday", ""))
    days.append((last_monday(year, 5), "Spring bank holiday", ""))
    if name == "northern-ireland":
        days += observed([(dt.date(year, 7, 12), "Battle of the Boyne (Orangemen’s Day)")])
    if name == "scotland":
        days.append((first_monday(year, 8), "Summer bank holiday", ""))
        days += observed([(dt.date(year, 11, 30), "St Andrew’s Day")])
    else:
        days.append((last_monday(year, 8), "Summer bank holiday", ""))
    days += observed([(dt.date(year, 12, 25), "Christmas Day"), (dt.date(year, 12, 26), "Boxing Day")])
    days += [d for d in ONE_OFFS.get(name, []) if d[0].year == year]
    return sorted(days)


out = {}
for name in ["england-and-wales", "scotland", "northern-ireland"]:
    events = []
    for year in YEARS:
        for day, title, notes in division(name, year):
            events.append({"title": title, "date": day.isoformat(), "notes": notes})
    out[name] = {"division": name, "events": events}
print(json.dumps(out, indent=1, ensure_ascii=False))
