//! The calendar side's store and services against real databases (a fresh SQLite file, and a
//! fresh PostgreSQL database when `TEST_DATABASE_URL` is set), without HTTP: owner-scoped
//! finders, typed ids through the columns, ids and timestamps set in one place.

#[path = "api/helpers.rs"]
#[allow(dead_code, unused_imports, unused_macros)]
mod helpers;

use bookings::auth::Principal;
use bookings::clock::Clock;
use bookings::config::Cli;
use bookings::db::Writes;
use bookings::domain::availability::Interval;
use bookings::domain::availability::WorkingHours;
use bookings::domain::booking_link::{LinkSettings, Reservation, AVAILABILITY_RANGE};
use bookings::domain::calendar::{NewEvent, LIST_RANGE};
use bookings::domain::ids::{CalendarEventId, CalendarId, UserId};
use bookings::domain::input::{LinkToken, Name, TimeRange};
use bookings::domain::page::PageRequest;
use bookings::domain::reservation::{ManageKey, ManageLinks};
use bookings::entities::{booking_links, calendar_events, calendars};
use bookings::error::ServiceError;
use bookings::policy::{visibility, Visibility};
use bookings::policy::{BookingWriter, CalendarWriter};
use bookings::services::availability_cache::AvailabilityCache;
use bookings::services::booking_links::{BookingLinks, Moment};
use bookings::services::calendars::{find_owned, Calendars};
use bookings::store;
use chrono::{DateTime, Duration, TimeZone, Utc};
use clap::Parser;
use helpers::{create_pg_database, pg_url, Backend};
use sea_orm::{ActiveModelTrait, DatabaseConnection, EntityTrait, ModelTrait, Set};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// A migrated database of its own, dropped (PostgreSQL) or deleted (SQLite) with it.
struct TestDb {
    db: DatabaseConnection,
    pg: Option<(String, String)>,
    _dir: tempfile::TempDir,
}

impl TestDb {
    async fn new(backend: Backend) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (url, pg) = match backend {
            Backend::Sqlite => (format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display()), None),
            Backend::Postgres => {
                let admin = pg_url().expect("postgres tests need TEST_DATABASE_URL");
                let (url, name) = create_pg_database(&admin).await;
                (url, Some((admin, name)))
            }
        };
        let data_dir = dir.path().display().to_string();
        let args = ["bookings", "--data-dir", &data_dir, "--database-url", &url, "--jwt-secret", helpers::SECRET];
        let settings = Cli::try_parse_from(args).expect("test settings parse").settings;
        bookings::startup::connect_and_migrate(&settings).await.expect("migrate");
        let db = bookings::startup::connect(&settings).await.expect("connect");
        Self { db, pg, _dir: dir }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.pg.take() {
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                rt.block_on(async {
                    use sea_orm::{ConnectionTrait, Database};
                    if let Ok(db) = Database::connect(&admin).await {
                        let _ =
                            db.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await;
                        let _ = db.close().await;
                    }
                });
            })
            .join();
        }
    }
}

macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(super::TestDb::new(super::Backend::Sqlite).await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if super::pg_url().is_none() {
                    eprintln!("skipped: TEST_DATABASE_URL is not set");
                    return;
                }
                super::$name(super::TestDb::new(super::Backend::Postgres).await).await;
            }
        }
    )*};
}

fn user(admin: bool) -> Principal {
    let scopes = ["calendar:write", "booking:write"].map(String::from).into_iter().collect::<BTreeSet<_>>();
    Principal { user_id: UserId::new(), scopes, admin, email: None }
}

/// Ten years back: what it stamps is plainly not the system's time.
fn clock() -> Clock {
    Clock::shifted(-10 * 365 * 24 * 3600)
}

fn near(a: DateTime<Utc>, b: DateTime<Utc>) -> bool {
    (a - b).abs() < Duration::seconds(30)
}

fn name(s: &str) -> Name {
    Name::parse("name", s, 100).unwrap()
}

fn at(h: u32, m: u32) -> DateTime<Utc> {
    // Years ahead of the shifted clock: every slot is in the future.
    Utc.with_ymd_and_hms(2031, 3, 3, h, m, 0).unwrap()
}

fn every_day_nine_to_five() -> LinkSettings {
    let days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"].map(|d| (d, vec![("09:00", "17:00")]));
    LinkSettings::parse(30, 0, "UTC", WorkingHours::parse(days).unwrap(), true, Default::default()).unwrap()
}

async fn secure_find_shows_only_what_the_caller_may_see(t: TestDb) {
    let db = &t.db;
    let (owner, other, admin) = (user(false), user(false), user(true));
    let cal = store::calendars::insert(db, owner.user_id, "Mine", clock().now()).await.unwrap();
    let seen = |scope| async move { store::calendars::secure_find(scope, cal.id).one(db).await.unwrap() };
    assert_eq!(seen(visibility(&owner)).await.as_ref(), Some(&cal));
    assert_eq!(seen(visibility(&other)).await, None, "someone else's calendar is invisible");
    assert_eq!(store::calendars::find_visible(db, visibility(&other), cal.id).await.unwrap(), None);
    assert_eq!(visibility(&admin), Visibility::Everyone);
    assert_eq!(seen(visibility(&admin)).await.as_ref(), Some(&cal));
    // The use case tells someone else's (403) from missing (404), as the API answers.
    assert_eq!(find_owned(db, &owner, cal.id).await.unwrap(), cal);
    assert!(matches!(find_owned(db, &other, cal.id).await, Err(ServiceError::Denied(_))));
    assert!(matches!(find_owned(db, &owner, CalendarId::new()).await, Err(ServiceError::NotFound(_))));
    assert!(store::calendars::exists(db, cal.id).await.unwrap());
    assert!(!store::calendars::exists(db, CalendarId::new()).await.unwrap());
}

async fn typed_ids_round_trip_and_relations_hold(t: TestDb) {
    let db = &t.db;
    let owner = user(false);
    let now = clock().now();
    let cal = store::calendars::insert(db, owner.user_id, "Mine", now).await.unwrap();
    let read = calendars::Entity::find_by_id(cal.id).one(db).await.unwrap().unwrap();
    assert_eq!((read.id, read.owner_id, read.created_at), (cal.id, owner.user_id, now));
    let span = (at(10, 0).fixed_offset(), at(11, 0).fixed_offset());
    let event =
        store::calendars::insert_event(db, cal.id, &NewEvent::parse("Dentist", span.0, span.1, None).unwrap(), now)
            .await
            .unwrap();
    let read: calendar_events::Model = calendar_events::Entity::find_by_id(event.id).one(db).await.unwrap().unwrap();
    assert_eq!(read, event);
    assert_eq!(read.calendar_id, cal.id);
    let link = store::booking_links::insert(db, cal.id, stored(&every_day_nine_to_five()), now).await.unwrap();
    // Related: a calendar has many events and links; each belongs to its calendar.
    assert_eq!(cal.find_related(calendar_events::Entity).all(db).await.unwrap(), vec![event.clone()]);
    assert_eq!(cal.find_related(booking_links::Entity).all(db).await.unwrap(), vec![link.clone()]);
    assert_eq!(event.find_related(calendars::Entity).one(db).await.unwrap().as_ref(), Some(&cal));
    assert_eq!(link.find_related(calendars::Entity).one(db).await.unwrap().as_ref(), Some(&cal));
    let events = store::calendars::live_events_page(db, cal.id, range(at(0, 0), at(23, 0)), None, 10).await.unwrap();
    assert_eq!(events.iter().map(|g| g.key).collect::<Vec<CalendarEventId>>(), vec![event.id]);
    assert_eq!(events[0].events, vec![event.clone()]);
}

fn range(start: DateTime<Utc>, end: DateTime<Utc>) -> TimeRange {
    TimeRange::parse(&LIST_RANGE, start, end).unwrap()
}

fn stored(settings: &LinkSettings) -> store::booking_links::StoredSettings {
    store::booking_links::StoredSettings::of(settings)
}

async fn before_save_sets_ids_and_refuses_forgotten_timestamps(t: TestDb) {
    let db = &t.db;
    let owner = UserId::new();
    let now = clock().now();
    // No id given: one is made; one given: kept.
    let made = calendars::ActiveModel {
        owner_id: Set(owner),
        name: Set("a".into()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap();
    assert_ne!(made.id.into_uuid(), uuid::Uuid::nil());
    let given = CalendarId::new();
    let kept =
        calendars::ActiveModel { id: Set(given), owner_id: Set(owner), name: Set("b".into()), created_at: Set(now) }
            .insert(db)
            .await
            .unwrap();
    assert_eq!(kept.id, given);
    // A forgotten created_at is an error, not the system's time.
    let err = calendars::ActiveModel { owner_id: Set(owner), name: Set("c".into()), ..Default::default() }
        .insert(db)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("calendars.created_at must be set from the app's clock"), "{err}");
    let err = calendar_events::ActiveModel { calendar_id: Set(made.id), title: Set("x".into()), ..Default::default() }
        .insert(db)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("calendar_events.created_at"), "{err}");
    // A link's token is made (32 URL-safe characters), and an update must move updated_at.
    let link = store::booking_links::insert(db, made.id, stored(&every_day_nine_to_five()), now).await.unwrap();
    assert_eq!(link.token.as_str().len(), 32);
    assert!(LinkToken::parse(link.token.as_str()).is_some());
    let mut active: booking_links::ActiveModel = link.clone().into();
    active.active = Set(false);
    let err = active.update(db).await.unwrap_err();
    assert!(err.to_string().contains("booking_links.updated_at"), "{err}");
    let later = now + Duration::minutes(5);
    let updated = store::booking_links::update_settings(db, link.clone(), stored(&every_day_nine_to_five()), later)
        .await
        .unwrap();
    assert_eq!((updated.created_at, updated.updated_at), (link.created_at, later));
}

async fn the_services_stamp_with_the_app_clock_and_check_ownership(t: TestDb) {
    let db = &t.db;
    let cache = AvailabilityCache::new(std::time::Duration::from_secs(5));
    let svc = Calendars::new(db, clock(), &cache);
    let (owner, other) = (user(false), user(false));
    let cal = svc.create(CalendarWriter::authorize(&owner).unwrap(), name("Mine")).await.unwrap();
    assert!(near(cal.created_at, clock().now()) && !near(cal.created_at, Utc::now()), "{}", cal.created_at);
    assert_eq!(cal.owner_id, owner.user_id);
    let mut read_only = user(false);
    read_only.scopes.clear();
    assert!(matches!(CalendarWriter::authorize(&read_only), Err(ServiceError::Denied(_))));
    let new = || NewEvent::parse("Busy", at(10, 0).fixed_offset(), at(11, 0).fixed_offset(), None).unwrap();
    let denied = svc.create_event(CalendarWriter::authorize(&other).unwrap(), cal.id, new()).await;
    assert!(matches!(denied, Err(ServiceError::Denied(_))));
    let event = svc.create_event(CalendarWriter::authorize(&owner).unwrap(), cal.id, new()).await.unwrap();
    let page = PageRequest { limit: 10, after: None };
    let listed = svc.list_events(&owner, cal.id, range(at(0, 0), at(23, 0)), page.clone()).await.unwrap();
    assert_eq!(
        listed.items.iter().map(|g| (g.key, g.events.clone())).collect::<Vec<_>>(),
        vec![(event.id, vec![event.clone()])]
    );
    assert!(matches!(
        svc.list_events(&other, cal.id, range(at(0, 0), at(23, 0)), page).await,
        Err(ServiceError::Denied(_))
    ));
    assert!(matches!(
        svc.delete_event(CalendarWriter::authorize(&other).unwrap(), cal.id, event.id).await,
        Err(ServiceError::Denied(_))
    ));
    svc.delete_event(CalendarWriter::authorize(&owner).unwrap(), cal.id, event.id).await.unwrap();
    assert!(matches!(
        svc.delete_event(CalendarWriter::authorize(&owner).unwrap(), cal.id, event.id).await,
        Err(ServiceError::NotFound(_))
    ));
    let cancelled = calendar_events::Entity::find_by_id(event.id).one(db).await.unwrap().unwrap();
    assert!(cancelled.cancelled && near(cancelled.cancelled_at.unwrap(), clock().now()));
}

async fn a_link_offers_slots_and_takes_one_reservation_per_slot(t: TestDb) {
    let db = &t.db;
    let cache = AvailabilityCache::new(std::time::Duration::from_secs(5));
    let writes = Writes::new(std::time::Duration::from_secs(5));
    let manage_links = ManageLinks::new(ManageKey::new(b"store-test-secret-0123456789abcdef"), "https://b.test");
    let links = BookingLinks {
        db,
        clock: clock(),
        cache: &cache,
        writes: &writes,
        public_base_url: "https://b.test",
        manage_links: &manage_links,
    };
    let owner = user(false);
    let cal = Calendars::new(db, clock(), &cache)
        .create(CalendarWriter::authorize(&owner).unwrap(), name("Mine"))
        .await
        .unwrap();
    let stranger = user(false);
    assert!(matches!(
        links.create_link(BookingWriter::authorize(&stranger).unwrap(), cal.id, every_day_nine_to_five()).await,
        Err(ServiceError::Denied(_))
    ));
    let link =
        links.create_link(BookingWriter::authorize(&owner).unwrap(), cal.id, every_day_nine_to_five()).await.unwrap();
    assert!(near(link.created_at, clock().now()));
    assert_eq!(links.public_url(&link.token), format!("https://b.test/booking/{}", link.token));
    let token = link.token.clone();
    let day = TimeRange::parse(&AVAILABILITY_RANGE, at(0, 0), at(23, 59)).unwrap();
    assert_eq!(links.availability(&token, day).await.unwrap().slots.len(), 16);
    let reservation = || {
        Reservation::parse("Ada", "ada@example.com", at(10, 0).fixed_offset(), at(10, 30).fixed_offset(), None).unwrap()
    };
    let (event, manage) = links.reserve(&token, reservation()).await.unwrap();
    assert_eq!((event.calendar_id, event.title.as_str()), (cal.id, "Booking: Ada"));
    // Only the manage token's hash is stored.
    assert_eq!(event.manage_token_hash.as_deref(), Some(manage.hash().as_str()));
    assert_ne!(event.manage_token_hash.as_deref(), Some(manage.as_str()));
    assert_eq!(event.booking_link_token.as_ref(), Some(&link.token));
    assert!(matches!(links.reserve(&token, reservation()).await, Err(ServiceError::Conflict(_))));
    assert_eq!(links.availability(&token, day).await.unwrap().slots.len(), 15);
}

/// The booking-link services over `db`, with their own cache and write runner.
struct Services {
    cache: AvailabilityCache,
    writes: Writes,
    manage_links: ManageLinks,
}

impl Services {
    fn new() -> Self {
        Self {
            cache: AvailabilityCache::new(std::time::Duration::from_secs(5)),
            writes: Writes::new(std::time::Duration::from_secs(5)),
            manage_links: ManageLinks::new(ManageKey::new(b"store-test-secret-0123456789abcdef"), "https://b.test"),
        }
    }

    fn links<'a>(&'a self, db: &'a DatabaseConnection) -> BookingLinks<'a> {
        BookingLinks {
            db,
            clock: clock(),
            cache: &self.cache,
            writes: &self.writes,
            public_base_url: "https://b.test",
            manage_links: &self.manage_links,
        }
    }
}

/// `db` with a count of the statements it runs from now on.
fn counting(db: &DatabaseConnection) -> (DatabaseConnection, Arc<AtomicUsize>) {
    let count = Arc::new(AtomicUsize::new(0));
    let mut counted = db.clone();
    let seen = count.clone();
    counted.set_metric_callback(move |_| {
        seen.fetch_add(1, Ordering::SeqCst);
    });
    (counted, count)
}

fn is_postgres(db: &DatabaseConnection) -> bool {
    db.get_database_backend() == sea_orm::DbBackend::Postgres
}

/// What the guest's writes answer is what they stored (on PostgreSQL the answer is made from
/// what the one call was given, not read back), and on PostgreSQL each write is one statement
/// after the reads it decides on: a reservation one with its link cached, a move and a
/// cancellation two (the reservation with its link and its calendar's name, then the call). On
/// either backend whom a moved or cancelled reservation is with asks nothing more, and reading a
/// reservation with whom it is with is one statement.
async fn guest_writes_answer_what_they_stored(t: TestDb) {
    let services = Services::new();
    let (db, statements) = counting(&t.db);
    let links = services.links(&db);
    let owner = user(false);
    let cal = Calendars::new(&db, clock(), &services.cache)
        .create(CalendarWriter::authorize(&owner).unwrap(), name("Mine"))
        .await
        .unwrap();
    let link =
        links.create_link(BookingWriter::authorize(&owner).unwrap(), cal.id, every_day_nine_to_five()).await.unwrap();
    let day = TimeRange::parse(&AVAILABILITY_RANGE, at(0, 0), at(23, 59)).unwrap();
    links.availability(&link.token, day).await.unwrap();
    let reservation =
        Reservation::parse("Ada", "ada@example.com", at(10, 0).fixed_offset(), at(10, 30).fixed_offset(), None)
            .unwrap();
    let before = statements.load(Ordering::SeqCst);
    let (event, manage) = links.reserve(&link.token, reservation).await.unwrap();
    let reserve_statements = statements.load(Ordering::SeqCst) - before;
    let plain = &t.db;
    let read = |id| async move { calendar_events::Entity::find_by_id(id).one(plain).await.unwrap().unwrap() };
    assert_eq!(read(event.id).await, event);

    let when = Moment { arrived: clock().now(), expected_sequence: Some(0) };
    let slot = Interval { start: at(11, 0), end: at(11, 30) };
    let before = statements.load(Ordering::SeqCst);
    let moved = links.reschedule_reservation(&manage, slot, when).await.unwrap();
    let move_statements = statements.load(Ordering::SeqCst) - before;
    assert_eq!((moved.event.starts_at, moved.event.sequence), (at(11, 0), 1));
    assert_eq!(read(event.id).await, moved.event);

    let before = statements.load(Ordering::SeqCst);
    let reason = bookings::domain::input::FreeText::parse("reason", "ill", 500).unwrap();
    let cancelled = links.cancel_reservation(&manage, Some(reason)).await.unwrap();
    let cancel_statements = statements.load(Ordering::SeqCst) - before;
    assert!(cancelled.event.cancelled);
    assert_eq!(read(event.id).await, cancelled.event);
    if is_postgres(&t.db) {
        assert_eq!((reserve_statements, move_statements, cancel_statements), (1, 2, 2));
    }
    // Whom the moved and the cancelled reservation are with was read with them (either backend).
    for found in [&moved, &cancelled] {
        let before = statements.load(Ordering::SeqCst);
        let hosts = links.hosts(found).await.unwrap();
        assert_eq!(statements.load(Ordering::SeqCst) - before, 0);
        assert_eq!(hosts.iter().map(|h| (h.calendar_id, h.name.as_str())).collect::<Vec<_>>(), [(cal.id, "Mine")]);
    }
    // The visitor reads their reservation and whom it is with in one statement, on either backend.
    let before = statements.load(Ordering::SeqCst);
    let found = links.reservation(&manage).await.unwrap();
    let hosts = links.hosts(&found).await.unwrap();
    assert_eq!(statements.load(Ordering::SeqCst) - before, 1);
    assert_eq!(found.event, cancelled.event);
    assert_eq!(hosts.iter().map(|h| (h.calendar_id, h.name.as_str())).collect::<Vec<_>>(), [(cal.id, "Mine")]);
}

/// PostgreSQL's write functions are planned once per statement and connection, not per call
/// (migration 000015: `plan_cache_mode` set on each).
async fn the_write_functions_run_on_generic_plans(t: TestDb) {
    use sea_orm::{ConnectionTrait, Statement};
    if !is_postgres(&t.db) {
        return;
    }
    let rows =
        t.db.query_all_raw(Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT proname::text AS name, array_to_string(proconfig, ',') AS config FROM pg_proc \
             WHERE proname IN ('bookings_reserve', 'bookings_reschedule', 'bookings_cancel', 'bookings_order') \
             ORDER BY proname",
        ))
        .await
        .unwrap();
    let found: Vec<(String, Option<String>)> =
        rows.iter().map(|r| (r.try_get("", "name").unwrap(), r.try_get("", "config").unwrap())).collect();
    let generic = Some("plan_cache_mode=force_generic_plan".to_string());
    assert_eq!(
        found,
        ["bookings_cancel", "bookings_order", "bookings_reschedule", "bookings_reserve"]
            .map(|name| (name.to_string(), generic.clone()))
    );
}

/// PostgreSQL's write functions, called directly: each outcome, and the limits counted per span.
async fn write_function_outcomes(t: TestDb) {
    use bookings::domain::availability::{Period, PeriodLimit};
    use bookings::store::guest_writes::{self, Outcome, SlotGuard};
    if !is_postgres(&t.db) {
        return;
    }
    let db = &t.db;
    let now = clock().now();
    let cal = store::calendars::insert(db, UserId::new(), "Mine", now).await.unwrap();
    let link = store::booking_links::insert(db, cal.id, stored(&every_day_nine_to_five()), now).await.unwrap();
    let slot = |h| Interval { start: at(h, 0), end: at(h, 30) };
    let day = |max_count, max_minutes| PeriodLimit {
        period: Period::Day,
        first: at(0, 0).date_naive(),
        span_from: at(0, 0),
        span_to: at(0, 0) + Duration::days(1),
        max_count,
        max_minutes,
    };
    let reservation = |h| {
        Reservation::parse("Ada", "ada@example.com", at(h, 0).fixed_offset(), at(h, 30).fixed_offset(), None).unwrap()
    };
    let reserve = |token: LinkToken, version, h, buffer: i64, limits: Vec<PeriodLimit>| async move {
        let guard = SlotGuard {
            link: &token,
            version,
            slot: slot(h),
            buffer_before: Duration::minutes(buffer),
            buffer_after: Duration::minutes(buffer),
            limits: &limits,
        };
        let hash = CalendarEventId::new().to_string();
        guest_writes::reserve(db, CalendarEventId::new(), guard, &reservation(h), &hash, None, now).await.unwrap().0
    };
    let v = link.updated_at;
    let token = link.token.clone();
    let unknown = LinkToken::from_random_bytes([7; 24]);
    assert_eq!(reserve(unknown, v, 9, 0, vec![]).await, Outcome::Gone);
    assert_eq!(reserve(token.clone(), v + Duration::seconds(1), 9, 0, vec![]).await, Outcome::Stale);
    assert_eq!(reserve(token.clone(), v, 9, 0, vec![day(Some(2), Some(60))]).await, Outcome::Done);
    // 09:00-09:30 is taken: 09:30 is free without a buffer, busy with one.
    assert_eq!(reserve(token.clone(), v, 9, 0, vec![]).await, Outcome::Busy);
    // One reservation of 30 minutes on the date: a second fits a count of 2 and 60 minutes...
    assert_eq!(reserve(token.clone(), v, 12, 0, vec![day(None, Some(59))]).await, Outcome::Full(0));
    assert_eq!(reserve(token.clone(), v, 12, 0, vec![day(None, None), day(Some(1), None)]).await, Outcome::Full(1));
    assert_eq!(reserve(token.clone(), v, 12, 0, vec![day(Some(2), Some(60))]).await, Outcome::Done);
    // ...a third not; a limit over another span counts nothing of these.
    let elsewhere = PeriodLimit {
        span_from: at(0, 0) + Duration::days(1),
        span_to: at(0, 0) + Duration::days(2),
        ..day(Some(1), None)
    };
    assert_eq!(reserve(token.clone(), v, 14, 0, vec![elsewhere, day(Some(2), None)]).await, Outcome::Full(1));
    assert_eq!(reserve(token.clone(), v, 14, 0, vec![elsewhere]).await, Outcome::Done);
    // Busy time with the buffer: 10:00 with 30 minutes either side touches 09:00-09:30's end.
    assert_eq!(reserve(token.clone(), v, 10, 30, vec![]).await, Outcome::Done);
    assert_eq!(reserve(token.clone(), v, 16, 31, vec![]).await, Outcome::Done);
    assert_eq!(reserve(token.clone(), v, 15, 31, vec![]).await, Outcome::Busy);
    // An inactive link takes no reservation.
    let mut off = every_day_nine_to_five();
    off.active = false;
    let link = store::booking_links::update_settings(db, link, stored(&off), now + Duration::seconds(1)).await.unwrap();
    assert_eq!(reserve(token.clone(), link.updated_at, 13, 0, vec![]).await, Outcome::Gone);
}

/// On PostgreSQL the exclusion constraint still backs a reservation up: a reservation inserted
/// by a transaction not yet committed when the call checked the busy time makes the call's
/// insert fail with 23P01 once it commits, and that is the slot taken (409).
async fn the_exclusion_constraint_is_still_a_conflict(t: TestDb) {
    use sea_orm::{ConnectionTrait, TransactionTrait};
    if !is_postgres(&t.db) {
        return;
    }
    let services = Services::new();
    let links = services.links(&t.db);
    let owner = user(false);
    let cal = Calendars::new(&t.db, clock(), &services.cache)
        .create(CalendarWriter::authorize(&owner).unwrap(), name("Mine"))
        .await
        .unwrap();
    let link =
        links.create_link(BookingWriter::authorize(&owner).unwrap(), cal.id, every_day_nine_to_five()).await.unwrap();
    let reservation = || {
        Reservation::parse("Ada", "ada@example.com", at(10, 0).fixed_offset(), at(10, 30).fixed_offset(), None).unwrap()
    };
    // Another writer that takes no lock (as a faulty one would): its row is in, uncommitted.
    let other = t.db.begin().await.unwrap();
    let row = store::calendars::insert_reservation(
        &other,
        CalendarEventId::new(),
        &link,
        &reservation(),
        store::calendars::Placed { manage_token_hash: "h".into(), location: None, session: None, pending: None },
        clock().now(),
    )
    .await
    .unwrap();
    let ours = {
        let (db, token) = (t.db.clone(), link.token.clone());
        let services = Services::new();
        tokio::spawn(async move { services.links(&db).reserve(&token, reservation()).await.map(|_| ()) })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    other.commit().await.unwrap();
    let answer = ours.await.unwrap();
    assert!(matches!(&answer, Err(ServiceError::Conflict(m)) if m.contains("no longer available")), "{answer:?}");
    let live =
        t.db.query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            format!("SELECT count(*) AS n FROM calendar_events WHERE calendar_id = '{}' AND NOT cancelled", cal.id),
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap();
    assert_eq!(live, 1, "only {} is in", row.id);
}

/// A calendar's busy time over a span is read from a bounded stretch of the calendar (migration
/// 000016): the events of at most a day from `(calendar_id, ends_at)` between the span's start and
/// its end plus a day, longer ones from their partial index. Every overlapping event is found (a
/// holiday of days, an event of exactly a day, one ending where the span starts is not), and both
/// planners read both indexes, each bounded.
async fn busy_time_is_read_from_a_bounded_stretch(t: TestDb) {
    use sea_orm::{ConnectionTrait, Statement};
    use std::sync::Mutex;
    let services = Services::new();
    let owner = user(false);
    let calendars = Calendars::new(&t.db, clock(), &services.cache);
    let writer = || CalendarWriter::authorize(&owner).unwrap();
    let cal = calendars.create(writer(), name("Mine")).await.unwrap();
    let day = |d: i64| at(0, 0) + Duration::days(30 + d);
    // Half-hour events every two hours on days 0-2 and 10-19; a holiday over days 3-8 with
    // nothing else in it; an event of exactly a day on day 9; one of two days ending at day 25.
    let mut spans: Vec<(DateTime<Utc>, DateTime<Utc>)> = (0..240)
        .map(|i| day(0) + Duration::hours(2 * i))
        .filter(|s| *s < day(3) || *s >= day(10))
        .map(|s| (s, s + Duration::minutes(30)))
        .collect();
    spans.extend([(day(3), day(9)), (day(9), day(10)), (day(23), day(25))]);
    for (start, end) in &spans {
        let event = NewEvent::parse("Busy", start.fixed_offset(), end.fixed_offset(), None).unwrap();
        calendars.create_event(writer(), cal.id, event).await.unwrap();
    }
    spans.sort();
    let hour = Duration::hours(1);
    for (from, to) in [
        (day(5), day(5) + hour),
        (day(2) + Duration::hours(23), day(3) + hour),
        (day(9) + hour, day(9) + hour * 2),
        (day(10) - hour, day(10) + hour * 3),
        (day(25), day(26)),
        (day(24), day(24) + Duration::minutes(10)),
        (day(1), day(12)),
    ] {
        let found = store::calendars::busy_between(&t.db, cal.id, from, to, None).await.unwrap();
        let expected: Vec<_> = spans.iter().copied().filter(|(s, e)| *s < to && *e > from).collect();
        assert_eq!(found, expected, "busy time over {from} - {to}");
        if is_postgres(&t.db) {
            // The write functions' check (`bookings_busy`) reads the same two stretches.
            let busy =
                t.db.query_one_raw(Statement::from_sql_and_values(
                    sea_orm::DbBackend::Postgres,
                    "SELECT bookings_busy($1, $2, $3, 0, 0, NULL) AS busy",
                    [cal.id.into_uuid().into(), from.into(), to.into()],
                ))
                .await
                .unwrap()
                .unwrap()
                .try_get::<bool>("", "busy")
                .unwrap();
            assert_eq!(busy, !expected.is_empty(), "bookings_busy over {from} - {to}");
        }
    }
    // The plan of the query as the store sends it, for a span with months of the calendar after
    // it (on PostgreSQL, a planner that knows how many: reading on from the span's start would
    // cost it, and it chooses by cost).
    if is_postgres(&t.db) {
        let template = spans.iter().position(|s| s.0 >= day(10)).unwrap();
        let copies = format!(
            "INSERT INTO calendar_events SELECT (jsonb_populate_record(e, jsonb_build_object('id', gen_random_uuid(), \
             'starts_at', e.starts_at + n * interval '1 hour', 'ends_at', e.ends_at + n * interval '1 hour'))).* \
             FROM calendar_events e, generate_series(240, 3240) n \
             WHERE e.calendar_id = '{}' AND e.starts_at = '{}'",
            cal.id,
            spans[template].0.to_rfc3339()
        );
        t.db.execute_unprepared(&copies).await.unwrap();
        t.db.execute_unprepared("ANALYZE calendar_events").await.unwrap();
    }
    let sent: Arc<Mutex<Option<Statement>>> = Arc::default();
    let mut db = t.db.clone();
    let seen = sent.clone();
    db.set_metric_callback(move |info| *seen.lock().unwrap() = Some(info.statement.clone()));
    store::calendars::busy_between(&db, cal.id, day(12), day(12) + hour, None).await.unwrap();
    let query = sent.lock().unwrap().take().expect("the query was seen");
    let backend = t.db.get_database_backend();
    let txn = &t.db;
    let (explain, column) =
        if is_postgres(&t.db) { ("EXPLAIN", "QUERY PLAN") } else { ("EXPLAIN QUERY PLAN", "detail") };
    let rows = txn
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            format!("{explain} {}", query.sql),
            query.values.map(|v| v.0).unwrap_or_default(),
        ))
        .await
        .unwrap();
    let plan: Vec<String> = rows.iter().map(|r| r.try_get::<String>("", column).unwrap()).collect();
    let plan = plan.join("\n");
    assert!(plan.contains("calendar_events_long"), "the long events from their own index:\n{plan}");
    let bounded = if is_postgres(&t.db) {
        plan.contains("calendar_events_calendar_end")
            && plan.lines().any(|l| l.contains("Index Cond:") && l.contains("ends_at > ") && l.contains("ends_at < "))
    } else {
        plan.contains("calendar_events_calendar_end (calendar_id=? AND ends_at>? AND ends_at<?)")
    };
    assert!(bounded, "the others from a bounded stretch of (calendar_id, ends_at):\n{plan}");
}

/// An Idempotency-Key's first look is one statement on PostgreSQL whether it takes the key or
/// finds its answer (a replay); SQLite reads, then takes.
async fn an_idempotency_key_is_taken_or_replayed_in_one_statement(t: TestDb) {
    use bookings::store::idempotency::{self as keys, Claim, Claimed};
    let (db, statements) = counting(&t.db);
    let now = clock().now();
    let claim = Claim {
        key_hash: "key-hash-1",
        operation: "reserveBookingSlot",
        fingerprint: "fp",
        now,
        lease_until: now + Duration::seconds(60),
        expires_at: now + Duration::hours(24),
    };
    let count = |f: usize| statements.load(Ordering::SeqCst) - f;
    let before = statements.load(Ordering::SeqCst);
    assert!(matches!(keys::claim_or_find(&db, &claim).await.unwrap(), Claimed::Taken));
    // SQLite: the read here, then the insert on the writer connection (its own pool, counted
    // by the server's metric, not by this connection's callback).
    assert_eq!(count(before), 1);
    let before = statements.load(Ordering::SeqCst);
    let Claimed::Held(row) = keys::claim_or_find(&db, &claim).await.unwrap() else { panic!("the key is held") };
    assert_eq!(count(before), 1);
    assert_eq!((row.response_status, row.fingerprint.as_str(), row.lease_until), (None, "fp", claim.lease_until));
    assert!(keys::answer(&db, claim.key_hash, claim.lease_until, 201, "[]".into(), b"sealed".to_vec()).await.unwrap());
    let before = statements.load(Ordering::SeqCst);
    let Claimed::Held(row) = keys::claim_or_find(&db, &claim).await.unwrap() else { panic!("the key is held") };
    assert_eq!(count(before), 1, "a replay is one statement");
    assert_eq!((row.response_status, row.response_body.as_deref()), (Some(201), Some(&b"sealed"[..])));
}

both_backends!(
    busy_time_is_read_from_a_bounded_stretch,
    guest_writes_answer_what_they_stored,
    the_write_functions_run_on_generic_plans,
    write_function_outcomes,
    the_exclusion_constraint_is_still_a_conflict,
    an_idempotency_key_is_taken_or_replayed_in_one_statement,
    secure_find_shows_only_what_the_caller_may_see,
    typed_ids_round_trip_and_relations_hold,
    before_save_sets_ids_and_refuses_forgotten_timestamps,
    the_services_stamp_with_the_app_clock_and_check_ownership,
    a_link_offers_slots_and_takes_one_reservation_per_slot,
);
