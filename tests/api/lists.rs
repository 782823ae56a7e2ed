//! List operations: no answer holds more than 1,000 items, a cut answer says so
//! (`X-Truncated: true`), and the companion lists page by cursor (`limit`, `cursor`,
//! `X-Next-Cursor`), every item exactly once, stable under inserts. Volume is seeded straight
//! into the test's database (a thousand requests would only slow the test down); every read
//! goes through HTTP.

use crate::db_tests;
use crate::helpers::*;
use crate::leko::{book, create_event, uuid_of};
use bookings::domain::ids::{BookingId, CalendarEventId, CalendarId, CoachEventId, OrderId, UserId};
use bookings::domain::notifications::Recipient;
use bookings::entities::{
    booking_links, booking_orders, bookings as booking_rows, calendar_events, coach_events, notifications,
};
use chrono::{DateTime, Duration, TimeZone, Utc};
use sea_orm::{Database, DatabaseConnection, EntityTrait, IntoActiveModel};
use serde_json::json;
use std::collections::BTreeSet;
use uuid::Uuid;

async fn db(app: &TestApp) -> DatabaseConnection {
    Database::connect(app.settings.database_url.clone().expect("test apps name their database")).await.expect("connect")
}

fn at(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 1, 7, 0, 0, 0).unwrap() + Duration::minutes(minutes)
}

fn truncated(r: &Reply) -> Option<&str> {
    r.headers.get("x-truncated").and_then(|v| v.to_str().ok())
}

fn next_cursor(r: &Reply) -> Option<String> {
    r.headers.get("x-next-cursor").and_then(|v| v.to_str().ok()).map(str::to_string)
}

#[track_caller]
fn assert_bad_cursor(r: &Reply) {
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.code(), "validation", "{}", r.text);
}

/// Walks a list from its first page by `X-Next-Cursor`; the ids of every page, in order.
/// `between` runs after the first page (to insert items meanwhile).
async fn walk<F, Fut>(app: &TestApp, token: &str, path: &str, limit: usize, id_field: &str, between: F) -> Vec<String>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut between = Some(between);
    for _ in 0..100 {
        let url = match &cursor {
            Some(c) => format!("{path}{sep}limit={limit}&cursor={c}"),
            None => format!("{path}{sep}limit={limit}"),
        };
        let r = app.get(&url, Some(token)).await.expect(200);
        let page = r.body.as_array().unwrap();
        assert!(page.len() <= limit, "a page of {} over its limit {limit}", page.len());
        seen.extend(page.iter().map(|item| item[id_field].as_str().unwrap().to_string()));
        cursor = next_cursor(&r);
        assert_eq!(truncated(&r), cursor.as_ref().map(|_| "true"), "X-Truncated goes with X-Next-Cursor");
        if let Some(f) = between.take() {
            f().await;
        }
        if cursor.is_none() {
            return seen;
        }
    }
    panic!("the walk did not end");
}

#[track_caller]
fn assert_each_once(seen: &[String], expected: &BTreeSet<String>) {
    let unique: BTreeSet<String> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), seen.len(), "an item was shown twice");
    assert!(expected.is_subset(&unique), "{} items were never shown", expected.difference(&unique).count());
}

async fn calendar_events_are_cut_at_1000_and_paginated(app: TestApp) {
    let owner = app.user();
    let cal = app.new_calendar(&owner).await;
    let conn = db(&app).await;
    // 1,005 events, in pairs with the same start (the id breaks the tie).
    let rows: Vec<calendar_events::ActiveModel> = (0..1005)
        .map(|i| {
            calendar_events::Model {
                id: CalendarEventId::new(),
                calendar_id: CalendarId::from_uuid(cal),
                title: format!("busy {i}"),
                starts_at: at(60 + (i / 2) * 30),
                ends_at: at(60 + (i / 2) * 30 + 20),
                notes: None,
                source: calendar_events::EventSource::Manual,
                booking_link_token: None,
                attendee_name: None,
                attendee_email: None,
                cancelled: false,
                created_at: Utc::now(),
                cancelled_at: None,
                manage_token_hash: None,
                sequence: 0,
                moved_at: None,
                cancel_reason: None,
                cancelled_by: None,
                location: None,
                session_id: None,
                awaiting_confirmation: false,
                confirmed_at: None,
                pending_until: None,
                holds_slot: true,
                team_booking_id: None,
            }
            .into_active_model()
        })
        .collect();
    let mut expected = BTreeSet::new();
    for chunk in rows.chunks(100) {
        expected.extend(chunk.iter().map(|r| r.id.clone().unwrap().to_string()));
        calendar_events::Entity::insert_many(chunk.to_vec()).exec_without_returning(&conn).await.unwrap();
    }
    let range = "start=2030-01-01T00:00:00Z&end=2030-12-01T00:00:00Z";
    let path = format!("/v1/calendars/{cal}/events?{range}");
    let r = app.list_calendar_events(cal, range, Some(&owner.token)).await.expect(200);
    assert_eq!(r.body.as_array().unwrap().len(), 1000);
    assert_eq!(truncated(&r), Some("true"));
    let first_cursor = next_cursor(&r).expect("a cursor to go on");
    // The rest, from the cursor.
    let rest =
        app.list_calendar_events(cal, &format!("{range}&cursor={first_cursor}"), Some(&owner.token)).await.expect(200);
    assert_eq!(rest.body.as_array().unwrap().len(), 5);
    assert_eq!((truncated(&rest), next_cursor(&rest)), (None, None));

    // A walk of pages of 97 while events are added before and after the walk's position.
    let seen = walk(&app, &owner.token, &path, 97, "id", || async {
        for start in ["2030-01-07T00:10:00Z", "2030-09-01T00:00:00Z"] {
            app.create_calendar_event(
                cal,
                Some(&owner.token),
                json!({"title": "added", "start": start, "end": "2030-09-01T01:00:00Z"}),
            )
            .await
            .expect(201);
        }
    })
    .await;
    assert_each_once(&seen, &expected);
    assert_eq!(seen.len(), 1006, "the event added after the walk's position is shown, the one before it is not");

    // Bad cursors: garbage, another list's, a wrong limit.
    for bad in ["nonsense", "Y2UxfDF8Mnw", "YmwxfDF8MnxrZXk"] {
        assert_bad_cursor(&app.list_calendar_events(cal, &format!("{range}&cursor={bad}"), Some(&owner.token)).await);
    }
    assert_bad_cursor(&app.list_calendar_events(cal, &format!("{range}&limit=0"), Some(&owner.token)).await);
    assert_bad_cursor(&app.list_calendar_events(cal, &format!("{range}&limit=1001"), Some(&owner.token)).await);
}

async fn booking_links_are_cut_at_1000_and_paginated(app: TestApp) {
    let owner = app.user();
    let cal = app.new_calendar(&owner).await;
    let conn = db(&app).await;
    let now = Utc::now();
    let mut expected = BTreeSet::new();
    let rows: Vec<booking_links::ActiveModel> = (0..1003)
        .map(|i| {
            let token = format!("seeded-{i:05}-{}", Uuid::new_v4().simple());
            expected.insert(token.clone());
            booking_links::Model {
                token: bookings::domain::input::LinkToken::parse(&token).unwrap(),
                calendar_id: CalendarId::from_uuid(cal),
                duration_minutes: 30,
                buffer_minutes: 0,
                timezone: "UTC".into(),
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
                // Groups of three made at the same instant.
                created_at: now - Duration::seconds(i / 3),
                updated_at: now,
            }
            .into_active_model()
        })
        .collect();
    for chunk in rows.chunks(100) {
        booking_links::Entity::insert_many(chunk.to_vec()).exec_without_returning(&conn).await.unwrap();
    }
    let path = format!("/v1/calendars/{cal}/booking-links");
    let r = app.list_booking_links(cal, "", Some(&owner.token)).await.expect(200);
    assert_eq!(r.body.as_array().unwrap().len(), 1000);
    assert_eq!(truncated(&r), Some("true"));
    assert!(next_cursor(&r).is_some());
    let seen = walk(&app, &owner.token, &path, 250, "token", || async {
        // A new link is the newest: before the walk's position, not shown.
        app.create_link(&owner, cal, json!({"duration_minutes": 30, "timezone": "UTC", "working_hours": {"mon": [{"start": "09:00", "end": "12:00"}]}}))
            .await
            .expect(200);
    })
    .await;
    assert_each_once(&seen, &expected);
    assert_eq!(seen.len(), 1003);
    let other = crate::lists::events_cursor_of(&app, &owner, cal).await;
    assert_bad_cursor(&app.list_booking_links(cal, &format!("cursor={other}"), Some(&owner.token)).await);
}

/// A cursor of listCalendarEvents, to offer to another list.
pub(crate) async fn events_cursor_of(app: &TestApp, owner: &User, cal: Uuid) -> String {
    for start in ["2031-01-07T10:00:00Z", "2031-01-07T11:00:00Z"] {
        app.create_calendar_event(
            cal,
            Some(&owner.token),
            json!({"title": "x", "start": start, "end": "2031-01-07T12:00:00Z"}),
        )
        .await
        .expect(201);
    }
    let r = app
        .list_calendar_events(cal, "start=2031-01-01T00:00:00Z&end=2031-02-01T00:00:00Z&limit=1", Some(&owner.token))
        .await
        .expect(200);
    next_cursor(&r).expect("a cursor")
}

async fn notifications_are_paginated(app: TestApp) {
    let admin = app.admin();
    let conn = db(&app).await;
    let now = Utc::now();
    let mut expected = BTreeSet::new();
    let rows: Vec<notifications::ActiveModel> = (0..230)
        .map(|i| {
            let id = Uuid::new_v4();
            expected.insert(id.to_string());
            notifications::Model {
                id: bookings::domain::ids::NotificationId::from_uuid(id),
                dedupe_key: format!("seeded:{id}"),
                rule: "seeded".into(),
                channel: notifications::Channel::Email,
                subject_id: Uuid::new_v4(),
                recipient_role: Recipient::Athlete,
                recipient_user_id: None,
                recipient_email: Some(format!("n{i}@example.com")),
                about_user_id: None,
                about_coach_id: None,
                subject: "s".into(),
                body_text: "t".into(),
                body_html: "h".into(),
                ical: None,
                payload: "{}".into(),
                status: notifications::NotificationStatus::Failed,
                attempts: 5,
                next_attempt_at: now,
                lease_until: None,
                last_error: Some("seeded".into()),
                created_at: now - Duration::seconds(i / 4),
                sent_at: None,
                updated_at: now,
            }
            .into_active_model()
        })
        .collect();
    for chunk in rows.chunks(50) {
        notifications::Entity::insert_many(chunk.to_vec()).exec_without_returning(&conn).await.unwrap();
    }
    // The default page (100) is cut and says so.
    let r = app.list_notifications("status=failed", Some(&admin.token)).await.expect(200);
    assert_eq!(r.body.as_array().unwrap().len(), 100);
    assert_eq!(truncated(&r), Some("true"));
    let seen = walk(&app, &admin.token, "/v1/notifications?status=failed", 64, "id", || async {}).await;
    assert_each_once(&seen, &expected);
    assert_eq!(seen.len(), 230);
    assert_bad_cursor(&app.list_notifications("cursor=bm90IGEgY3Vyc29y", Some(&admin.token)).await);
}

/// getBookings and getUserBookingOrders (seed 003) answer at most 1,000 items, with
/// `X-Truncated: true` when cut; their bodies keep the seed's shape. A range filter counts only
/// the orders in range.
async fn seed_lists_are_cut_at_1000(app: TestApp) {
    let coach = app.user();
    let athlete = app.user();
    let template_id = create_event(&app, &coach, at(60 * 24 * 30), at(60 * 24 * 30 + 30), 5).await;
    let order = book(&app, &athlete, &[template_id]).await.expect(201).body;
    assert_eq!(order["bookings"].as_array().unwrap().len(), 1);
    // Small lists are whole: no header.
    let r = app.get_bookings(&format!("userId={}", athlete.id), Some(&athlete.token)).await.expect(200);
    assert_eq!(truncated(&r), None);
    let r = app.get_user_booking_orders(&format!("userId={}", athlete.id), Some(&athlete.token)).await.expect(200);
    assert_eq!(truncated(&r), None);

    let conn = db(&app).await;
    let template =
        coach_events::Entity::find_by_id(CoachEventId::from_uuid(template_id)).one(&conn).await.unwrap().unwrap();
    let booking = booking_rows::Entity::find().one(&conn).await.unwrap().unwrap();
    let base = Utc::now();
    // 1,004 more orders of one booking each, on events an hour apart, made in that order.
    let (mut events, mut orders, mut rows, mut last_events) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for n in 0..1004i64 {
        let start = at(60 * n);
        let mut event = template.clone();
        event.id = CoachEventId::new();
        event.starts_at = start;
        event.ends_at = start + Duration::minutes(30);
        let order = booking_orders::Model {
            id: OrderId::new(),
            user_id: UserId::from_uuid(athlete.id),
            payment_status: booking_orders::PaymentStatus::Cash,
            created_at: base + Duration::seconds(n + 1),
        };
        let mut b = booking.clone();
        b.id = BookingId::new();
        b.order_id = order.id;
        b.event_id = event.id;
        b.starts_at = start;
        b.ends_at = start + Duration::minutes(30);
        if n >= 1000 {
            last_events.push(event.id.into_uuid());
        }
        events.push(event.into_active_model());
        orders.push(order.into_active_model());
        rows.push(b.into_active_model());
    }
    for chunk in events.chunks(100) {
        coach_events::Entity::insert_many(chunk.to_vec()).exec_without_returning(&conn).await.unwrap();
    }
    for chunk in orders.chunks(100) {
        booking_orders::Entity::insert_many(chunk.to_vec()).exec_without_returning(&conn).await.unwrap();
    }
    for chunk in rows.chunks(100) {
        booking_rows::Entity::insert_many(chunk.to_vec()).exec_without_returning(&conn).await.unwrap();
    }
    let r = app.get_bookings(&format!("userId={}", athlete.id), Some(&athlete.token)).await.expect(200);
    assert_eq!(r.body.as_array().unwrap().len(), 1000);
    assert_eq!(truncated(&r), Some("true"));
    let r = app.get_user_booking_orders(&format!("userId={}", athlete.id), Some(&athlete.token)).await.expect(200);
    assert_eq!(r.body.as_array().unwrap().len(), 1000);
    assert_eq!(truncated(&r), Some("true"));
    // The last four orders by time, beyond the first 1,000 orders made: the range is in the query.
    let from = urlencode(&at(60 * 1000).to_rfc3339());
    let to = urlencode(&at(60 * 1004).to_rfc3339());
    let r = app
        .get_user_booking_orders(&format!("userId={}&startAt={from}&endAt={to}", athlete.id), Some(&athlete.token))
        .await
        .expect(200);
    let events: Vec<uuid::Uuid> =
        r.body.as_array().unwrap().iter().map(|o| uuid_of(&o["bookings"][0]["eventId"])).collect();
    assert_eq!(events, last_events, "{}", r.text);
    assert_eq!(truncated(&r), None);
}

db_tests!(
    calendar_events_are_cut_at_1000_and_paginated,
    booking_links_are_cut_at_1000_and_paginated,
    notifications_are_paginated,
    seed_lists_are_cut_at_1000,
);
