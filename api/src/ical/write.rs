//! Low-level RFC 5545 writing: line folding, TEXT escaping, parameter quoting and date-time forms.

use chrono::{DateTime, Datelike, NaiveDateTime, Timelike, Utc};

/// Longest physical line in octets, excluding the CRLF (RFC 5545 section 3.1).
pub const MAX_LINE_OCTETS: usize = 75;

/// Folds one logical content line into physical lines, each at most 75 octets, ending in CRLF.
///
/// Continuation lines start with a single space, which counts towards their 75 octets. A fold
/// never splits a UTF-8 character: it happens before the character instead. CR and LF cannot
/// appear in a content line, so any found in `line` are dropped.
pub fn fold_line(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + line.len() / 64 * 3 + 2);
    let mut used = 0usize;
    for c in line.chars() {
        if c == '\r' || c == '\n' {
            continue;
        }
        let width = c.len_utf8();
        if used + width > MAX_LINE_OCTETS {
            out.push_str("\r\n ");
            used = 1;
        }
        out.push(c);
        used += width;
    }
    out.push_str("\r\n");
    out
}

/// Undoes folding: removes every CRLF (or bare LF) that is followed by a space or a tab.
///
/// Line breaks that are not followed by whitespace are kept as they are.
pub fn unfold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' if chars.peek() == Some(&'\n') => {
                let mut ahead = chars.clone();
                ahead.next();
                if matches!(ahead.peek(), Some(' ' | '\t')) {
                    ahead.next();
                    chars = ahead;
                } else {
                    out.push(c);
                }
            }
            '\n' if matches!(chars.peek(), Some(' ' | '\t')) => {
                chars.next();
            }
            _ => out.push(c),
        }
    }
    out
}

/// Escapes a TEXT value: `\` `;` `,` get a backslash, any newline (LF, CRLF or lone CR) becomes
/// `\n`, and other control characters except tab are dropped.
pub fn escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("\\n");
            }
            '\t' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Reverses [`escape_text`]: `\\` `\;` `\,` `\n` `\N` are decoded; any other backslash is kept.
pub fn unescape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.peek().copied() {
            Some(e @ ('\\' | ';' | ',')) => {
                out.push(e);
                chars.next();
            }
            Some('n' | 'N') => {
                out.push('\n');
                chars.next();
            }
            _ => out.push('\\'),
        }
    }
    out
}

/// Makes a parameter value, double-quoted when it contains `:`, `;` or `,`.
///
/// RFC 5545 has no escape inside parameter values and a quoted value cannot hold a DQUOTE, so
/// `"` characters are dropped; control characters (except tab) are not allowed either and are
/// replaced by spaces, so a name with a line break still reads as separate words.
pub fn param_value(s: &str) -> String {
    let mut clean = String::with_capacity(s.len() + 2);
    let mut needs_quotes = false;
    for c in s.chars() {
        match c {
            '"' => {}
            ':' | ';' | ',' => {
                needs_quotes = true;
                clean.push(c);
            }
            '\t' => clean.push(c),
            c if c.is_control() => clean.push(' '),
            c => clean.push(c),
        }
    }
    if needs_quotes {
        let mut quoted = String::with_capacity(clean.len() + 2);
        quoted.push('"');
        quoted.push_str(&clean);
        quoted.push('"');
        quoted
    } else {
        clean
    }
}

/// Drops control characters (except tab) from a value that is written without escaping.
fn raw_value(s: &str) -> String {
    s.chars().filter(|c| *c == '\t' || !c.is_control()).collect()
}

/// Builds one content line: `NAME;PARAM=value:value`, folded and ending in CRLF.
#[derive(Debug, Clone)]
pub struct ContentLine {
    line: String,
}

impl ContentLine {
    /// Starts a line with the property name, e.g. `DTSTART`.
    pub fn new(name: &str) -> Self {
        Self { line: name.to_owned() }
    }

    /// Adds a parameter; the value goes through [`param_value`].
    pub fn param(mut self, name: &str, value: &str) -> Self {
        self.line.push(';');
        self.line.push_str(name);
        self.line.push('=');
        self.line.push_str(&param_value(value));
        self
    }

    /// Ends the line with a value written as is (minus control characters), e.g. a URI or a date.
    pub fn raw(mut self, value: &str) -> String {
        self.line.push(':');
        self.line.push_str(&raw_value(value));
        fold_line(&self.line)
    }

    /// Ends the line with a TEXT value, escaped with [`escape_text`].
    pub fn text(mut self, value: &str) -> String {
        self.line.push(':');
        self.line.push_str(&escape_text(value));
        fold_line(&self.line)
    }
}

/// Formats a UTC date-time as `YYYYMMDDTHHMMSSZ` (fractions of a second are dropped).
pub fn utc_datetime(dt: &DateTime<Utc>) -> String {
    let mut s = local_datetime(&dt.naive_utc());
    s.push('Z');
    s
}

/// Formats a floating or local date-time as `YYYYMMDDTHHMMSS` (fractions of a second are dropped).
pub fn local_datetime(dt: &NaiveDateTime) -> String {
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second()
    )
}

/// Formats a UTC offset in seconds as `+HHMM`, or `+HHMMSS` when the seconds are not zero.
pub fn utc_offset(seconds: i32) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let abs = seconds.unsigned_abs();
    let (h, m, s) = (abs / 3600, abs / 60 % 60, abs % 60);
    if s == 0 {
        format!("{sign}{h:02}{m:02}")
    } else {
        format!("{sign}{h:02}{m:02}{s:02}")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn physical_lines(folded: &str) -> Vec<&str> {
        let body = folded.strip_suffix("\r\n").unwrap();
        body.split("\r\n").collect()
    }

    #[test]
    fn short_line_is_not_folded() {
        assert_eq!(fold_line("BEGIN:VEVENT"), "BEGIN:VEVENT\r\n");
        assert_eq!(fold_line(""), "\r\n");
    }

    #[test]
    fn ascii_75_is_not_folded_76_is() {
        let l75 = "A".repeat(75);
        assert_eq!(fold_line(&l75), format!("{l75}\r\n"));
        let l76 = "A".repeat(76);
        assert_eq!(fold_line(&l76), format!("{}\r\n A\r\n", "A".repeat(75)));
        // 75 + 74 fills the second line exactly; one more starts a third.
        let l149 = "B".repeat(149);
        assert_eq!(
            fold_line(&l149),
            format!("{}\r\n {}\r\n", "B".repeat(75), "B".repeat(74))
        );
        let l150 = "B".repeat(150);
        assert_eq!(
            fold_line(&l150),
            format!("{}\r\n {}\r\n B\r\n", "B".repeat(75), "B".repeat(74))
        );
    }

    #[test]
    fn two_byte_char_at_boundary() {
        // 74 ASCII + "é" (2 bytes) = 76 octets: é must move wholly.
        let line = format!("{}é", "x".repeat(74));
        assert_eq!(fold_line(&line), format!("{}\r\n é\r\n", "x".repeat(74)));
        // 73 ASCII + "é" = 75 octets exactly: no fold.
        let line = format!("{}é", "x".repeat(73));
        assert_eq!(fold_line(&line), format!("{line}\r\n"));
    }

    #[test]
    fn three_byte_char_at_boundary() {
        // 73 + "ŵ" is 2 bytes; use "€" (3 bytes): 73 + 3 = 76 -> fold before it.
        let line = format!("{}€", "x".repeat(73));
        assert_eq!(fold_line(&line), format!("{}\r\n €\r\n", "x".repeat(73)));
        let line = format!("{}€", "x".repeat(72));
        assert_eq!(fold_line(&line), format!("{line}\r\n"));
    }

    #[test]
    fn four_byte_emoji_straddling_75_moves_whole() {
        for pad in 72..=74 {
            let line = format!("{}🏫rest", "x".repeat(pad));
            let folded = fold_line(&line);
            assert_eq!(folded, format!("{}\r\n 🏫rest\r\n", "x".repeat(pad)), "pad {pad}");
        }
        let line = format!("{}🏫", "x".repeat(71));
        assert_eq!(fold_line(&line), format!("{line}\r\n"));
    }

    #[test]
    fn welsh_and_emoji_titles_fold_cleanly() {
        let welsh = "Cyfarfod Llywodraethwyr Ysgol Gynradd Llanfair\u{ad}pwllgwyngyll — ŵ ŷ â";
        let emoji = "🏫📚✨ ".repeat(20);
        for title in [welsh.repeat(3), emoji] {
            let line = format!("SUMMARY:{}", escape_text(&title));
            let folded = fold_line(&line);
            for phys in physical_lines(&folded) {
                assert!(phys.len() <= 75, "{phys:?} is {} octets", phys.len());
            }
            assert_eq!(unfold(&folded), format!("{line}\r\n"));
            assert!(!folded.replace("\r\n", "").contains('\n'));
        }
    }

    #[test]
    fn escapes_each_special_character() {
        assert_eq!(escape_text("a\\b"), "a\\\\b");
        assert_eq!(escape_text("a;b"), "a\\;b");
        assert_eq!(escape_text("a,b"), "a\\,b");
        assert_eq!(escape_text("a\nb"), "a\\nb");
        assert_eq!(escape_text("a\r\nb"), "a\\nb");
        assert_eq!(escape_text("a\rb"), "a\\nb");
        assert_eq!(escape_text("a\r\rb"), "a\\n\\nb");
        assert_eq!(escape_text("a:b\"c"), "a:b\"c");
        assert_eq!(escape_text("a\tb\u{0}c\u{7}d\u{7f}e\u{85}f"), "a\tbcdef");
        assert_eq!(unescape_text("a\\\\b\\;c\\,d\\ne\\Nf\\x\\"), "a\\b;c,d\ne\nf\\x\\");
    }

    #[test]
    fn parameter_quoting() {
        assert_eq!(param_value("Jo Smith"), "Jo Smith");
        assert_eq!(param_value("Smith, Jo"), "\"Smith, Jo\"");
        assert_eq!(param_value("a;b"), "\"a;b\"");
        assert_eq!(param_value("Dr: Who"), "\"Dr: Who\"");
        assert_eq!(param_value("Jo \"JJ\" Smith"), "Jo JJ Smith");
        assert_eq!(param_value("Jo \"JJ\", Smith"), "\"Jo JJ, Smith\"");
        assert_eq!(param_value("Jo\r\nSmith"), "Jo  Smith");
        assert_eq!(param_value(""), "");
    }

    #[test]
    fn content_line_builder() {
        let l = ContentLine::new("ORGANIZER")
            .param("CN", "Smith, Jo")
            .raw("mailto:jo@example.com");
        assert_eq!(l, "ORGANIZER;CN=\"Smith, Jo\":mailto:jo@example.com\r\n");
        let l = ContentLine::new("LOCATION").text("Room 1; Hall, B\nfloor 2");
        assert_eq!(l, "LOCATION:Room 1\\; Hall\\, B\\nfloor 2\r\n");
        let l = ContentLine::new("URL").raw("https://x.test/a?b=1,2;c\r\nX-EVIL:1");
        assert_eq!(l, "URL:https://x.test/a?b=1,2;cX-EVIL:1\r\n");
    }

    #[test]
    fn offsets_and_datetimes() {
        assert_eq!(utc_offset(0), "+0000");
        assert_eq!(utc_offset(19800), "+0530");
        assert_eq!(utc_offset(-18000), "-0500");
        assert_eq!(utc_offset(-75), "-000115");
        assert_eq!(utc_offset(20700), "+0545");
        let dt = DateTime::parse_from_rfc3339("2030-07-04T09:05:03.999Z")
            .unwrap()
            .to_utc();
        assert_eq!(utc_datetime(&dt), "20300704T090503Z");
        assert_eq!(local_datetime(&dt.naive_utc()), "20300704T090503");
    }

    #[test]
    fn unfold_keeps_unfolded_breaks() {
        assert_eq!(unfold("A\r\n B\r\nC\r\n\tD\nE\n F"), "AB\r\nCD\nEF");
    }

    fn text_strategy() -> impl Strategy<Value = String> {
        let ch = prop_oneof![
            4 => any::<char>(),
            2 => prop::sample::select(vec!['a', 'Z', ' ', ';', ',', '\\', ':', '"', '\n', '\r', '\t']),
            1 => prop::sample::select(vec!['é', 'ŵ', '€', '—', '🏫', '📚', '✨', '\u{ad}']),
        ];
        prop::collection::vec(ch, 0..300).prop_map(|v| v.into_iter().collect())
    }

    proptest! {
        #[test]
        fn fold_roundtrip_and_limits(l in text_strategy()) {
            let folded = fold_line(&l);
            let expected: String = l.chars().filter(|c| *c != '\r' && *c != '\n').collect();
            prop_assert_eq!(unfold(&folded), format!("{expected}\r\n"));
            prop_assert!(folded.ends_with("\r\n"));
            for (i, phys) in physical_lines(&folded).into_iter().enumerate() {
                prop_assert!(phys.len() <= MAX_LINE_OCTETS);
                prop_assert!(!phys.contains('\r') && !phys.contains('\n'));
                prop_assert!(std::str::from_utf8(phys.as_bytes()).is_ok());
                if i > 0 {
                    prop_assert!(phys.starts_with(' ') && phys.len() > 1);
                }
            }
            // Byte-level: split the raw bytes at CRLF and check each piece is valid UTF-8.
            for piece in folded.as_bytes().split(|b| *b == b'\n') {
                prop_assert!(std::str::from_utf8(piece).is_ok());
            }
        }

        #[test]
        fn escape_roundtrip(s in text_strategy()) {
            let s: String = s.chars().filter(|c| !c.is_control() || *c == '\n' || *c == '\t').collect();
            let escaped = escape_text(&s);
            prop_assert!(!escaped.contains('\n') && !escaped.contains('\r'));
            prop_assert_eq!(unescape_text(&escaped), s);
        }

        #[test]
        fn param_value_never_breaks_out(s in text_strategy()) {
            let v = param_value(&s);
            let inner = v.strip_prefix('"').and_then(|x| x.strip_suffix('"')).unwrap_or(&v);
            prop_assert!(!inner.contains('"'));
            prop_assert!(!v.chars().any(|c| c.is_control() && c != '\t'));
            if inner.len() == v.len() {
                prop_assert!(!v.contains([':', ';', ',']));
            }
        }
    }
}
