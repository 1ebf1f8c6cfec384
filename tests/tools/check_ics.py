"""An independent reader of Convene's feeds, run by the Rust tests.

Reads one .ics file (path in argv[1]) with the `icalendar` package and fails (exit 1, reason on
stderr) if it cannot be parsed, if any component collected parse errors, if a TZID has no
VTIMEZONE, or if a VTIMEZONE places an event at a different instant than the zone database does.
On success prints JSON describing what a calendar app would show.

Importable too: `read_calendar(raw)` returns that JSON's dict or raises `IcsError` with the
reason (`tools/read_mail.py` uses it for the text/calendar part of a mail).
"""
import json
import sys
import zoneinfo
from datetime import datetime, timezone

import icalendar


class IcsError(Exception):
    """The calendar failed a check; the message is the reason."""


def fail(message):
    raise IcsError(message)


def text_param(prop, name):
    value = getattr(prop, "params", {}).get(name)
    return None if value is None else str(value)


def as_list(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def read_calendar(raw, itip=False):
    """Checks and reads one calendar's bytes; raises IcsError with the reason if a check fails.

    With itip=False (the feeds, and the command line) every VEVENT must have DTSTART and DTEND and
    `attendees` is their count. With itip=True (a calendar sent by mail) DTSTART and DTEND may be
    absent (an iTIP CANCEL needs neither), `attendees` is the list of ATTENDEE values (mailto:
    addresses) with their parameters in `attendee_params` ([{"address", "rsvp", "partstat",
    "role", "cn", "cutype"}], a missing parameter as null), and `organizer_cn` and `dtstamp` are
    added.
    """
    for number, line in enumerate(raw.split(b"\r\n"), start=1):
        if b"\n" in line or b"\r" in line:
            fail(f"line {number}: a bare CR or LF")
        if len(line) > 75:
            fail(f"line {number}: {len(line)} octets, more than 75")
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as e:
            fail(f"line {number}: a fold splits a UTF-8 character ({e})")
    try:
        cal = icalendar.Calendar.from_ical(raw)
    except Exception as e:  # noqa: BLE001 - any parse failure is the finding
        fail(f"icalendar could not parse the feed: {e!r}")
    for component in cal.walk():
        errors = getattr(component, "errors", None)
        if errors:
            fail(f"{component.name} has parse errors: {errors}")
    zones = {}
    for tz in cal.walk("VTIMEZONE"):
        zones[str(tz["TZID"])] = tz.to_tz(lookup_tzid=False)  # read our VTIMEZONE, not the zone database
    events = []
    for event in cal.walk("VEVENT"):
        out = {}
        for key in ("UID", "SUMMARY", "STATUS", "LOCATION", "URL", "DESCRIPTION", "TRANSP"):
            if key in event:
                out[key.lower()] = str(event[key])
        out["sequence"] = int(event.get("SEQUENCE", 0))
        if "ORGANIZER" in event:
            out["organizer"] = str(event["ORGANIZER"])
        if itip:
            if "ORGANIZER" in event:
                out["organizer_cn"] = text_param(event["ORGANIZER"], "CN")
            if "DTSTAMP" in event:
                out["dtstamp"] = event["DTSTAMP"].dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            attendees = as_list(event.get("ATTENDEE"))
            out["attendees"] = [str(a) for a in attendees]
            out["attendee_params"] = [
                {
                    "address": str(a),
                    **{p.lower(): text_param(a, p) for p in ("RSVP", "PARTSTAT", "ROLE", "CN", "CUTYPE")},
                }
                for a in attendees
            ]
        else:
            out["attendees"] = len(event.get("ATTENDEE", [])) if isinstance(event.get("ATTENDEE"), list) else (1 if "ATTENDEE" in event else 0)
        for key in ("DTSTART", "DTEND"):
            if key not in event:
                if itip:
                    continue
                fail(f"{out.get('uid')} has no {key}")
            prop = event[key]
            tzid = prop.params.get("TZID")
            value = prop.dt
            if tzid is not None:
                if tzid not in zones:
                    fail(f"{key} of {out.get('uid')} uses TZID {tzid} with no VTIMEZONE")
                naive = value.replace(tzinfo=None)
                by_vtimezone = naive.replace(tzinfo=zones[tzid]).astimezone(timezone.utc)
                by_zoneinfo = naive.replace(tzinfo=zoneinfo.ZoneInfo(tzid)).astimezone(timezone.utc)
                if by_vtimezone != by_zoneinfo:
                    fail(f"{key} of {out.get('uid')}: the VTIMEZONE puts {naive} {tzid} at {by_vtimezone}, the zone database at {by_zoneinfo}")
                out[key.lower()] = by_zoneinfo.strftime("%Y-%m-%dT%H:%M:%SZ")
                out[key.lower() + "_local"] = naive.strftime("%Y-%m-%dT%H:%M:%S")
                out[key.lower() + "_tzid"] = tzid
            elif isinstance(value, datetime):
                out[key.lower()] = value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            else:
                out[key.lower()] = value.isoformat()
        events.append(out)
    return {
        "method": str(cal.get("METHOD", "")) or None,
        "calname": str(cal.get("X-WR-CALNAME", "")) or None,
        "timezone": str(cal.get("X-WR-TIMEZONE", "")) or None,
        "refresh_interval": str(raw).find("REFRESH-INTERVAL;VALUE=DURATION:PT1H") >= 0,
        "published_ttl": str(cal.get("X-PUBLISHED-TTL", "")) or None,
        "vtimezones": sorted(zones),
        "events": events,
    }


def main():
    raw = open(sys.argv[1], "rb").read()
    try:
        body = read_calendar(raw)
    except IcsError as e:
        print(e, file=sys.stderr)
        sys.exit(1)
    print(json.dumps(body))


if __name__ == "__main__":
    main()
