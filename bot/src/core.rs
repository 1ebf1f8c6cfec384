//! The command core: one plain async function per command, over any [`ConveneApi`]. Each takes
//! the Discord user acted for and the command's arguments, and returns the [`Reply`] to show:
//! Discord and the console are thin adapters over these. Refusals from the API become a
//! sentence a person understands ([`sorry`]).

use chrono::NaiveDateTime;
use convene_api::problem_code::ProblemCode;
use convene_api::wire::me::{MyBooking, PreferencesInput, SessionSummary};
use convene_api::wire::notifications::DiscordMessage;
use convene_api::wire::reflection::ReflectionText;
use convene_api::wire::state::BookingStatus;
use convene_api::wire::survey::{Invitation, Question};
use serde_json::{Value, json};

use crate::action::ButtonAction;
use crate::api::{ApiFailure, ConveneApi, SessionQuery};

/// How many sessions `/events` shows, and autocomplete offers (Discord's limit is 25).
pub const LIST_LIMIT: i64 = 10;

/// A button under a reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Button {
    /// What the bot gets back when it is pressed: a [`ButtonAction`]'s id.
    pub id: String,
    /// Its label.
    pub label: String,
    /// Whether it does something that cannot be undone (shown red).
    pub danger: bool,
}

/// What the bot answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The text (Discord markdown).
    pub text: String,
    /// Whether only the person who asked sees it (anything showing personal data).
    pub ephemeral: bool,
    /// Buttons under it.
    pub buttons: Vec<Button>,
}

impl Reply {
    /// A reply only the person who asked sees.
    pub fn private(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            ephemeral: true,
            buttons: Vec::new(),
        }
    }

    /// A reply anyone in the channel sees.
    pub fn public(text: impl Into<String>) -> Self {
        Self {
            ephemeral: false,
            ..Self::private(text)
        }
    }

    fn with_buttons(mut self, buttons: Vec<Button>) -> Self {
        self.buttons = buttons;
        self
    }
}

/// The buttons for a booking: cancel it (while active), and view it.
fn booking_buttons(id: i64, status: BookingStatus) -> Vec<Button> {
    let mut buttons = vec![Button {
        id: ButtonAction::ViewBooking(id).id(),
        label: "View booking".to_owned(),
        danger: false,
    }];
    if BookingStatus::ACTIVE.contains(&status) {
        buttons.push(Button {
            id: ButtonAction::CancelBooking(id).id(),
            label: if status == BookingStatus::Waitlisted {
                "Leave the waitlist".to_owned()
            } else {
                "Cancel booking".to_owned()
            },
            danger: true,
        });
    }
    buttons
}

/// A refusal or failure from the API as a sentence for the person who asked.
pub fn sorry(failure: &ApiFailure) -> String {
    let ApiFailure::Refused(problem) = failure else {
        return "Convene isn't answering right now. Please try again in a minute.".to_owned();
    };
    let detail = problem.detail.as_str();
    // A code this build does not know (a newer server's) is said by its detail.
    let code = ProblemCode::from_code(&problem.code);
    if let Some(sentence) = code.and_then(|code| convene_api::wording::refusal(code, detail)) {
        return sentence;
    }
    match code {
        Some(ProblemCode::NotLinked) => "Your Discord account isn't linked to Convene yet. Use `/link` with the email address your network has for you, then `/verify` with the code we email you.".to_owned(),
        Some(ProblemCode::NotFound) => "I couldn't find that. Check the number — `/mybookings` lists your bookings and `/events` the sessions open to you.".to_owned(),
        Some(ProblemCode::CodeIncorrect) => format!("That code isn't right: {}.", detail.split_once("; ").map_or(detail, |(_, left)| left)),
        Some(ProblemCode::CodeExpired) => "That code has expired (codes work for 15 minutes). Use `/link` again for a new one.".to_owned(),
        Some(ProblemCode::NoCodePending) => "There's no code waiting for you. Use `/link` with your email address first.".to_owned(),
        Some(ProblemCode::VerifyLocked) => format!(
            "Too many wrong codes, so linking is locked for now: {}.",
            detail.split_once(": ").map_or(detail, |(_, when)| when)
        ),
        Some(ProblemCode::ValidationFailed | ProblemCode::InvalidQuery) => {
            let fields: Vec<String> = problem
                .errors
                .iter()
                .map(|e| format!("{} {}", friendly_field(&e.field), e.message))
                .collect();
            if fields.is_empty() {
                format!("That didn't work: {detail}.")
            } else {
                format!("That didn't work: {}.", fields.join("; "))
            }
        }
        Some(ProblemCode::Unauthorized | ProblemCode::Forbidden) => "The bot isn't set up properly (its Convene key was refused). Please tell your network's organiser.".to_owned(),
        _ if problem.status >= 500 => "Convene had a problem with that. Please try again in a minute.".to_owned(),
        _ => format!("That didn't work: {detail}."),
    }
}

fn friendly_field(field: &str) -> String {
    match field {
        "email" => "the email address".to_owned(),
        "reminder_offsets_minutes" => "reminders".to_owned(),
        "time_zone" => "the time zone".to_owned(),
        "what_tried" => "“what you tried”".to_owned(),
        "what_changed" => "“what changed”".to_owned(),
        "evidence" => "“how you know”".to_owned(),
        "event_id" => "the event".to_owned(),
        answer if answer.starts_with("answers.") => "your answer".to_owned(),
        other => other.replace('_', " "),
    }
}

/// `2027-03-02T16:00:00` and `…T17:30:00` as `Tue 2 Mar, 16:00–17:30`.
pub fn when(session: &SessionSummary) -> String {
    let parse = |t: &str| NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S").ok();
    match (parse(&session.start_local), parse(&session.end_local)) {
        (Some(start), Some(end)) if start.date() == end.date() => format!(
            "{}, {}–{} ({})",
            start.format("%a %-d %b %Y"),
            start.format("%H:%M"),
            end.format("%H:%M"),
            session.time_zone
        ),
        (Some(start), Some(end)) => format!(
            "{} – {} ({})",
            start.format("%a %-d %b %Y %H:%M"),
            end.format("%a %-d %b %Y %H:%M"),
            session.time_zone
        ),
        _ => format!("{} to {}", session.start, session.end),
    }
}

/// A session's name: the event's title and the session's label.
pub fn title(session: &SessionSummary) -> String {
    match &session.label {
        Some(label) => format!("{} — {label}", session.event_title),
        None => session.event_title.clone(),
    }
}

fn kind_name(kind: &str) -> &str {
    match kind {
        "slp_session" => "Sharing Leading Practice",
        "conference" => "Conference",
        "triad_visit" => "Triad visit",
        other => other,
    }
}

/// `/link <email>`: email a code to link this Discord account.
pub async fn link<A: ConveneApi>(api: &A, user: &str, email: &str) -> Reply {
    match api.link(user, email.trim()).await {
        Ok(asked) => Reply::private(format!(
            "If {} is the address your network has for you, a six-digit code is on its way there. It works for {} minutes: send it with `/verify <code>`.",
            email.trim(),
            asked.expires_in_minutes
        )),
        Err(e) => Reply::private(sorry(&e)),
    }
}

/// `/verify <code>`: link this Discord account with the emailed code.
pub async fn verify<A: ConveneApi>(api: &A, user: &str, code: &str) -> Reply {
    match api.verify(user, code.trim()).await {
        Ok(linked) => Reply::private(format!(
            "Welcome, {}! Your Discord account is linked. I'll send your reminders here. Try `/events` to see what's open, or `/help`.",
            linked.name
        )),
        Err(e) => Reply::private(sorry(&e)),
    }
}

/// `/events [kind] [topic] [text]`: sessions open to book, soonest first.
pub async fn events<A: ConveneApi>(
    api: &A,
    user: &str,
    kind: Option<&str>,
    topic: Option<&str>,
    text: Option<&str>,
) -> Reply {
    let query = SessionQuery {
        kind: kind.map(str::to_owned),
        topic: topic.map(str::to_owned),
        q: text.map(str::to_owned),
        limit: Some(LIST_LIMIT),
    };
    let page = match api.sessions(user, &query).await {
        Ok(page) => page,
        Err(e) => return Reply::private(sorry(&e)),
    };
    if page.items.is_empty() {
        return Reply::private("No sessions open to book match that right now.");
    }
    let mut lines = vec!["Sessions open to book:".to_owned()];
    for open in &page.items {
        let s = &open.session;
        let mut line = format!(
            "• **{}** ({}{}) — {}. Session {}: ",
            title(s),
            kind_name(&s.kind),
            s.topic.as_deref().map(|t| format!(", {t}")).unwrap_or_default(),
            when(s),
            s.session_id
        );
        line.push_str(&match &open.my_booking {
            Some(b) if b.status == BookingStatus::Waitlisted => {
                format!("you are number {} on the waitlist", b.waitlist_position.unwrap_or(0))
            }
            Some(_) => "you are booked".to_owned(),
            None if s.available > 0 => format!("{} of {} places left", s.available, s.capacity),
            None if s.waitlist => "full, waitlist open".to_owned(),
            None => "full".to_owned(),
        });
        lines.push(line);
    }
    if page.next_cursor.is_some() {
        lines.push("…and more: narrow it down with a kind, topic or text.".to_owned());
    }
    lines.push("Book with `/book <session>`.".to_owned());
    Reply::private(lines.join("\n"))
}

/// Autocomplete for `/book`: open sessions whose title or label contains `partial`, as
/// (label, session id).
pub async fn session_choices<A: ConveneApi>(api: &A, user: &str, partial: &str) -> Vec<(String, i64)> {
    let query = SessionQuery {
        q: Some(partial.trim().to_owned()).filter(|q| !q.is_empty()),
        limit: Some(25),
        ..SessionQuery::default()
    };
    match api.sessions(user, &query).await {
        Ok(page) => page
            .items
            .iter()
            .map(|o| {
                (
                    clip(&format!("{} · {}", title(&o.session), when(&o.session)), 100),
                    o.session.session_id,
                )
            })
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Autocomplete for `/events`' topic: the topics of open sessions that contain `partial`.
pub async fn topic_choices<A: ConveneApi>(api: &A, user: &str, partial: &str) -> Vec<String> {
    let query = SessionQuery {
        limit: Some(100),
        ..SessionQuery::default()
    };
    let needle = partial.trim().to_lowercase();
    let mut topics: Vec<String> = match api.sessions(user, &query).await {
        Ok(page) => page.items.into_iter().filter_map(|o| o.session.topic).collect(),
        Err(_) => Vec::new(),
    };
    topics.sort_by_key(|t| t.to_lowercase());
    topics.dedup_by_key(|t| t.to_lowercase());
    topics.retain(|t| t.to_lowercase().contains(&needle));
    topics.truncate(25);
    topics
}

/// Autocomplete for `/reflect`'s event: events of my past and upcoming bookings, as (title, event id).
pub async fn event_choices<A: ConveneApi>(api: &A, user: &str, partial: &str) -> Vec<(String, i64)> {
    let needle = partial.trim().to_lowercase();
    let mut events: Vec<(String, i64)> = Vec::new();
    for when in ["past", "upcoming"] {
        if let Ok(page) = api.bookings(user, when).await {
            for b in page.items {
                let s = b.session;
                if !events.iter().any(|(_, id)| *id == s.event_id) && s.event_title.to_lowercase().contains(&needle) {
                    events.push((clip(&s.event_title, 100), s.event_id));
                }
            }
        }
    }
    events.truncate(25);
    events
}

fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut clipped: String = text.chars().take(max - 1).collect();
    clipped.push('…');
    clipped
}

/// `/book <session>`: book a session. `key` makes a retried command book once.
pub async fn book<A: ConveneApi>(api: &A, user: &str, session_id: i64, key: &str) -> Reply {
    let made = match api.book(user, session_id, key).await {
        Ok(made) => made,
        Err(e) => return Reply::private(sorry(&e)),
    };
    let b = made.booking;
    let details = api.booking(user, b.id).await.ok();
    let name = details
        .as_ref()
        .map(|d| format!("**{}**, {}", title(&d.session), when(&d.session)))
        .unwrap_or_else(|| format!("session {session_id}"));
    let text = match (b.status, made.created) {
        (BookingStatus::Confirmed, true) => {
            let mut text = format!(
                "You're booked: {name}. It's in your calendar feed (`/calendar`), and I'll remind you before it starts."
            );
            if let Some(url) = details.as_ref().and_then(|d| d.join_url.as_deref()) {
                text.push_str(&format!("\nJoin online: {url}"));
            }
            text
        }
        (BookingStatus::Waitlisted, created) => {
            let position = b.waitlist_position.unwrap_or(0);
            let why = if b.waitlist_reason.as_deref() == Some("per_school_limit") {
                "Your school has reached its limit of places on that session"
            } else {
                "That session is full"
            };
            let lead = if created { why } else { "You're already on the waitlist" };
            format!(
                "{lead} — you are number {position} on the waitlist for {name}. I'll message you if a place opens up."
            )
        }
        (status, _) => format!("You already have a booking for {name} ({status})."),
    };
    Reply::private(format!("{text}\nBooking {}.", b.id)).with_buttons(booking_buttons(b.id, b.status))
}

/// `/cancel <booking>`: cancel one of my bookings (or leave a waitlist).
pub async fn cancel<A: ConveneApi>(api: &A, user: &str, booking_id: i64) -> Reply {
    match api.cancel(user, booking_id).await {
        Ok(b) => Reply::private(format!(
            "Cancelled: **{}**, {}. Your place has gone to the next person waiting, if anyone was.",
            title(&b.session),
            when(&b.session)
        )),
        Err(e) => Reply::private(sorry(&e)),
    }
}

fn describe(b: &MyBooking) -> String {
    let status = match b.status {
        BookingStatus::Confirmed => "booked".to_owned(),
        BookingStatus::Waitlisted => format!("number {} on the waitlist", b.waitlist_position.unwrap_or(0)),
        BookingStatus::Attended => "attended".to_owned(),
        BookingStatus::NoShow => "marked absent".to_owned(),
        BookingStatus::Cancelled => "cancelled".to_owned(),
    };
    let mut line = format!(
        "• **{}** — {}: {status}. Booking {}",
        title(&b.session),
        when(&b.session),
        b.id
    );
    if let Some(venue) = &b.session.venue {
        line.push_str(&format!("\n  Where: {venue}"));
    }
    if let Some(url) = &b.join_url {
        line.push_str(&format!("\n  Join online: {url}"));
    }
    line
}

/// `/mybookings`: my upcoming bookings.
pub async fn my_bookings<A: ConveneApi>(api: &A, user: &str) -> Reply {
    match api.bookings(user, "upcoming").await {
        Ok(page) if page.items.is_empty() => {
            Reply::private("You have no upcoming bookings. `/events` shows what's open.")
        }
        Ok(page) => {
            let mut lines = vec!["Your upcoming bookings:".to_owned()];
            lines.extend(page.items.iter().map(describe));
            lines.push("Cancel one with `/cancel <booking>`.".to_owned());
            Reply::private(lines.join("\n"))
        }
        Err(e) => Reply::private(sorry(&e)),
    }
}

/// The "View booking" button: one of my bookings.
pub async fn view_booking<A: ConveneApi>(api: &A, user: &str, booking_id: i64) -> Reply {
    match api.booking(user, booking_id).await {
        Ok(b) => Reply::private(describe(&b)).with_buttons(
            booking_buttons(b.id, b.status)
                .into_iter()
                .filter(|button| matches!(ButtonAction::parse(&button.id), Some(ButtonAction::CancelBooking(_))))
                .collect(),
        ),
        Err(e) => Reply::private(sorry(&e)),
    }
}

/// `/calendar [rotate]`: my private calendar feed (a new address with `rotate`).
pub async fn calendar<A: ConveneApi>(api: &A, user: &str, rotate: bool) -> Reply {
    match api.feed(user, rotate).await {
        Ok(feed) => {
            let webcal = feed
                .url
                .replacen("https://", "webcal://", 1)
                .replacen("http://", "webcal://", 1);
            Reply::private(format!(
                "{}Your calendar feed (keep it to yourself — anyone with it can see your bookings):\n{}\nSubscribe to it in Google Calendar (Other calendars → From URL), Outlook (Add calendar → Subscribe from web) or Apple Calendar ({webcal}). If you shared it by mistake, `/calendar rotate` gives you a new one and the old one stops working.",
                if rotate {
                    "Done: the old address no longer works. "
                } else {
                    ""
                },
                feed.url
            ))
        }
        Err(e) => Reply::private(sorry(&e)),
    }
}

/// `/reflect`: record what I tried, what changed and how I know, optionally about an event.
pub async fn reflect<A: ConveneApi>(
    api: &A,
    user: &str,
    event_id: Option<i64>,
    what_tried: &str,
    what_changed: &str,
    evidence: &str,
) -> Reply {
    let text = ReflectionText {
        event_id,
        what_tried: Some(what_tried.to_owned()),
        what_changed: Some(what_changed.to_owned()),
        evidence: Some(evidence.to_owned()),
    };
    match api.reflect(user, &text).await {
        Ok(r) => Reply::private(format!(
            "Thank you — your reflection{} is saved. Your network uses these to see what changed in schools.",
            r.event_title.map(|t| format!(" on **{t}**")).unwrap_or_default()
        )),
        Err(e) => Reply::private(sorry(&e)),
    }
}

/// The next question to ask: the first open survey with a question not yet answered.
fn next_question(invitations: &[Invitation]) -> Option<(&Invitation, usize)> {
    invitations.iter().find_map(|inv| {
        inv.questions
            .iter()
            .position(|q| !inv.answers.contains_key(&q.key))
            .map(|i| (inv, i))
    })
}

/// A survey question as a message: the prompt, how to answer, and buttons for quick answers.
fn ask(inv: &Invitation, index: usize) -> Reply {
    let q = &inv.questions[index];
    let (invitation, key) = (inv.id, q.key.clone());
    let choose = |choice| {
        ButtonAction::Choose {
            invitation,
            key: key.clone(),
            choice,
        }
        .id()
    };
    let write = ButtonAction::Write {
        invitation,
        key: key.clone(),
    }
    .id();
    let mut lines = vec![format!(
        "**{}** — question {} of {}{}",
        inv.title,
        index + 1,
        inv.questions.len(),
        if q.required { "" } else { " (optional)" }
    )];
    lines.push(q.prompt.clone());
    let mut buttons = Vec::new();
    match q.kind.as_str() {
        "likert" => {
            lines.push("Choose 1 (not at all) to 5 (very much).".to_owned());
            for n in 1..=5 {
                buttons.push(Button {
                    id: choose(n),
                    label: n.to_string(),
                    danger: false,
                });
            }
        }
        "single_choice" => {
            for (i, option) in q.options.iter().flatten().enumerate().take(24) {
                buttons.push(Button {
                    id: choose(i),
                    label: clip(option, 80),
                    danger: false,
                });
            }
        }
        "multi_choice" => {
            lines.push(format!(
                "Choose any of: {}. Answer with `/survey` and your choices, separated by commas.",
                q.options.clone().unwrap_or_default().join(", ")
            ));
            buttons.push(Button {
                id: write.clone(),
                label: "Answer".to_owned(),
                danger: false,
            });
        }
        "action_follow_up" => {
            lines
                .push("Answer with `/survey yes|partly|no | what changed | how you know`, or press Answer.".to_owned());
            buttons.push(Button {
                id: write.clone(),
                label: "Answer".to_owned(),
                danger: false,
            });
        }
        _ => {
            lines.push("Answer with `/survey` and your answer, or press Answer.".to_owned());
            buttons.push(Button {
                id: write.clone(),
                label: "Answer".to_owned(),
                danger: false,
            });
        }
    }
    if !q.required {
        buttons.push(Button {
            id: ButtonAction::Skip { invitation, key }.id(),
            label: "Skip".to_owned(),
            danger: false,
        });
    }
    Reply::private(lines.join("\n")).with_buttons(buttons)
}

/// What comes after an answer: the next question, or thanks.
fn after(invitations: &[Invitation], saved: &Invitation) -> Reply {
    let fresh: Vec<Invitation> = invitations
        .iter()
        .map(|i| if i.id == saved.id { saved.clone() } else { i.clone() })
        .collect();
    match next_question(&fresh) {
        Some((inv, i)) if inv.id == saved.id => ask(inv, i),
        Some((inv, i)) => {
            let mut reply = ask(inv, i);
            reply.text = format!("Thank you — that survey is done. Here is the next one.\n{}", reply.text);
            reply
        }
        None => Reply::private(
            "Thank you — your answers are saved. You can change them with the link in your email until the survey closes.",
        ),
    }
}

/// Turns typed text into an answer for question `q`; `None` for "skip".
pub fn typed_answer(q: &Question, text: &str) -> Result<Value, String> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("skip") {
        return if q.required {
            Err("That question needs an answer.".to_owned())
        } else {
            Ok(Value::Null)
        };
    }
    Ok(match q.kind.as_str() {
        "likert" => json!(
            text.parse::<i64>()
                .map_err(|_| "Answer with a number from 1 to 5.".to_owned())?
        ),
        "multi_choice" => json!(
            text.split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .collect::<Vec<_>>()
        ),
        "action_follow_up" => {
            let mut parts = text.splitn(3, '|').map(str::trim);
            let done = parts.next().unwrap_or_default().to_lowercase();
            json!({"done": done, "what_changed": parts.next(), "evidence": parts.next()})
        }
        _ => json!(text),
    })
}

/// `/survey [answer]`: without an answer, the next question of my open surveys; with one,
/// answers that question and asks the next.
pub async fn survey<A: ConveneApi>(api: &A, user: &str, answer: Option<&str>) -> Reply {
    let invitations = match api.surveys(user).await {
        Ok(list) => list,
        Err(e) => return Reply::private(sorry(&e)),
    };
    let Some((inv, index)) = next_question(&invitations) else {
        return Reply::private(if invitations.is_empty() {
            "You have no surveys waiting for you."
        } else {
            "You've answered all your surveys — thank you!"
        });
    };
    let Some(text) = answer.filter(|a| !a.trim().is_empty()) else {
        return ask(inv, index);
    };
    let q = &inv.questions[index];
    let value = match typed_answer(q, text) {
        Ok(value) => value,
        Err(sentence) => return Reply::private(sentence),
    };
    save(api, user, &invitations, inv.id, &q.key, value).await
}

async fn save<A: ConveneApi>(
    api: &A,
    user: &str,
    invitations: &[Invitation],
    invitation: i64,
    key: &str,
    value: Value,
) -> Reply {
    match api.answer_survey(user, invitation, key, value).await {
        Ok(saved) => after(invitations, &saved),
        Err(e) => Reply::private(sorry(&e)),
    }
}

/// A survey button: `choice` answers question `key` of invitation `inv_id` (a number on a 1–5
/// scale, or a choice's index, see [`ButtonAction::Choose`]); `None` skips an optional question.
async fn survey_button<A: ConveneApi>(api: &A, user: &str, inv_id: i64, key: &str, choice: Option<usize>) -> Reply {
    let invitations = match api.surveys(user).await {
        Ok(list) => list,
        Err(e) => return Reply::private(sorry(&e)),
    };
    let Some(q) = invitations
        .iter()
        .find(|i| i.id == inv_id)
        .and_then(|i| i.questions.iter().find(|q| q.key == key))
    else {
        return Reply::private("That survey is no longer open.");
    };
    let value = match (q.kind.as_str(), choice) {
        (_, None) => Value::Null,
        ("likert", Some(n)) => json!(n),
        (_, Some(i)) => match q.options.as_ref().and_then(|o| o.get(i)) {
            Some(option) => json!(option),
            None => return Reply::private("That choice is no longer offered; try `/survey` again."),
        },
    };
    save(api, user, &invitations, inv_id, key, value).await
}

/// An answer written in the bot's answer box (Discord's modal) for question `key`.
pub async fn survey_written<A: ConveneApi>(api: &A, user: &str, invitation: i64, key: &str, text: &str) -> Reply {
    let invitations = match api.surveys(user).await {
        Ok(list) => list,
        Err(e) => return Reply::private(sorry(&e)),
    };
    let Some(q) = invitations
        .iter()
        .find(|i| i.id == invitation)
        .and_then(|i| i.questions.iter().find(|q| q.key == key))
    else {
        return Reply::private("That survey is no longer open.");
    };
    match typed_answer(q, text) {
        Ok(value) => save(api, user, &invitations, invitation, key, value).await,
        Err(sentence) => Reply::private(sentence),
    }
}

/// The question an "Answer" button (`wr:<invitation>:<key>`) is for, to build the answer box.
pub async fn question_for<A: ConveneApi>(api: &A, user: &str, invitation: i64, key: &str) -> Option<Question> {
    api.surveys(user)
        .await
        .ok()?
        .into_iter()
        .find(|i| i.id == invitation)?
        .questions
        .into_iter()
        .find(|q| q.key == key)
}

/// A change asked for with `/prefs`; `None` leaves a setting as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PrefsChange {
    /// Hear by email.
    pub email: Option<bool>,
    /// Hear by Discord DM.
    pub discord: Option<bool>,
    /// Reminder times before a session, e.g. `24h, 1h`, `30m`, `2d`, or `off`.
    pub reminders: Option<String>,
    /// Quiet hours `21:00-07:00`, or `off`.
    pub quiet: Option<String>,
    /// An IANA time zone, e.g. `Europe/London`.
    pub time_zone: Option<String>,
}

impl PrefsChange {
    fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// `24h, 1h` as minutes; `off` or `none` as no reminders.
pub fn parse_reminders(text: &str) -> Result<Vec<i64>, String> {
    let text = text.trim().to_lowercase();
    if matches!(text.as_str(), "off" | "none" | "no") {
        return Ok(Vec::new());
    }
    text.split([',', ' '])
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (number, unit) = part.split_at(part.find(|c: char| !c.is_ascii_digit()).unwrap_or(part.len()));
            let n: i64 = number
                .parse()
                .map_err(|_| format!("I couldn't read “{part}”: write times like 24h, 1h or 30m"))?;
            let minutes = match unit {
                "m" | "min" | "mins" | "minutes" => n,
                "h" | "hr" | "hrs" | "hour" | "hours" | "" => n * 60,
                "d" | "day" | "days" => n * 1440,
                _ => return Err(format!("I couldn't read “{part}”: write times like 24h, 1h or 30m")),
            };
            Ok(minutes)
        })
        .collect()
}

fn minutes_in_words(minutes: i64) -> String {
    if minutes % 1440 == 0 {
        format!("{}d", minutes / 1440)
    } else if minutes % 60 == 0 {
        format!("{}h", minutes / 60)
    } else {
        format!("{minutes}m")
    }
}

/// `/prefs`: show my settings, or change the ones given.
pub async fn prefs<A: ConveneApi>(api: &A, user: &str, change: PrefsChange) -> Reply {
    let result = if change.is_empty() {
        api.preferences(user).await
    } else {
        let mut input = PreferencesInput {
            notify_email: change.email,
            notify_discord: change.discord,
            time_zone: change.time_zone.clone(),
            ..PreferencesInput::default()
        };
        if let Some(reminders) = &change.reminders {
            match parse_reminders(reminders) {
                Ok(minutes) => input.reminder_offsets_minutes = Some(minutes),
                Err(sentence) => return Reply::private(sentence),
            }
        }
        if let Some(quiet) = &change.quiet {
            let quiet = quiet.trim();
            if matches!(quiet.to_lowercase().as_str(), "off" | "none" | "no") {
                input.quiet_hours_start = Some(None);
                input.quiet_hours_end = Some(None);
            } else if let Some((start, end)) = quiet.split_once(['-', '–']) {
                input.quiet_hours_start = Some(Some(start.trim().to_owned()));
                input.quiet_hours_end = Some(Some(end.trim().to_owned()));
            } else {
                return Reply::private("Write quiet hours as a start and end, like 21:00-07:00, or `off`.");
            }
        }
        api.set_preferences(user, &input).await
    };
    match result {
        Ok(p) => {
            let on = |b: bool| if b { "on" } else { "off" };
            let reminders = if p.reminder_offsets_minutes.is_empty() {
                "off".to_owned()
            } else {
                p.reminder_offsets_minutes
                    .iter()
                    .map(|m| minutes_in_words(*m))
                    .collect::<Vec<_>>()
                    .join(", ")
                    + " before"
            };
            let quiet = match (&p.quiet_hours_start, &p.quiet_hours_end) {
                (Some(s), Some(e)) => format!("{s}–{e}"),
                _ => "none".to_owned(),
            };
            Reply::private(format!(
                "{}Email: {} · Discord: {} · Reminders: {reminders} · Quiet hours: {quiet} · Time zone: {}\nChange them with e.g. `/prefs reminders:24h,1h quiet:21:00-07:00 email:off`.",
                if change.is_empty() {
                    "Your settings:\n"
                } else {
                    "Saved. Your settings:\n"
                },
                on(p.notify_email),
                on(p.notify_discord),
                p.time_zone
            ))
        }
        Err(e) => Reply::private(sorry(&e)),
    }
}

/// `/help`: what the bot can do, from the commands as registered (each usage and description;
/// see `discord::command_help`), so it cannot drift from them.
pub fn help(commands: &[(String, String)]) -> Reply {
    let mut lines =
        vec!["I'm Convene's bot: book sessions, get reminders and share what changed in your school.".to_owned()];
    lines.extend(commands.iter().map(|(usage, what)| format!("`{usage}` — {what}")));
    Reply::public(lines.join("\n"))
}

/// A leased Discord notification as a DM, with buttons for the booking it is about.
pub fn notification(message: &DiscordMessage) -> Reply {
    let buttons = match (message.booking_id, message.kind.as_str()) {
        (Some(id), "booking_confirmed" | "booking_promoted" | "reminder" | "session_changed") => {
            booking_buttons(id, BookingStatus::Confirmed)
        }
        (Some(id), "booking_waitlisted") => booking_buttons(id, BookingStatus::Waitlisted),
        (Some(id), _) => booking_buttons(id, BookingStatus::Cancelled),
        (None, "survey_invitation") => vec![Button {
            id: ButtonAction::NextQuestion.id(),
            label: "Answer here".to_owned(),
            danger: false,
        }],
        (None, _) => Vec::new(),
    };
    Reply::private(format!("**{}**\n{}", message.title, message.text)).with_buttons(buttons)
}

/// The "Book" button under a channel post: books the session for whoever pressed it, if their
/// account is linked (else they are told how to link); the answer is theirs alone. `press` is
/// the press's own id (Discord's interaction id), so a retried press books once.
pub async fn book_button<A: ConveneApi>(api: &A, user: &str, session_id: i64, press: &str) -> Reply {
    book(api, user, session_id, &format!("discord-{press}")).await
}

/// A button pressed under one of the bot's messages (its custom id, a [`ButtonAction`]'s).
pub async fn button<A: ConveneApi>(api: &A, user: &str, id: &str) -> Reply {
    match ButtonAction::parse(id) {
        Some(ButtonAction::BookSession(session)) => {
            // No press id here: a key of the moment, so each press is a new request.
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default();
            book_button(api, user, session, &format!("{user}-{nanos}")).await
        }
        Some(ButtonAction::CancelBooking(booking)) => cancel(api, user, booking).await,
        Some(ButtonAction::ViewBooking(booking)) => view_booking(api, user, booking).await,
        Some(ButtonAction::NextQuestion) => survey(api, user, None).await,
        Some(ButtonAction::Choose {
            invitation,
            key,
            choice,
        }) => survey_button(api, user, invitation, &key, Some(choice)).await,
        Some(ButtonAction::Skip { invitation, key }) => survey_button(api, user, invitation, &key, None).await,
        Some(ButtonAction::Write { .. } | ButtonAction::Written { .. }) | None => {
            Reply::private("That button is from an older version of the bot; try the command instead.")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reminder_times_are_read_as_people_write_them() {
        assert_eq!(parse_reminders("24h, 1h"), Ok(vec![1440, 60]));
        assert_eq!(parse_reminders("2d 30m"), Ok(vec![2880, 30]));
        assert_eq!(parse_reminders("off"), Ok(vec![]));
        assert!(parse_reminders("soon").is_err());
        assert!(parse_reminders("5 weeks").is_err());
    }

    #[test]
    fn a_survey_invitation_offers_to_answer_it_here() {
        let message = DiscordMessage {
            id: 1,
            discord_user_id: "42".into(),
            kind: "survey_invitation".into(),
            title: "A few questions".into(),
            text: "What changed?".into(),
            booking_id: None,
            session_id: None,
            attempt: 1,
        };
        let ids: Vec<String> = notification(&message).buttons.into_iter().map(|b| b.id).collect();
        assert_eq!(ids, ["survey:next"]);
    }

    #[test]
    fn a_notification_about_a_booking_offers_to_view_and_cancel_it() {
        let message = DiscordMessage {
            id: 1,
            discord_user_id: "42".into(),
            kind: "reminder".into(),
            title: "Reminder".into(),
            text: "Tomorrow".into(),
            booking_id: Some(7),
            session_id: Some(3),
            attempt: 1,
        };
        let ids: Vec<String> = notification(&message).buttons.into_iter().map(|b| b.id).collect();
        assert_eq!(ids, ["view:7", "cancel:7"]);
    }
}
