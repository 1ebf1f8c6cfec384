//! `convene-bot --console --as <discord id>`: the same commands as lines on stdin, the replies
//! on stdout, through the same command core as Discord. For trying the bot without Discord,
//! and for scripts.

use std::sync::atomic::{AtomicU64, Ordering};

use tokio::io::{AsyncBufRead, AsyncBufReadExt as _, AsyncWrite, AsyncWriteExt as _};

use crate::action::ButtonAction;
use crate::api::ConveneApi;
use crate::core::{self, PrefsChange, Reply};

/// Runs every line of `input` as a command acting for `user`, writing each reply to `output`.
/// A refused command is answered like any other; only failing to read or write stops it.
pub async fn run<A: ConveneApi>(
    api: &A,
    user: &str,
    input: impl AsyncBufRead + Unpin,
    mut output: impl AsyncWrite + Unpin,
) -> std::io::Result<()> {
    let mut lines = input.lines();
    while let Some(line) = lines.next_line().await? {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let reply = command(api, user, line).await;
        output.write_all(render(&reply).as_bytes()).await?;
        output.flush().await?;
    }
    Ok(())
}

/// A reply as text: the message, then each button as the command that does the same.
pub fn render(reply: &Reply) -> String {
    let mut text = reply.text.clone();
    for button in &reply.buttons {
        let command = match ButtonAction::parse(&button.id) {
            Some(ButtonAction::CancelBooking(id)) => format!("/cancel {id}"),
            Some(ButtonAction::ViewBooking(id)) => format!("/view {id}"),
            Some(ButtonAction::BookSession(id)) => format!("/book {id}"),
            Some(ButtonAction::Choose { .. }) => format!("/survey {}", button.label),
            Some(ButtonAction::Skip { .. }) => "/survey skip".to_owned(),
            Some(ButtonAction::NextQuestion) => "/survey".to_owned(),
            Some(ButtonAction::Write { .. } | ButtonAction::Written { .. }) => "/survey <your answer>".to_owned(),
            None => button.id.clone(),
        };
        text.push_str(&format!("\n[{}: {command}]", button.label));
    }
    text.push_str("\n\n");
    text
}

/// A key unique to this process and line, so a command is booked once even if retried.
fn idempotency_key(user: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("console-{user}-{}-{nanos}-{n}", std::process::id())
}

/// `key:value` options and the words that are not options.
fn options(args: &str) -> (Vec<(String, String)>, Vec<String>) {
    let mut named = Vec::new();
    let mut words = Vec::new();
    for word in args.split_whitespace() {
        match word.split_once([':', '=']) {
            Some((key, value)) if key.chars().all(|c| c.is_ascii_alphabetic()) && !key.is_empty() => {
                named.push((key.to_lowercase(), value.to_owned()));
            }
            _ => words.push(word.to_owned()),
        }
    }
    (named, words)
}

fn on_off(value: &str) -> Option<bool> {
    match value.to_lowercase().as_str() {
        "on" | "yes" | "true" => Some(true),
        "off" | "no" | "false" => Some(false),
        _ => None,
    }
}

fn number(what: &str, text: &str) -> Result<i64, Reply> {
    text.trim()
        .trim_start_matches('#')
        .parse()
        .map_err(|_| Reply::private(format!("Give the {what} number, e.g. `12`.")))
}

/// Runs one command line.
pub async fn command<A: ConveneApi>(api: &A, user: &str, line: &str) -> Reply {
    let (name, args) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    let args = args.trim();
    let name = name.trim_start_matches('/').to_lowercase();
    let result = match name.as_str() {
        "help" => Ok(core::help(&crate::discord::command_help())),
        "link" if args.is_empty() => Err(Reply::private("Give your email address: `/link ann@school.org`.")),
        "link" => Ok(core::link(api, user, args).await),
        "verify" => Ok(core::verify(api, user, args).await),
        "events" => {
            let (named, words) = options(args);
            let get = |k: &str| named.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
            let text = words.join(" ");
            Ok(core::events(
                api,
                user,
                get("kind"),
                get("topic"),
                Some(text.as_str()).filter(|t| !t.is_empty()),
            )
            .await)
        }
        "book" => match number("session", args) {
            Ok(id) => Ok(core::book(api, user, id, &idempotency_key(user)).await),
            Err(reply) => Err(reply),
        },
        "cancel" => match number("booking", args) {
            Ok(id) => Ok(core::cancel(api, user, id).await),
            Err(reply) => Err(reply),
        },
        "view" => match number("booking", args) {
            Ok(id) => Ok(core::view_booking(api, user, id).await),
            Err(reply) => Err(reply),
        },
        "mybookings" => Ok(core::my_bookings(api, user).await),
        "survey" => Ok(core::survey(api, user, Some(args).filter(|a| !a.is_empty())).await),
        "calendar" => Ok(core::calendar(api, user, args.eq_ignore_ascii_case("rotate")).await),
        "reflect" => reflect(api, user, args).await,
        "prefs" => {
            let (named, _) = options(args);
            let mut change = PrefsChange::default();
            for (key, value) in named {
                match key.as_str() {
                    "email" => change.email = on_off(&value),
                    "discord" => change.discord = on_off(&value),
                    "reminders" => change.reminders = Some(value),
                    "quiet" => change.quiet = Some(value),
                    "zone" | "timezone" => change.time_zone = Some(value),
                    other => {
                        return Reply::private(format!(
                            "I don't know the setting “{other}”: use email, discord, reminders, quiet or zone."
                        ));
                    }
                }
            }
            Ok(core::prefs(api, user, change).await)
        }
        other => Err(Reply::private(format!("I don't know /{other}. Try /help."))),
    };
    result.unwrap_or_else(|reply| reply)
}

/// `/reflect [event:<id>] what you tried | what changed | how you know`.
async fn reflect<A: ConveneApi>(api: &A, user: &str, args: &str) -> Result<Reply, Reply> {
    let (event, rest) = match args.split_once(char::is_whitespace) {
        Some((first, rest)) if first.starts_with("event:") || first.starts_with("event=") => (Some(&first[6..]), rest),
        _ => (None, args),
    };
    let event_id = match event {
        Some(id) => Some(number("event", id)?),
        None => None,
    };
    let parts: Vec<&str> = rest.split('|').map(str::trim).collect();
    let [tried, changed, evidence] = parts.as_slice() else {
        return Err(Reply::private(
            "Write three parts separated by |: what you tried | what changed | how you know.",
        ));
    };
    Ok(core::reflect(api, user, event_id, tried, changed, evidence).await)
}
