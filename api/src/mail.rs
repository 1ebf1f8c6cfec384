//! Email: the words of each message (in the participant's time zone), the calendar invitation
//! that rides with bookings (iTIP `REQUEST`/`CANCEL`), and the transports — SMTP through lettre,
//! or `.eml` files in a folder when no SMTP server is configured.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use entity::state::BookingStatus;
use entity::{event, participant, session};
use lettre::message::header::{Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};

use crate::config::Settings;
use crate::domain::announcement::Announcing;
use crate::domain::feed::{FeedSite, session_title, session_uid};
use crate::domain::notification::Subject;
use crate::domain::outbox::Kind;
use crate::ical::{Attendee, Calendar, Event, EventStatus, Method, Person};
use crate::time::stored_zone;

/// How long connecting to the SMTP server may take before the try counts as failed.
pub const SMTP_TIMEOUT: Duration = Duration::from_secs(10);

/// How long one message's whole SMTP conversation may take before the try counts as failed
/// (lettre's own timeout covers only connecting): a relay that stops answering must not hold a
/// message, and the worker's lease on it, forever.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(60);

/// Where mail goes.
pub enum Mailer {
    /// An SMTP server.
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// A folder of `.eml` files (the embedded default).
    Folder(PathBuf),
}

impl Mailer {
    /// SMTP when `smtp_url` is set (it wins), keeping up to `connections` open to the server
    /// (one per message sent at once), else the `mail_dir` folder, made if missing.
    pub fn from_settings(settings: &Settings, connections: u32) -> Result<Self, String> {
        match &settings.smtp_url {
            Some(url) => {
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| format!("CONVENE_SMTP_URL cannot be used: {e}"))?
                    .timeout(Some(SMTP_TIMEOUT))
                    .pool_config(PoolConfig::new().max_size(connections))
                    .build();
                Ok(Self::Smtp(transport))
            }
            None => {
                let dir = PathBuf::from(&settings.mail_dir);
                std::fs::create_dir_all(&dir)
                    .map_err(|e| format!("the mail folder {} cannot be made: {e}", dir.display()))?;
                Ok(Self::Folder(dir))
            }
        }
    }

    /// Where mail goes, in words, for the log.
    pub fn describe(&self) -> String {
        match self {
            Self::Smtp(_) => "an SMTP server".to_owned(),
            Self::Folder(dir) => format!("files in {}", dir.display()),
        }
    }

    /// Sends one message; `name` names its file in a folder.
    pub async fn send(&self, message: &Message, name: &str) -> Result<(), String> {
        match self {
            Self::Smtp(transport) => match tokio::time::timeout(SEND_TIMEOUT, transport.send(message.clone())).await {
                Ok(sent) => sent.map(|_| ()).map_err(|e| e.to_string()),
                Err(_) => Err(format!(
                    "the SMTP server did not finish within {} s",
                    SEND_TIMEOUT.as_secs()
                )),
            },
            Self::Folder(dir) => {
                let part = dir.join(format!(".{name}.part"));
                let done = dir.join(format!("{name}.eml"));
                tokio::fs::write(&part, message.formatted())
                    .await
                    .map_err(|e| format!("writing {}: {e}", part.display()))?;
                tokio::fs::rename(&part, &done)
                    .await
                    .map_err(|e| format!("renaming {}: {e}", done.display()))
            }
        }
    }
}

/// What a message says.
#[derive(Debug, Clone)]
pub struct Letter {
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body.
    pub html: String,
    /// The calendar part, if any.
    pub calendar: Option<(Method, String)>,
    /// The one-click unsubscribe URL (RFC 8058), sent as `List-Unsubscribe` with
    /// `List-Unsubscribe-Post: List-Unsubscribe=One-Click`: announcements only.
    pub unsubscribe: Option<String>,
}

/// Everything a message about a session may mention.
pub struct About<'a> {
    /// The recipient.
    pub person: &'a participant::Model,
    /// The session and its event, for booking messages and reminders.
    pub session: Option<(&'a session::Model, &'a event::Model)>,
    /// The outbox row's payload.
    pub payload: &'a serde_json::Value,
    /// The online join link, only for someone confirmed.
    pub join_link: Option<&'a str>,
    /// The `SEQUENCE` of the calendar part.
    pub sequence: i32,
    /// The service.
    pub site: &'a FeedSite,
    /// When the message is written (its invitation's `DTSTAMP`).
    pub now: DateTime<Utc>,
    /// The announcement, for an announcement's message.
    pub announcement: Option<&'a Announcing>,
}

impl<'a> About<'a> {
    /// What a message about `subject` may mention; the join link only for a confirmed booking.
    pub fn of(
        subject: &'a Subject,
        payload: &'a serde_json::Value,
        sequence: i32,
        site: &'a FeedSite,
        now: DateTime<Utc>,
    ) -> Self {
        let booking = subject.booking.as_ref();
        Self {
            person: &subject.person,
            session: booking.map(|(_, s, e)| (s, e)),
            payload,
            join_link: booking
                .filter(|(b, _, _)| b.status == BookingStatus::Confirmed)
                .and_then(|(_, _, e)| e.online_url.as_deref()),
            sequence,
            site,
            now,
            announcement: subject.announcement.as_deref(),
        }
    }
}

/// `Tuesday 4 June 2027, 09:30–12:00 BST`, in the reader's zone (and the event's, if it differs).
pub fn when(start: DateTime<Utc>, end: DateTime<Utc>, reader: Tz, venue: Tz) -> String {
    let s = start.with_timezone(&reader);
    let e = end.with_timezone(&reader);
    let mut text = if s.date_naive() == e.date_naive() {
        format!(
            "{}–{} {}",
            s.format("%A %-d %B %Y, %H:%M"),
            e.format("%H:%M"),
            s.format("%Z")
        )
    } else {
        format!(
            "{} – {} {}",
            s.format("%A %-d %B %Y, %H:%M"),
            e.format("%A %-d %B %Y, %H:%M"),
            e.format("%Z")
        )
    };
    let there = start.with_timezone(&venue);
    if there.offset().to_string() != s.offset().to_string() {
        text.push_str(&format!(
            " ({} {} where it takes place)",
            there.format("%H:%M"),
            there.format("%Z")
        ));
    }
    text
}

/// Writes the message for `kind`.
pub fn compose(kind: Kind, about: &About<'_>) -> Letter {
    if kind == Kind::Announcement {
        return compose_announcement(about);
    }
    let name = about.person.name.as_str();
    let mut lines: Vec<String> = vec![format!("Hello {name},")];
    let mut calendar = None;
    let subject;
    if let Some((s, e)) = about.session {
        let title = session_title(s, e);
        let time = when(
            s.starts_at,
            s.ends_at,
            stored_zone(&about.person.time_zone),
            stored_zone(&s.time_zone),
        );
        let place = e
            .venue
            .clone()
            .or_else(|| e.online_url.as_ref().map(|_| "Online".to_owned()));
        let details = |lines: &mut Vec<String>| {
            lines.push(format!(
                "{title}\n{time}{}",
                place.as_ref().map(|p| format!("\n{p}")).unwrap_or_default()
            ));
            if let Some(link) = about.join_link {
                lines.push(format!("Join online: {link}"));
            }
        };
        match kind {
            Kind::BookingConfirmed | Kind::BookingPromoted => {
                subject = if kind == Kind::BookingPromoted {
                    format!("A place came up: you are booked on {title}")
                } else {
                    format!("Booked: {title}")
                };
                lines.push(if kind == Kind::BookingPromoted {
                    "A place came up and it is yours: you have moved from the waitlist to a confirmed booking."
                        .to_owned()
                } else {
                    "Your place is confirmed.".to_owned()
                });
                details(&mut lines);
                lines.push("The invitation is attached: accept it to add the session to your calendar. If you can no longer come, please cancel so that someone on the waitlist can have your place.".to_owned());
                calendar = Some((Method::Request, invitation(about, s, e, EventStatus::Confirmed)));
            }
            Kind::SessionChanged => {
                subject = format!("Changed: {title}");
                lines.push("The session you are booked on has changed. Here are the new details:".to_owned());
                details(&mut lines);
                lines.push("The updated invitation is attached.".to_owned());
                calendar = Some((Method::Request, invitation(about, s, e, EventStatus::Confirmed)));
            }
            Kind::BookingWaitlisted => {
                let position = about.payload["waitlist_position"].as_i64();
                subject = format!("On the waitlist: {title}");
                lines.push(match position {
                    Some(n) => format!("The session is full, so you are number {n} on its waitlist. We will email you if a place comes up."),
                    None => "The session is full, so you are on its waitlist. We will email you if a place comes up.".to_owned(),
                });
                lines.push(format!("{title}\n{time}"));
            }
            Kind::BookingCancelled => {
                subject = format!("Cancelled: {title}");
                lines.push("Your booking has been cancelled.".to_owned());
                lines.push(format!("{title}\n{time}"));
                calendar = Some((Method::Cancel, invitation(about, s, e, EventStatus::Cancelled)));
            }
            Kind::SessionCancelled => {
                subject = format!("Cancelled by the organisers: {title}");
                lines.push(
                    "We are sorry: this session has been cancelled, so your booking is cancelled too.".to_owned(),
                );
                lines.push(format!("{title}\n{time}"));
                calendar = Some((Method::Cancel, invitation(about, s, e, EventStatus::Cancelled)));
            }
            Kind::Reminder => {
                let minutes = about.payload["offset_minutes"].as_i64().unwrap_or(0);
                subject = format!("Reminder: {title} {}", in_words(minutes));
                lines.push(format!(
                    "A reminder that you are booked on this session, {}.",
                    in_words(minutes)
                ));
                details(&mut lines);
            }
            Kind::SurveyInvitation | Kind::LinkCode | Kind::SignInLink | Kind::Announcement => {
                return compose_personal(kind, about);
            }
        }
    } else {
        return compose_personal(kind, about);
    }
    lines.push(format!(
        "— {}",
        about.site.organiser.name.as_deref().unwrap_or("Convene")
    ));
    letter(subject, &lines, calendar)
}

/// Messages about the person, not a session: survey invitations, link codes and sign-in links.
fn compose_personal(kind: Kind, about: &About<'_>) -> Letter {
    let name = about.person.name.as_str();
    let mut lines = vec![format!("Hello {name},")];
    let subject = match kind {
        Kind::LinkCode => {
            let code = about.payload["code"].as_str().unwrap_or("");
            lines.push(format!("Your code to link your Discord account to Convene is {code}."));
            lines.push("Type it into /verify in Discord. It works for 15 minutes. If you did not ask for it, you can ignore this email.".to_owned());
            format!("Your Convene code: {code}")
        }
        Kind::SignInLink => {
            let url = about.payload["url"].as_str().unwrap_or("");
            let minutes = about.payload["minutes"].as_i64().unwrap_or(30);
            if about.payload["console"].as_bool().unwrap_or(false) {
                lines.push("Here is your link to sign in to the Convene organiser console, where you run your network's programme:".to_owned());
            } else {
                lines.push("Here is your link to sign in to Convene, where you can see and book sessions, get your calendar and write reflections:".to_owned());
            }
            lines.push(url.to_owned());
            lines.push(format!("It works once, for {minutes} minutes. If you did not ask for it, you can ignore this email: nobody can sign in without it."));
            "Your Convene sign-in link".to_owned()
        }
        Kind::SurveyInvitation => {
            let title = about.payload["survey_title"].as_str().unwrap_or("A follow-up survey");
            let url = about.payload["url"].as_str().unwrap_or("");
            let reminder = about.payload["reminder"].as_bool().unwrap_or(false);
            if reminder {
                lines.push(format!("A gentle reminder: we would still love to hear what you changed, and how you know it worked. It takes a few minutes: {title}"));
            } else {
                lines.push(format!("What did you change after the session, and how do you know it worked? Please tell us in a few minutes: {title}"));
            }
            lines.push(url.to_owned());
            lines.push(
                "The link is personal to you; you can come back to change your answers until the survey closes."
                    .to_owned(),
            );
            if reminder {
                format!("Reminder: a few questions: {title}")
            } else {
                format!("A few questions: {title}")
            }
        }
        _ => {
            lines.push("There is news about your bookings; see Convene for the details.".to_owned());
            "News from Convene".to_owned()
        }
    };
    lines.push(format!(
        "— {}",
        about.site.organiser.name.as_deref().unwrap_or("Convene")
    ));
    letter(subject, &lines, None)
}

/// An organiser's announcement: their words, then the event it is about (its title, its sessions
/// still to come in the event's own zone, its venue — never the online joining link, which comes
/// with a booking — and where to book), then how to stop announcements.
fn compose_announcement(about: &About<'_>) -> Letter {
    let organiser = about.site.organiser.name.as_deref().unwrap_or("Convene");
    let mut lines = vec![format!("Hello {},", about.person.name)];
    let Some(announcing) = about.announcement else {
        lines.push("There is news from your network; see Convene for the details.".to_owned());
        lines.push(format!("— {organiser}"));
        return letter("News from Convene".to_owned(), &lines, None);
    };
    let a = &announcing.announcement;
    lines.push(a.body.clone());
    if let Some((e, sessions)) = &announcing.event {
        let zone = stored_zone(&e.time_zone);
        let coming: Vec<&session::Model> = sessions.iter().filter(|s| s.ends_at > about.now).take(10).collect();
        let mut details = vec![e.title.clone()];
        for s in &coming {
            let label = s
                .label
                .as_deref()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(|l| format!(" ({l})"))
                .unwrap_or_default();
            details.push(format!("{}{label}", when(s.starts_at, s.ends_at, zone, zone)));
        }
        match (&e.venue, &e.online_url) {
            (Some(venue), _) => details.push(venue.clone()),
            (None, Some(_)) => details.push("Online (the joining link comes with your booking)".to_owned()),
            (None, None) => {}
        }
        lines.push(details.join("\n"));
        let anchor = coming
            .first()
            .map_or_else(|| "#sessions".to_owned(), |s| format!("#session-{}", s.id));
        lines.push(format!(
            "To book a place, sign in to your Convene page: {}/p{anchor}",
            about.site.public_url
        ));
    }
    let unsubscribe = about.payload["unsubscribe_url"].as_str().map(str::to_owned);
    if let Some(url) = &unsubscribe {
        lines.push(format!(
            "You get this because you are part of {organiser}'s network. To stop announcements like this one (you will still get messages about your bookings): {url}"
        ));
    }
    lines.push(format!("— {organiser}"));
    let mut written = letter(a.subject.clone(), &lines, None);
    written.unsubscribe = unsubscribe;
    written
}

/// "tomorrow", "in 1 hour", "in 3 days".
fn in_words(minutes: i64) -> String {
    match minutes {
        1440 => "tomorrow".to_owned(),
        m if m % 1440 == 0 => format!("in {} days", m / 1440),
        60 => "in 1 hour".to_owned(),
        m if m % 60 == 0 => format!("in {} hours", m / 60),
        m => format!("in {m} minutes"),
    }
}

fn letter(subject: String, paragraphs: &[String], calendar: Option<(Method, String)>) -> Letter {
    let text = paragraphs.join("\n\n") + "\n";
    let mut html = String::from(
        "<!doctype html><html><body style=\"font-family:sans-serif;font-size:16px;line-height:1.5;color:#1a1a1a\">",
    );
    for p in paragraphs {
        html.push_str("<p>");
        html.push_str(&linkify(&escape_html(p)).replace('\n', "<br>"));
        html.push_str("</p>");
    }
    html.push_str("</body></html>");
    Letter {
        subject: subject.chars().filter(|c| !c.is_control()).collect(),
        text,
        html,
        calendar,
        unsubscribe: None,
    }
}

/// Escapes text for HTML.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Turns `https://…` words of already-escaped text into links.
fn linkify(escaped: &str) -> String {
    escaped
        .split(' ')
        .map(|word| {
            if word.starts_with("https://") || word.starts_with("http://") {
                format!("<a href=\"{word}\">{word}</a>")
            } else {
                word.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The calendar part: one `VEVENT` with the feeds' `UID`, the organiser and the person as
/// attendee (`RSVP=TRUE` on an invitation).
fn invitation(about: &About<'_>, s: &session::Model, e: &event::Model, status: EventStatus) -> String {
    let cancelling = status == EventStatus::Cancelled;
    let attendee = Attendee {
        person: Person {
            email: about.person.email.clone().unwrap_or_default(),
            name: Some(about.person.name.clone()),
        },
        rsvp: !cancelling,
    };
    let mut description = e.description.clone().unwrap_or_default();
    if let Some(link) = about.join_link {
        if !description.is_empty() {
            description.push_str("\n\n");
        }
        description.push_str(&format!("Join online: {link}"));
    }
    let now = about.now;
    let event = Event {
        uid: session_uid(about.site, s.id),
        sequence: about.sequence,
        dtstamp: now,
        start: s.starts_at,
        end: s.ends_at,
        time_zone: stored_zone(&s.time_zone),
        summary: session_title(s, e),
        description: Some(description).filter(|d| !d.is_empty()),
        location: e
            .venue
            .clone()
            .or_else(|| e.online_url.as_ref().map(|_| "Online".to_owned())),
        url: about.join_link.map(str::to_owned),
        status,
        organizer: Some(about.site.organiser.clone()),
        attendees: vec![attendee],
        created: Some(s.created_at),
        last_modified: Some(now),
    };
    Calendar {
        prod_id: "-//Convene//Convene invitations//EN".to_owned(),
        method: Some(if cancelling { Method::Cancel } else { Method::Request }),
        name: None,
        time_zone: None,
        refresh_hourly: false,
        events: vec![event],
    }
    .render()
}

/// The calendar part's `Content-Type`, written as iTIP examples and Outlook write it
/// (`charset=UTF-8`; lettre's own `ContentType` lower-cases the charset).
#[derive(Clone, Debug)]
struct CalendarType(String);

impl Header for CalendarType {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Content-Type")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self(s.to_owned()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// `List-Unsubscribe: <url>` (RFC 2369).
#[derive(Clone, Debug)]
struct ListUnsubscribe(String);

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self(s.to_owned()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), format!("<{}>", self.0))
    }
}

/// `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058): a mail client may unsubscribe
/// with one POST to the `List-Unsubscribe` URL, without opening a page.
#[derive(Clone, Debug)]
struct ListUnsubscribePost;

impl Header for ListUnsubscribePost {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "List-Unsubscribe=One-Click".to_owned())
    }
}

/// Builds the email: `multipart/alternative` of text, HTML and (when there is one) the calendar
/// part `text/calendar; method=…; charset=UTF-8`.
pub fn build(
    letter: &Letter,
    site: &FeedSite,
    to_name: &str,
    to_email: &str,
    message_id: &str,
) -> Result<Message, String> {
    let from = Mailbox::new(
        site.organiser.name.clone(),
        site.organiser
            .email
            .parse()
            .map_err(|e| format!("the sender {:?} is not an address: {e}", site.organiser.email))?,
    );
    let to = Mailbox::new(
        Some(to_name.to_owned()),
        to_email
            .parse()
            .map_err(|e| format!("the recipient {to_email:?} is not an address: {e}"))?,
    );
    let mut body = MultiPart::alternative()
        .singlepart(SinglePart::plain(letter.text.clone()))
        .singlepart(SinglePart::html(letter.html.clone()));
    if let Some((method, ics)) = &letter.calendar {
        let content_type = CalendarType(format!("text/calendar; method={}; charset=UTF-8", method.as_str()));
        body = body.singlepart(SinglePart::builder().header(content_type).body(ics.clone()));
    }
    let mut builder = Message::builder()
        .from(from)
        .to(to)
        .subject(letter.subject.clone())
        .message_id(Some(message_id.to_owned()))
        .date_now();
    if let Some(url) = &letter.unsubscribe {
        builder = builder.header(ListUnsubscribe(url.clone())).header(ListUnsubscribePost);
    }
    builder
        .multipart(body)
        .map_err(|e| format!("the message cannot be built: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_shown_in_the_readers_zone_and_the_venues_when_they_differ() {
        let start = DateTime::parse_from_rfc3339("2027-06-04T08:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let end = start + chrono::Duration::hours(2);
        let london = chrono_tz::Europe::London;
        assert_eq!(when(start, end, london, london), "Friday 4 June 2027, 09:30–11:30 BST");
        assert_eq!(
            when(start, end, chrono_tz::America::New_York, london),
            "Friday 4 June 2027, 04:30–06:30 EDT (09:30 BST where it takes place)"
        );
    }

    #[test]
    fn html_is_escaped_and_links_are_linked() {
        let l = letter(
            "S".into(),
            &["<b>Tom & Jo</b> https://x.example/a?b=1".to_owned()],
            None,
        );
        assert!(
            l.html
                .contains("&lt;b&gt;Tom &amp; Jo&lt;/b&gt; <a href=\"https://x.example/a?b=1\">")
        );
    }
}
