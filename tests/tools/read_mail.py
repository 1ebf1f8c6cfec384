"""An independent reader of the mail Convene sends, run by the Rust tests (`src/smtp.rs`).

    python read_mail.py MESSAGE.eml

Parses one message with Python's `email` package (policy=default) and fails (exit 1, reason on
stderr) if it is not sound MIME:
- a line ending that is not CRLF, or a line over 998 octets (RFC 5322 2.1.1);
- no MIME-Version: 1.0, no From, or no Date (RFC 5322 3.6 and RFC 2045 4);
- any defect the parser records in any part (a missing or unused boundary, bad base64, an
  undecodable header ...);
- a leaf part whose transfer encoding is 7bit (or absent) but whose body has 8-bit octets;
- a text part whose body does not decode in its charset;
- a text/calendar part that `check_ics.read_calendar(..., itip=True)` refuses (see there).

On success prints one JSON object:
- `from`, `subject`, `message_id`, `date` (header values, decoded; null when absent),
  `date_utc` (the Date as `YYYY-MM-DDTHH:MM:SSZ`), `from_address` (the bare addr-spec),
  `to` and `cc` (lists of the bare addr-specs), `to_display` (the To header, decoded);
- `headers`: every header as `[name, decoded value]`, in order;
- `structure`: the MIME tree. A leaf part is its content type, a string ("text/plain"); a
  multipart is a two-element list, its content type and the list of its children's nodes:
  `["multipart/mixed", [["multipart/alternative", ["text/plain", "text/html", "text/calendar"]],
  "application/ics"]]`. A message with one leaf part is just `"text/plain"`;
- `parts`: each leaf, depth first, as {content_type, charset, transfer_encoding, disposition,
  filename};
- `text` and `html`: the first text/plain and text/html bodies that are not attachments,
  decoded (null when absent);
- when a text/calendar part exists: `calendar_content_type` (the Content-Type header of the
  first one as written, unfolded, e.g. `text/calendar; charset="UTF-8"; method=REQUEST`),
  `calendar_method` and `calendar_charset` (its `method` and `charset` parameters as written,
  quotes removed), `calendar` (what
  `check_ics.read_calendar` makes of its bytes, with per-event `attendees`, `attendee_params`,
  `organizer` and `organizer_cn`), and `calendars`: every text/calendar (or application/ics)
  part as {content_type, disposition, filename, calendar}.
"""
import email
import email.policy
import json
import os
import re
import sys
from datetime import timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_ics import IcsError, read_calendar  # noqa: E402


def fail(message):
    print(message, file=sys.stderr)
    sys.exit(1)


def structure(part):
    if part.is_multipart():
        return [part.get_content_type(), [structure(child) for child in part.iter_parts()]]
    return part.get_content_type()


def leaves(part):
    if part.is_multipart():
        for child in part.iter_parts():
            yield from leaves(child)
    else:
        yield part


def decoded_text(part):
    body = part.get_payload(decode=True) or b""
    charset = part.get_content_charset() or "us-ascii"
    try:
        return body.decode(charset)
    except (LookupError, UnicodeDecodeError) as e:
        fail(f"a {part.get_content_type()} part does not decode as {charset}: {e}")


def header_text(msg, name):
    value = msg.get(name)
    return None if value is None else str(value)


def raw_header(part, name):
    """A header's value as written, unfolded (RFC 5322 2.2.3), or None."""
    for key, value in part.raw_items():
        if key.lower() == name.lower():
            return re.sub(r"\r?\n", "", str(value)).strip()
    return None


def addresses(msg, name):
    out = []
    for header in msg.get_all(name, []):
        for address in getattr(header, "addresses", ()):
            out.append(address.addr_spec)
    return out


def main():
    raw = open(sys.argv[1], "rb").read()
    for number, line in enumerate(raw.split(b"\r\n"), start=1):
        if b"\n" in line or b"\r" in line:
            fail(f"line {number}: a bare CR or LF")
        if len(line) > 998:
            fail(f"line {number}: {len(line)} octets, more than 998")
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    if header_text(msg, "MIME-Version") is None or str(msg["MIME-Version"]).strip() != "1.0":
        fail(f"no MIME-Version: 1.0 (got {header_text(msg, 'MIME-Version')!r})")
    for name in ("From", "Date"):
        if msg.get(name) is None:
            fail(f"no {name} header")

    parts = []
    calendars = []
    text = html = None
    for part in leaves(msg):
        content_type = part.get_content_type()
        cte = (part.get("Content-Transfer-Encoding") or "7bit").strip().lower()
        if cte not in ("7bit", "8bit", "binary", "quoted-printable", "base64"):
            fail(f"a {content_type} part has an unknown Content-Transfer-Encoding {cte!r}")
        if cte == "7bit" and any(b > 127 for b in part.get_payload(decode=True) or b""):
            fail(f"a {content_type} part is marked 7bit but has 8-bit octets")
        disposition = part.get_content_disposition()
        parts.append(
            {
                "content_type": content_type,
                "charset": part.get_content_charset(),
                "transfer_encoding": cte,
                "disposition": disposition,
                "filename": part.get_filename(),
            }
        )
        if part.get_content_maintype() == "text":
            body = decoded_text(part)
            if disposition != "attachment":
                if content_type == "text/plain" and text is None:
                    text = body
                elif content_type == "text/html" and html is None:
                    html = body
        if content_type in ("text/calendar", "application/ics"):
            try:
                calendar = read_calendar(part.get_payload(decode=True) or b"", itip=True)
            except IcsError as e:
                fail(f"the {content_type} part: {e}")
            calendars.append(
                {
                    "content_type": raw_header(part, "Content-Type"),
                    "disposition": disposition,
                    "filename": part.get_filename(),
                    "calendar": calendar,
                    "raw": (part.get_payload(decode=True) or b"").decode("utf-8", "replace"),
                }
            )

    # Decoding bodies records defects too (bad base64, ...): look after reading them.
    for part in msg.walk():
        if part.defects:
            fail(f"the {part.get_content_type()} part has defects: {[repr(d) for d in part.defects]}")
        for name, value in part.items():
            if getattr(value, "defects", None):
                fail(f"header {name} has defects: {[repr(d) for d in value.defects]}")

    date = msg["Date"].datetime if hasattr(msg["Date"], "datetime") else None
    if date is None:
        fail(f"the Date {header_text(msg, 'Date')!r} does not parse")
    from_addresses = addresses(msg, "From")
    out = {
        "from": header_text(msg, "From"),
        "from_address": from_addresses[0] if from_addresses else None,
        "to": addresses(msg, "To"),
        "to_display": header_text(msg, "To"),
        "cc": addresses(msg, "Cc"),
        "subject": header_text(msg, "Subject"),
        "message_id": header_text(msg, "Message-ID"),
        "date": header_text(msg, "Date"),
        # A naive datetime is a "-0000" zone: UTC, with the sender's zone unknown (RFC 5322 3.3).
        "date_utc": (date if date.tzinfo else date.replace(tzinfo=timezone.utc))
        .astimezone(timezone.utc)
        .strftime("%Y-%m-%dT%H:%M:%SZ"),
        "headers": [[name, str(value)] for name, value in msg.items()],
        "structure": structure(msg),
        "parts": parts,
        "text": text,
        "html": html,
    }
    if calendars:
        first = calendars[0]
        out["calendar_content_type"] = first["content_type"]
        out["calendar_method"] = param(first["content_type"], "method")
        out["calendar_charset"] = param(first["content_type"], "charset")
        out["calendar"] = first["calendar"]
        out["calendars"] = calendars
    print(json.dumps(out))


def param(content_type, name):
    """A parameter of a Content-Type header value as written (quotes removed, case kept)."""
    match = re.search(r";\s*" + name + r'\s*=\s*("([^"]*)"|[^;\s]*)', content_type, re.IGNORECASE)
    if match is None:
        return None
    return match.group(2) if match.group(2) is not None else match.group(1)


if __name__ == "__main__":
    main()
