//! The LE-KO store and services against a real database, SQLite and PostgreSQL alike (each
//! case runs on both, on a fresh database made by the api tests' helpers): who sees which
//! booking (`secure_find`), how places are counted, typed ids through the columns, and the ids
//! and timestamps every new row gets.

#[path = "api/helpers.rs"]
#[allow(dead_code, unused_imports, unused_macros)]
mod helpers;

use bookings::auth::Principal;
use bookings::clock::Clock;
use bookings::db::Writes;
use bookings::domain::bookings::{
    BookingsQuery, CoachEventFields, EventPaymentMethod, ListWindow, OrderError, PaymentMethod,
};
use bookings::domain::ids::{BookingId, CoachEventId, OrderId, UserId};
use bookings::domain::input::FreeText;
use bookings::domain::kinds::{CancellationReason, Currency, SlotType};
use bookings::entities::{booking_orders, bookings as booking_rows, coach_events};
use bookings::error::ServiceError;
use bookings::policy::BookingWriter;
use bookings::policy::DEFAULT_SCOPES;
use bookings::services::bookings::Bookings;
use bookings::services::coach_events::CoachEvents;
use bookings::services::orders::{BookError, OrderView, Orders};
use bookings::store::bookings as store;
use chrono::{DateTime, Duration, FixedOffset, SubsecRound, Utc};
use helpers::*;
use sea_orm::{Database, DatabaseConnection, EntityTrait, ModelTrait};
use std::time::Duration as StdDuration;

struct Fixture {
    _app: TestApp,
    db: DatabaseConnection,
    writes: Writes,
    clock: Clock,
}

impl Fixture {
    async fn new(app: TestApp) -> Self {
        let url = app.settings.database_url.clone().expect("test apps name their database");
        let db = Database::connect(url).await.expect("connect");
        Self { _app: app, db, writes: Writes::new(StdDuration::from_secs(5)), clock: Clock::system() }
    }

    fn events(&self) -> CoachEvents<'_> {
        CoachEvents::new(&self.db, &self.writes, self.clock)
    }

    fn bookings(&self) -> Bookings<'_> {
        Bookings::new(&self.db, &self.writes, self.clock)
    }

    fn orders(&self) -> Orders<'_> {
        Orders::new(&self.db, &self.writes, self.clock)
    }

    /// A coach's event `days` from now, an hour long, with `places` places.
    async fn event(&self, coach: &Principal, days: i64, places: i64) -> coach_events::Model {
        let start = (Utc::now() + Duration::days(days)).trunc_subsecs(0);
        self.events().create(writer(coach), fields(start, places)).await.expect("event created").event
    }

    async fn book(&self, athlete: &Principal, events: &[CoachEventId]) -> Result<OrderView, BookError> {
        self.orders().book(writer(athlete), athlete.user_id, events.to_vec(), PaymentMethod::Cash).await
    }
}

/// The caller allowed to write bookings (every person here has the scope).
fn writer(who: &Principal) -> BookingWriter<'_> {
    BookingWriter::authorize(who).expect("booking:write")
}

fn text(s: &str) -> FreeText {
    FreeText::parse_opt("reasonText", Some(s), bookings::domain::input::MAX_TEXT_CHARS).unwrap().unwrap()
}

fn person(admin: bool) -> Principal {
    Principal {
        user_id: UserId::new(),
        scopes: DEFAULT_SCOPES.split_whitespace().map(str::to_owned).collect(),
        admin,
        email: None,
    }
}

fn fields(start: DateTime<Utc>, places: i64) -> CoachEventFields {
    let utc = FixedOffset::east_opt(0).unwrap();
    let end = start + Duration::hours(1);
    CoachEventFields {
        sport_id: uuid::Uuid::new_v4(),
        start: start.fixed_offset(),
        end: end.fixed_offset(),
        start_time: (start.time(), utc),
        end_time: (end.time(), utc),
        places,
        slot_type: SlotType::Offline,
        age_from: 18,
        age_to: 99,
        duration_minutes: 60,
        price: 1000,
        price_currency: Currency::Rub,
        payment_method: EventPaymentMethod::Cash,
        address_id: None,
        public: Some(true),
        level: None,
        eligibility: None,
    }
}

fn is_not_found<T: std::fmt::Debug>(r: Result<T, ServiceError>) -> bool {
    matches!(r, Err(ServiceError::NotFound(_)))
}

fn is_denied<T: std::fmt::Debug>(r: Result<T, ServiceError>) -> bool {
    matches!(r, Err(ServiceError::Denied(_)))
}

/// New rows get their ids (the entities' `before_save`) and the clock's timestamps; the typed
/// ids read back as written, and the declared relations join what belongs together.
async fn ids_timestamps_and_relations(app: TestApp) {
    let f = Fixture::new(app).await;
    let (coach, athlete) = (person(false), person(false));
    let before = Utc::now() - Duration::seconds(1);
    let event = f.event(&coach, 3, 4).await;
    assert_eq!(event.coach_id, coach.user_id);
    assert_ne!(event.time_slot_id, uuid::Uuid::nil());
    assert!(event.created_at >= before && event.created_at <= Utc::now());
    let stored = coach_events::Entity::find_by_id(event.id).one(&f.db).await.unwrap().unwrap();
    assert_eq!(stored, event, "a typed id round-trips through its column");

    let other = f.event(&coach, 4, 4).await;
    let order = f.book(&athlete, &[other.id, event.id]).await.expect("booked");
    assert_eq!(order.order.user_id, athlete.user_id);
    assert_eq!(order.bookings.len(), 2);
    let ids: Vec<BookingId> = order.bookings.iter().map(|v| v.booking.id).collect();
    assert_ne!(ids[0], ids[1], "each booking gets an id of its own");
    for v in &order.bookings {
        assert_eq!(v.booking.order_id, order.order.id);
        assert_eq!(v.booking.user_id, athlete.user_id);
        assert_eq!(v.booking.coach_id, coach.user_id);
        assert_eq!((v.booking.created_at, v.booking.updated_at), (order.order.created_at, order.order.created_at));
        let row = booking_rows::Entity::find_by_id(v.booking.id).one(&f.db).await.unwrap().unwrap();
        assert_eq!(row, v.booking);
    }
    // Request order is kept: the first booking is for the first event named.
    assert_eq!(order.bookings[0].booking.event_id, other.id);

    // The relations: an order has its bookings, a booking its order and its event.
    let stored_order: booking_orders::Model =
        booking_orders::Entity::find_by_id(order.order.id).one(&f.db).await.unwrap().unwrap();
    let mut related: Vec<BookingId> =
        stored_order.find_related(booking_rows::Entity).all(&f.db).await.unwrap().into_iter().map(|b| b.id).collect();
    related.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(related, expected);
    let with_event = booking_rows::Entity::find_by_id(ids[1]).find_also_related(coach_events::Entity).one(&f.db).await;
    let (_, joined) = with_event.unwrap().unwrap();
    assert_eq!(joined.map(|e| e.id), Some(event.id));
    let of_event = event.find_related(booking_rows::Entity).all(&f.db).await.unwrap();
    assert_eq!(of_event.iter().map(|b| b.id).collect::<Vec<_>>(), vec![ids[1]]);
    let unknown = OrderId::new();
    assert!(booking_orders::Entity::find_by_id(unknown).one(&f.db).await.unwrap().is_none());
}

/// `secure_find` selects a booking only for its athlete, its coach and admins: anyone else gets
/// the 404 of a booking that does not exist, and 403 only once they may see it.
async fn secure_find_scopes_bookings_to_their_parties(app: TestApp) {
    let f = Fixture::new(app).await;
    let (coach, athlete, stranger, admin) = (person(false), person(false), person(false), person(true));
    let event = f.event(&coach, 3, 4).await;
    let order = f.book(&athlete, &[event.id]).await.expect("booked");
    let id = order.bookings[0].booking.id;

    for (who, sees) in [(&athlete, true), (&coach, true), (&stranger, false), (&admin, true)] {
        let scope = bookings::policy::visibility(who);
        let found = store::secure_find(id, scope).one(&f.db).await.unwrap();
        assert_eq!(found.map(|b| b.id), sees.then_some(id), "admin {} sees: {sees}", who.admin);
        assert_eq!(f.bookings().get(who, id).await.is_ok(), sees);
    }
    assert!(is_not_found(f.bookings().get(&stranger, id).await));
    assert!(is_not_found(f.bookings().get(&athlete, BookingId::new()).await));
    // 404 before 403: a stranger may not learn the booking exists; its athlete is told no.
    assert!(is_not_found(f.bookings().resolve_dispute(&stranger, id).await));
    assert!(is_denied(f.bookings().resolve_dispute(&athlete, id).await));
    assert!(is_not_found(f.bookings().dismiss(&stranger, id, stranger.user_id).await));
    assert!(is_denied(f.bookings().dismiss(&coach, id, coach.user_id).await));
    // Changes are scoped the same way, inside their transaction.
    assert!(is_not_found(f.bookings().cancel(writer(&stranger), id, CancellationReason::Other, None).await));
    assert!(
        is_denied(f.bookings().cancel(writer(&admin), id, CancellationReason::Other, None).await),
        "an admin is no party"
    );

    // Listings: one's own, or an event's for its coach and admins.
    let mine = BookingsQuery::OfUser(athlete.user_id, ListWindow::default());
    assert_eq!(f.bookings().list(&athlete, mine).await.unwrap().items.len(), 1);
    assert!(is_denied(f.bookings().list(&stranger, mine).await));
    let of_event = BookingsQuery::OfEvent(event.id, None);
    assert_eq!(f.bookings().list(&coach, of_event).await.unwrap().items.len(), 1);
    assert!(is_denied(f.bookings().list(&stranger, of_event).await));
    let own_of_event = BookingsQuery::OfEvent(event.id, Some(stranger.user_id));
    assert!(f.bookings().list(&stranger, own_of_event).await.unwrap().items.is_empty());
    assert!(is_denied(f.orders().list(&stranger, athlete.user_id, ListWindow::default()).await));
    assert_eq!(f.orders().list(&admin, athlete.user_id, ListWindow::default()).await.unwrap().items.len(), 1);
}

/// Places taken are the live bookings: a full event refuses the next order, a cancellation gives
/// its place back, and an event nobody booked is absent from the counts.
async fn places_are_the_live_bookings(app: TestApp) {
    let f = Fixture::new(app).await;
    let coach = person(false);
    let (a, b, c) = (person(false), person(false), person(false));
    let event = f.event(&coach, 3, 2).await;
    let empty = f.event(&coach, 5, 2).await;
    let first = f.book(&a, &[event.id]).await.expect("first place");
    f.book(&b, &[event.id]).await.expect("second place");
    assert_eq!(store::places_taken(&f.db, event.id).await.unwrap(), 2);
    let counts = store::places_taken_of(&f.db, [event.id, empty.id]).await.unwrap();
    assert_eq!(counts.get(&event.id), Some(&2));
    assert_eq!(counts.get(&empty.id), None);
    // The order's read: the events that exist, each with the same count (0 for none).
    let mut ids = vec![event.id, empty.id, CoachEventId::new()];
    ids.sort();
    let locked = bookings::store::coach_events::lock_many_with_taken(&f.db, &ids).await.unwrap();
    assert!(locked.iter().all(|(id, (e, _))| *id == e.id));
    let taken: Vec<(CoachEventId, i64)> = locked.iter().map(|(id, (_, n))| (*id, *n)).collect();
    let mut expected = vec![(event.id, 2), (empty.id, 0)];
    expected.sort();
    assert_eq!(taken, expected);
    match f.book(&c, &[event.id]).await {
        Err(BookError::Rejected(errors)) => assert_eq!(errors, vec![(event.id, OrderError::Overbooked)]),
        other => panic!("a full event is refused: {other:?}"),
    }
    let id = first.bookings[0].booking.id;
    let canceled = f
        .bookings()
        .cancel(writer(&a), id, CancellationReason::Other, Some(text("can't come")))
        .await
        .expect("canceled");
    assert_eq!(canceled.booking.cancellation_reason_text.as_deref(), Some("can't come"));
    assert!(canceled.booking.updated_at >= canceled.booking.created_at);
    assert_eq!(store::places_taken(&f.db, event.id).await.unwrap(), 1);
    f.book(&c, &[event.id]).await.expect("the place given back is taken");
    assert_eq!(f.events().get(&c, event.id).await.unwrap().taken, 2);
    // The coach cancels the event: every live booking goes with it, and no place is held.
    let view = f.events().cancel(writer(&coach), event.id).await.expect("event canceled");
    assert_eq!(view.taken, 0);
    assert!(is_not_found(f.events().get(&c, CoachEventId::new()).await));
}

/// An order numbers its bookings among the athlete's live bookings with each coach as any later
/// read of them does (`views_of`), and refuses one overlapping a booking with another coach or
/// of an event booked already. On SQLite the athlete's bookings it needs are one read, from two
/// index ranges of the athlete's rows (`store::live_for_order`); PostgreSQL's order is one call.
async fn an_order_reads_the_athletes_bookings_once(app: TestApp) {
    use sea_orm::{ConnectionTrait, Statement};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    let f = Fixture::new(app).await;
    let (c1, c2, c3, a) = (person(false), person(false), person(false), person(false));
    let e = |coach, days| f.event(coach, days, 5);
    let (c1_3, c1_5, c1_7, c1_9) = (e(&c1, 3).await, e(&c1, 5).await, e(&c1, 7).await, e(&c1, 9).await);
    let (c2_4, c2_6, c3_5) = (e(&c2, 4).await, e(&c2, 6).await, e(&c3, 5).await);
    f.book(&a, &[c1_5.id, c2_6.id]).await.expect("first order");
    let later = f.book(&a, &[c1_9.id]).await.expect("second order");
    f.bookings().cancel(writer(&a), later.bookings[0].booking.id, CancellationReason::Other, None).await.unwrap();
    let statements = Arc::new(AtomicUsize::new(0));
    let sent: Arc<Mutex<Vec<Statement>>> = Arc::default();
    let mut db = f.db.clone();
    let (count, seen) = (statements.clone(), sent.clone());
    db.set_metric_callback(move |info| {
        count.fetch_add(1, Ordering::SeqCst);
        seen.lock().unwrap().push(info.statement.clone());
    });
    let orders = Orders::new(&db, &f.writes, f.clock);
    let order = orders
        .book(writer(&a), a.user_id, vec![c1_7.id, c2_4.id, c1_3.id], PaymentMethod::Cash)
        .await
        .expect("third order");
    let postgres = f.db.get_database_backend() == sea_orm::DbBackend::Postgres;
    if postgres {
        assert_eq!(statements.load(Ordering::SeqCst), 1);
    }
    let ordinals: Vec<(CoachEventId, Option<i64>)> =
        order.bookings.iter().map(|v| (v.event.id, v.cardinality)).collect();
    // With c1: 3, 5, 7 live (9 canceled); with c2: 4 before 6.
    assert_eq!(ordinals, vec![(c1_7.id, Some(3)), (c2_4.id, Some(1)), (c1_3.id, Some(1))]);
    let read_again = store::views_of(&f.db, order.bookings.iter().map(|v| v.booking.clone()).collect()).await.unwrap();
    let again: Vec<(CoachEventId, Option<i64>)> = read_again.iter().map(|v| (v.event.id, v.cardinality)).collect();
    assert_eq!(again, ordinals);
    match f.book(&a, &[c3_5.id]).await {
        Err(BookError::Rejected(errors)) => assert_eq!(errors, vec![(c3_5.id, OrderError::Conflict)]),
        other => panic!("an event at the time of a booking with another coach is refused: {other:?}"),
    }
    match f.book(&a, &[c1_5.id]).await {
        Err(BookError::Rejected(errors)) => assert_eq!(errors, vec![(c1_5.id, OrderError::Conflict)]),
        other => panic!("an event booked already is refused: {other:?}"),
    }
    if !postgres {
        // (SQLite's transactions run on its writer connection, which `db` does not watch.)
        let coaches = [c1.user_id, c2.user_id].into_iter().collect();
        let window = bookings::domain::bookings::Interval { start: c1_3.starts_at, end: c1_7.ends_at };
        let live = store::live_for_order(&db, a.user_id, &coaches, window).await.unwrap();
        // With c1 or c2 (c1 at 3, 5, 7; c2 at 4, 6), and c3's none.
        assert_eq!(live.len(), 5);
        let read = sent.lock().unwrap().pop().expect("the athlete's bookings were read");
        let rows =
            f.db.query_all_raw(Statement::from_sql_and_values(
                sea_orm::DbBackend::Sqlite,
                format!("EXPLAIN QUERY PLAN {}", read.sql),
                read.values.map(|v| v.0).unwrap_or_default(),
            ))
            .await
            .unwrap();
        let plan: Vec<String> = rows.iter().map(|r| r.try_get::<String>("", "detail").unwrap()).collect();
        let plan = plan.join("\n");
        assert!(plan.contains("MULTI-INDEX OR"), "{plan}");
        assert!(plan.contains("bookings_user_coach_starts (user_id=? AND coach_id=?)"), "{plan}");
        assert!(plan.contains("bookings_user_starts (user_id=? AND starts_at>? AND starts_at<?)"), "{plan}");
        // The athlete's row, there already, is not written again (SQLite's write lock is held
        // already; a rewrite would only add to the commit).
        use sea_orm::TransactionTrait;
        let txn = f.db.begin().await.unwrap();
        bookings::store::orders::lock_athlete(&txn, a.user_id, Utc::now()).await.unwrap();
        let changes = txn
            .query_one_raw(Statement::from_string(sea_orm::DbBackend::Sqlite, "SELECT changes() AS n"))
            .await
            .unwrap()
            .unwrap()
            .try_get::<i64>("", "n")
            .unwrap();
        assert_eq!(changes, 0);
        txn.rollback().await.unwrap();
    }
}

db_tests!(
    ids_timestamps_and_relations,
    secure_find_scopes_bookings_to_their_parties,
    places_are_the_live_bookings,
    an_order_reads_the_athletes_bookings_once
);
