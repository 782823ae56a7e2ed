//! The status and kind columns are typed (sea-orm enums) over the text they always held: rows
//! written as raw text, as before the change, read through the typed entities and the API as
//! before, and what the typed code writes is that same text. On SQLite and on PostgreSQL.

use crate::db_tests;
use crate::helpers::*;
use crate::leko::{book, cancel, create_event, uuid_of};
use bookings::domain::kinds::{CancellationReason, Currency, Eligibility, Level, SlotType};
use bookings::domain::notifications::Recipient;
use bookings::entities::bookings::{BookingStatus, CanceledByRole};
use bookings::entities::calendar_events::EventSource;
use bookings::entities::coach_events::{EventStatus, PaymentMethod};
use bookings::entities::notifications::{Channel, NotificationStatus};
use bookings::entities::{booking_orders, bookings as booking_rows, calendar_events, coach_events, notifications};
use chrono::{Duration, TimeZone, Utc};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, EntityTrait, IntoActiveModel, Statement};
use serde_json::json;
use uuid::Uuid;

async fn db(app: &TestApp) -> DatabaseConnection {
    Database::connect(app.settings.database_url.clone().expect("test apps name their database")).await.expect("connect")
}

/// The raw text of `column` in the only row of `table`.
async fn raw(conn: &DatabaseConnection, table: &str, column: &str) -> String {
    let stmt = Statement::from_string(conn.get_database_backend(), format!("SELECT {column} FROM {table}"));
    let row = conn.query_one_raw(stmt).await.unwrap().unwrap_or_else(|| panic!("a row in {table}"));
    row.try_get::<String>("", column).unwrap()
}

async fn exec(conn: &DatabaseConnection, sql: &str) {
    conn.execute_unprepared(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
}

async fn raw_text_reads_as_before(app: TestApp) {
    let coach = app.user();
    let athlete = app.user();
    let start = Utc.with_ymd_and_hms(2030, 1, 8, 10, 0, 0).unwrap();
    let event = create_event(&app, &coach, start, start + Duration::minutes(30), 5).await;
    let order = book(&app, &athlete, &[event]).await.expect(201).body;
    let booking = uuid_of(&order["bookings"][0]["bookingId"]);
    let conn = db(&app).await;

    // What the typed code writes is the text stored before.
    assert_eq!(raw(&conn, "bookings", "status").await, "Accepted");
    assert_eq!(raw(&conn, "booking_orders", "payment_status").await, "Cash");
    assert_eq!(raw(&conn, "coach_events", "status").await, "Scheduled");
    assert_eq!(raw(&conn, "coach_events", "payment_method").await, "Cash");

    // Rows changed with raw text, as an older server left them, read through the entities...
    exec(&conn, "UPDATE bookings SET status = 'Canceled', canceled_by_role = 'Athlete'").await;
    exec(&conn, "UPDATE coach_events SET status = 'Canceled'").await;
    let row = booking_rows::Entity::find().one(&conn).await.unwrap().unwrap();
    assert_eq!((row.status, row.canceled_by_role), (BookingStatus::Canceled, Some(CanceledByRole::Athlete)));
    let row = coach_events::Entity::find().one(&conn).await.unwrap().unwrap();
    assert_eq!((row.status, row.payment_method), (EventStatus::Canceled, PaymentMethod::Cash));
    let row = booking_orders::Entity::find().one(&conn).await.unwrap().unwrap();
    assert_eq!(row.payment_status, booking_orders::PaymentStatus::Cash);
    // ... and through the API.
    let b = app.get(&format!("/v1/bookings/{booking}"), Some(&athlete.token)).await.expect(200).body;
    assert_eq!(b["bookingStatus"], "Canceled", "{b}");
    assert_eq!(b["canceledByRole"], "Athlete", "{b}");
    assert_eq!(b["eventStatus"], "Canceled", "{b}");
    assert_eq!(b["timeslot"]["paymentMethod"], "Cash", "{b}");
    let e = app.get(&format!("/v1/coach-events/{event}"), Some(&coach.token)).await.expect(200).body;
    assert_eq!(e["status"], "Canceled", "{e}");

    // A calendar event: entered by hand, then marked a reservation in raw text.
    let owner = app.user();
    let cal = app.new_calendar(&owner).await;
    app.post(
        &format!("/v1/calendars/{cal}/events"),
        Some(&owner.token),
        json!({"title": "busy", "start": "2030-02-01T10:00:00Z", "end": "2030-02-01T11:00:00Z"}),
    )
    .await
    .expect(201);
    assert_eq!(raw(&conn, "calendar_events", "source").await, "manual");
    exec(&conn, "UPDATE calendar_events SET source = 'reservation'").await;
    let row = calendar_events::Entity::find().one(&conn).await.unwrap().unwrap();
    assert_eq!(row.source, EventSource::Reservation);
    let path = format!("/v1/calendars/{cal}/events?start=2030-02-01T00:00:00Z&end=2030-02-02T00:00:00Z");
    let list = app.get(&path, Some(&owner.token)).await.expect(200).body;
    assert_eq!(list[0]["source"], "reservation", "{list}");

    // A notification: written typed (stored as `email`, `pending`), then changed in raw text.
    let id = bookings::domain::ids::NotificationId::new();
    let message = seeded_message(id, NotificationStatus::Pending);
    notifications::Entity::insert(message.into_active_model()).exec_without_returning(&conn).await.unwrap();
    assert_eq!(raw(&conn, "notifications", "channel").await, "email");
    assert_eq!(raw(&conn, "notifications", "status").await, "pending");
    exec(&conn, "UPDATE notifications SET status = 'skipped', channel = 'webhook'").await;
    let row = notifications::Entity::find().one(&conn).await.unwrap().unwrap();
    assert_eq!((row.status, row.channel), (NotificationStatus::Skipped, Channel::Webhook));
    let admin = app.admin();
    let list = app.get("/v1/notifications?status=skipped", Some(&admin.token)).await.expect(200).body;
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(list[0]["channel"], "webhook", "{list}");
    assert_eq!(list[0]["status"], "skipped", "{list}");
}

db_tests!(raw_text_reads_as_before);

/// The kinds typed after the statuses (`domain::kinds`, `entities::kinds`): a coach event's slot
/// type, currency, level and eligibility, a booking's cancellation reason and a notification's
/// recipient role. Written as the text they always were, read back from raw text through the
/// entities and the API.
async fn kinds_raw_text_reads_as_before(app: TestApp) {
    let coach = app.user();
    let athlete = app.user();
    let start = Utc.with_ymd_and_hms(2030, 1, 8, 10, 0, 0).unwrap();
    let event = create_event(&app, &coach, start, start + Duration::minutes(30), 5).await;
    let order = book(&app, &athlete, &[event]).await.expect(201).body;
    let booking = uuid_of(&order["bookings"][0]["bookingId"]);
    cancel(&app, &athlete, booking, "NoTime", None).await.expect(200);
    let conn = db(&app).await;

    // What the typed code writes is the text stored before.
    assert_eq!(raw(&conn, "coach_events", "slot_type").await, "Offline");
    assert_eq!(raw(&conn, "coach_events", "price_currency").await, "RUB");
    assert_eq!(raw(&conn, "coach_events", "level").await, "Any");
    assert_eq!(raw(&conn, "coach_events", "eligibility").await, "All");
    assert_eq!(raw(&conn, "bookings", "cancellation_reason_code").await, "NoTime");

    // Rows changed with raw text, as an older server left them, read through the entities...
    exec(&conn, "UPDATE coach_events SET slot_type = 'Online', level = 'Pro', eligibility = 'Women'").await;
    exec(&conn, "UPDATE bookings SET cancellation_reason_code = 'NotFeelingWell'").await;
    let row = coach_events::Entity::find().one(&conn).await.unwrap().unwrap();
    assert_eq!(
        (row.slot_type, row.price_currency, row.level, row.eligibility),
        (SlotType::Online, Currency::Rub, Some(Level::Pro), Some(Eligibility::Women))
    );
    let row = booking_rows::Entity::find().one(&conn).await.unwrap().unwrap();
    assert_eq!(row.cancellation_reason_code, Some(CancellationReason::NotFeelingWell));
    // ... and through the API.
    let e = app.get(&format!("/v1/coach-events/{event}"), Some(&coach.token)).await.expect(200).body;
    assert_eq!(e["timeslot"]["slotType"], "Online", "{e}");
    assert_eq!(e["timeslot"]["priceCurrency"], "RUB", "{e}");
    assert_eq!(e["timeslot"]["level"], "Pro", "{e}");
    assert_eq!(e["timeslot"]["eligibility"], "Women", "{e}");
    let b = app.get(&format!("/v1/bookings/{booking}"), Some(&athlete.token)).await.expect(200).body;
    assert_eq!(b["cancellationReasonCode"], "NotFeelingWell", "{b}");

    // A notification's recipient role: written typed, then changed in raw text.
    let id = bookings::domain::ids::NotificationId::new();
    let message = seeded_message(id, NotificationStatus::Skipped);
    notifications::Entity::insert(message.into_active_model()).exec_without_returning(&conn).await.unwrap();
    assert_eq!(raw(&conn, "notifications", "recipient_role").await, "athlete");
    exec(&conn, "UPDATE notifications SET recipient_role = 'other_party'").await;
    let row = notifications::Entity::find_by_id(id).one(&conn).await.unwrap().unwrap();
    assert_eq!(row.recipient_role, Recipient::OtherParty);
    let admin = app.admin();
    let list = app.get("/v1/notifications?status=skipped", Some(&admin.token)).await.expect(200).body;
    let seeded: Vec<_> = list.as_array().unwrap().iter().filter(|n| n["id"] == json!(id)).collect();
    assert_eq!(seeded.len(), 1, "{list}");
    assert_eq!(seeded[0]["recipientRole"], "other_party", "{list}");
}

db_tests!(kinds_raw_text_reads_as_before);

/// An email to an athlete in the outbox, due in a year, written as the store writes one.
fn seeded_message(id: bookings::domain::ids::NotificationId, status: NotificationStatus) -> notifications::Model {
    let now = Utc::now();
    notifications::Model {
        id,
        dedupe_key: format!("seeded:{id}"),
        rule: "seeded".into(),
        channel: Channel::Email,
        subject_id: Uuid::new_v4(),
        recipient_role: Recipient::Athlete,
        recipient_user_id: None,
        recipient_email: Some("n@example.com".into()),
        about_user_id: None,
        about_coach_id: None,
        subject: "s".into(),
        body_text: "t".into(),
        body_html: "h".into(),
        ical: None,
        payload: "{}".into(),
        status,
        attempts: 0,
        next_attempt_at: now + Duration::days(365),
        lease_until: None,
        last_error: None,
        created_at: now,
        sent_at: None,
        updated_at: now,
    }
}
