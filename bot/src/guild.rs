//! What the bot does in the server itself, besides answering commands: it posts announcements
//! and newly published conference and SLP sessions to the announcements channel (an embed with
//! Discord's `<t:…>` timestamps, so each reader sees their own zone, and a "Book" button), and
//! keeps a Guild Scheduled Event in step with each published session. Both are leased from the
//! API, done, and acknowledged, as the DMs are: what is not acknowledged within its lease is
//! offered again, and two bot processes never hold the same item.

use std::sync::Arc;
use std::time::Duration;

use convene_api::wire::discord::{ChannelPost, GuildEventAction, GuildEventSync};
use poise::serenity_prelude as serenity;

use crate::action::ButtonAction;
use crate::api::HttpApi;

/// Errors of one post or sync (logged; the item is offered again).
type Error = Box<dyn std::error::Error + Send + Sync>;

/// How many items one lease takes.
const BATCH: i64 = 10;
/// Discord's limits on an embed's title and description.
const TITLE_MAX: usize = 256;
const DESCRIPTION_MAX: usize = 4096;

fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut clipped: String = text.chars().take(max - 1).collect();
    clipped.push('…');
    clipped
}

/// A post as Discord's message: an embed, and a "Book" button when it offers a session.
pub fn post_message(post: &ChannelPost) -> serenity::CreateMessage {
    let mut embed = serenity::CreateEmbed::new()
        .title(clip(&post.title, TITLE_MAX))
        .description(clip(&post.text, DESCRIPTION_MAX));
    let mut message = serenity::CreateMessage::new();
    if let Some(session) = &post.session {
        let places = match session.places_left {
            0 => "None — booking puts you on the waitlist".to_owned(),
            1 => "1".to_owned(),
            n => n.to_string(),
        };
        embed = embed
            .field(
                "When",
                format!(
                    "<t:{start}:F> to <t:{end}:t> (<t:{start}:R>)",
                    start = session.starts_at,
                    end = session.ends_at
                ),
                false,
            )
            .field("Where", clip(&session.location, 1024), true)
            .field("Places left", places, true);
        message = message.components(vec![serenity::CreateActionRow::Buttons(vec![
            serenity::CreateButton::new(ButtonAction::BookSession(session.session_id).id())
                .label("Book")
                .style(serenity::ButtonStyle::Primary),
        ])]);
    }
    message.embed(embed)
}

/// Leases channel posts, posts each to `channel` and acknowledges it, for ever.
pub async fn post(http: Arc<serenity::Http>, api: HttpApi, channel: u64, poll: Duration, lease: Duration) {
    let per_item = lease / 4;
    let lease_seconds = i64::try_from(lease.as_secs()).unwrap_or(60);
    let channel = serenity::ChannelId::new(channel);
    loop {
        let leased_at = tokio::time::Instant::now();
        let posts = match api.lease_channel_posts(BATCH, lease_seconds).await {
            Ok(posts) => posts,
            Err(e) => {
                tracing::warn!(error = %e, "could not lease channel posts");
                Vec::new()
            }
        };
        let full = posts.len() as i64 == BATCH;
        for post in &posts {
            if leased_at.elapsed() + per_item * 2 > lease {
                break;
            }
            let sent = tokio::time::timeout(per_item, channel.send_message(&http, post_message(post))).await;
            match sent {
                Ok(Ok(_)) => {
                    if let Err(e) = api.ack_channel_post(post.id).await {
                        tracing::warn!(id = post.id, error = %e, "posted but could not acknowledge");
                    }
                }
                Ok(Err(e)) => tracing::warn!(id = post.id, error = %e, "could not post; the API will offer it again"),
                Err(_) => tracing::warn!(id = post.id, "Discord did not answer a post in time"),
            }
        }
        if !full {
            tokio::time::sleep(poll).await;
        }
    }
}

/// Whether Discord said the scheduled event does not exist (a moderator deleted it).
fn unknown_event(error: &serenity::Error) -> bool {
    matches!(error, serenity::Error::Http(serenity::HttpError::UnsuccessfulRequest(answer)) if answer.status_code.as_u16() == 404)
}

/// Does one sync in `guild`: the Discord event's id.
async fn sync(http: &serenity::Http, guild: serenity::GuildId, item: &GuildEventSync) -> Result<String, Error> {
    let times = || -> Result<(serenity::Timestamp, serenity::Timestamp), Error> {
        Ok((
            serenity::Timestamp::parse(&item.scheduled_start_time)?,
            serenity::Timestamp::parse(&item.scheduled_end_time)?,
        ))
    };
    let existing = || -> Result<serenity::ScheduledEventId, Error> {
        let id: u64 = item.discord_event_id.as_deref().unwrap_or_default().parse()?;
        Ok(serenity::ScheduledEventId::new(id))
    };
    match item.action {
        GuildEventAction::Create => {
            let (start, end) = times()?;
            let builder =
                serenity::CreateScheduledEvent::new(serenity::ScheduledEventType::External, &item.name, start)
                    .end_time(end)
                    .location(&item.location)
                    .description(&item.description);
            Ok(guild.create_scheduled_event(http, builder).await?.id.get().to_string())
        }
        GuildEventAction::Update => {
            let (start, end) = times()?;
            let builder = serenity::EditScheduledEvent::new()
                .name(&item.name)
                .description(&item.description)
                .start_time(start)
                .end_time(end)
                .location(&item.location);
            Ok(guild
                .edit_scheduled_event(http, existing()?, builder)
                .await?
                .id
                .get()
                .to_string())
        }
        GuildEventAction::Cancel => {
            let id = existing()?;
            let builder = serenity::EditScheduledEvent::new().status(serenity::ScheduledEventStatus::Canceled);
            match guild.edit_scheduled_event(http, id, builder).await {
                Ok(_) => Ok(id.get().to_string()),
                // Gone already: nothing left to cancel.
                Err(e) if unknown_event(&e) => Ok(id.get().to_string()),
                Err(e) => Err(e.into()),
            }
        }
    }
}

/// Leases scheduled events to bring in step with their sessions, does each in `guild` and
/// acknowledges it with the version leased, for ever.
pub async fn mirror(http: Arc<serenity::Http>, api: HttpApi, guild: u64, poll: Duration, lease: Duration) {
    let per_item = lease / 4;
    let lease_seconds = i64::try_from(lease.as_secs()).unwrap_or(60);
    let guild = serenity::GuildId::new(guild);
    loop {
        let leased_at = tokio::time::Instant::now();
        let items = match api.lease_guild_events(BATCH, lease_seconds).await {
            Ok(items) => items,
            Err(e) => {
                tracing::warn!(error = %e, "could not lease scheduled events");
                Vec::new()
            }
        };
        let full = items.len() as i64 == BATCH;
        for item in &items {
            if leased_at.elapsed() + per_item * 2 > lease {
                break;
            }
            match tokio::time::timeout(per_item, sync(&http, guild, item)).await {
                Ok(Ok(id)) => {
                    if let Err(e) = api.ack_guild_event(item.session_id, &id, item.version).await {
                        tracing::warn!(session = item.session_id, error = %e, "synced a scheduled event but could not acknowledge it");
                    }
                }
                Ok(Err(e)) => tracing::warn!(
                    session = item.session_id,
                    action = ?item.action,
                    error = %e,
                    "could not sync a scheduled event; the API will offer it again"
                ),
                Err(_) => tracing::warn!(session = item.session_id, "Discord did not answer in time"),
            }
        }
        if !full {
            tokio::time::sleep(poll).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use convene_api::wire::discord::PostedSession;

    #[test]
    fn a_session_post_has_timestamps_places_and_a_book_button() {
        let post = ChannelPost {
            id: 1,
            kind: "session_published".into(),
            title: "Summer conference".into(),
            text: "Phonics".into(),
            session: Some(PostedSession {
                session_id: 7,
                event_kind: "conference".into(),
                starts_at: 1_900_000_000,
                ends_at: 1_900_009_000,
                places_left: 12,
                location: "Hall 2".into(),
            }),
        };
        let json = serde_json::to_string(&post_message(&post)).unwrap();
        assert!(json.contains("<t:1900000000:F>"), "{json}");
        assert!(json.contains("<t:1900000000:R>"), "{json}");
        assert!(json.contains("\"12\""), "{json}");
        assert!(json.contains("book:7"), "{json}");
    }
}
