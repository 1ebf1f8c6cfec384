//! The Discord adapter: poise slash commands over the command core (their doc comments are the
//! help Discord shows), buttons under the bot's messages, and the loop that leases Discord
//! notifications from the API, sends each as a DM and acknowledges it.

use std::sync::Arc;
use std::time::Duration;

use convene_api::wire::notifications::DiscordMessage;
use poise::serenity_prelude as serenity;

use crate::action::ButtonAction;
use crate::api::{ConveneApi, HttpApi};
use crate::config::DiscordSettings;
use crate::core::{self, Button, PrefsChange, Reply};
use crate::guild;

/// What every command can reach.
pub struct Data {
    api: HttpApi,
}

/// Errors a command can end with (they are logged, and the person gets an apology).
pub type Error = Box<dyn std::error::Error + Send + Sync>;
type Context<'a> = poise::Context<'a, Data, Error>;
type ApplicationContext<'a> = poise::ApplicationContext<'a, Data, Error>;

/// Discord's limit on a message's length.
const MESSAGE_MAX: usize = 2000;
/// How many notifications one lease takes.
const LEASE_BATCH: i64 = 20;

fn user_of(ctx: Context<'_>) -> String {
    ctx.author().id.get().to_string()
}

fn clip(text: &str) -> String {
    if text.chars().count() <= MESSAGE_MAX {
        return text.to_owned();
    }
    let mut clipped: String = text.chars().take(MESSAGE_MAX - 1).collect();
    clipped.push('…');
    clipped
}

fn components(buttons: &[Button]) -> Vec<serenity::CreateActionRow> {
    if buttons.is_empty() {
        return Vec::new();
    }
    // Discord allows five buttons to a row and five rows.
    buttons
        .chunks(5)
        .take(5)
        .map(|row| {
            serenity::CreateActionRow::Buttons(
                row.iter()
                    .map(|b| {
                        serenity::CreateButton::new(b.id.clone())
                            .label(b.label.clone())
                            .style(if b.danger {
                                serenity::ButtonStyle::Danger
                            } else {
                                serenity::ButtonStyle::Secondary
                            })
                    })
                    .collect(),
            )
        })
        .collect()
}

async fn send(ctx: Context<'_>, reply: Reply) -> Result<(), Error> {
    ctx.send(
        poise::CreateReply::default()
            .content(clip(&reply.text))
            .ephemeral(reply.ephemeral)
            .components(components(&reply.buttons)),
    )
    .await?;
    Ok(())
}

/// The kinds of event `/events` can filter by.
#[derive(Debug, Clone, Copy, poise::ChoiceParameter)]
pub enum EventKind {
    /// Conferences and their workshops.
    #[name = "Conference"]
    Conference,
    /// Sharing Leading Practice sessions.
    #[name = "Sharing Leading Practice"]
    SlpSession,
}

impl EventKind {
    fn api_name(self) -> &'static str {
        match self {
            Self::Conference => "conference",
            Self::SlpSession => "slp_session",
        }
    }
}

async fn autocomplete_session(ctx: Context<'_>, partial: &str) -> Vec<serenity::AutocompleteChoice> {
    core::session_choices(&ctx.data().api, &user_of(ctx), partial)
        .await
        .into_iter()
        .map(|(name, id)| serenity::AutocompleteChoice::new(name, id))
        .collect()
}

async fn autocomplete_booking(ctx: Context<'_>, partial: &str) -> Vec<serenity::AutocompleteChoice> {
    let needle = partial.trim().to_lowercase();
    match ctx.data().api.bookings(&user_of(ctx), "upcoming").await {
        Ok(page) => page
            .items
            .into_iter()
            .map(|b| {
                (
                    format!("{} · {}", core::title(&b.session), core::when(&b.session)),
                    b.id,
                )
            })
            .filter(|(name, _)| name.to_lowercase().contains(&needle))
            .take(25)
            .map(|(name, id)| serenity::AutocompleteChoice::new(name.chars().take(100).collect::<String>(), id))
            .collect(),
        Err(_) => Vec::new(),
    }
}

async fn autocomplete_topic(ctx: Context<'_>, partial: &str) -> Vec<String> {
    core::topic_choices(&ctx.data().api, &user_of(ctx), partial).await
}

async fn autocomplete_event(ctx: Context<'_>, partial: &str) -> Vec<serenity::AutocompleteChoice> {
    core::event_choices(&ctx.data().api, &user_of(ctx), partial)
        .await
        .into_iter()
        .map(|(name, id)| serenity::AutocompleteChoice::new(name, id))
        .collect()
}

/// Link your Discord account to Convene: I email you a six-digit code.
#[poise::command(slash_command)]
async fn link(
    ctx: Context<'_>,
    #[description = "The email address your network has for you"] email: String,
) -> Result<(), Error> {
    ctx.defer_ephemeral().await?;
    send(ctx, core::link(&ctx.data().api, &user_of(ctx), &email).await).await
}

/// Finish linking your account with the code from the email.
#[poise::command(slash_command)]
async fn verify(ctx: Context<'_>, #[description = "The six-digit code"] code: String) -> Result<(), Error> {
    ctx.defer_ephemeral().await?;
    send(ctx, core::verify(&ctx.data().api, &user_of(ctx), &code).await).await
}

/// Sessions open to book, soonest first.
#[poise::command(slash_command)]
async fn events(
    ctx: Context<'_>,
    #[description = "Only this kind of event"] kind: Option<EventKind>,
    #[description = "Only this topic"]
    #[autocomplete = "autocomplete_topic"]
    topic: Option<String>,
    #[description = "Words in the title"] text: Option<String>,
) -> Result<(), Error> {
    ctx.defer_ephemeral().await?;
    let reply = core::events(
        &ctx.data().api,
        &user_of(ctx),
        kind.map(EventKind::api_name),
        topic.as_deref(),
        text.as_deref(),
    )
    .await;
    send(ctx, reply).await
}

/// Book a session, or join its waitlist when it is full.
#[poise::command(slash_command)]
async fn book(
    ctx: Context<'_>,
    #[description = "The session (start typing its title)"]
    #[autocomplete = "autocomplete_session"]
    session: i64,
) -> Result<(), Error> {
    ctx.defer_ephemeral().await?;
    // The interaction's id: Discord never reuses it, so a retried command books once.
    let key = format!("discord-{}", ctx.id());
    send(ctx, core::book(&ctx.data().api, &user_of(ctx), session, &key).await).await
}

/// Cancel one of your bookings, or leave a waitlist.
#[poise::command(slash_command)]
async fn cancel(
    ctx: Context<'_>,
    #[description = "The booking (start typing its title)"]
    #[autocomplete = "autocomplete_booking"]
    booking: i64,
) -> Result<(), Error> {
    ctx.defer_ephemeral().await?;
    send(ctx, core::cancel(&ctx.data().api, &user_of(ctx), booking).await).await
}

/// Your upcoming bookings, with join links for online sessions.
#[poise::command(slash_command)]
async fn mybookings(ctx: Context<'_>) -> Result<(), Error> {
    ctx.defer_ephemeral().await?;
    send(ctx, core::my_bookings(&ctx.data().api, &user_of(ctx)).await).await
}

/// Your private calendar feed, to subscribe to in Google, Outlook or Apple Calendar.
#[poise::command(slash_command)]
async fn calendar(
    ctx: Context<'_>,
    #[description = "Replace the address (the old one stops working)"] rotate: Option<bool>,
) -> Result<(), Error> {
    ctx.defer_ephemeral().await?;
    send(
        ctx,
        core::calendar(&ctx.data().api, &user_of(ctx), rotate.unwrap_or(false)).await,
    )
    .await
}

/// What you write in `/reflect`.
#[derive(Debug, poise::Modal)]
#[name = "Reflect on your practice"]
struct ReflectModal {
    #[name = "What did you try or adapt?"]
    #[paragraph]
    #[max_length = 4000]
    what_tried: String,
    #[name = "What changed?"]
    #[paragraph]
    #[max_length = 4000]
    what_changed: String,
    #[name = "How do you know? Your evidence"]
    #[paragraph]
    #[max_length = 4000]
    evidence: String,
}

/// Share what you tried after a session, what changed, and how you know.
#[poise::command(slash_command)]
async fn reflect(
    ctx: ApplicationContext<'_>,
    #[description = "The event it is about (start typing its title)"]
    #[autocomplete = "autocomplete_event"]
    event: Option<i64>,
) -> Result<(), Error> {
    use poise::Modal as _;
    let Some(answers) = ReflectModal::execute(ctx).await? else {
        return Ok(());
    };
    let ctx = Context::Application(ctx);
    let reply = core::reflect(
        &ctx.data().api,
        &user_of(ctx),
        event,
        &answers.what_tried,
        &answers.what_changed,
        &answers.evidence,
    )
    .await;
    send(ctx, reply).await
}

/// Answer your open follow-up surveys, a question at a time.
#[poise::command(slash_command)]
async fn survey(
    ctx: Context<'_>,
    #[description = "Your answer to the question shown (leave out to see it)"] answer: Option<String>,
) -> Result<(), Error> {
    ctx.defer_ephemeral().await?;
    send(
        ctx,
        core::survey(&ctx.data().api, &user_of(ctx), answer.as_deref()).await,
    )
    .await
}

/// See or change how and when you hear from Convene.
#[poise::command(slash_command)]
async fn prefs(
    ctx: Context<'_>,
    #[description = "Emails about your bookings"] email: Option<bool>,
    #[description = "Discord messages about your bookings"] discord: Option<bool>,
    #[description = "Reminder times before a session, e.g. 24h, 1h (or off)"] reminders: Option<String>,
    #[description = "Quiet hours, e.g. 21:00-07:00 (or off)"] quiet: Option<String>,
    #[description = "Your time zone, e.g. Europe/London"] zone: Option<String>,
) -> Result<(), Error> {
    ctx.defer_ephemeral().await?;
    let change = PrefsChange {
        email,
        discord,
        reminders,
        quiet,
        time_zone: zone,
    };
    send(ctx, core::prefs(&ctx.data().api, &user_of(ctx), change).await).await
}

/// What this bot can do.
#[poise::command(slash_command)]
async fn help(ctx: Context<'_>) -> Result<(), Error> {
    send(ctx, core::help(&command_help())).await
}

/// Every slash command.
pub fn commands() -> Vec<poise::Command<Data, Error>> {
    vec![
        link(),
        verify(),
        events(),
        book(),
        cancel(),
        mybookings(),
        calendar(),
        reflect(),
        survey(),
        prefs(),
        help(),
    ]
}

/// Each command's usage (`/book <session>`, `[…]` for what may be left out) and description,
/// read from the commands as registered: the list `/help` shows, in Discord and the console.
pub fn command_help() -> Vec<(String, String)> {
    commands()
        .iter()
        .map(|command| {
            let mut usage = format!("/{}", command.name);
            for parameter in &command.parameters {
                let (open, close) = if parameter.required { ('<', '>') } else { ('[', ']') };
                usage.push_str(&format!(" {open}{}{close}", parameter.name));
            }
            (usage, command.description.clone().unwrap_or_default())
        })
        .collect()
}

/// A button under one of the bot's messages: answered with a new private message.
async fn on_event(ctx: &serenity::Context, event: &serenity::FullEvent, data: &Data) -> Result<(), Error> {
    let serenity::FullEvent::InteractionCreate { interaction } = event else {
        return Ok(());
    };
    match interaction {
        serenity::Interaction::Component(press) => {
            let user = press.user.id.get().to_string();
            let id = press.data.custom_id.as_str();
            if let Some(modal) = answer_box(data, &user, id).await {
                press
                    .create_response(&ctx.http, serenity::CreateInteractionResponse::Modal(modal))
                    .await?;
                return Ok(());
            }
            let reply = match ButtonAction::parse(id) {
                Some(ButtonAction::BookSession(session)) => {
                    core::book_button(&data.api, &user, session, &press.id.get().to_string()).await
                }
                _ => core::button(&data.api, &user, id).await,
            };
            press
                .create_response(&ctx.http, serenity::CreateInteractionResponse::Message(message(&reply)))
                .await?;
        }
        serenity::Interaction::Modal(submit)
            if matches!(
                ButtonAction::parse(&submit.data.custom_id),
                Some(ButtonAction::Written { .. })
            ) =>
        {
            let user = submit.user.id.get().to_string();
            let reply = written(data, &user, &submit.data).await;
            submit
                .create_response(&ctx.http, serenity::CreateInteractionResponse::Message(message(&reply)))
                .await?;
        }
        _ => {}
    }
    Ok(())
}

fn message(reply: &Reply) -> serenity::CreateInteractionResponseMessage {
    serenity::CreateInteractionResponseMessage::new()
        .content(clip(&reply.text))
        .ephemeral(reply.ephemeral)
        .components(components(&reply.buttons))
}

/// The answer box for a survey question's "Answer" button ([`ButtonAction::Write`]): one
/// paragraph, or for a follow-up "did you?", "what changed?" and "how do you know?".
async fn answer_box(data: &Data, user: &str, id: &str) -> Option<serenity::CreateModal> {
    let Some(ButtonAction::Write { invitation, key }) = ButtonAction::parse(id) else {
        return None;
    };
    let question = core::question_for(&data.api, user, invitation, &key).await?;
    let input = |id: &str, label: &str, style| {
        serenity::CreateActionRow::InputText(
            serenity::CreateInputText::new(style, label, id)
                .max_length(4000)
                .required(question.required),
        )
    };
    let rows = if question.kind == "action_follow_up" {
        vec![
            input("done", "Did you? (yes, partly or no)", serenity::InputTextStyle::Short),
            input("what_changed", "What changed?", serenity::InputTextStyle::Paragraph),
            input("evidence", "How do you know?", serenity::InputTextStyle::Paragraph),
        ]
    } else {
        vec![input("answer", "Your answer", serenity::InputTextStyle::Paragraph)]
    };
    let id = ButtonAction::Written { invitation, key }.id();
    Some(serenity::CreateModal::new(id, "Your answer").components(rows))
}

/// Saves what was written in an answer box ([`ButtonAction::Written`]) and asks the next question.
async fn written(data: &Data, user: &str, submitted: &serenity::ModalInteractionData) -> Reply {
    let mut fields = std::collections::HashMap::new();
    for row in &submitted.components {
        for component in &row.components {
            if let serenity::ActionRowComponent::InputText(text) = component {
                fields.insert(text.custom_id.clone(), text.value.clone().unwrap_or_default());
            }
        }
    }
    let Some(ButtonAction::Written { invitation, key }) = ButtonAction::parse(&submitted.custom_id) else {
        return Reply::private("That answer box is from an older version of the bot; try `/survey` instead.");
    };
    let text = match fields.get("answer") {
        Some(answer) => answer.clone(),
        None => ["done", "what_changed", "evidence"]
            .iter()
            .map(|f| fields.get(*f).cloned().unwrap_or_default())
            .collect::<Vec<_>>()
            .join(" | "),
    };
    core::survey_written(&data.api, user, invitation, &key, &text).await
}

async fn on_error(error: poise::FrameworkError<'_, Data, Error>) {
    match error {
        poise::FrameworkError::Command { error, ctx, .. } => {
            tracing::error!(command = %ctx.command().name, error = %error, "a command failed");
            let apology = poise::CreateReply::default()
                .content("Sorry, something went wrong on my side. Please try again in a minute.")
                .ephemeral(true);
            if let Err(e) = ctx.send(apology).await {
                tracing::warn!(error = %e, "could not send the apology");
            }
        }
        other => {
            if let Err(e) = poise::builtins::on_error(other).await {
                tracing::warn!(error = %e, "could not handle a framework error");
            }
        }
    }
}

/// Sends one notification as a DM to its person.
async fn send_dm(http: &serenity::Http, message: &DiscordMessage) -> Result<(), Error> {
    let user: u64 = message.discord_user_id.parse()?;
    let reply = core::notification(message);
    let channel = serenity::UserId::new(user).create_dm_channel(http).await?;
    channel
        .send_message(
            http,
            serenity::CreateMessage::new()
                .content(clip(&reply.text))
                .components(components(&reply.buttons)),
        )
        .await?;
    Ok(())
}

/// Leases due Discord notifications, sends each as a DM and acknowledges it, for ever. A DM that
/// fails is not acknowledged: the API offers it again after the lease, with back-off.
///
/// A DM is never still being sent, nor its acknowledgement on its way, when its lease runs out and
/// the API may offer it to another bot process (which would send it again): each DM may take a
/// quarter of the lease and its acknowledgement an eighth, and a DM starts only while both still
/// fit in the lease. What a batch has not sent by then waits for its leases to run out and is
/// offered again. A DM that Discord has not answered in its quarter counts as failed; Discord may
/// still deliver it, so a person may rarely get one twice, never none.
pub async fn deliver(http: Arc<serenity::Http>, api: HttpApi, poll: Duration, lease: Duration) {
    let (per_dm, per_ack) = (lease / 4, lease / 8);
    let lease_seconds = i64::try_from(lease.as_secs()).unwrap_or(i64::MAX);
    loop {
        let leased_at = tokio::time::Instant::now();
        let leased = match api.lease(LEASE_BATCH, lease_seconds).await {
            Ok(items) => items,
            Err(e) => {
                tracing::warn!(error = %e, "could not lease notifications");
                Vec::new()
            }
        };
        let full = leased.len() as i64 == LEASE_BATCH;
        for (i, message) in leased.iter().enumerate() {
            if leased_at.elapsed() + per_dm + per_ack > lease {
                tracing::warn!(
                    unsent = leased.len() - i,
                    "Discord is slow: the rest of this batch waits until the API offers it again"
                );
                break;
            }
            match tokio::time::timeout(per_dm, send_dm(&http, message)).await {
                Ok(Ok(())) => match tokio::time::timeout(per_ack, api.ack(message.id)).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => {
                        tracing::warn!(id = message.id, error = %e, "sent a DM but could not acknowledge it")
                    }
                    Err(_) => tracing::warn!(
                        id = message.id,
                        ms = per_ack.as_millis(),
                        "sent a DM but the API did not take its acknowledgement in time"
                    ),
                },
                Ok(Err(e)) => {
                    tracing::warn!(id = message.id, error = %e, "could not send a DM; the API will offer it again")
                }
                Err(_) => tracing::warn!(
                    id = message.id,
                    ms = per_dm.as_millis(),
                    "Discord did not answer a DM in time; the API will offer it again"
                ),
            }
        }
        if !full {
            tokio::time::sleep(poll).await;
        }
    }
}

/// Connects to Discord and runs until the process is stopped.
pub async fn run(settings: DiscordSettings) -> Result<(), Error> {
    let framework_api = HttpApi::new(&settings.api_url, &settings.bot_key)?;
    let guild = settings.guild_id;
    let (poll, lease) = (settings.poll, settings.lease);
    let announce_channel = settings.announce_channel_id;
    let framework = poise::Framework::builder()
        .options(poise::FrameworkOptions {
            commands: commands(),
            event_handler: |ctx, event, _framework, data| Box::pin(on_event(ctx, event, data)),
            on_error: |error| Box::pin(on_error(error)),
            ..Default::default()
        })
        .setup(move |ctx, ready, framework| {
            Box::pin(async move {
                match guild {
                    Some(id) => {
                        poise::builtins::register_in_guild(
                            ctx,
                            &framework.options().commands,
                            serenity::GuildId::new(id),
                        )
                        .await?;
                    }
                    None => poise::builtins::register_globally(ctx, &framework.options().commands).await?,
                }
                tracing::info!(user = %ready.user.name, guild = ?guild, "connected to Discord; commands registered");
                tokio::spawn(deliver(ctx.http.clone(), framework_api.clone(), poll, lease));
                if let Some(channel) = announce_channel {
                    tokio::spawn(guild::post(
                        ctx.http.clone(),
                        framework_api.clone(),
                        channel,
                        poll,
                        lease,
                    ));
                }
                if let Some(id) = guild {
                    tokio::spawn(guild::mirror(ctx.http.clone(), framework_api.clone(), id, poll, lease));
                }
                Ok(Data { api: framework_api })
            })
        })
        .build();
    let mut http = serenity::HttpBuilder::new(&settings.token);
    if let Some(proxy) = &settings.discord_proxy {
        // Serenity only uses a proxy with its rate limiter off (the proxy is expected to limit).
        http = http.proxy(proxy.as_str()).ratelimiter_disabled(true);
    }
    let mut client = serenity::ClientBuilder::new_with_http(http.build(), serenity::GatewayIntents::non_privileged())
        .framework(framework)
        .await?;
    let shards = client.shard_manager.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            tracing::info!("stopping");
            shards.shutdown_all().await;
        }
    });
    client.start().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_lists_every_registered_command_with_its_usage() {
        let help = core::help(&command_help()).text;
        for command in commands() {
            assert!(
                help.contains(&format!("`/{}", command.name)),
                "/{} in {help}",
                command.name
            );
        }
        assert!(help.contains("`/book <session>` — Book a session"), "{help}");
        assert!(help.contains("`/survey [answer]`"), "{help}");
    }
}
