//! The notifications worker: claims due email messages from the outbox, writes and sends them,
//! and records the outcome. It runs inside `convene-api serve` and alone as `convene-api worker`;
//! any number may run against one PostgreSQL database.
//!
//! It yields to requests: it works in batches (a claim, the batch's reads, its calendar
//! sequences and its marking sent are a statement each, none open while anything is sent; see
//! `domain::notification` for where its locks are), a wake-up from a request lets messages
//! gather for [`GATHER`] before it claims, while requests saturate the service it rests
//! [`YIELD`] between batches, and in `serve` it runs on a thread of its own at a lower CPU
//! priority (`startup`), on a pool of its own.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::state::{BookingStatus, SessionStatus};
use entity::{booking, notification, session};
use futures_util::StreamExt as _;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use tokio::sync::{Notify, watch};

use crate::clock::Clock;
use crate::config::Settings;
use crate::db;
use crate::domain::feed::FeedSite;
use crate::domain::notification as outbox;
use crate::domain::outbox::Kind;
use crate::domain::{DomainError, DomainResult};
use crate::domain::{personal_data, survey};
use crate::mail::{self, About, Mailer};
use crate::metrics::Metrics;
use crate::problem_code::ProblemCode;

/// Messages claimed at a time, and sent side by side (each over its own pooled SMTP connection).
pub const BATCH: u64 = 20;
/// Messages of a batch sent at once.
const CONCURRENT_SENDS: usize = BATCH as usize;
/// How often the outbox is looked at when nothing wakes the worker.
pub const POLL: Duration = Duration::from_secs(1);
/// How long messages gather after a request woke the worker, before it claims them: during a
/// burst of bookings, a claim per batch instead of one per booking. Mail lags by this much.
pub const GATHER: Duration = Duration::from_millis(100);

/// While at least this many requests are being answered (the HTTP side is saturated: at 200
/// bookings a second about one is), the worker rests up to [`YIELD`] after each batch.
const BUSY_REQUESTS: usize = 8;
/// The longest the worker rests after a batch while requests saturate the service: it then sends
/// about a batch a second (20 messages), so that the cores, the database and the relay serve
/// requests first. The rest ends as soon as the requests thin out (looked at every
/// [`YIELD_STEP`]), and the backlog then drains at full speed: a burst's mail lags it by seconds.
/// (A rest of 300 ms, about 60 messages a second, still cost a saturated closed loop up to a
/// third of its bookings on a 2-core machine: the README's opening-morning figures.)
const YIELD: Duration = Duration::from_secs(1);
/// How often a resting worker looks whether requests still saturate the service.
const YIELD_STEP: Duration = Duration::from_millis(50);

/// How many requests this process is answering now, counted by the HTTP middleware, so that the
/// worker beside them can give way.
#[derive(Default)]
pub struct RequestLoad(std::sync::atomic::AtomicUsize);

impl RequestLoad {
    /// Counts a request until the guard is dropped (after its answer, or if it is abandoned).
    pub fn begin(self: &Arc<Self>) -> InFlight {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        InFlight(self.clone())
    }

    /// Whether requests are saturating the service.
    fn busy(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::Relaxed) >= BUSY_REQUESTS
    }
}

/// A request being answered (see [`RequestLoad::begin`]).
pub struct InFlight(Arc<RequestLoad>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.0.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

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
    metrics: Arc<Metrics>,
    load: Arc<RequestLoad>,
    clock: Clock,
}

/// What to do with a claimed message.
enum Outcome {
    Send(Box<lettre::Message>),
    Withdraw(String),
}

/// How sending a message went.
enum Sent {
    Yes,
    Failed(String),
    /// The worker was stopping before it began.
    NotStarted,
}

impl Worker {
    /// A worker sending through the configured mailer; `wake` lets this process's writes start it
    /// at once.
    pub fn new(
        db: DatabaseConnection,
        settings: &Settings,
        site: FeedSite,
        wake: Arc<Notify>,
        metrics: Arc<Metrics>,
        load: Arc<RequestLoad>,
        clock: Clock,
    ) -> Result<Self, String> {
        let mailer = Mailer::from_settings(settings, CONCURRENT_SENDS as u32)?;
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
            metrics,
            load,
            clock,
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
            // Stopped, or the server that would say so is gone (a test's runtime that ended).
            if *stop.borrow() || stop.has_changed().is_err() {
                break;
            }
            if tokio::time::Instant::now() >= next_sweep {
                next_sweep = tokio::time::Instant::now() + SURVEY_SWEEP;
                match survey::sweep(&self.db, &self.site.public_url, self.clock.now()).await {
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
                match personal_data::sweep(&self.db, self.retention_days, self.clock.now()).await {
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
                Ok(n) if n > 0 && self.load.busy() => {
                    self.rest_while_busy(&mut stop).await;
                    continue;
                }
                Ok(n) if n == BATCH as usize => continue,
                Ok(_) => {}
                Err(err) => tracing::warn!(error = %err, "the outbox could not be read; trying again shortly"),
            }
            tokio::select! {
                () = self.wake.notified() => {
                    // Let the burst that woke us gather into one claim.
                    tokio::select! {
                        () = tokio::time::sleep(GATHER) => {}
                        _ = stop.changed() => {}
                    }
                }
                () = tokio::time::sleep(POLL) => {}
                _ = stop.changed() => {}
            }
        }
        // Nothing is in hand now; a lease still held (an outcome that could not be recorded) is
        // given back rather than left to run out.
        match outbox::release_held(&self.db, &self.owner, self.clock.now()).await {
            Ok(0) => {}
            Ok(released) => tracing::info!(released, "gave back leased messages on shutdown"),
            Err(err) => tracing::warn!(error = %err, "leases could not be given back; they will run out"),
        }
        tracing::info!(owner = %self.owner, "notifications worker stopped");
    }

    /// Rests up to [`YIELD`] while requests saturate the service, or until `stop` turns true.
    async fn rest_while_busy(&self, stop: &mut watch::Receiver<bool>) {
        let until = tokio::time::Instant::now() + YIELD;
        while self.load.busy() && tokio::time::Instant::now() < until {
            tokio::select! {
                () = tokio::time::sleep(YIELD_STEP) => {}
                _ = stop.changed() => return,
            }
        }
    }

    /// Claims one batch and delivers it: the batch's subjects, calendar sequences and marks are
    /// read and written a statement each for the whole batch, its messages sent side by side
    /// (each SMTP exchange waits on the network; lettre pools connections), keeping their leases
    /// while it does; returns how many were claimed. Once `stop` turns true, messages not yet
    /// started are given back. No statement is open while anything is sent.
    pub async fn run_once(&self, stop: &watch::Receiver<bool>) -> DomainResult<usize> {
        let claimed_at = tokio::time::Instant::now();
        let rows = {
            let _turn = db::write_turn(&self.db).await?;
            outbox::claim(&self.db, "email", &self.owner, BATCH, self.lease, self.clock.now()).await?
        };
        let claimed = rows.len();
        if claimed == 0 {
            return Ok(0);
        }
        let ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
        let delivering = self.deliver_batch(rows, stop);
        self.keeping_leases(&ids, claimed_at, delivering).await?;
        Ok(claimed)
    }

    /// Writes, sends and records one claimed batch.
    async fn deliver_batch(&self, rows: Vec<notification::Model>, stop: &watch::Receiver<bool>) -> DomainResult<()> {
        let prepared = match self.prepare(&rows).await {
            Ok(prepared) => prepared,
            Err(err) => {
                // The batch's reads failed (the database is away): give the claim back for
                // later; if even that fails, its leases run out.
                let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
                let _turn = db::write_turn(&self.db).await?;
                outbox::release(&self.db, &ids, &self.owner, self.clock.now()).await?;
                return Err(err);
            }
        };
        let mut sends = Vec::with_capacity(prepared.len());
        for (row, outcome) in prepared {
            match outcome {
                Ok(Outcome::Send(message)) => sends.push((row, message)),
                Ok(Outcome::Withdraw(reason)) => {
                    let _turn = db::write_turn(&self.db).await?;
                    outbox::withdraw(&self.db, row.id, &self.owner, &reason, self.clock.now()).await?;
                }
                Err(err) => {
                    self.metrics.message_failed("email", &row.kind);
                    let error = format!("the message could not be written: {err}");
                    let _turn = db::write_turn(&self.db).await?;
                    outbox::mark_failed(
                        &self.db,
                        &row,
                        &self.owner,
                        &error,
                        self.max_attempts,
                        self.retry_base,
                        self.clock.now(),
                    )
                    .await?;
                }
            }
        }
        let results: Vec<(notification::Model, Sent)> = futures_util::stream::iter(sends)
            .map(|(row, message)| async move {
                if *stop.borrow() {
                    return (row, Sent::NotStarted);
                }
                let name = format!("{:010}-{}", row.id, row.kind);
                match self.mailer.send(&message, &name).await {
                    Ok(()) => (row, Sent::Yes),
                    Err(error) => (row, Sent::Failed(error)),
                }
            })
            .buffer_unordered(CONCURRENT_SENDS)
            .collect()
            .await;
        let (mut sent, mut unsent) = (Vec::new(), Vec::new());
        for (row, result) in &results {
            match result {
                Sent::Yes => sent.push(row.id),
                Sent::NotStarted => unsent.push(row.id),
                Sent::Failed(_) => {}
            }
        }
        if !sent.is_empty() {
            let marked = {
                let _turn = db::write_turn(&self.db).await?;
                outbox::mark_sent_many(&self.db, &sent, &self.owner, &self.site.host, self.clock.now()).await?
            };
            if marked < sent.len() as u64 {
                tracing::warn!(
                    sent = sent.len(),
                    marked,
                    "sent, but some leases had run out; those may be sent again"
                );
            }
        }
        for (row, result) in &results {
            match result {
                Sent::Yes => self.metrics.message_sent("email", &row.kind),
                Sent::Failed(error) => {
                    self.metrics.message_failed("email", &row.kind);
                    tracing::warn!(id = row.id, attempts = row.attempts, %error, "sending failed");
                    let _turn = db::write_turn(&self.db).await?;
                    outbox::mark_failed(
                        &self.db,
                        row,
                        &self.owner,
                        error,
                        self.max_attempts,
                        self.retry_base,
                        self.clock.now(),
                    )
                    .await?;
                }
                Sent::NotStarted => {}
            }
        }
        if !unsent.is_empty() {
            let _turn = db::write_turn(&self.db).await?;
            let released = outbox::release(&self.db, &unsent, &self.owner, self.clock.now()).await?;
            tracing::info!(released, "gave back unsent messages on shutdown");
        }
        Ok(())
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
                let renewed = async {
                    let _turn = db::write_turn(&self.db).await?;
                    outbox::renew(&self.db, ids, &self.owner, self.lease, self.clock.now()).await
                };
                if let Err(err) = renewed.await {
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

    /// Reads what each message of a batch is about, as it is now (three statements for the
    /// batch), takes the calendar sequences it needs (one more), and writes each message — or
    /// says why it no longer applies (the booking was cancelled since, the person turned email
    /// off, ...). An `Err` for a message that cannot be written; the batch's own `Err` when the
    /// database cannot be read.
    async fn prepare(
        &self,
        rows: &[notification::Model],
    ) -> DomainResult<Vec<(notification::Model, DomainResult<Outcome>)>> {
        let subjects = outbox::subjects_of(&self.db, rows).await?;
        let booked_again = self.booked_again(rows, &subjects).await?;
        let now = self.clock.now();
        // First what applies, and the sequences those about a booking's invitation need.
        let mut decided = Vec::with_capacity(rows.len());
        let mut wanted = Vec::new();
        for row in rows {
            let decision = decide(row, subjects.get(&row.id), &booked_again, now);
            if let Decision::Send {
                sequence: Some(key), ..
            } = &decision
            {
                wanted.push(*key);
            }
            decided.push((row.clone(), decision));
        }
        let mut sequences = if wanted.is_empty() {
            Vec::new()
        } else {
            let _turn = db::write_turn(&self.db).await?;
            outbox::next_sequences(&self.db, &wanted, self.clock.now()).await?
        }
        .into_iter();
        let mut prepared = Vec::with_capacity(decided.len());
        for (row, decision) in decided {
            let outcome = match decision {
                Decision::Withdraw(reason) => Ok(Outcome::Withdraw(reason.to_owned())),
                Decision::Send { kind, email, sequence } => {
                    let sequence = if sequence.is_some() {
                        sequences.next().unwrap_or_default()
                    } else {
                        0
                    };
                    self.write(&row, kind, subjects.get(&row.id), &email, sequence)
                }
            };
            prepared.push((row, outcome));
        }
        Ok(prepared)
    }

    /// Writes one message.
    fn write(
        &self,
        row: &notification::Model,
        kind: Kind,
        subject: Option<&outbox::Subject>,
        email: &str,
        sequence: i32,
    ) -> DomainResult<Outcome> {
        let Some(subject) = subject else {
            return Ok(Outcome::Withdraw(
                "the participant, booking or session no longer exists".to_owned(),
            ));
        };
        let letter = mail::compose(
            kind,
            &About::of(subject, &row.payload, sequence, &self.site, self.clock.now()),
        );
        let message_id = outbox::message_id(row.id, &row.kind, &self.site.host);
        let message = mail::build(&letter, &self.site, &subject.person.name, email, &message_id).map_err(|e| {
            DomainError::Unprocessable {
                code: ProblemCode::Unsendable,
                detail: e,
                field: None,
            }
        })?;
        Ok(Outcome::Send(Box::new(message)))
    }

    /// The `(participant, session)` pairs of the batch's cancellation messages whose person has
    /// booked the session again since (one statement, none without such messages).
    async fn booked_again(
        &self,
        rows: &[notification::Model],
        subjects: &HashMap<i64, outbox::Subject>,
    ) -> DomainResult<HashSet<(i64, i64)>> {
        let pairs: Vec<(i64, i64)> = rows
            .iter()
            .filter(|row| row.kind == Kind::BookingCancelled.as_str())
            .filter_map(|row| subjects.get(&row.id)?.booking.as_ref())
            .map(|(b, s, _)| (b.participant_id, s.id))
            .collect();
        if pairs.is_empty() {
            return Ok(HashSet::new());
        }
        let again = booking::Entity::find()
            .filter(booking::Column::SessionId.is_in(pairs.iter().map(|p| p.1)))
            .filter(booking::Column::ParticipantId.is_in(pairs.iter().map(|p| p.0)))
            .filter(booking::Column::Status.eq(BookingStatus::Confirmed))
            .all(&self.db)
            .await?;
        Ok(again.into_iter().map(|b| (b.participant_id, b.session_id)).collect())
    }
}

/// What to do with a claimed message, decided from what it is about.
enum Decision {
    /// Withdraw it, for this reason.
    Withdraw(&'static str),
    /// Write and send it to `email`; `sequence` names the `(participant, session, revision)`
    /// whose next calendar sequence its invitation carries.
    Send {
        kind: Kind,
        email: String,
        sequence: Option<(i64, i64, i32)>,
    },
}

/// Whether a message still applies, as its subject is now.
fn decide(
    row: &notification::Model,
    subject: Option<&outbox::Subject>,
    booked_again: &HashSet<(i64, i64)>,
    now: DateTime<Utc>,
) -> Decision {
    let Some(kind) = Kind::parse(&row.kind) else {
        return Decision::Withdraw("an unknown kind of message");
    };
    let Some(subject) = subject else {
        return Decision::Withdraw("the participant, booking or session no longer exists");
    };
    let person = &subject.person;
    let Some(email) = person.email.clone().filter(|_| person.erased_at.is_none()) else {
        return Decision::Withdraw("the participant has no email address");
    };
    if !person.notify_email && !matches!(kind, Kind::LinkCode | Kind::SignInLink) {
        return Decision::Withdraw("the participant turned email off");
    }
    if kind == Kind::Announcement && !person.announcements {
        return Decision::Withdraw(crate::domain::announcement::UNSUBSCRIBED);
    }
    let mut sequence = None;
    if let Some((b, s, _)) = &subject.booking {
        if let Some(reason) = superseded(kind, b, s, booked_again, now) {
            return Decision::Withdraw(reason);
        }
        if matches!(
            kind,
            Kind::BookingConfirmed
                | Kind::BookingPromoted
                | Kind::SessionChanged
                | Kind::BookingCancelled
                | Kind::SessionCancelled
        ) {
            sequence = Some((person.id, s.id, s.revision));
        }
    }
    Decision::Send { kind, email, sequence }
}

/// Why a message about a booking no longer applies, if it does not.
fn superseded(
    kind: Kind,
    b: &booking::Model,
    s: &session::Model,
    booked_again: &HashSet<(i64, i64)>,
    now: DateTime<Utc>,
) -> Option<&'static str> {
    match kind {
        Kind::BookingConfirmed | Kind::BookingPromoted | Kind::SessionChanged
            if b.status != BookingStatus::Confirmed =>
        {
            Some("the booking is no longer confirmed")
        }
        Kind::BookingWaitlisted if b.status != BookingStatus::Waitlisted => {
            Some("the booking is no longer on the waitlist")
        }
        Kind::Reminder if b.status != BookingStatus::Confirmed || s.status != SessionStatus::Scheduled => {
            Some("the booking is no longer confirmed")
        }
        Kind::Reminder if s.starts_at <= now => Some("the session has started"),
        Kind::BookingCancelled if booked_again.contains(&(b.participant_id, s.id)) => {
            Some("the participant booked the session again")
        }
        _ => None,
    }
}
