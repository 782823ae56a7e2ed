//! Idempotency-Key (issue #13): a replay is the first answer byte for byte; one key never does
//! a write twice, even sent twice at once or to two servers on one database; another request
//! with the key is a 400; 409s are not kept; keys expire after 24 hours and are purged.

use crate::db_tests;
use crate::guests::{all_day_link, days_ahead, offered, reserve_body};
use crate::helpers::*;
use crate::leko::{create_event, only_booking, order_body, uuid_of};
use chrono::{Duration, DurationRound};
use reqwest::Method;
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::{json, Value};

async fn keyed(app: &TestApp, method: Method, path: &str, token: Option<&str>, body: Value, key: &str) -> Reply {
    app.send_with_headers(method, path, token, Some(body), &[("idempotency-key", key)]).await
}

async fn reserve_keyed(app: &TestApp, link: &str, body: Value, key: &str) -> Reply {
    keyed(app, Method::POST, &format!("/v1/booking/{link}/reserve"), None, body, key).await
}

fn replayed(r: &Reply) -> bool {
    r.headers.get("idempotent-replayed").is_some_and(|v| v == "true")
}

/// Asserts `again` is `first` replayed: same status, content type and bytes, marked.
#[track_caller]
fn assert_replay(first: &Reply, again: &Reply) {
    assert!(!replayed(first), "the first answer is not a replay");
    assert!(replayed(again), "not marked as a replay: {:?}", again.headers);
    assert_eq!(again.status, first.status);
    assert_eq!(again.headers.get("content-type"), first.headers.get("content-type"));
    assert_eq!(again.text, first.text, "byte for byte");
}

async fn live_events(app: &TestApp, owner: &User, cal: uuid::Uuid) -> usize {
    let (from, to) = (days_ahead(0), days_ahead(30));
    let query = format!(
        "start={}&end={}",
        urlencode(&from.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        urlencode(&to.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    );
    app.list_calendar_events(cal, &query, Some(&owner.token)).await.expect(200).body.as_array().unwrap().len()
}

async fn stored_keys(app: &TestApp) -> i64 {
    let db = Database::connect(app.settings.database_url.clone().unwrap()).await.unwrap();
    let stmt = Statement::from_string(db.get_database_backend(), "SELECT COUNT(*) AS n FROM idempotency_keys");
    let row = db.query_one_raw(stmt).await.unwrap().unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

/// Every stored answer's body, as stored.
async fn stored_bodies(app: &TestApp) -> Vec<Vec<u8>> {
    let db = Database::connect(app.settings.database_url.clone().unwrap()).await.unwrap();
    let stmt = Statement::from_string(db.get_database_backend(), "SELECT response_body FROM idempotency_keys");
    let rows = db.query_all_raw(stmt).await.unwrap();
    rows.iter().filter_map(|r| r.try_get::<Option<Vec<u8>>>("", "response_body").unwrap()).collect()
}

async fn a_replay_is_the_first_answer_byte_for_byte(app: TestApp) {
    let owner = app.user();
    let (cal, link) = all_day_link(&app, &owner, "UTC", json!({})).await;
    let slots = offered(&app, &link, days_ahead(3), 1).await;
    let body = reserve_body(&slots[10].0, &slots[10].1);
    let first = reserve_keyed(&app, &link, body.clone(), "key-1").await.expect(200);
    let again = reserve_keyed(&app, &link, body.clone(), "key-1").await;
    assert_replay(&first, &again);
    assert_eq!(live_events(&app, &owner, cal).await, 1);
    // The answer holds the manage token; as stored, it cannot be read.
    let manage = first.body["manage_token"].as_str().unwrap().as_bytes().to_vec();
    let bodies = stored_bodies(&app).await;
    assert_eq!(bodies.len(), 1);
    assert!(!bodies[0].windows(manage.len()).any(|w| w == manage), "the manage token is stored readable");
    // Without the key the same request is a new one: the slot is taken.
    app.reserve_booking_slot(&link, body.clone()).await.expect(409);
    // The key with another body: 400, and nothing is booked for it.
    let other = reserve_body(&slots[11].0, &slots[11].1);
    let r = reserve_keyed(&app, &link, other.clone(), "key-1").await.expect(400);
    assert!(r.error()["message"].as_str().unwrap().contains("another request"), "{}", r.text);
    assert!(offered(&app, &link, days_ahead(3), 1).await.contains(&slots[11]));
    // Keys are the caller's: the same key through another link is another key.
    let (_, link2) = all_day_link(&app, &owner, "UTC", json!({})).await;
    reserve_keyed(&app, &link2, body.clone(), "key-1").await.expect(200);
    // A kept 4xx is replayed as well.
    let missing = reserve_keyed(&app, "no-such-link", body.clone(), "key-404").await.expect(404);
    assert_replay(&missing, &reserve_keyed(&app, "no-such-link", body.clone(), "key-404").await);
    // A key is 1 to 255 printable ASCII characters.
    let r = reserve_keyed(&app, &link, other.clone(), &"k".repeat(256)).await.expect(400);
    assert!(r.error()["message"].as_str().unwrap().to_lowercase().contains("idempotency-key"), "{}", r.text);
    reserve_keyed(&app, &link, other.clone(), &"k".repeat(255)).await.expect(200);

    // The guest's writes take keys too: a replayed move does not move it again.
    let token = first.body["manage_token"].as_str().unwrap().to_string();
    let path = format!("/v1/reservations/{token}/reschedule");
    let to = json!({"slot_start": slots[20].0, "slot_end": slots[20].1});
    let moved = keyed(&app, Method::POST, &path, None, to.clone(), "move-1").await.expect(200);
    assert_eq!(moved.body["sequence"], 1);
    assert_replay(&moved, &keyed(&app, Method::POST, &path, None, to.clone(), "move-1").await);
    assert_eq!(app.get_reservation(&token).await.expect(200).body["sequence"], 1);
    let path = format!("/v1/reservations/{token}/cancel");
    let canceled = keyed(&app, Method::POST, &path, None, json!({"reason": "r"}), "cancel-1").await.expect(200);
    assert_replay(&canceled, &keyed(&app, Method::POST, &path, None, json!({"reason": "r"}), "cancel-1").await);
    keyed(&app, Method::POST, &path, None, json!({"reason": "other"}), "cancel-1").await.expect(400);
}

/// Two requests with one key at once: one booking; the other answer is its replay, or a 409
/// with Retry-After while the first is still being served.
async fn a_parallel_pair_with_one_key_books_once(app: TestApp) {
    let owner = app.user();
    let (cal, link) = all_day_link(&app, &owner, "UTC", json!({})).await;
    let slots = offered(&app, &link, days_ahead(3), 1).await;
    for (round, slot) in slots.iter().take(6).enumerate() {
        let body = reserve_body(&slot.0, &slot.1);
        let key = format!("pair-{round}");
        let (a, b) =
            futures::join!(reserve_keyed(&app, &link, body.clone(), &key), reserve_keyed(&app, &link, body, &key));
        let (served, other) = if replayed(&a) || a.status == 409 { (&b, &a) } else { (&a, &b) };
        assert_eq!(served.status, 200, "{}", served.text);
        assert!(!replayed(served));
        if other.status == 409 {
            assert!(other.headers.contains_key("retry-after"), "{:?}", other.headers);
            assert!(other.error()["message"].as_str().unwrap().contains("still being served"), "{}", other.text);
        } else {
            assert_replay(served, other);
        }
    }
    assert_eq!(live_events(&app, &owner, cal).await, 6);
}

/// A 409 is not kept (nor 429, 5xx): the same key later is served anew.
async fn conflicts_are_not_kept(app: TestApp) {
    let owner = app.user();
    let (cal, link) = all_day_link(&app, &owner, "UTC", json!({})).await;
    let slot = offered(&app, &link, days_ahead(3), 1).await[5].clone();
    let body = reserve_body(&slot.0, &slot.1);
    let theirs = app.reserve_booking_slot(&link, body.clone()).await.expect(200);
    let r = reserve_keyed(&app, &link, body.clone(), "after-conflict").await.expect(409);
    assert!(!replayed(&r));
    let id: uuid::Uuid = theirs.body["event"]["id"].as_str().unwrap().parse().unwrap();
    app.delete_calendar_event(cal, id, Some(&owner.token)).await.expect(204);
    let r = reserve_keyed(&app, &link, body, "after-conflict").await.expect(200);
    assert!(!replayed(&r));
}

/// A key is kept 24 hours (test clock): within them a replay, after them a new request; expired
/// keys are purged.
async fn keys_expire_after_a_day(app: TestApp) {
    let owner = app.user();
    let (cal, link) = all_day_link(&app, &owner, "UTC", json!({})).await;
    let slots = offered(&app, &link, days_ahead(4), 1).await;
    let body = reserve_body(&slots[0].0, &slots[0].1);
    let first = reserve_keyed(&app, &link, body.clone(), "a-day").await.expect(200);
    reserve_keyed(&app, &link, reserve_body(&slots[2].0, &slots[2].1), "purge-me").await.expect(200);
    assert_eq!(stored_keys(&app).await, 2);
    // The owner frees the slot: a new request for it would book again.
    let id: uuid::Uuid = first.body["event"]["id"].as_str().unwrap().parse().unwrap();
    app.delete_calendar_event(cal, id, Some(&owner.token)).await.expect(204);
    {
        let within = spawn_app_sharing(&app, 23 * 3600).await;
        assert_replay(&first, &reserve_keyed(&within, &link, body.clone(), "a-day").await);
    }
    let later = spawn_app_sharing(&app, 25 * 3600).await;
    let again = reserve_keyed(&later, &link, body.clone(), "a-day").await.expect(200);
    assert!(!replayed(&again));
    assert_ne!(again.body["event"]["id"], first.body["event"]["id"], "booked again");
    // Purged: "purge-me" is gone; "a-day" is stored anew.
    assert_eq!(stored_keys(&app).await, 1);
    assert_replay(&again, &reserve_keyed(&later, &link, body, "a-day").await);
}

/// Two servers on one database: a retry that reaches the other gets the same answer, for the
/// public and the signed-in writes; keys are each caller's own.
async fn replays_reach_across_instances(app: TestApp) {
    let other = spawn_app_sharing(&app, 0).await;
    let owner = app.user();
    let (cal, link) = all_day_link(&app, &owner, "UTC", json!({})).await;
    let slot = offered(&app, &link, days_ahead(3), 1).await[7].clone();
    let body = reserve_body(&slot.0, &slot.1);
    let first = reserve_keyed(&app, &link, body.clone(), "across").await.expect(200);
    assert_replay(&first, &reserve_keyed(&other, &link, body, "across").await);
    assert_eq!(live_events(&app, &owner, cal).await, 1);

    let coach = app.user();
    let start = (chrono::Utc::now() + Duration::days(5)).duration_trunc(Duration::seconds(1)).unwrap();
    let event = create_event(&app, &coach, start, start + Duration::hours(1), 5).await;
    let athlete = app.user();
    let order = order_body(athlete.id, &[event]);
    let booked = keyed(&other, Method::POST, "/v1/bookings", Some(&athlete.token), order.clone(), "order-1").await;
    let booked = booked.expect(201);
    let again = keyed(&app, Method::POST, "/v1/bookings", Some(&athlete.token), order.clone(), "order-1").await;
    assert_replay(&booked, &again);
    let taken = app.get_coach_event(event, Some(&coach.token)).await.expect(200).body["placesTaken"].clone();
    assert_eq!(taken, 1, "one booking for two requests");
    // Another athlete's request with the same key is theirs alone.
    let second = app.user();
    let r = keyed(&app, Method::POST, "/v1/bookings", Some(&second.token), order_body(second.id, &[event]), "order-1")
        .await;
    assert!(!replayed(&r.expect(201)));
    // cancelBooking, replayed on the other server.
    let booking = only_booking(&booked.body);
    let path = format!("/v1/bookings/{booking}/cancel");
    let canceled = keyed(&app, Method::POST, &path, Some(&athlete.token), json!({"reasonCode": "NoTime"}), "c-1").await;
    let canceled = canceled.expect(200);
    assert_eq!(uuid_of(&canceled.body["bookingId"]), booking);
    let again = keyed(&other, Method::POST, &path, Some(&athlete.token), json!({"reasonCode": "NoTime"}), "c-1").await;
    assert_replay(&canceled, &again);
    // A bad token is the operation's 401, whatever the key.
    keyed(&app, Method::POST, &path, Some("not-a-token"), json!({"reasonCode": "NoTime"}), "c-1").await.expect(401);
}

/// Without the header nothing is kept.
async fn without_a_key_nothing_is_kept(app: TestApp) {
    let owner = app.user();
    let (_, link) = all_day_link(&app, &owner, "UTC", json!({})).await;
    let slot = offered(&app, &link, days_ahead(3), 1).await[3].clone();
    let r = app.reserve_booking_slot(&link, reserve_body(&slot.0, &slot.1)).await.expect(200);
    assert!(!replayed(&r));
    assert_eq!(stored_keys(&app).await, 0);
}

db_tests!(
    a_replay_is_the_first_answer_byte_for_byte,
    a_parallel_pair_with_one_key_books_once,
    conflicts_are_not_kept,
    keys_expire_after_a_day,
    replays_reach_across_instances,
    without_a_key_nothing_is_kept,
);
