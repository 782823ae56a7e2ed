//! Erasing a user (deleteUserFromBookings): everything about them goes in one transaction, and
//! a deletion racing orders for the coach's events leaves no empty order.

use crate::db_tests;
use crate::helpers::*;
use crate::leko::{book, create_event, uuid_of};
use chrono::{DateTime, TimeZone, Utc};
use serde_json::{json, Value};
use uuid::Uuid;

fn jan(day: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 1, day, h, 0, 0).unwrap()
}

async fn delete_self(app: &TestApp, user: &User) -> Reply {
    app.delete_user_from_bookings(user.id, "", Some(&user.token)).await
}

fn assert_errors(r: &Reply, status: u16, code: &str) {
    assert_eq!(r.status.as_u16(), status, "{}", r.text);
    assert!(r.body["errors"].is_array(), "expected the Errors envelope: {}", r.text);
    assert_eq!(r.code(), code, "{}", r.text);
}

/// A coach deletes herself while many orders for her events race in. Afterwards no order is
/// left without bookings: each order was either placed before the deletion (and is gone with
/// it) or refused (eventNotFound, nothing written).
async fn deleting_a_coach_while_orders_race_in_leaves_no_empty_order(app: TestApp) {
    let admin = app.admin();
    for round in 0..3u32 {
        let coach = app.user();
        let e1 = create_event(&app, &coach, jan(7 + round, 10), jan(7 + round, 11), 100).await;
        let e2 = create_event(&app, &coach, jan(7 + round, 12), jan(7 + round, 13), 100).await;
        // Each athlete also books an event of another coach in the same order, so the order
        // would outlive the deletion with a booking left, or be left empty if only hers.
        let other_coach = app.user();
        let other = create_event(&app, &other_coach, jan(20 + round, 10), jan(20 + round, 11), 100).await;
        let athletes: Vec<User> = (0..24).map(|_| app.user()).collect();
        let orders = athletes.iter().enumerate().map(|(i, a)| {
            let events = if i % 3 == 0 { vec![e1, e2, other] } else { vec![e1, e2] };
            let app = &app;
            async move { (book(app, a, &events).await, events.len()) }
        });
        let deletion = async {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            delete_self(&app, &coach).await
        };
        let (results, deleted) = tokio::join!(futures::future::join_all(orders), deletion);
        assert_eq!(deleted.status, 204, "{}", deleted.text);
        for (r, _) in &results {
            match r.status.as_u16() {
                201 => {}
                400 => {
                    let codes: Vec<&str> = r.body["errors"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .filter_map(|e| e["bookingError"].as_str())
                        .collect();
                    assert!(codes.contains(&"eventNotFound"), "refused for another reason: {}", r.text);
                }
                s => panic!("unexpected {s}: {}", r.text),
            }
        }
        for (i, a) in athletes.iter().enumerate() {
            let orders = app.get_user_booking_orders(&format!("userId={}", a.id), Some(&admin.token)).await.expect(200);
            for order in orders.body.as_array().unwrap() {
                let bookings = order["bookings"].as_array().unwrap();
                assert!(!bookings.is_empty(), "round {round}: an order without bookings is left: {order}");
                // What is left is the other coach's booking, of an order placed before the deletion.
                assert!(i % 3 == 0 && bookings.len() == 1 && uuid_of(&bookings[0]["eventId"]) == other, "{order}");
            }
        }
        for e in [e1, e2] {
            app.get_coach_event(e, Some(&admin.token)).await.expect(404);
            let r = app.get_bookings(&format!("eventId={e}"), Some(&admin.token)).await;
            assert_errors(&r, 404, "notFound");
        }
    }
}

/// A user of whom only a remembered email is held: 204, and then nothing is held: 404.
async fn erasing_a_user_who_holds_only_a_remembered_email(app: TestApp) {
    let admin = app.admin();
    let user = app.user();
    app.set_user_email(user.id, Some(&admin.token), json!({"email": "only@example.com"})).await.expect(204);
    delete_self(&app, &user).await.expect(204);
    let r = delete_self(&app, &user).await;
    assert_errors(&r, 404, "notFound");

    // The same when the address came from the token's email claim, erased by an admin.
    let claimed = app.user();
    let with_email = User {
        id: claimed.id,
        token: app.token_for(claimed.id, bookings::policy::DEFAULT_SCOPES, false, Some("claim@example.com")),
    };
    app.get_user_booking_orders(&format!("userId={}", claimed.id), Some(&with_email.token)).await.expect(200);
    let query = format!("userId={}", claimed.id);
    app.delete_user_from_bookings(admin.id, &query, Some(&admin.token)).await.expect(204);
    let r = app.delete_user_from_bookings(admin.id, &query, Some(&admin.token)).await;
    assert_errors(&r, 404, "notFound");
}

fn every_day() -> Value {
    let day = json!([{"start": "00:00", "end": "24:00"}]);
    json!({"mon": day, "tue": day, "wed": day, "thu": day, "fri": day, "sat": day, "sun": day})
}

/// A calendar, a manual event, a link and a reservation on it by a visitor; the link's token.
async fn calendar_with_a_reservation(app: &TestApp, owner: &User, visitor: &str) -> (Uuid, String) {
    let cal = app.new_calendar(owner).await;
    app.create_calendar_event(
        cal,
        Some(&owner.token),
        json!({"title": "Dentist", "start": "2030-01-07T08:00:00Z", "end": "2030-01-07T09:00:00Z"}),
    )
    .await
    .expect(201);
    let link = app
        .create_link(owner, cal, json!({"duration_minutes": 30, "timezone": "UTC", "working_hours": every_day()}))
        .await
        .expect(200);
    let token = link.body["token"].as_str().unwrap().to_string();
    app.reserve_booking_slot(
        &token,
        json!({"name": format!("Visitor {visitor}"), "email": visitor, "slot_start": "2030-01-07T10:00:00Z", "slot_end": "2030-01-07T10:30:00Z"}),
    )
    .await
    .expect(200);
    (cal, token)
}

async fn availability(app: &TestApp, token: &str) -> Reply {
    app.availability(token, "2030-01-07T00:00:00Z", "2030-01-08T00:00:00Z").await
}

fn recipients(list: &Value) -> Vec<String> {
    list.as_array().unwrap().iter().filter_map(|n| n["recipientEmail"].as_str().map(str::to_string)).collect()
}

/// The rule of each message to `address`.
fn rules_to(list: &Value, address: &str) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .filter(|n| n["recipientEmail"] == address)
        .map(|n| n["rule"].as_str().unwrap().to_string())
        .collect()
}

/// A calendar owner is erased: calendars, busy time, links, reservations (visitors' names and
/// addresses) and the messages about them go, but for the one message each visitor is owed:
/// the cancellation that takes the reservation out of their calendar (issue #14); the link
/// answers 404 at once (the availability cache forgets it); another owner's data stays.
async fn erasing_a_calendar_owner(app: TestApp) {
    let admin = app.admin();
    let owner = app.user();
    let neighbour = app.user();
    let (cal, token) = calendar_with_a_reservation(&app, &owner, "gone@example.com").await;
    let (other_cal, other_token) = calendar_with_a_reservation(&app, &neighbour, "stays@example.com").await;
    // Cached before the deletion.
    availability(&app, &token).await.expect(200);
    availability(&app, &token).await.expect(200);
    app.notify_bookings(Some(&admin.token)).await.expect(204);
    let before = app.list_notifications("limit=500", Some(&admin.token)).await.expect(200);
    assert!(recipients(&before.body).contains(&"gone@example.com".to_string()), "{}", before.text);

    let conn = sea_orm::Database::connect(app.settings.database_url.clone().unwrap()).await.unwrap();
    let (attempts, orphans) = attempts_and_orphans(&conn).await;
    assert!(attempts > 0 && orphans == 0, "every sent message has its attempt");

    delete_self(&app, &owner).await.expect(204);

    // The erased messages' attempts go with them.
    let (after_attempts, orphans) = attempts_and_orphans(&conn).await;
    assert!(after_attempts < attempts, "{after_attempts} of {attempts} kept");
    assert_eq!(orphans, 0, "attempts of erased messages are kept");

    let r = availability(&app, &token).await;
    assert_eq!(r.status, 404, "the erased owner's link still answers: {}", r.text);
    app.get_calendar(cal, Some(&admin.token)).await.expect(404);
    app.list_booking_links(cal, "", Some(&admin.token)).await.expect(404);
    let r =
        app.list_calendar_events(cal, "start=2030-01-01T00:00:00Z&end=2030-02-01T00:00:00Z", Some(&admin.token)).await;
    assert_eq!(r.status, 404, "{}", r.text);
    let after = app.list_notifications("limit=500", Some(&admin.token)).await.expect(200);
    assert_eq!(
        rules_to(&after.body, "gone@example.com"),
        ["reservation-deleted-notice"],
        "only the cancellation of the erased reservation is kept: {}",
        after.text
    );
    assert!(recipients(&after.body).contains(&"stays@example.com".to_string()), "{}", after.text);
    // Nothing is held any more.
    let r = delete_self(&app, &owner).await;
    assert_errors(&r, 404, "notFound");

    // The neighbour keeps everything.
    availability(&app, &other_token).await.expect(200);
    let events = app
        .list_calendar_events(other_cal, "start=2030-01-01T00:00:00Z&end=2030-02-01T00:00:00Z", Some(&neighbour.token))
        .await
        .expect(200);
    let list = events.body.as_array().unwrap();
    assert_eq!(list.len(), 2, "{}", events.text);
    assert!(list
        .iter()
        .any(|e| e["attendee_email"] == "stays@example.com" && e["attendee_name"] == "Visitor stays@example.com"));
    let links = app.list_booking_links(other_cal, "", Some(&neighbour.token)).await.expect(200);
    assert_eq!(links.body.as_array().unwrap().len(), 1);
}

/// How many sends are kept, and how many of them are of messages no longer kept.
async fn attempts_and_orphans(conn: &sea_orm::DatabaseConnection) -> (usize, usize) {
    use bookings::entities::{notification_attempts, notifications};
    use sea_orm::EntityTrait;
    let messages: std::collections::BTreeSet<bookings::domain::ids::NotificationId> =
        notifications::Entity::find().all(conn).await.unwrap().into_iter().map(|n| n.id).collect();
    let attempts = notification_attempts::Entity::find().all(conn).await.unwrap();
    let orphans = attempts.iter().filter(|a| !messages.contains(&a.notification_id)).count();
    (attempts.len(), orphans)
}

/// The same through a server whose availability cache keeps entries for ten minutes: the
/// deletion itself must make it forget the erased calendars and links.
async fn erasing_a_calendar_owner_through_a_long_cache(app: TestApp) {
    let cached = spawn_app_sharing_with(&app, 0, &["--availability-cache-ms", "600000"]).await;
    erasing_a_calendar_owner(cached).await;
}

/// Owners are erased while notification passes run: a pass that read its candidates before an
/// erasure must not enqueue messages about the erased reservations after it (the pass inserts
/// only while the subjects exist, under a lock; the erasure forgets messages after deleting the
/// subjects). Afterwards the only message naming an erased visitor is the erasure's own
/// cancellation of their reservation.
async fn erasing_owners_while_notification_passes_run_leaves_no_message_about_them(app: TestApp) {
    let admin = app.admin();
    let mut erased = Vec::new();
    for round in 0..6 {
        let owners: Vec<User> = (0..4).map(|_| app.user()).collect();
        let mut visitors = Vec::new();
        for (i, owner) in owners.iter().enumerate() {
            let visitor = format!("erased-{round}-{i}@example.com");
            calendar_with_a_reservation(&app, owner, &visitor).await;
            visitors.push(visitor);
        }
        let passes = (0..3).map(|_| app.notify_bookings(Some(&admin.token)));
        let deletions = owners.iter().enumerate().map(|(i, owner)| {
            let app = &app;
            async move {
                tokio::time::sleep(std::time::Duration::from_millis(2 * i as u64)).await;
                delete_self(app, owner).await
            }
        });
        let (passes, deletions) = tokio::join!(futures::future::join_all(passes), futures::future::join_all(deletions));
        for r in passes {
            assert!(matches!(r.status.as_u16(), 204 | 503), "a notify pass answered {}: {}", r.status, r.text);
        }
        for r in deletions {
            assert_eq!(r.status, 204, "{}", r.text);
        }
        erased.extend(visitors);
    }
    // One more pass after everything: nothing about the erased may be found or kept.
    app.notify_bookings(Some(&admin.token)).await.expect(204);
    let kept = app.list_notifications("limit=500", Some(&admin.token)).await.expect(200);
    for visitor in &erased {
        assert_eq!(
            rules_to(&kept.body, visitor),
            ["reservation-deleted-notice"],
            "{visitor}: only the erasure's cancellation is kept"
        );
    }
}

db_tests!(
    erasing_owners_while_notification_passes_run_leaves_no_message_about_them,
    deleting_a_coach_while_orders_race_in_leaves_no_empty_order,
    erasing_a_user_who_holds_only_a_remembered_email,
    erasing_a_calendar_owner,
    erasing_a_calendar_owner_through_a_long_cache,
);
