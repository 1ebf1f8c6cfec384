//! The notifications worker: claims due email messages from the outbox, writes and sends them,
//! and records the outcome. It runs inside `convene-api serve` and alone as `convene-api worker`;
//! any number may run against one PostgreSQL database.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use entity::{booking, notification, session};
use futures_util::StreamExt as _;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use tokio::sync::{Notify, watch};

use crate::config::Settings;
use crate::domain::feed::FeedSite;
use crate::domain::notification as outbox;
use crate::domain::outbox::Kind;
use crate::domain::{DomainError, DomainResult};
use crate::domain::{personal_data, survey};
use crate::mail::{self, About, Mailer};

/// Messages claimed at a time, and sent side by side (each over its own pooled SMTP connection).
pub const BATCH: u64 = 20;
/// Messages of a batch sent at once.
const CONCURRENT_SENDS: usize = BATCH as usize;
/// How often the outbox is looked at when nothing wakes the worker.
pub const POLL: Duration = Duration::from_secs(1);

/// How often the worker looks for survey invitations that have fallen due.
pub const SURVEY_SWEEP: Duration = Duration::from_secs(60);

/// A worker's settings and connections.
pub struct Worker {
    db: DatabaseConnection,
    mailer: Arc<Mailer>,
    site: FeedSite,
    owner: String,
    max_attempts: u32,
    retry_base: Duration,
    lease: Duration,
    wake: Arc<Notify>,
    retention_days: u32,
}

/// What to do with a claimed message.
enum Outcome {
    Send(Box<lettre::Message>, String),
    Withdraw(String),
}

impl Worker {
    /// A worker sending through the configured mailer; `wake` lets this process's writes start it
    /// at once.
    pub fn new(db: DatabaseConnection, settings: &Settings, site: FeedSite, wake: Arc<Notify>) -> Result<Self, String> {
        let mailer = Mailer::from_settings(settings)?;
        let owner = format!("{}:{}:{:08x}", site.host, std::process::id(), rand::random::<u32>());
        Ok(Self {
            db,
            mailer: Arc::new(mailer),
            site,
            owner,
            max_attempts: settings.mail_max_attempts,
            retry_base: Duration::from_millis(settings.mail_retry_base_ms.max(1)),
            lease: Duration::from_secs(settings.mail_lease_seconds),
            wake,
            retention_days: settings.retention_days,
        })
    }

    /// Where mail goes, in words.
    pub fn describe(&self) -> String {
        self.mailer.describe()
    }

    /// The name this worker's leases are held under (`host:pid:random`).
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// Delivers until `stop` turns true; then finishes the message in hand and gives back the rest
    /// of its claim, and any other lease this worker still holds. Once a sweep interval it also
    /// queues survey invitations that fell due and applies the retention period.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        tracing::info!(owner = %self.owner, to = %self.mailer.describe(), "notifications worker started");
        let mut next_sweep = tokio::time::Instant::now();
        loop {
            if *stop.borrow() {
                break;
            }
            if tokio::time::Instant::now() >= next_sweep {
                next_sweep = tokio::time::Instant::now() + SURVEY_SWEEP;
                match survey::sweep(&self.db, &self.site.public_url, chrono::Utc::now()).await {
                    Ok(sent) if sent.invited + sent.reminded > 0 => {
                        tracing::info!(
                            invited = sent.invited,
                            reminded = sent.reminded,
                            "survey invitations queued"
                        );
                        continue;
                    }
                    Ok(_) => {}
                    Err(err) => tracing::warn!(error = %err, "the survey sweep failed; trying again later"),
                }
                match personal_data::sweep(&self.db, self.retention_days, chrono::Utc::now()).await {
                    Ok(done) if done != personal_data::Anonymised::default() => tracing::info!(
                        survey_responses = done.survey_responses,
                        reflections = done.reflections,
                        "retention: old answers and reflections detached from their people"
                    ),
                    Ok(_) => {}
                    Err(err) => tracing::warn!(error = %err, "the retention sweep failed; trying again later"),
                }
            }
            match self.run_once(&stop).await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(err) => tracing::warn!(error = %err, "the outbox could not be read; trying again shortly"),
            }
            tokio::select! {
                () = self.wake.notified() => {}
                () = tokio::time::sleep(POLL) => {}
                _ = stop.changed() => {}
            }
        }
        // Nothing is in hand now; a lease still held (an outcome that could not be recorded) is
        // given back rather than left to run out.
        match outbox::release_held(&self.db, &self.owner).await {
            Ok(0) => {}
            Ok(released) => tracing::info!(released, "gave back leased messages on shutdown"),
            Err(err) => tracing::warn!(error = %err, "leases could not be given back; they will run out"),
        }
        tracing::info!(owner = %self.owner, "notifications worker stopped");
    }

    /// Claims one batch and delivers its messages side by side (each SMTP exchange waits on the
    /// network; lettre pools connections), keeping their leases while it does; returns how many
    /// were claimed. Once `stop` turns true, messages not yet started are given back.
    pub async fn run_once(&self, stop: &watch::Receiver<bool>) -> DomainResult<usize> {
        let claimed_at = tokio::time::Instant::now();
        let rows = outbox::claim(&self.db, "email", &self.owner, BATCH, self.lease).await?;
        let claimed = rows.len();
        let ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
        let sending = futures_util::stream::iter(rows)
            .map(move |row| async move {
                if *stop.borrow() {
                    return Some(row.id);
                }
                self.deliver(&row).await;
                None
            })
            .buffer_unordered(CONCURRENT_SENDS)
            .filter_map(|unsent| async move { unsent })
            .collect::<Vec<i64>>();
        let unsent = self.keeping_leases(&ids, claimed_at, sending).await;
        if !unsent.is_empty() {
            let released = outbox::release(&self.db, &unsent, &self.owner).await?;
            tracing::info!(released, "gave back unsent messages on shutdown");
        }
        Ok(claimed)
    }

    /// Runs `work` while renewing this worker's leases on `ids` (claimed at `claimed_at`) every
    /// third of a lease: a claim whose sending outlasts one lease (a slow SMTP server, a loaded
    /// machine) is not claimed and sent again by another worker. A worker that stops renewing (it
    /// died, or cannot reach the database) lets its leases run out, and so does a claim still in
    /// hand after twice [`mail::SEND_TIMEOUT`], which no sound claim takes.
    async fn keeping_leases<T>(
        &self,
        ids: &[i64],
        claimed_at: tokio::time::Instant,
        work: impl Future<Output = T>,
    ) -> T {
        let every = (self.lease / 3).max(Duration::from_millis(100));
        let renewing = async {
            let mut ticks = tokio::time::interval_at(claimed_at + every, every);
            loop {
                ticks.tick().await;
                if claimed_at.elapsed() >= 2 * mail::SEND_TIMEOUT {
                    tracing::warn!(
                        claimed = ids.len(),
                        "a claim is still being sent after twice the send timeout; its leases are left to run out"
                    );
                    return;
                }
                if let Err(err) = outbox::renew(&self.db, ids, &self.owner, self.lease).await {
                    tracing::warn!(error = %err, "could not renew the leases of messages being sent");
                }
            }
        };
        let mut work = std::pin::pin!(work);
        tokio::select! {
            out = &mut work => out,
            () = renewing => work.await,
        }
    }

    async fn deliver(&self, row: &notification::Model) {
        let outcome = self.prepare(row).await;
        let result = match outcome {
            Ok(Outcome::Send(message, message_id)) => {
                match self
                    .mailer
                    .send(&message, &format!("{:010}-{}", row.id, row.kind))
                    .await
                {
                    Ok(()) => match outbox::mark_sent(&self.db, row.id, &self.owner, &message_id).await {
                        Ok(true) => Ok(()),
                        Ok(false) => {
                            tracing::warn!(id = row.id, "sent, but the lease had run out; it may be sent again");
                            Ok(())
                        }
                        Err(e) => Err(e),
                    },
                    Err(error) => {
                        tracing::warn!(id = row.id, attempts = row.attempts, %error, "sending failed");
                        outbox::mark_failed(&self.db, row, &self.owner, &error, self.max_attempts, self.retry_base)
                            .await
                    }
                }
            }
            Ok(Outcome::Withdraw(reason)) => outbox::withdraw(&self.db, row.id, &self.owner, &reason).await,
            Err(err) => {
                let error = format!("the message could not be written: {err}");
                outbox::mark_failed(&self.db, row, &self.owner, &error, self.max_attempts, self.retry_base).await
            }
        };
        if let Err(err) = result {
            tracing::warn!(id = row.id, error = %err, "the outcome could not be recorded; the lease will run out and it will be tried again");
        }
    }

    /// Reads what the message is about, as it is now, and writes it — or says why it no longer
    /// applies (the booking was cancelled since, the person turned email off, ...).
    async fn prepare(&self, row: &notification::Model) -> DomainResult<Outcome> {
        let withdraw = |why: &str| Ok(Outcome::Withdraw(why.to_owned()));
        let Some(kind) = Kind::parse(&row.kind) else {
            return withdraw("an unknown kind of message");
        };
        let Some(subject) = outbox::subject_of(&self.db, row).await? else {
            return withdraw("the participant, booking or session no longer exists");
        };
        let person = &subject.person;
        let Some(email) = person.email.clone().filter(|_| person.erased_at.is_none()) else {
            return withdraw("the participant has no email address");
        };
        if !person.notify_email && !matches!(kind, Kind::LinkCode | Kind::SignInLink) {
            return withdraw("the participant turned email off");
        }
        if let Some((b, s, _)) = &subject.booking
            && let Some(reason) = self.superseded(kind, b, s).await?
        {
            return withdraw(&reason);
        }
        let mut sequence = 0;
        if let Some((_, s, _)) = &subject.booking
            && matches!(
                kind,
                Kind::BookingConfirmed
                    | Kind::BookingPromoted
                    | Kind::SessionChanged
                    | Kind::BookingCancelled
                    | Kind::SessionCancelled
            )
        {
            sequence = outbox::next_sequence(&self.db, person.id, s.id, s.revision).await?;
        }
        let letter = mail::compose(kind, &About::of(&subject, &row.payload, sequence, &self.site));
        let message_id = format!("<notification-{}.{}@{}>", row.id, row.kind, self.site.host);
        let message = mail::build(&letter, &self.site, &person.name, &email, &message_id).map_err(|e| {
            DomainError::Unprocessable {
                code: "unsendable",
                detail: e,
                field: None,
            }
        })?;
        Ok(Outcome::Send(Box::new(message), message_id))
    }

    /// Why a message about a booking no longer applies, if it does not.
    async fn superseded(&self, kind: Kind, b: &booking::Model, s: &session::Model) -> DomainResult<Option<String>> {
        let reason = match kind {
            Kind::BookingConfirmed | Kind::BookingPromoted | Kind::SessionChanged if b.status != "confirmed" => {
                Some("the booking is no longer confirmed")
            }
            Kind::BookingWaitlisted if b.status != "waitlisted" => Some("the booking is no longer on the waitlist"),
            Kind::Reminder if b.status != "confirmed" || s.status != "scheduled" => {
                Some("the booking is no longer confirmed")
            }
            Kind::Reminder if s.starts_at <= Utc::now() => Some("the session has started"),
            Kind::BookingCancelled => {
                let again = booking::Entity::find()
                    .filter(booking::Column::SessionId.eq(s.id))
                    .filter(booking::Column::ParticipantId.eq(b.participant_id))
                    .filter(booking::Column::Status.eq("confirmed"))
                    .one(&self.db)
                    .await?;
                again.map(|_| "the participant booked the session again")
            }
            _ => None,
        };
        Ok(reason.map(str::to_owned))
    }
}
