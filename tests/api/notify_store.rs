//! The store's queries of notifications, against the real databases: the subjects a window
//! selects are exactly those the domain's rule admits (at the edges too), and the outbox queue
//! enqueues once while the subject exists, claims with a lease, records outcomes and forgets.

use crate::db_tests;
use crate::helpers::*;
use bookings::domain::bookings::Status;
use bookings::domain::ids::{BookingId, CalendarEventId, CalendarId, CoachEventId, NotificationId, OrderId, UserId};
use bookings::domain::input::LinkToken;
use bookings::domain::kinds::{CancellationReason, Currency, SlotType};
use bookings::domain::notifications::{
    window, BookingTime, BookingWindow, DueWindow, Horizons, Recipient, ReservationTime, ReservationWindow, Span,
    Trigger,
};
use bookings::entities::booking_orders::PaymentStatus;
use bookings::entities::bookings::{BookingStatus, CanceledByRole};
use bookings::entities::calendar_events::EventSource;
use bookings::entities::coach_events::{EventStatus, PaymentMethod};
use bookings::entities::notifications::{Channel, NotificationStatus};
use bookings::entities::{
    booking_links, booking_orders, bookings as booking_rows, calendar_events, calendars, coach_events, notifications,
    users,
};
use bookings::store::notification_subjects::{bookings_in, reservations_in};
use bookings::store::outbox::{self as queue, NewMessage, Outcome, Subjects};
use chrono::{DateTime, Duration, TimeZone, Utc};
use sea_orm::{ActiveModelTrait, Database, DatabaseConnection, EntityTrait, IntoActiveModel};
use std::collections::BTreeSet;
use uuid::Uuid;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 1, 10, 12, 0, 0).unwrap()
}

const HORIZONS: Horizons = Horizons { late: Duration::hours(2), event: Duration::days(7) };

/// Minutes from now the subjects' times are at: both sides of every edge the shipped rules and
/// horizons draw (7 days back, the 2-hour late horizon, 1-hour and 24-hour offsets, now; bookings
/// end 30 minutes after their grid point).
const GRID: [i64; 23] = [
    -10081, -10080, -1500, -1470, -1441, -180, -121, -120, -61, -60, -59, -50, -1, 0, 1, 50, 59, 60, 61, 1380, 1440,
    1441, 1500,
];

async fn db(app: &TestApp) -> DatabaseConnection {
    Database::connect(app.settings.database_url.clone().expect("test apps name their database")).await.expect("connect")
}

async fn insert<A: ActiveModelTrait + Send>(conn: &DatabaseConnection, row: A) {
    A::Entity::insert(row).exec_without_returning(conn).await.expect("insert");
}

async fn user(conn: &DatabaseConnection, email: Option<&str>) -> UserId {
    let id = UserId::new();
    insert(conn, users::Model { id, email: email.map(String::from), updated_at: now() }.into_active_model()).await;
    id
}

async fn coach_event(conn: &DatabaseConnection, coach: UserId, status: EventStatus, places: i32) -> CoachEventId {
    let id = CoachEventId::new();
    let start = now() + Duration::days(3);
    let row = coach_events::Model {
        id,
        coach_id: coach,
        sport_id: Uuid::new_v4(),
        starts_at: start,
        ends_at: start + Duration::hours(1),
        status,
        time_slot_id: Uuid::new_v4(),
        places,
        slot_type: SlotType::Offline,
        age_from: 0,
        age_to: 99,
        duration_minutes: 60,
        price: 100,
        price_currency: Currency::Rub,
        payment_method: PaymentMethod::Cash,
        address_id: None,
        public: None,
        level: None,
        eligibility: None,
        start_time: "15:00:00+03:00".into(),
        end_time: "16:00:00+03:00".into(),
        canceled_at: None,
        created_at: now(),
    };
    insert(conn, row.into_active_model()).await;
    id
}

/// Bookings over the grid: every status at every time, alternating events, completion and who
/// canceled; the booking's every time is at the grid point.
async fn booking_grid(conn: &DatabaseConnection, athlete: UserId, coach: UserId, events: [CoachEventId; 2]) -> usize {
    let order = OrderId::new();
    let row =
        booking_orders::Model { id: order, user_id: athlete, payment_status: PaymentStatus::Cash, created_at: now() };
    insert(conn, row.into_active_model()).await;
    let mut n = 0;
    for status in Status::ALL {
        for minutes in GRID {
            let t = now() + Duration::minutes(minutes);
            let canceled = status == Status::Canceled;
            let role = [CanceledByRole::Athlete, CanceledByRole::Coach, CanceledByRole::System][n % 3];
            let row = booking_rows::Model {
                id: BookingId::new(),
                order_id: order,
                user_id: athlete,
                coach_id: coach,
                event_id: events[n % 2],
                starts_at: t,
                ends_at: t + Duration::minutes(30),
                status: BookingStatus::from(status),
                completed: n % 5 == 0,
                note: None,
                canceled_at: canceled.then_some(t),
                canceled_by_role: canceled.then_some(role),
                cancellation_reason_code: canceled.then_some(CancellationReason::Other),
                cancellation_reason_text: None,
                dismissed: false,
                created_at: t,
                updated_at: t,
            };
            insert(conn, row.into_active_model()).await;
            n += 1;
        }
    }
    n
}

fn ids<T, I: Ord>(items: &[T], id: impl Fn(&T) -> I) -> BTreeSet<I> {
    items.iter().map(id).collect()
}

async fn booking_windows_select_what_the_domain_admits(app: TestApp) {
    let conn = db(&app).await;
    let athlete = user(&conn, Some("athlete@example.com")).await;
    let coach = user(&conn, None).await;
    let events = [
        coach_event(&conn, coach, EventStatus::Scheduled, 200).await,
        coach_event(&conn, coach, EventStatus::Canceled, 200).await,
    ];
    let made = booking_grid(&conn, athlete, coach, events).await;

    let everything = BookingWindow {
        statuses: Status::ALL.to_vec(),
        time: BookingTime::Created,
        span: Span { after: now() - Duration::days(100), until: None },
        uncompleted_only: false,
    };
    let all = bookings_in(&conn, &everything).await.unwrap();
    assert_eq!(all.len(), made);
    let b = &all[0];
    assert_eq!((b.athlete_email.as_deref(), b.coach_email.as_deref()), (Some("athlete@example.com"), None));
    let live_of = |event: CoachEventId| all.iter().filter(|b| b.event.id == event && b.status.is_live()).count() as i64;
    for b in &all {
        assert_eq!(b.event.places_taken, live_of(b.event.id));
        assert_eq!(b.event.canceled, b.event.id == events[1]);
        assert_eq!(b.event.start_time, "15:00:00+03:00");
        assert_eq!(b.canceled_by.is_some(), b.status == Status::Canceled);
    }

    for (name, trigger) in Trigger::ALL.into_iter().filter(|(_, t)| !t.is_reservation()) {
        for offset in [Duration::zero(), Duration::hours(1), Duration::hours(24)] {
            let DueWindow::Bookings(w) = window(trigger, offset, HORIZONS, now()) else { panic!("{name}: bookings") };
            let got = ids(&bookings_in(&conn, &w).await.unwrap(), |b| b.id);
            let expected: BTreeSet<_> = all.iter().filter(|b| w.admits(b)).map(|b| b.id).collect();
            assert_eq!(got, expected, "{name} with offset {offset}");
            // A reminder at the start itself is never due: the event has started.
            let never = name.ends_with("before_start") && offset.is_zero();
            assert_eq!(expected.is_empty(), never, "{name} with offset {offset}: the grid has due bookings");
        }
    }
}

async fn reservation_windows_select_what_the_domain_admits(app: TestApp) {
    let conn = db(&app).await;
    let owner = user(&conn, Some("owner@example.com")).await;
    let calendar = Uuid::new_v4();
    insert(
        &conn,
        calendars::Model { id: CalendarId::from_uuid(calendar), owner_id: owner, name: "c".into(), created_at: now() }
            .into_active_model(),
    )
    .await;
    let link = booking_links::Model {
        token: LinkToken::parse("link-token").unwrap(),
        calendar_id: CalendarId::from_uuid(calendar),
        duration_minutes: 30,
        buffer_minutes: 0,
        timezone: "Europe/Berlin".into(),
        working_hours: "{}".into(),
        active: true,
        min_notice_minutes: None,
        max_days_ahead: None,
        slot_interval_minutes: None,
        buffer_before_minutes: None,
        buffer_after_minutes: None,
        max_bookings_per_day: None,
        date_overrides: None,
        min_cancel_notice_minutes: None,
        max_bookings_per_week: None,
        max_bookings_per_month: None,
        max_bookings_per_year: None,
        max_minutes_per_day: None,
        max_minutes_per_week: None,
        week_start: None,
        window_days_kind: None,
        bookable_from: None,
        bookable_until: None,
        slot_alignment: None,
        location_kind: None,
        location_value: None,
        seats_per_slot: None,
        requires_confirmation: None,
        pending_blocks_slot: None,
        pending_expires_minutes: None,
        scheduling: None,
        created_at: now(),
        updated_at: now(),
    };
    insert(&conn, link.into_active_model()).await;
    let mut n = 0;
    for minutes in GRID {
        for (source, cancelled) in
            [(EventSource::Reservation, false), (EventSource::Reservation, true), (EventSource::Manual, false)]
        {
            let t = now() + Duration::minutes(minutes);
            let row = calendar_events::Model {
                id: CalendarEventId::new(),
                calendar_id: CalendarId::from_uuid(calendar),
                title: "Call".into(),
                starts_at: t,
                // Short: live reservations of one calendar never overlap (PostgreSQL checks).
                ends_at: t + Duration::seconds(30),
                notes: None,
                source,
                booking_link_token: (n % 2 == 0).then(|| LinkToken::parse("link-token").unwrap()),
                attendee_name: Some("Visitor".into()),
                attendee_email: Some("visitor@example.com".into()),
                cancelled,
                created_at: t,
                cancelled_at: cancelled.then_some(t),
                manage_token_hash: None,
                // Every other live one was moved then; cancelled ones by the owner, the guest,
                // or from before who cancelled was recorded.
                sequence: i32::from(!cancelled && n % 2 == 0),
                moved_at: (!cancelled && n % 2 == 0).then_some(t),
                cancel_reason: None,
                // ... or declined or lapsed (issue #25's approval).
                cancelled_by: match (cancelled, (n / 3) % 5) {
                    (false, _) => None,
                    (true, 0) => None,
                    (true, 1) => Some(calendar_events::CancelledBy::Guest),
                    (true, 2) => Some(calendar_events::CancelledBy::Owner),
                    (true, 3) => Some(calendar_events::CancelledBy::Declined),
                    (true, _) => Some(calendar_events::CancelledBy::Expired),
                },
                location: None,
                session_id: None,
                // Every fourth made waiting for the owner; of those, every other one confirmed
                // a minute after it was made.
                awaiting_confirmation: (n / 3) % 4 == 1,
                confirmed_at: ((n / 3) % 8 == 1).then_some(t + Duration::minutes(1)),
                pending_until: None,
                holds_slot: true,
                team_booking_id: None,
            };
            insert(&conn, row.into_active_model()).await;
            n += 1;
        }
    }

    let everything = |cancelled| ReservationWindow {
        cancelled,
        pending: None,
        cancelled_by: None,
        time: ReservationTime::Created,
        span: Span { after: now() - Duration::days(100), until: None },
    };
    let mut all = reservations_in(&conn, &everything(false)).await.unwrap();
    all.extend(reservations_in(&conn, &everything(true)).await.unwrap());
    assert_eq!(all.len(), 2 * GRID.len(), "reservations only, never manual events");
    for r in &all {
        assert_eq!((r.owner_id, r.owner_email.as_deref()), (owner, Some("owner@example.com")));
    }
    let zones: BTreeSet<&str> = all.iter().map(|r| r.timezone.name()).collect();
    assert_eq!(zones, BTreeSet::from(["Europe/Berlin", "UTC"]));

    for (name, trigger) in Trigger::ALL.into_iter().filter(|(_, t)| t.is_reservation()) {
        for offset in [Duration::zero(), Duration::hours(1), Duration::hours(24)] {
            let DueWindow::Reservations(w) = window(trigger, offset, HORIZONS, now()) else { panic!("{name}") };
            let got = ids(&reservations_in(&conn, &w).await.unwrap(), |r| r.id);
            let expected: BTreeSet<_> = all.iter().filter(|r| w.admits(r)).map(|r| r.id).collect();
            assert_eq!(got, expected, "{name} with offset {offset}");
            // A reminder at the start itself is never due: the event has started.
            let never = name.ends_with("before_start") && offset.is_zero();
            assert_eq!(expected.is_empty(), never, "{name} with offset {offset}: the grid has due reservations");
        }
    }
}

fn message(subject: impl Into<Uuid>, key: &str, about: UserId, skipped: Option<&str>) -> NewMessage {
    let subject = subject.into();
    NewMessage {
        id: NotificationId::new(),
        dedupe_key: key.into(),
        rule: "r".into(),
        channel: Channel::Email,
        subject_id: subject,
        recipient_role: Recipient::Athlete,
        recipient_user_id: Some(about),
        recipient_email: skipped.is_none().then(|| "a@example.com".into()),
        about_user_id: Some(about),
        about_coach_id: None,
        subject: "s".into(),
        body_text: "t".into(),
        body_html: "h".into(),
        ical: None,
        payload: "{}".into(),
        skipped: skipped.map(String::from),
    }
}

async fn row(conn: &DatabaseConnection, id: NotificationId) -> notifications::Model {
    notifications::Entity::find_by_id(id).one(conn).await.unwrap().expect("the message")
}

/// An athlete with an address, a coach without one, and a booking of theirs to queue messages
/// about.
async fn queued_booking(conn: &DatabaseConnection) -> (UserId, UserId, BookingId) {
    let athlete = user(conn, Some("athlete@example.com")).await;
    let coach = user(conn, None).await;
    let event = coach_event(conn, coach, EventStatus::Scheduled, 200).await;
    booking_grid(conn, athlete, coach, [event, event]).await;
    let subject = booking_rows::Entity::find().one(conn).await.unwrap().unwrap().id;
    (athlete, coach, subject)
}

async fn the_queue_enqueues_once_claims_with_a_lease_and_records(app: TestApp) {
    let conn = db(&app).await;
    let (athlete, coach, subject) = queued_booking(&conn).await;

    // Only while the subject exists, and once per key.
    let first = message(subject, "r:1", athlete, None);
    let gone = message(Uuid::new_v4(), "r:2", athlete, None);
    let skipped = message(subject, "r:3", athlete, Some("no email address known for the athlete"));
    let batch = [first.clone(), gone.clone(), skipped.clone()];
    assert_eq!(queue::insert_while_subjects_exist(&conn, Subjects::Bookings, &batch, now()).await.unwrap(), 2);
    let again = [message(subject, "r:1", athlete, None)];
    assert_eq!(queue::insert_while_subjects_exist(&conn, Subjects::Bookings, &again, now()).await.unwrap(), 0);
    let keys = ["r:1".to_string(), "r:2".into(), "r:3".into()];
    assert_eq!(queue::known_keys(&conn, &keys).await.unwrap(), BTreeSet::from(["r:1".into(), "r:3".into()]));
    assert_eq!(
        queue::insert_while_subjects_exist(
            &conn,
            Subjects::CalendarEvents,
            &[message(subject, "r:4", athlete, None)],
            now()
        )
        .await
        .unwrap(),
        0,
        "a booking is no calendar event"
    );
    let s = row(&conn, skipped.id).await;
    assert_eq!((s.status, s.last_error.as_deref()), (NotificationStatus::Skipped, skipped.skipped.as_deref()));

    // A claim leases the due message; nobody else gets it until the lease runs out.
    let lease = Duration::minutes(5);
    let claimed = queue::claim(&conn, now(), now() + lease, 10).await.unwrap();
    assert_eq!(claimed.iter().map(|n| (n.id, n.attempts)).collect::<Vec<_>>(), [(first.id, 1)]);
    assert_eq!(claimed[0].status, NotificationStatus::Sending);
    assert!(queue::claim(&conn, now() + Duration::minutes(4), now() + lease, 10).await.unwrap().is_empty());
    let later = now() + Duration::minutes(6);
    let retaken = queue::claim(&conn, later, later + lease, 10).await.unwrap();
    assert_eq!(retaken.iter().map(|n| (n.id, n.attempts)).collect::<Vec<_>>(), [(first.id, 2)]);

    // A retry waits; an outcome is recorded only while the message is ours.
    let retry = Outcome::RetryAt { at: later + Duration::minutes(1), error: "down".into() };
    assert!(queue::record(&conn, first.id, &retry, later).await.unwrap());
    assert!(!queue::record(&conn, first.id, &Outcome::Sent, later).await.unwrap(), "not claimed");
    let r = row(&conn, first.id).await;
    assert_eq!((r.status, r.last_error.as_deref(), r.lease_until), (NotificationStatus::Pending, Some("down"), None));
    assert!(queue::claim(&conn, later, later + lease, 10).await.unwrap().is_empty(), "not due yet");
    let due = later + Duration::minutes(1);
    assert_eq!(queue::claim(&conn, due, due + lease, 10).await.unwrap().len(), 1);
    assert!(queue::record(&conn, first.id, &Outcome::Sent, due).await.unwrap());
    let r = row(&conn, first.id).await;
    assert_eq!((r.status, r.sent_at, r.last_error, r.attempts), (NotificationStatus::Sent, Some(due), None, 3));
    let failed = message(subject, "r:5", athlete, None);
    queue::insert_while_subjects_exist(&conn, Subjects::Bookings, std::slice::from_ref(&failed), due).await.unwrap();
    queue::claim(&conn, due, due + lease, 10).await.unwrap();
    assert!(queue::record(&conn, failed.id, &Outcome::Failed { error: "permanent: 550".into() }, due).await.unwrap());
    assert_eq!(row(&conn, failed.id).await.status, NotificationStatus::Failed);

    // Forgetting: by subject, then by user.
    let other = message(Uuid::new_v4(), "r:6", athlete, None);
    let other_subject = booking_rows::Entity::find().all(&conn).await.unwrap()[1].id;
    let other = NewMessage { subject_id: other_subject.into_uuid(), ..other };
    queue::insert_while_subjects_exist(&conn, Subjects::Bookings, std::slice::from_ref(&other), due).await.unwrap();
    assert_eq!(queue::forget_subjects(&conn, &[subject.into_uuid()]).await.unwrap(), 3);
    assert_eq!(queue::forget_user(&conn, coach).await.unwrap(), 0);
    assert_eq!(queue::forget_user(&conn, athlete).await.unwrap(), 1);
    assert!(notifications::Entity::find().all(&conn).await.unwrap().is_empty());
}

/// A send's attempts and the endpoints it found gone are stored with its outcome, only while the
/// claim is ours; the attempts are read back per message and go with their message.
async fn sends_are_recorded_with_their_attempts_and_gone_endpoints(app: TestApp) {
    use bookings::entities::{notification_attempts, webhook_endpoints};
    use bookings::store::outbox::{Gone, NewAttempt};
    use bookings::store::webhook_endpoints as endpoints;
    let conn = db(&app).await;
    let (athlete, _, subject) = queued_booking(&conn).await;
    let m = message(subject, "w:1", athlete, None);
    queue::insert_while_subjects_exist(&conn, Subjects::Bookings, std::slice::from_ref(&m), now()).await.unwrap();

    let attempt = |endpoint: &str, status: i32, delivered: bool| NewAttempt {
        endpoint_id: Some(endpoint.into()),
        status_code: Some(status),
        delivered,
        error: (!delivered).then(|| format!("answered {status}")),
    };
    let sent = [attempt("aaaaaaaaaaaaaaaa", 200, true), attempt("bbbbbbbbbbbbbbbb", 410, false)];
    let gone = [Gone {
        endpoint_id: "bbbbbbbbbbbbbbbb".into(),
        target: "https://b.example".into(),
        reason: "answered 410 Gone".into(),
    }];
    let failed = Outcome::Failed { error: "permanent: 1 of 2 failed".into() };
    // Not claimed: nothing is stored.
    assert!(!queue::record_send(&conn, m.id, 1, &failed, &sent, &gone, now()).await.unwrap());
    assert!(notification_attempts::Entity::find().all(&conn).await.unwrap().is_empty());
    assert!(webhook_endpoints::Entity::find().all(&conn).await.unwrap().is_empty());

    let claimed = queue::claim(&conn, now(), now() + Duration::minutes(5), 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert!(queue::record_send(&conn, m.id, claimed[0].attempts, &failed, &sent, &gone, now()).await.unwrap());
    let stored = queue::attempts_of(&conn, &[m.id]).await.unwrap();
    let stored = &stored[&m.id];
    assert_eq!(stored.len(), 2);
    assert!(stored.iter().all(|a| a.attempt == 1 && a.attempted_at == now() && a.next_attempt_at.is_none()));
    assert_eq!(
        queue::delivered_endpoints(&conn, &[m.id]).await.unwrap()[&m.id],
        BTreeSet::from(["aaaaaaaaaaaaaaaa".to_string()])
    );
    let state = endpoints::all(&conn).await.unwrap();
    assert_eq!(state["bbbbbbbbbbbbbbbb"].disabled_at, Some(now()));
    assert_eq!(state["bbbbbbbbbbbbbbbb"].target, "https://b.example");
    // Disabled twice: one row, the latest reason.
    let again = Gone { reason: "answered 410 Gone again".into(), ..gone[0].clone() };
    endpoints::disable(&conn, &again.endpoint_id, &again.target, &again.reason, now()).await.unwrap();
    assert_eq!(endpoints::all(&conn).await.unwrap().len(), 1);
    endpoints::enable(&conn, "bbbbbbbbbbbbbbbb").await.unwrap();
    assert!(endpoints::all(&conn).await.unwrap().is_empty());

    // Forgetting the message forgets its attempts.
    queue::forget_user(&conn, athlete).await.unwrap();
    assert!(notification_attempts::Entity::find().all(&conn).await.unwrap().is_empty());
}

/// Enqueueing many messages goes in chunks (several transactions) and recording a claimed batch
/// in one: each message is stored exactly once, keys queued before are left as they were, and
/// every claimed send is recorded once with its one attempt.
async fn many_messages_are_queued_and_recorded_exactly_once(app: TestApp) {
    use bookings::entities::notification_attempts;
    use bookings::store::outbox::{NewAttempt, SendRecord};
    use sea_orm::{ColumnTrait, QueryFilter};
    let conn = db(&app).await;
    let (athlete, _, _) = queued_booking(&conn).await;
    let subjects: Vec<BookingId> =
        booking_rows::Entity::find().all(&conn).await.unwrap().iter().map(|b| b.id).collect();
    const MANY: usize = 1_300;
    let messages: Vec<NewMessage> =
        (0..MANY).map(|i| message(subjects[i % subjects.len()], &format!("bulk:{i}"), athlete, None)).collect();
    // Some are queued already (under other ids): they stay as they are.
    let early: Vec<NewMessage> =
        messages[..100].iter().map(|m| NewMessage { id: NotificationId::new(), ..m.clone() }).collect();
    assert_eq!(queue::insert_while_subjects_exist(&conn, Subjects::Bookings, &early, now()).await.unwrap(), 100);
    let enqueued = bookings::notify::outbox::enqueue(&conn, Subjects::Bookings, &messages, now()).await.unwrap();
    assert_eq!(enqueued, MANY - 100);
    assert_eq!(bookings::notify::outbox::enqueue(&conn, Subjects::Bookings, &messages, now()).await.unwrap(), 0);
    let rows = notifications::Entity::find().all(&conn).await.unwrap();
    assert_eq!(rows.len(), MANY);
    let keys: BTreeSet<&str> = rows.iter().map(|r| r.dedupe_key.as_str()).collect();
    assert_eq!(keys.len(), MANY, "each key once");
    let stored: BTreeSet<NotificationId> = rows.iter().map(|r| r.id).collect();
    let expected: BTreeSet<NotificationId> =
        early.iter().map(|m| m.id).chain(messages[100..].iter().map(|m| m.id)).collect();
    assert_eq!(stored, expected);

    // One batch recorded at once: every claimed send once, with its attempt; a send whose claim
    // is not ours (never claimed) is not recorded.
    let claimed = queue::claim(&conn, now(), now() + Duration::minutes(5), 2_000).await.unwrap();
    assert_eq!(claimed.len(), MANY);
    let delivered = NewAttempt { endpoint_id: None, status_code: None, delivered: true, error: None };
    let mut sends: Vec<SendRecord> = claimed
        .iter()
        .enumerate()
        .map(|(i, n)| SendRecord {
            id: n.id,
            attempt: n.attempts,
            outcome: if i % 100 == 7 {
                Outcome::RetryAt { at: now() + Duration::minutes(1), error: "down".into() }
            } else {
                Outcome::Sent
            },
            attempts: vec![delivered.clone()],
            gone: vec![],
        })
        .collect();
    sends.push(SendRecord {
        id: NotificationId::new(),
        attempt: 1,
        outcome: Outcome::Sent,
        attempts: vec![delivered],
        gone: vec![],
    });
    let ours = queue::record_sends(&conn, &sends, now()).await.unwrap();
    assert_eq!(ours, claimed.iter().map(|n| n.id).collect::<BTreeSet<_>>());
    let retrying = claimed.iter().enumerate().filter(|(i, _)| i % 100 == 7).count();
    let sent = notifications::Entity::find()
        .filter(notifications::Column::Status.eq(NotificationStatus::Sent))
        .all(&conn)
        .await
        .unwrap();
    assert_eq!(sent.len(), MANY - retrying);
    assert!(sent.iter().all(|n| n.sent_at == Some(now()) && n.lease_until.is_none()));
    let attempts = notification_attempts::Entity::find().all(&conn).await.unwrap();
    assert_eq!(attempts.len(), MANY);
    assert_eq!(attempts.iter().map(|a| a.notification_id).collect::<BTreeSet<_>>().len(), MANY);
    // Recorded already: nothing is ours any more.
    assert!(queue::record_sends(&conn, &sends, now()).await.unwrap().is_empty());
    assert_eq!(notification_attempts::Entity::find().all(&conn).await.unwrap().len(), MANY);
}

/// A pass over more due subjects than one chunk of the pass (`ENQUEUE_CHUNK`): every subject's
/// message is queued once, each rendered from its own subject (the keys looked up and the
/// messages rendered a chunk at a time stay paired with their subjects), those queued by an
/// earlier pass are left as they were, and a pass that finds them all queued queues nothing.
async fn a_pass_over_many_chunks_queues_each_subject_once_from_its_own_facts(app: TestApp) {
    use bookings::domain::reservation::{ManageKey, ManageLinks};
    use bookings::notify::outbox::{enqueue_due, ENQUEUE_CHUNK};
    use bookings::notify::render::Letterhead;
    use bookings::notify::rules::Rules;
    let conn = db(&app).await;
    let athlete = user(&conn, Some("athlete@example.com")).await;
    let coach = user(&conn, Some("coach@example.com")).await;
    let event = coach_event(&conn, coach, EventStatus::Scheduled, 10_000).await;
    let order = OrderId::new();
    let row =
        booking_orders::Model { id: order, user_id: athlete, payment_status: PaymentStatus::Cash, created_at: now() };
    insert(&conn, row.into_active_model()).await;
    let book = |i: usize| booking_rows::Model {
        id: BookingId::new(),
        order_id: order,
        user_id: athlete,
        coach_id: coach,
        event_id: event,
        starts_at: now() + Duration::days(3),
        ends_at: now() + Duration::days(3) + Duration::hours(1),
        status: BookingStatus::from(Status::Accepted),
        completed: false,
        note: None,
        canceled_at: None,
        canceled_by_role: None,
        cancellation_reason_code: None,
        cancellation_reason_text: None,
        dismissed: false,
        created_at: now() - Duration::minutes(1 + i as i64),
        updated_at: now(),
    };
    let rules = Rules::parse(
        r#"
late_horizon: 2h
event_horizon: 7d
rules:
  - name: made
    trigger: booking.created
    recipient: athlete
    channel: email
    template: made
    ical: true
templates:
  made:
    subject: "Booking {{ booking.id }}"
    text: "Booking {{ booking.id }} of event {{ event.id }}"
    html: "<p>Booking {{ booking.id }}</p>"
"#,
    )
    .unwrap();
    let letterhead = Letterhead::new(
        ManageLinks::new(ManageKey::new(b"k-0123456789abcdef0123456789abcdef"), "https://b.example"),
        "bookings@example.com",
    );
    // A first pass sees some of them; the rest are made after it.
    let first = ENQUEUE_CHUNK + 3;
    let many = 2 * ENQUEUE_CHUNK + 17;
    for i in 0..first {
        insert(&conn, book(i).into_active_model()).await;
    }
    assert_eq!(enqueue_due(&conn, &rules, &letterhead, now(), false).await.unwrap(), first);
    let early: BTreeSet<NotificationId> =
        notifications::Entity::find().all(&conn).await.unwrap().iter().map(|n| n.id).collect();
    for i in first..many {
        insert(&conn, book(i).into_active_model()).await;
    }
    assert_eq!(enqueue_due(&conn, &rules, &letterhead, now(), false).await.unwrap(), many - first);
    assert_eq!(enqueue_due(&conn, &rules, &letterhead, now(), false).await.unwrap(), 0);

    let rows = notifications::Entity::find().all(&conn).await.unwrap();
    assert_eq!(rows.len(), many);
    let made: BTreeSet<Uuid> =
        booking_rows::Entity::find().all(&conn).await.unwrap().iter().map(|b| b.id.into_uuid()).collect();
    assert_eq!(rows.iter().map(|n| n.subject_id).collect::<BTreeSet<_>>(), made, "each booking once");
    assert!(early.iter().all(|id| rows.iter().any(|n| n.id == *id)), "the first pass's messages stay as they were");
    for n in &rows {
        let subject = n.subject_id.to_string();
        assert!(n.dedupe_key.contains(&subject), "{}: {}", subject, n.dedupe_key);
        assert_eq!(n.subject, format!("Booking {subject}"));
        assert_eq!(n.body_text, format!("Booking {subject} of event {event}"));
        assert_eq!(n.recipient_email.as_deref(), Some("athlete@example.com"));
        let ical = n.ical.as_deref().expect("an invitation");
        assert!(ical.contains(&format!("UID:{subject}@bookings")), "{ical}");
    }
}

db_tests!(
    booking_windows_select_what_the_domain_admits,
    reservation_windows_select_what_the_domain_admits,
    the_queue_enqueues_once_claims_with_a_lease_and_records,
    sends_are_recorded_with_their_attempts_and_gone_endpoints,
    many_messages_are_queued_and_recorded_exactly_once,
    a_pass_over_many_chunks_queues_each_subject_once_from_its_own_facts,
);
