//! `convene-api demo`: fills an empty database with a small, believable network so a new
//! organiser can try everything at once — 24 schools across six London local authorities, their
//! leaders and teachers, a conference with parallel workshops, Sharing Leading Practice sessions
//! led by accredited schools, a Growing the Top triad cohort with proposed and accepted triads
//! and scheduled visits, and last term's conference with its register taken, a follow-up survey
//! and some answers and reflections. The six authorities' term dates are loaded first (London's
//! usual pattern), so that no session or visit falls in a school holiday or on a bank holiday.
//!
//! Everything still to come goes through the same domain functions as the API (same rules, same
//! invitations and reminders queued). Last term's conference is history: its rows are written
//! directly, since no rule lets anyone book a session that has already happened.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike as _, Days, NaiveDate, TimeZone as _, Utc, Weekday};
use entity::state::{BookingStatus, EventStatus, SessionStatus};
use entity::{booking, event, participant, school, session, survey_invitation};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
};
use serde_json::{Value, json};

use crate::domain::audit::{Actor, Change};
use crate::domain::booking::BookingInput;
use crate::domain::closure::{self, ClosuresInput};
use crate::domain::cohort::{self, CohortInput, SolveRequest, TriadEdit, TriadsInput};
use crate::domain::feed::FeedSite;
use crate::domain::keys::{self, KeyRole};
use crate::domain::reflection::ReflectionText;
use crate::domain::{
    DomainError, DomainResult, closed_days, event as events, feed, participant as people, programme,
    school as schools,
};
use crate::domain::{booking as bookings, session as sessions, survey};
use crate::problem_code::ProblemCode;

/// The demo network's coordinator, who signs in to the organiser console: name and address.
pub const DEMO_COORDINATOR: (&str, &str) = ("Morgan Ellis", "coordinator@network.example.org");

/// What the demo made, for the organiser to try.
#[derive(Debug)]
pub struct Demo {
    /// A new organiser key (shown once).
    pub key: String,
    /// The key's name.
    pub key_name: String,
    /// Counts of what was made, by kind.
    pub counts: BTreeMap<&'static str, usize>,
    /// A head teacher's private calendar feed.
    pub feed_url: String,
    /// A survey invitation's form, not yet answered.
    pub survey_url: String,
    /// The triad cohort's id.
    pub cohort_id: i64,
    /// The upcoming conference's id.
    pub conference_id: i64,
    /// A sign-in link to the organiser console for the demo's coordinator (works once, for 30
    /// minutes).
    pub console_url: String,
}

/// A demo school: local authority, name, phase, strengths, priorities, accredited practice.
type DemoSchool = (
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
    &'static [&'static str],
);

/// The demo's schools, four in each of six local authorities.
const SCHOOLS: [DemoSchool; 24] = [
    (
        "Camden",
        "Brecknock Primary School",
        "primary",
        &["reading", "oracy"],
        &["maths", "attendance"],
        &["reading"],
    ),
    (
        "Camden",
        "Fleet Primary School",
        "primary",
        &["early years", "send"],
        &["writing", "behaviour"],
        &[],
    ),
    (
        "Camden",
        "Haverstock School",
        "secondary",
        &["curriculum", "leadership"],
        &["attendance", "science"],
        &["curriculum"],
    ),
    (
        "Camden",
        "Richard Cobden Primary School",
        "primary",
        &["maths", "assessment"],
        &["oracy", "send"],
        &[],
    ),
    (
        "Hackney",
        "Shacklewell Primary School",
        "primary",
        &["writing", "attendance"],
        &["reading", "early years"],
        &[],
    ),
    (
        "Hackney",
        "Gayhurst Community School",
        "primary",
        &["oracy", "curriculum"],
        &["maths", "assessment"],
        &["oracy"],
    ),
    (
        "Hackney",
        "Clapton Girls' Academy",
        "secondary",
        &["behaviour", "science"],
        &["reading", "leadership"],
        &[],
    ),
    (
        "Hackney",
        "Sebright Primary School",
        "primary",
        &["maths", "behaviour"],
        &["writing", "send"],
        &["maths"],
    ),
    (
        "Islington",
        "Ambler Primary School",
        "primary",
        &["send", "assessment"],
        &["oracy", "attendance"],
        &[],
    ),
    (
        "Islington",
        "Hargrave Park School",
        "primary",
        &["reading", "writing"],
        &["behaviour", "maths"],
        &[],
    ),
    (
        "Islington",
        "Highbury Grove School",
        "secondary",
        &["attendance", "assessment"],
        &["curriculum", "send"],
        &[],
    ),
    (
        "Islington",
        "Pooles Park Primary School",
        "primary",
        &["early years", "maths"],
        &["reading", "curriculum"],
        &["early years"],
    ),
    (
        "Lambeth",
        "Jessop Primary School",
        "primary",
        &["behaviour", "oracy"],
        &["assessment", "early years"],
        &[],
    ),
    (
        "Lambeth",
        "Sudbourne Primary School",
        "primary",
        &["curriculum", "reading"],
        &["send", "writing"],
        &["curriculum"],
    ),
    (
        "Lambeth",
        "Lilian Baylis Technology School",
        "secondary",
        &["science", "leadership"],
        &["behaviour", "attendance"],
        &[],
    ),
    (
        "Lambeth",
        "Kingswood Primary School",
        "primary",
        &["attendance", "writing"],
        &["maths", "oracy"],
        &[],
    ),
    (
        "Southwark",
        "Charlotte Sharman Primary School",
        "primary",
        &["maths", "send"],
        &["reading", "behaviour"],
        &[],
    ),
    (
        "Southwark",
        "Goose Green Primary School",
        "primary",
        &["assessment", "early years"],
        &["writing", "attendance"],
        &[],
    ),
    (
        "Southwark",
        "Harris Academy Peckham",
        "secondary",
        &["behaviour", "curriculum"],
        &["science", "send"],
        &["behaviour"],
    ),
    (
        "Southwark",
        "Ivydale Primary School",
        "primary",
        &["writing", "oracy"],
        &["early years", "maths"],
        &[],
    ),
    (
        "Newham",
        "Star Primary School",
        "primary",
        &["reading", "attendance"],
        &["assessment", "send"],
        &["reading"],
    ),
    (
        "Newham",
        "Kensington Primary School",
        "primary",
        &["send", "behaviour"],
        &["curriculum", "oracy"],
        &[],
    ),
    (
        "Newham",
        "Lister Community School",
        "secondary",
        &["leadership", "attendance"],
        &["maths", "reading"],
        &[],
    ),
    (
        "Newham",
        "Curwen Primary School",
        "primary",
        &["maths", "curriculum"],
        &["writing", "early years"],
        &[],
    ),
];

const FIRST_NAMES: [&str; 24] = [
    "Ann", "Ben", "Chidi", "Dalia", "Ewan", "Farah", "Grace", "Hassan", "Ines", "Jamal", "Kate", "Leon", "Maya",
    "Nikhil", "Olu", "Priya", "Quinn", "Rosa", "Sami", "Tara", "Uma", "Victor", "Wen", "Yusuf",
];
const LAST_NAMES: [&str; 3] = ["Adeyemi", "Brennan", "Chowdhury"];

fn input<T: serde::de::DeserializeOwned>(value: Value) -> DomainResult<T> {
    serde_json::from_value(value).map_err(|e| DomainError::Database(sea_orm::DbErr::Custom(format!("demo input: {e}"))))
}

fn slug(name: &str) -> String {
    name.split_whitespace()
        .next()
        .unwrap_or("school")
        .to_lowercase()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect()
}

/// The next `weekday` on or after `from`.
fn next(from: NaiveDate, weekday: Weekday) -> NaiveDate {
    let ahead = (7 + weekday.num_days_from_monday() - from.weekday().num_days_from_monday()) % 7;
    from + Days::new(u64::from(ahead))
}

/// The Monday on or after `from`.
fn monday_from(from: NaiveDate) -> NaiveDate {
    next(from, Weekday::Mon)
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN)
}

/// The term dates London's boroughs publish, in their usual pattern, for the school year that
/// starts in September of `year`: an INSET day to open it, autumn half term (the week of October's
/// last Friday), two weeks at Christmas, spring half term (mid-February), Easter (Holy Week and
/// Easter week), summer half term (the week of the spring bank holiday) and the summer holiday.
fn london_term_dates(year: i32) -> Value {
    let y = year;
    let october_last_friday = (1..=31)
        .rev()
        .map(|d| date(y, 10, d))
        .find(|d| d.weekday() == Weekday::Fri)
        .unwrap_or(NaiveDate::MIN);
    let half_term = october_last_friday - Days::new(4);
    let christmas = monday_from(date(y, 12, 20));
    let february = monday_from(date(y + 1, 2, 13));
    let easter = easter_sunday(y + 1).unwrap_or(NaiveDate::MIN);
    let holy_week = easter - Days::new(6);
    let may_last_monday = (1..=31)
        .rev()
        .map(|d| date(y + 1, 5, d))
        .find(|d| d.weekday() == Weekday::Mon)
        .unwrap_or(NaiveDate::MIN);
    let first_weekday = (1..=7)
        .map(|d| date(y, 9, d))
        .find(|d| d.weekday().num_days_from_monday() < 5)
        .unwrap_or(NaiveDate::MIN);
    let range = |start: NaiveDate, end: NaiveDate, kind: &str, summary: &str| {
        json!({"start_date": start, "end_date": end, "kind": kind, "summary": summary})
    };
    json!({"closures": [
        range(first_weekday, first_weekday, "inset", "INSET day"),
        range(half_term, half_term + Days::new(4), "holiday", "Autumn half term"),
        range(christmas, christmas + Days::new(11), "holiday", "Christmas holiday"),
        range(february, february + Days::new(4), "holiday", "Spring half term"),
        range(holy_week, holy_week + Days::new(11), "holiday", "Easter holiday"),
        range(may_last_monday, may_last_monday + Days::new(4), "holiday", "Summer half term"),
        range(date(y + 1, 7, 22), date(y + 1, 8, 31), "holiday", "Summer holiday"),
    ]})
}

/// Easter Sunday of `year` (Gregorian).
fn easter_sunday(year: i32) -> Option<NaiveDate> {
    let a = year % 19;
    let (b, c) = (year / 100, year % 100);
    let (d, e) = (b / 4, b % 4);
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let (i, k) = (c / 4, c % 4);
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, u32::try_from(month).ok()?, u32::try_from(day).ok()?)
}

/// The first `weekday` at or after `from` (or, `back`, at or before it) that is not in `closed`
/// nor in `taken`, a week at a time.
fn open_day(closed: &BTreeSet<NaiveDate>, taken: &[NaiveDate], from: NaiveDate, weekday: Weekday, back: bool) -> NaiveDate {
    let mut day = next(from, weekday);
    if back && day > from {
        day = day - Days::new(7);
    }
    for _ in 0..52 {
        if !closed.contains(&day) && !taken.contains(&day) {
            return day;
        }
        day = if back { day - Days::new(7) } else { day + Days::new(7) };
    }
    day
}

fn london(date: NaiveDate, hour: u32, minute: u32) -> DateTime<Utc> {
    let local = date.and_hms_opt(hour, minute, 0).unwrap_or_default();
    chrono_tz::Europe::London
        .from_local_datetime(&local)
        .earliest()
        .map_or_else(|| Utc.from_utc_datetime(&local), |t| t.with_timezone(&Utc))
}

/// Fills an empty database with the demo network and makes an organiser key. Refuses (a
/// `409 not_empty`) when the database already holds schools.
pub async fn fill(db: &DatabaseConnection, site: &FeedSite, now: DateTime<Utc>) -> DomainResult<Demo> {
    let today = now.date_naive();
    let change = Change::new(Actor::system("demo"), now);
    let existing = school::Entity::find().count(db).await?;
    if existing > 0 {
        return Err(DomainError::conflict(
            ProblemCode::NotEmpty,
            format!("the database already holds {existing} schools; the demo fills only an empty database"),
            None,
        ));
    }
    let mut counts = BTreeMap::new();

    // Schools and people: a head, a senior leader and a teacher at each school.
    let mut school_ids = Vec::new();
    let mut heads = Vec::new();
    let mut leaders = Vec::new();
    let mut teachers = Vec::new();
    for (i, (la, name, phase, strengths, priorities, accredited)) in SCHOOLS.iter().enumerate() {
        let s = schools::create(
            db,
            input(
                json!({"name": name, "urn": format!("{}", 100_101 + i * 7), "local_authority": la,
                "region": "London", "phase": phase, "strengths": strengths, "priorities": priorities,
                "accredited_practice": accredited}),
            )?,
            now,
        )
        .await?;
        school_ids.push(s.id);
        let domain = format!("{}.example.org", slug(name));
        for (role, list) in [
            ("head", &mut heads),
            ("senior_leader", &mut leaders),
            ("teacher", &mut teachers),
        ] {
            let k = list.len();
            let first = FIRST_NAMES[(i + k * 7) % FIRST_NAMES.len()];
            let last = LAST_NAMES[(i + k) % LAST_NAMES.len()];
            let p = people::create(
                db,
                input(json!({"name": format!("{first} {last}"),
                    "email": format!("{}.{}.{role}@{domain}", first.to_lowercase(), last.to_lowercase()),
                    "school_id": s.id, "role": role}))?,
                now,
            )
            .await?;
            list.push(p.id);
        }
    }
    let mut facilitators = Vec::new();
    for (name, email) in [
        ("Dr Helen Marsh", "helen.marsh@facilitators.example.org"),
        ("Tom Okafor", "tom.okafor@facilitators.example.org"),
    ] {
        let p = people::create(
            db,
            input(json!({"name": name, "email": email, "role": "facilitator"}))?,
            now,
        )
        .await?;
        facilitators.push(p.id);
    }
    counts.insert("schools", school_ids.len());
    counts.insert("participants", heads.len() * 3 + facilitators.len());

    // The six authorities' term dates for last, this and next school year; then the days any
    // demo school is closed, which every date below avoids.
    let this_year = closed_days::school_year(today);
    for la in SCHOOLS.iter().map(|s| s.0).collect::<BTreeSet<_>>() {
        for year in this_year - 1..=this_year + 1 {
            let ranges = closure::check(input::<ClosuresInput>(london_term_dates(year))?)?;
            closure::import_for_authority(db, la, ranges, Vec::new(), "demo", false, &change).await?;
        }
    }
    let all_schools = school::Entity::find().all(db).await?;
    let closed: BTreeSet<NaiveDate> = closed_days::of_schools(
        db,
        &all_schools.iter().collect::<Vec<_>>(),
        today - Days::new(120),
        today + Days::new(240),
    )
    .await?
    .into_values()
    .flat_map(BTreeMap::into_keys)
    .collect();

    let conferences = programme::create(
        db,
        input(
            json!({"name": "London Leadership Network conferences", "kind": "conference_series", "status": "published",
            "description": "Termly conferences where schools share what worked."}),
        )?,
        now,
    )
    .await?;
    let slp = programme::create(
        db,
        input(
            json!({"name": "Sharing Leading Practice 2026-27", "kind": "slp_programme", "status": "published",
            "description": "Free online sessions led by schools whose practice is accredited."}),
        )?,
        now,
    )
    .await?;
    let growing = programme::create(
        db,
        input(
            json!({"name": "Growing the Top 2027", "kind": "triad_cohort", "status": "published",
            "description": "Leaders of good schools visit each other in triads, with an expert facilitator."}),
        )?,
        now,
    )
    .await?;
    counts.insert("programmes", 3);

    // The upcoming conference: a plenary and three parallel workshops, two a school at most.
    let day = open_day(&closed, &[], today + Days::new(28), Weekday::Fri, false);
    let conference = events::create(
        db,
        input(
            json!({"kind": "conference", "title": "Spring conference: closing the disadvantage gap",
            "time_zone": "Europe/London", "venue": "Haverstock School, Main Hall", "programme_id": conferences.id,
            "status": "published", "topic": "curriculum",
            "description": "Schools share what worked, then choose a workshop."}),
        )?,
        &change,
    )
    .await?;
    let plenary = sessions::create(
        db,
        conference.id,
        input(
            json!({"label": "Plenary: what the evidence says", "start": format!("{day}T09:30"),
            "end": format!("{day}T10:45"), "capacity": 120}),
        )?,
        &change,
    )
    .await?;
    let mut workshops = Vec::new();
    for (label, capacity) in [
        ("Workshop A: oracy across the curriculum", 30),
        ("Workshop B: attendance that sticks", 30),
        ("Workshop C: maths mastery in small schools", 6),
    ] {
        let w = sessions::create(
            db,
            conference.id,
            input(
                json!({"label": label, "start": format!("{day}T11:00"), "end": format!("{day}T12:30"),
                "capacity": capacity, "per_school_limit": 2}),
            )?,
            &change,
        )
        .await?;
        workshops.push(w.id);
    }
    let mut booked = 0;
    for (i, &person) in heads.iter().chain(&leaders).enumerate().take(36) {
        bookings::book(
            db,
            plenary.id,
            &BookingInput {
                participant_id: Some(person),
            },
            None,
            bookings::Booker::Organiser(None),
            &change,
        )
        .await?;
        // Workshop C is small: its first six are confirmed, the rest wait.
        let workshop = workshops[if i % 3 == 2 || i < 10 { 2 } else { i % 2 }];
        bookings::book(
            db,
            workshop,
            &BookingInput {
                participant_id: Some(person),
            },
            None,
            bookings::Booker::Organiser(None),
            &change,
        )
        .await?;
        booked += 2;
    }

    // Sharing Leading Practice: online sessions led by accredited schools, a week apart.
    let mut slp_events = 0;
    let mut slp_days = Vec::new();
    for (k, (school_index, topic, title)) in [
        (0, "reading", "Reading for pleasure in Key Stage 2"),
        (5, "oracy", "Talk partners that work"),
        (11, "early years", "Early years: the first six weeks"),
    ]
    .into_iter()
    .enumerate()
    {
        let on = open_day(&closed, &slp_days, today + Days::new(10 + 7 * k as u64), Weekday::Wed, false);
        slp_days.push(on);
        let e = events::create(
            db,
            input(
                json!({"kind": "slp_session", "title": format!("SLP: {title}"), "time_zone": "Europe/London",
                "online_url": format!("https://meet.example.org/slp-{}", slug(title)),
                "programme_id": slp.id, "host_school_id": school_ids[school_index], "topic": topic,
                "status": "published", "description": format!("Led by {}.", SCHOOLS[school_index].1)}),
            )?,
            &change,
        )
        .await?;
        let s = sessions::create(
            db,
            e.id,
            input(json!({"start": format!("{on}T16:00"), "end": format!("{on}T17:00"), "capacity": 40}))?,
            &change,
        )
        .await?;
        for &person in teachers.iter().skip(k * 5).take(8) {
            bookings::book(
                db,
                s.id,
                &BookingInput {
                    participant_id: Some(person),
                },
                None,
                bookings::Booker::Organiser(None),
                &change,
            )
            .await?;
            booked += 1;
        }
        slp_events += 1;
    }
    counts.insert("events", 1 + slp_events);

    // Growing the Top: the twelve primaries of four authorities, formed and scheduled.
    let primaries: Vec<i64> = SCHOOLS
        .iter()
        .zip(&school_ids)
        .filter(|((la, _, phase, ..), _)| *phase == "primary" && *la != "Southwark" && *la != "Newham")
        .map(|(_, id)| *id)
        .collect();
    let window_start = next(today + Days::new(14), Weekday::Mon);
    let c = cohort::create(
        db,
        CohortInput {
            name: Some("Growing the Top 2027: London primaries".to_owned()),
            programme_id: Some(growing.id),
            school_ids: Some(primaries),
            window: Some(input(
                json!({"start": window_start, "end": window_start + Days::new(60),
                "min_days_between_visits": 7}),
            )?),
            facilitators: facilitators
                .iter()
                .map(|&f| input(json!({"participant_id": f, "max_visits_per_week": 3})))
                .collect::<DomainResult<_>>()?,
            ..Default::default()
        },
        now,
    )
    .await?;
    let proposal = cohort::propose(db, c.id, &SolveRequest::default(), &change).await?;
    cohort::accept(
        db,
        c.id,
        TriadsInput {
            triads: proposal
                .triads
                .iter()
                .map(|t| TriadEdit {
                    school_ids: t.school_ids.clone(),
                    pinned: false,
                })
                .collect(),
        },
        &change,
    )
    .await?;
    let schedule = cohort::schedule(db, c.id, &SolveRequest::default(), &change).await?;
    counts.insert("triads", proposal.triads.len());
    counts.insert("visits", schedule.visits.len());

    // Last term's conference: history, with its register taken, a follow-up survey sent to
    // those who came, and some answers and reflections.
    let past_day = open_day(&closed, &[], today - Days::new(45), Weekday::Fri, true);
    let past = event::ActiveModel {
        programme_id: Set(Some(conferences.id)),
        kind: Set("conference".to_owned()),
        title: Set("Autumn conference: oracy and early reading".to_owned()),
        description: Set(Some(
            "Schools shared what worked in oracy and early reading.".to_owned(),
        )),
        venue: Set(Some("Sudbourne Primary School, Hall".to_owned())),
        online_url: Set(None),
        time_zone: Set("Europe/London".to_owned()),
        status: Set(EventStatus::Published),
        host_school_id: Set(None),
        topic: Set(Some("oracy".to_owned())),
        revision: Set(0),
        published_at: Set(Some(now)),
        cancelled_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    let (starts_at, ends_at) = (london(past_day, 9, 30), london(past_day, 15, 0));
    let attendees: Vec<i64> = heads.iter().take(16).copied().collect();
    let past_session = session::ActiveModel {
        event_id: Set(past.id),
        label: Set(None),
        starts_at: Set(starts_at),
        ends_at: Set(ends_at),
        time_zone: Set("Europe/London".to_owned()),
        capacity: Set(80),
        booked: Set(i32::try_from(attendees.len()).unwrap_or(0)),
        per_school_limit: Set(None),
        waitlist_enabled: Set(true),
        status: Set(SessionStatus::Scheduled),
        revision: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    for (i, &person) in attendees.iter().enumerate() {
        let row = participant::Entity::find_by_id(person).one(db).await?;
        booking::ActiveModel {
            session_id: Set(past_session.id),
            participant_id: Set(person),
            school_id: Set(row.and_then(|p| p.school_id)),
            status: Set(if i % 8 == 7 {
                BookingStatus::NoShow
            } else {
                BookingStatus::Attended
            }),
            waitlist_reason: Set(None),
            starts_at: Set(starts_at),
            ends_at: Set(ends_at),
            created_at: Set(now),
            updated_at: Set(now),
            confirmed_at: Set(Some(now)),
            cancelled_at: Set(None),
            ..Default::default()
        }
        .insert(db)
        .await?;
    }
    counts.insert("bookings", booked + attendees.len());

    let s = survey::create(
        db,
        input(json!({"title": "Autumn conference: what did you change?", "event_id": past.id,
            "questions": [
                {"key": "useful", "kind": "likert", "prompt": "How useful was the conference for your school?", "required": true},
                {"key": "strand", "kind": "single_choice", "prompt": "Which strand did you take back?",
                 "options": ["Oracy", "Early reading", "Both"]},
                {"key": "plan", "kind": "intended_action", "prompt": "What will you try in the next six weeks?"},
                {"key": "else", "kind": "text", "prompt": "Anything else?"}
            ]}))?,
            &change,
    )
    .await?;
    survey::send_now(db, &site.public_url, s.id, &change).await?;
    let invitations = survey_invitation::Entity::find()
        .filter(survey_invitation::Column::SurveyId.eq(s.id))
        .order_by_asc(survey_invitation::Column::Id)
        .all(db)
        .await?;
    let plans = [
        "Talk partners in every Year 3 lesson",
        "A daily story time in Reception",
        "Sentence stems on every table",
        "Phonics catch-up groups three times a week",
        "A reading buddy scheme with Year 6",
        "Oracy targets in the school improvement plan",
        "Staff CPD on questioning",
    ];
    let mut answered = 0;
    for (i, invitation) in invitations.iter().enumerate().take(plans.len()) {
        let answers = BTreeMap::from([
            ("useful".to_owned(), json!(3 + (i % 3))),
            ("strand".to_owned(), json!(["Oracy", "Early reading", "Both"][i % 3])),
            ("plan".to_owned(), json!(plans[i])),
        ]);
        survey::answer(db, &site.public_url, invitation, answers, true, now).await?;
        answered += 1;
    }
    counts.insert("survey responses", answered);
    let unanswered = invitations
        .get(answered)
        .map(|i| survey::form_url(&site.public_url, &i.token))
        .unwrap_or_default();

    for (person, tried, changed, evidence) in [
        (
            attendees[0],
            "Talk partners with sentence stems in Year 3",
            "Pupils give longer answers and more of them answer",
            "Lesson drop-ins: 80% of pupils spoke, up from about half",
        ),
        (
            attendees[1],
            "A daily story time in Reception",
            "Children ask for books to take home",
            "Library loans doubled this half term",
        ),
    ] {
        let row = participant::Entity::find_by_id(person)
            .one(db)
            .await?
            .ok_or_else(|| DomainError::not_found("participant", person))?;
        crate::domain::reflection::create(
            db,
            &row,
            ReflectionText {
                event_id: Some(past.id),
                what_tried: Some(tried.to_owned()),
                what_changed: Some(changed.to_owned()),
                evidence: Some(evidence.to_owned()),
            },
            now,
        )
        .await?;
    }
    counts.insert("reflections", 2);

    let feed = feed::rotate_token(db, site, heads[0], now).await?;
    let key_name = format!("demo-organiser-{}", now.format("%Y%m%d%H%M%S"));
    let key = keys::create(db, &key_name, KeyRole::Organiser, &change).await?;
    let (_, console_url) = crate::domain::sign_in::invite_organiser(
        db,
        &site.public_url,
        Some(DEMO_COORDINATOR.1.to_owned()),
        Some(DEMO_COORDINATOR.0.to_owned()),
        now,
    )
    .await?;
    Ok(Demo {
        console_url,
        key: key.secret,
        key_name,
        counts,
        feed_url: feed.url,
        survey_url: unanswered,
        cohort_id: c.id,
        conference_id: conference.id,
    })
}
