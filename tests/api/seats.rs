//! Issue #25's seats over HTTP: a slot stays offered until `seats_per_slot` visitors hold it;
//! each seat is its own reservation (its own manage token), cancelled or moved alone; the owner
//! sees one event with its attendees, and deleting it cancels every seat; 50 visitors racing for
//! one three-seat slot get exactly three seats.

use crate::db_tests;
use crate::helpers::*;
use serde_json::{json, Value};

const MONDAY: (&str, &str) = ("2027-03-01T00:00:00Z", "2027-03-02T00:00:00Z");
const EVENTS: &str = "start=2027-03-01T00%3A00%3A00Z&end=2027-03-02T00%3A00%3A00Z";

fn link_body(rules: Value) -> Value {
    let w = json!([{"start": "09:00", "end": "12:00"}]);
    let mut b = json!({"duration_minutes": 60, "timezone": "UTC",
        "working_hours": {"mon": w, "tue": w, "wed": w, "thu": w, "fri": w}});
    for (k, v) in rules.as_object().unwrap() {
        b[k] = v.clone();
    }
    b
}

/// (start, seats_left) of each slot offered.
fn seats(r: &Reply) -> Vec<(String, i64)> {
    r.body["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["start"].as_str().unwrap().to_string(), s["seats_left"].as_i64().unwrap()))
        .collect()
}

fn at(hour: u32, left: i64) -> (String, i64) {
    (format!("2027-03-01T{hour:02}:00:00+00:00"), left)
}

async fn reserve_as(app: &TestApp, token: &str, name: &str, start: &str, end: &str) -> Reply {
    let email = format!("{}@example.com", name.to_lowercase());
    app.reserve_booking_slot(token, json!({"name": name, "email": email, "slot_start": start, "slot_end": end})).await
}

async fn seated_link(app: &TestApp, seats: i64) -> (User, uuid::Uuid, String) {
    let owner = app.user();
    let cal = app.new_calendar(&owner).await;
    let r = app.create_link(&owner, cal, link_body(json!({"seats_per_slot": seats}))).await.expect(200);
    assert_eq!(r.body["settings"]["seats_per_slot"], seats, "{}", r.text);
    (owner, cal, r.body["token"].as_str().unwrap().to_string())
}

async fn a_slot_is_offered_until_its_seats_are_taken(app: TestApp) {
    let (owner, cal, token) = seated_link(&app, 3).await;
    let nine = ("2027-03-01T09:00:00Z", "2027-03-01T10:00:00Z");
    let offered = || async { seats(&app.availability(&token, MONDAY.0, MONDAY.1).await.expect(200)) };
    assert_eq!(offered().await, [at(9, 3), at(10, 3), at(11, 3)]);

    let ann = reserve_as(&app, &token, "Ann", nine.0, nine.1).await.expect(200);
    assert_eq!(offered().await, [at(9, 2), at(10, 3), at(11, 3)]);
    let ben = reserve_as(&app, &token, "Ben", nine.0, nine.1).await.expect(200);
    let cat = reserve_as(&app, &token, "Cat", nine.0, nine.1).await.expect(200);
    assert_eq!(offered().await, [at(10, 3), at(11, 3)], "a full slot is no longer offered");
    let r = reserve_as(&app, &token, "Dan", nine.0, nine.1).await.expect(409);
    assert!(r.text.contains("no longer available"), "{}", r.text);

    // Each seat is its own reservation: its own id and manage token, its visitor's name alone.
    let tokens: Vec<&str> = [&ann, &ben, &cat].iter().map(|r| r.body["manage_token"].as_str().unwrap()).collect();
    let ids: Vec<&str> = [&ann, &ben, &cat].iter().map(|r| r.body["event"]["id"].as_str().unwrap()).collect();
    assert!(tokens[0] != tokens[1] && tokens[1] != tokens[2] && ids[0] != ids[1] && ids[1] != ids[2]);
    let guest = app.get_reservation(tokens[1]).await.expect(200);
    assert_eq!((&guest.body["name"], &guest.body["email"]), (&json!("Ben"), &json!("ben@example.com")));

    // The owner sees one event with its three attendees; its id is the first reservation's.
    let events = app.list_calendar_events(cal, EVENTS, Some(&owner.token)).await.expect(200);
    let list = events.body.as_array().unwrap();
    assert_eq!(list.len(), 1, "{}", events.text);
    assert_eq!(list[0]["id"], ids[0]);
    let names: Vec<&str> =
        list[0]["attendees"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(names.len(), 3);
    for n in ["Ann", "Ben", "Cat"] {
        assert!(names.contains(&n), "{names:?}");
    }

    // Ben cancels: one seat again, and two attendees.
    app.cancel_reservation(tokens[1], json!({})).await.expect(200);
    assert_eq!(offered().await, [at(9, 1), at(10, 3), at(11, 3)]);
    let events = app.list_calendar_events(cal, EVENTS, Some(&owner.token)).await.expect(200);
    assert_eq!(events.body[0]["attendees"].as_array().unwrap().len(), 2, "{}", events.text);

    // Cat moves to 10:00 alone: a session of her own there, a seat back at 09:00.
    app.reschedule_reservation(tokens[2], "2027-03-01T10:00:00Z", "2027-03-01T11:00:00Z").await.expect(200);
    assert_eq!(offered().await, [at(9, 2), at(10, 2), at(11, 3)]);
    // And another visitor joins her there.
    reserve_as(&app, &token, "Eve", "2027-03-01T10:00:00Z", "2027-03-01T11:00:00Z").await.expect(200);
    assert_eq!(offered().await, [at(9, 2), at(10, 1), at(11, 3)]);
    let events = app.list_calendar_events(cal, EVENTS, Some(&owner.token)).await.expect(200);
    let counts: Vec<usize> =
        events.body.as_array().unwrap().iter().map(|e| e["attendees"].as_array().unwrap().len()).collect();
    assert_eq!(counts, [1, 2], "{}", events.text);

    // The owner deletes the 09:00 event: Ann's seat is cancelled with it; 09:00 is free again.
    app.delete_calendar_event(cal, ids[0].parse().unwrap(), Some(&owner.token)).await.expect(204);
    assert_eq!(app.get_reservation(tokens[0]).await.expect(200).body["status"], "canceled");
    assert_eq!(offered().await, [at(9, 3), at(10, 1), at(11, 3)]);
    app.delete_calendar_event(cal, ids[0].parse().unwrap(), Some(&owner.token)).await.expect(404);
}

async fn seats_are_echoed_changed_and_reset(app: TestApp) {
    let owner = app.user();
    let cal = app.new_calendar(&owner).await;
    let plain = app.create_link(&owner, cal, link_body(json!({}))).await.expect(200);
    assert_eq!(plain.body["settings"]["seats_per_slot"], 1);
    let token = plain.body["token"].as_str().unwrap().to_string();
    let r = app.availability(&token, MONDAY.0, MONDAY.1).await.expect(200);
    assert_eq!(seats(&r), [at(9, 1), at(10, 1), at(11, 1)], "one seat per slot by default");
    let r = app.update_booking_link(cal, &token, Some(&owner.token), json!({"seats_per_slot": 8})).await.expect(200);
    assert_eq!(r.body["settings"]["seats_per_slot"], 8);
    let r = app.update_booking_link(cal, &token, Some(&owner.token), json!({"seats_per_slot": null})).await.expect(200);
    assert_eq!(r.body["settings"]["seats_per_slot"], 1);
    for bad in [0, 1001] {
        let r = app.create_link(&owner, cal, link_body(json!({"seats_per_slot": bad}))).await.expect(400);
        assert!(r.text.contains("seats_per_slot"), "{}", r.text);
    }
}

async fn fifty_visitors_race_for_a_three_seat_slot(app: TestApp) {
    let (owner, cal, token) = seated_link(&app, 3).await;
    let names: Vec<String> = (0..50).map(|i| format!("V{i}")).collect();
    let results = futures::future::join_all(
        names.iter().map(|n| reserve_as(&app, &token, n, "2027-03-01T09:00:00Z", "2027-03-01T10:00:00Z")),
    )
    .await;
    let ok = results.iter().filter(|r| r.status == 200).count();
    let taken = results.iter().filter(|r| r.status == 409).count();
    assert_eq!((ok, taken), (3, 47), "{:?}", results.iter().map(|r| r.status).collect::<Vec<_>>());
    let events = app.list_calendar_events(cal, EVENTS, Some(&owner.token)).await.expect(200);
    assert_eq!(events.body.as_array().unwrap().len(), 1, "{}", events.text);
    assert_eq!(events.body[0]["attendees"].as_array().unwrap().len(), 3);
    let r = app.availability(&token, MONDAY.0, MONDAY.1).await.expect(200);
    assert_eq!(seats(&r), [at(10, 3), at(11, 3)]);
}

db_tests!(
    a_slot_is_offered_until_its_seats_are_taken,
    seats_are_echoed_changed_and_reset,
    fifty_visitors_race_for_a_three_seat_slot,
);
