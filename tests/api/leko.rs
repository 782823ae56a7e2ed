//! LE-KO bookings (seed 003 and the companion's coach events, cancel and dispute operations):
//! coach events, all-or-nothing orders, races, reading, the booking lifecycle, user deletion.
//!
//! Time: most events are in January 2030. To stand "after" an event, a second server shares
//! the database with its clock shifted (`spawn_app_sharing`); its tokens are signed by itself.

use crate::db_tests;
use crate::helpers::*;
use chrono::{DateTime, Duration, SecondsFormat, TimeZone, Timelike, Utc};
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use uuid::Uuid;

// ------------------------------------------------------------------ helpers

/// 2030-01-{day} {h}:{m}:00 UTC (2030-01-07 is a Monday).
fn jan(day: u32, h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 1, day, h, m, 0).unwrap()
}

pub(crate) fn rfc(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn instant(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap_or_else(|| panic!("not a date-time: {v}")))
        .unwrap_or_else(|e| panic!("not RFC 3339 ({e}): {v}"))
        .with_timezone(&Utc)
}

pub(crate) fn uuid_of(v: &Value) -> Uuid {
    v.as_str()
        .unwrap_or_else(|| panic!("not a string: {v}"))
        .parse()
        .unwrap_or_else(|e| panic!("not a uuid ({e}): {v}"))
}

/// Whole seconds: the wire's wall-clock times have no fraction.
fn whole_seconds(t: DateTime<Utc>) -> DateTime<Utc> {
    t.with_nanosecond(0).unwrap()
}

/// A valid createCoachEvent body for [start, end) with `places` places, wall-clock times in UTC.
pub(crate) fn event_body(start: DateTime<Utc>, end: DateTime<Utc>, places: i64) -> Value {
    json!({
        "sportId": Uuid::new_v4(),
        "startAt": rfc(start),
        "endAt": rfc(end),
        "timeslot": {
            "startTime": start.format("%H:%M:%S+00:00").to_string(),
            "endTime": end.format("%H:%M:%S+00:00").to_string(),
            "numberOfParticipants": places,
            "slotType": "Offline",
            "ageFrom": 18,
            "ageTo": 99,
            "duration": (end - start).num_minutes(),
            "price": 1500,
            "priceCurrency": "RUB",
            "paymentMethod": "Cash",
            "level": "Any",
            "eligibility": "All",
            "public": true
        }
    })
}

pub(crate) async fn create_event(
    app: &TestApp,
    coach: &User,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    places: i64,
) -> Uuid {
    let r = app.create_coach_event(Some(&coach.token), event_body(start, end, places)).await.expect(201);
    uuid_of(&r.body["eventId"])
}

async fn get_event(app: &TestApp, user: &User, id: Uuid) -> Value {
    app.get_coach_event(id, Some(&user.token)).await.expect(200).body
}

async fn places_taken(app: &TestApp, user: &User, id: Uuid) -> i64 {
    get_event(app, user, id).await["placesTaken"].as_i64().unwrap()
}

pub(crate) fn order_body(user: Uuid, events: &[Uuid]) -> Value {
    json!({"userId": user, "eventIds": events, "paymentMethod": {"type": "Cash"}})
}

/// bookEvents for the caller.
pub(crate) async fn book(app: &TestApp, user: &User, events: &[Uuid]) -> Reply {
    app.book_events(Some(&user.token), order_body(user.id, events)).await
}

/// bookEvents for the caller, expecting 201; the BookingOrder.
pub(crate) async fn book_ok(app: &TestApp, user: &User, events: &[Uuid]) -> Value {
    book(app, user, events).await.expect(201).body
}

/// The id of the order's only booking.
pub(crate) fn only_booking(order: &Value) -> Uuid {
    let list = order["bookings"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{order}");
    uuid_of(&list[0]["bookingId"])
}

pub(crate) async fn cancel(app: &TestApp, user: &User, booking: Uuid, code: &str, text: Option<&str>) -> Reply {
    let mut body = json!({"reasonCode": code});
    if let Some(text) = text {
        body["reasonText"] = json!(text);
    }
    app.cancel_booking(booking, Some(&user.token), body).await
}

async fn booking_by_id(app: &TestApp, user: &User, booking: Uuid) -> Reply {
    app.get_booking_by_id(booking, Some(&user.token)).await
}

async fn bookings_of(app: &TestApp, caller: &User, user: Uuid) -> Reply {
    app.get_bookings(&format!("userId={user}"), Some(&caller.token)).await
}

async fn orders_of(app: &TestApp, caller: &User, user: Uuid) -> Reply {
    app.get_user_booking_orders(&format!("userId={user}"), Some(&caller.token)).await
}

fn ids_of(list: &Value, field: &str) -> Vec<Uuid> {
    list.as_array().unwrap_or_else(|| panic!("not an array: {list}")).iter().map(|b| uuid_of(&b[field])).collect()
}

/// A second server on the same database whose clock reads `target` now.
async fn app_at(app: &TestApp, target: DateTime<Utc>) -> TestApp {
    spawn_app_sharing(app, (target - Utc::now()).num_seconds()).await
}

/// The operation declared `Errors` ({errors: [Error]}) for this status.
#[track_caller]
fn assert_errors(r: &Reply, status: u16, code: &str) {
    assert_eq!(r.status.as_u16(), status, "{}", r.text);
    assert!(r.body.get("code").is_none(), "expected the Errors envelope: {}", r.text);
    let list = r.body["errors"].as_array().unwrap_or_else(|| panic!("expected the Errors envelope: {}", r.text));
    assert_eq!(list.len(), 1, "{}", r.text);
    assert_eq!(r.code(), code, "{}", r.text);
}

/// The operation declared a single `Error` for this status (or, for bookEvents, its
/// BookEventErrorResponse without the per-event list).
#[track_caller]
fn assert_error(r: &Reply, status: u16, code: &str) {
    assert_eq!(r.status.as_u16(), status, "{}", r.text);
    assert!(r.body.get("errors").is_none(), "expected a single Error: {}", r.text);
    assert!(r.body.get("code").is_some(), "expected a single Error: {}", r.text);
    assert_eq!(r.code(), code, "{}", r.text);
}

/// bookEvents' 400: the Error fields plus every failing event; eventId -> bookingError.
#[track_caller]
fn rejected(r: &Reply) -> BTreeMap<Uuid, String> {
    assert_eq!(r.status.as_u16(), 400, "{}", r.text);
    assert_eq!(r.code(), "validation", "{}", r.text);
    assert_eq!(r.body["endpoint"], "POST /v1/bookings", "{}", r.text);
    let list = r.body["errors"].as_array().unwrap_or_else(|| panic!("no per-event errors: {}", r.text));
    let mut out = BTreeMap::new();
    for e in list {
        let msg = e["message"].as_str().unwrap_or_else(|| panic!("each failing event says why: {}", r.text));
        assert!(!msg.is_empty(), "{}", r.text);
        let prev = out.insert(uuid_of(&e["eventId"]), e["bookingError"].as_str().unwrap().to_string());
        assert!(prev.is_none(), "an event is listed once: {}", r.text);
    }
    out
}

// ------------------------------------------------------------------ 1. coach events

async fn create_coach_event_validates(app: TestApp) {
    let coach = app.user();
    let (start, end) = (jan(7, 10, 0), jan(7, 11, 0));
    let body = event_body(start, end, 5);
    let r = app.create_coach_event(Some(&coach.token), body.clone()).await.expect(201);
    let e = &r.body;
    let id = uuid_of(&e["eventId"]);
    assert_eq!(uuid_of(&e["coachId"]), coach.id);
    assert_eq!(e["sportId"], body["sportId"]);
    assert_eq!(instant(&e["startAt"]), start);
    assert_eq!(instant(&e["endAt"]), end);
    assert_eq!(e["status"], "Scheduled");
    assert_eq!(e["placesTotal"], 5);
    assert_eq!(e["placesTaken"], 0);
    assert_eq!(e["placesLeft"], 5);
    assert_eq!(e.get("canceledAt"), Some(&Value::Null), "canceledAt is required (nullable): {e}");
    instant(&e["createdAt"]);
    let slot = &e["timeslot"];
    uuid_of(&slot["timeSlotId"]);
    assert_eq!(slot["startTime"], "10:00:00+00:00");
    assert_eq!(slot["endTime"], "11:00:00+00:00");
    assert_eq!(slot["numberOfParticipants"], 5);
    assert_eq!(slot["duration"], 60);
    assert_eq!(slot["price"], 1500);
    assert_eq!(slot["priceCurrency"], "RUB");
    assert_eq!(slot["paymentMethod"], "Cash");
    assert_eq!(slot["slotType"], "Offline");
    assert_eq!(slot["ageFrom"], 18);
    assert_eq!(slot["ageTo"], 99);

    // Wall-clock times may carry another offset: 10:00Z is 13:00 at +03:00.
    let mut other_offset = event_body(jan(7, 12, 0), jan(7, 13, 30), 2);
    other_offset["timeslot"]["startTime"] = json!("15:00:00+03:00");
    other_offset["timeslot"]["endTime"] = json!("16:30:00+03:00");
    let r = app.create_coach_event(Some(&coach.token), other_offset).await.expect(201);
    assert_eq!(r.body["timeslot"]["startTime"], "15:00:00+03:00");
    assert_eq!(r.body["timeslot"]["duration"], 90);

    // Reading: any signed-in user; 404 for an unknown id; 400 for a malformed one.
    let reader = app.user();
    let got = get_event(&app, &reader, id).await;
    assert_eq!(&got, e);
    let r = app.get_coach_event(Uuid::new_v4(), Some(&reader.token)).await;
    assert_error(&r, 404, "notFound");
    let r = app.get("/v1/coach-events/not-a-uuid", Some(&reader.token)).await;
    assert_error(&r, 400, "validation");
    let r = app.get_coach_event(id, None).await;
    assert_error(&r, 401, "unauthorized");

    // Invalid bodies: 400, a single Error.
    let mut bad: Vec<(&str, Value)> = Vec::new();
    let mut b = event_body(start, start, 5);
    b["timeslot"]["duration"] = json!(15);
    bad.push(("end equal to start", b));
    let mut b = event_body(end, start, 5);
    b["timeslot"]["duration"] = json!(60);
    bad.push(("end before start", b));
    bad.push((
        "start in the past",
        event_body(
            Utc.with_ymd_and_hms(2020, 1, 6, 10, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2020, 1, 6, 11, 0, 0).unwrap(),
            5,
        ),
    ));
    let mut b = event_body(start, end, 5);
    b["timeslot"]["ageFrom"] = json!(40);
    b["timeslot"]["ageTo"] = json!(30);
    bad.push(("ageFrom > ageTo", b));
    let mut b = event_body(start, end, 5);
    b["timeslot"]["duration"] = json!(90);
    bad.push(("duration disagrees", b));
    let mut b = event_body(start, end, 5);
    b["timeslot"]["startTime"] = json!("11:00:00+00:00");
    bad.push(("startTime not startAt", b));
    let mut b = event_body(start, end, 5);
    b["timeslot"]["startTime"] = json!("10:00:00+03:00");
    bad.push(("startTime in another offset", b));
    let mut b = event_body(start, end, 5);
    b["timeslot"]["endTime"] = json!("12:00:00+00:00");
    bad.push(("endTime not endAt", b));
    let mut b = event_body(start, end, 5);
    b["timeslot"]["numberOfParticipants"] = json!(0);
    bad.push(("no places", b));
    let mut b = event_body(start, end, 5);
    b["timeslot"]["price"] = json!(-1);
    bad.push(("negative price", b));
    let mut b = event_body(start, start + Duration::hours(25), 5);
    b["timeslot"]["duration"] = json!(25 * 60);
    bad.push(("longer than a day", b));
    let mut b = event_body(start, start + Duration::minutes(10), 5);
    b["timeslot"]["duration"] = json!(10);
    bad.push(("shorter than 15 minutes", b));
    for (why, body) in bad {
        let r = app.create_coach_event(Some(&coach.token), body).await;
        assert_eq!(r.status, 400, "{why}: {}", r.text);
        assert_error(&r, 400, "validation");
    }

    // Auth and scope.
    let r = app.create_coach_event(None, event_body(start, end, 5)).await;
    assert_error(&r, 401, "unauthorized");
    let no_scope = User { id: coach.id, token: app.token_for(coach.id, "calendar:write", false, None) };
    let r = app.create_coach_event(Some(&no_scope.token), event_body(start, end, 5)).await;
    assert_error(&r, 403, "forbidden");
}

/// The request names the time slot `timeslot`, as CoachEvent and Booking answer it; its former
/// name `timeSlot` is accepted until the next major version (contract 2.0.0), not both at once.
async fn create_coach_event_takes_the_deprecated_time_slot_name(app: TestApp) {
    let coach = app.user();
    let (start, end) = (jan(8, 10, 0), jan(8, 11, 0));
    let mut old_name = event_body(start, end, 3);
    let slot = old_name.as_object_mut().unwrap().remove("timeslot").unwrap();
    old_name["timeSlot"] = slot.clone();
    let r = app.create_coach_event(Some(&coach.token), old_name).await.expect(201);
    assert_eq!(r.body["timeslot"]["numberOfParticipants"], 3, "{}", r.text);
    assert_eq!(r.body["timeslot"]["startTime"], slot["startTime"], "{}", r.text);
    assert!(r.body.get("timeSlot").is_none(), "answers use the one name: {}", r.text);

    let mut both = event_body(start, end, 3);
    both["timeSlot"] = slot;
    let r = app.create_coach_event(Some(&coach.token), both).await;
    assert_error(&r, 400, "validation");
    assert!(r.body["message"].as_str().unwrap().contains("timeSlot"), "{}", r.text);

    let mut neither = event_body(start, end, 3);
    neither.as_object_mut().unwrap().remove("timeslot");
    let r = app.create_coach_event(Some(&coach.token), neither).await;
    assert_error(&r, 400, "validation");
    assert!(r.body["message"].as_str().unwrap().contains("timeslot"), "{}", r.text);
}

// ------------------------------------------------------------------ 2. booking

async fn book_events_happy_path(app: TestApp) {
    let coach = app.user();
    let other_coach = app.user();
    let athlete = app.user();
    let e1 = create_event(&app, &coach, jan(7, 10, 0), jan(7, 11, 0), 3).await;
    let e2 = create_event(&app, &coach, jan(8, 10, 0), jan(8, 11, 0), 3).await;
    let e3 = create_event(&app, &other_coach, jan(9, 10, 0), jan(9, 11, 0), 3).await;
    let e4 = create_event(&app, &coach, jan(10, 10, 0), jan(10, 11, 0), 3).await;
    let event1 = get_event(&app, &athlete, e1).await;

    let order = book_ok(&app, &athlete, &[e1]).await;
    let order_id = uuid_of(&order["orderId"]);
    assert_eq!(order["status"], "Active");
    assert_eq!(order["paymentStatus"], "Cash");
    assert_eq!(uuid_of(&order["userId"]), athlete.id);
    let created = instant(&order["createdAt"]);
    assert!((Utc::now() - created).num_seconds().abs() < 60, "createdAt is now: {order}");
    let b = &order["bookings"][0];
    assert_eq!(order["bookings"].as_array().unwrap().len(), 1);
    uuid_of(&b["bookingId"]);
    assert_eq!(uuid_of(&b["orderId"]), order_id);
    assert_eq!(uuid_of(&b["userId"]), athlete.id);
    assert_eq!(uuid_of(&b["coachId"]), coach.id);
    assert_eq!(uuid_of(&b["eventId"]), e1);
    assert_eq!(b["sportId"], event1["sportId"]);
    assert_eq!(instant(&b["startAt"]), jan(7, 10, 0));
    assert_eq!(instant(&b["endAt"]), jan(7, 11, 0));
    assert_eq!(b["bookingStatus"], "Accepted");
    assert_eq!(b["eventStatus"], "Scheduled");
    assert_eq!(b["completed"], false);
    assert_eq!(b.get("note"), Some(&Value::Null), "note is required (nullable): {b}");
    assert!(b["canceledAt"].is_null() && b["canceledByRole"].is_null(), "{b}");
    assert_eq!(b["serviceCardinality"], 1);
    assert_eq!(b["timeslot"]["startTime"], "10:00:00+00:00");
    assert_eq!(b["timeslot"]["endTime"], "11:00:00+00:00");
    assert_eq!(b["timeslot"]["duration"], 60);
    assert_eq!(b["timeslot"]["numberOfParticipants"], 3);
    assert_eq!(b["timeslot"], event1["timeslot"]);
    let first_booking = uuid_of(&b["bookingId"]);

    let e = get_event(&app, &athlete, e1).await;
    assert_eq!((e["placesTaken"].as_i64(), e["placesLeft"].as_i64()), (Some(1), Some(2)));

    // A second booking with the same coach, later: the 2nd service.
    let order2 = book_ok(&app, &athlete, &[e2]).await;
    assert_eq!(order2["bookings"][0]["serviceCardinality"], 2);
    assert_ne!(order2["orderId"], order["orderId"]);
    // One order of two events with two coaches: each counts per coach.
    let order3 = book_ok(&app, &athlete, &[e4, e3]).await;
    let by_event: BTreeMap<Uuid, &Value> =
        order3["bookings"].as_array().unwrap().iter().map(|b| (uuid_of(&b["eventId"]), b)).collect();
    assert_eq!(by_event.len(), 2);
    assert_eq!(by_event[&e3]["serviceCardinality"], 1);
    assert_eq!(by_event[&e4]["serviceCardinality"], 3);
    assert_eq!(uuid_of(&by_event[&e3]["coachId"]), other_coach.id);
    // The first booking still reads as the 1st.
    let again = booking_by_id(&app, &athlete, first_booking).await.expect(200);
    assert_eq!(again.body["serviceCardinality"], 1);

    // Another athlete takes the second place of e1.
    let other = app.user();
    book_ok(&app, &other, &[e1]).await;
    let e = get_event(&app, &athlete, e1).await;
    assert_eq!((e["placesTaken"].as_i64(), e["placesLeft"].as_i64()), (Some(2), Some(1)));
    assert_eq!(places_taken(&app, &athlete, e3).await, 1);
}

async fn book_events_lists_every_failing_event_and_writes_nothing(app: TestApp) {
    let coach = app.user();
    let athlete = app.user();
    let other = app.user();
    // Shifted so that "now" is 2030-01-07 12:00: `past` is over.
    let past = create_event(&app, &coach, jan(7, 10, 0), jan(7, 11, 0), 5).await;
    let own = create_event(&app, &athlete, jan(8, 10, 0), jan(8, 11, 0), 5).await;
    let full = create_event(&app, &coach, jan(9, 10, 0), jan(9, 11, 0), 1).await;
    book_ok(&app, &other, &[full]).await;
    let held = create_event(&app, &coach, jan(10, 10, 0), jan(10, 11, 0), 5).await;
    let held2 = create_event(&app, &coach, jan(11, 10, 0), jan(11, 11, 0), 5).await;
    book_ok(&app, &athlete, &[held]).await;
    book_ok(&app, &athlete, &[held2]).await;
    let overlaps_held2 = create_event(&app, &coach, jan(11, 10, 30), jan(11, 11, 30), 5).await;
    let pair_a = create_event(&app, &coach, jan(12, 10, 0), jan(12, 11, 0), 5).await;
    let pair_b = create_event(&app, &coach, jan(12, 10, 30), jan(12, 11, 30), 5).await;
    let canceled = create_event(&app, &coach, jan(13, 10, 0), jan(13, 11, 0), 5).await;
    app.cancel_coach_event(canceled, Some(&coach.token)).await.expect(200);
    let fine = create_event(&app, &coach, jan(14, 10, 0), jan(14, 11, 0), 5).await;
    let missing = Uuid::new_v4();

    let later = app_at(&app, jan(7, 12, 0)).await;
    let later_coach = later.as_user(coach.id);
    let later_athlete = later.as_user(athlete.id);
    let soon = whole_seconds(
        Utc::now() + Duration::seconds(later.settings.clock_offset_seconds.unwrap()) + Duration::minutes(20),
    );
    let too_close = create_event(&later, &later_coach, soon, soon + Duration::hours(1), 5).await;

    let orders_before = orders_of(&later, &later_athlete, athlete.id).await.expect(200).body.as_array().unwrap().len();
    assert_eq!(orders_before, 2);
    let order = [own, past, too_close, full, held, overlaps_held2, pair_a, pair_b, missing, canceled, fine];
    let r = book(&later, &later_athlete, &order).await;
    let errors = rejected(&r);
    let expected: BTreeMap<Uuid, String> = [
        (own, "selfBookAttempt"),
        (past, "pastEventBookAttempt"),
        (too_close, "tooCloseToEventStart"),
        (full, "overbooked"),
        (held, "conflictingUserSchedules"),
        (overlaps_held2, "conflictingUserSchedules"),
        (pair_a, "conflictingUserSchedules"),
        (pair_b, "conflictingUserSchedules"),
        (missing, "eventNotFound"),
        (canceled, "eventCanceled"),
    ]
    .into_iter()
    .map(|(id, e)| (id, e.to_string()))
    .collect();
    assert_eq!(errors, expected, "{}", r.text);
    assert!(!errors.contains_key(&fine));
    // In request order.
    let listed: Vec<Uuid> = ids_of(&r.body["errors"], "eventId");
    let want: Vec<Uuid> = order.iter().copied().filter(|id| *id != fine).collect();
    assert_eq!(listed, want);

    // Nothing was written.
    let mine = bookings_of(&later, &later_athlete, athlete.id).await.expect(200);
    let mut held_events = ids_of(&mine.body, "eventId");
    held_events.sort();
    let mut want = vec![held, held2];
    want.sort();
    assert_eq!(held_events, want);
    let orders_after = orders_of(&later, &later_athlete, athlete.id).await.expect(200).body.as_array().unwrap().len();
    assert_eq!(orders_after, orders_before);
    for id in [fine, pair_a, pair_b, overlaps_held2, too_close] {
        assert_eq!(places_taken(&later, &later_athlete, id).await, 0, "{id}");
    }
    assert_eq!(places_taken(&later, &later_athlete, held).await, 1);
    assert_eq!(places_taken(&later, &later_athlete, full).await, 1);

    // The fine event alone books.
    book_ok(&later, &later_athlete, &[fine]).await;

    // On the real clock: 20 minutes ahead is too close, 40 minutes ahead is fine.
    let soon = whole_seconds(Utc::now() + Duration::minutes(20));
    let close = create_event(&app, &coach, soon, soon + Duration::minutes(30), 5).await;
    let r = book(&app, &athlete, &[close]).await;
    assert_eq!(rejected(&r), BTreeMap::from([(close, "tooCloseToEventStart".to_string())]));
    let ok_start = whole_seconds(Utc::now() + Duration::minutes(40));
    let ok = create_event(&app, &coach, ok_start, ok_start + Duration::minutes(30), 5).await;
    book_ok(&app, &athlete, &[ok]).await;
}

async fn book_events_input_rules(app: TestApp) {
    let coach = app.user();
    let athlete = app.user();
    let e1 = create_event(&app, &coach, jan(7, 10, 0), jan(7, 11, 0), 5).await;
    let e2 = create_event(&app, &coach, jan(8, 10, 0), jan(8, 11, 0), 5).await;

    let bad_request = |r: Reply, why: &str| {
        assert_eq!(r.status, 400, "{why}: {}", r.text);
        assert_eq!(r.code(), "validation", "{why}");
        assert_eq!(r.body["endpoint"], "POST /v1/bookings", "{why}");
        r
    };
    bad_request(book(&app, &athlete, &[]).await, "empty eventIds");
    bad_request(book(&app, &athlete, &[e1, e2, e1]).await, "duplicates");
    let many: Vec<Uuid> = (0..21).map(|_| Uuid::new_v4()).collect();
    bad_request(book(&app, &athlete, &many).await, "21 events");
    let r = app
        .book_events(
            Some(&athlete.token),
            json!({"userId": athlete.id, "eventIds": [e1], "paymentMethod": {"type": "Card", "methodId": Uuid::new_v4()}}),
        )
        .await;
    let r = bad_request(r, "card");
    assert!(r.body["message"].as_str().unwrap().to_lowercase().contains("card"), "{}", r.text);
    let r = app
        .book_events(
            Some(&athlete.token),
            json!({"userId": athlete.id, "eventIds": [e1], "paymentMethod": {"type": "Card"}}),
        )
        .await;
    bad_request(r, "card without methodId");
    let r = app
        .book_events(
            Some(&athlete.token),
            json!({"userId": athlete.id, "eventIds": [e1], "paymentMethod": {"type": "Cheque"}}),
        )
        .await;
    bad_request(r, "unknown payment type");
    let r = app.book_events(Some(&athlete.token), json!({"userId": athlete.id, "eventIds": [e1]})).await;
    bad_request(r, "no payment method");
    // Nothing of that was booked.
    assert_eq!(places_taken(&app, &athlete, e1).await, 0);

    // 20 events is the most an order may hold (all distinct, all unknown: every one listed).
    let twenty: Vec<Uuid> = (0..20).map(|_| Uuid::new_v4()).collect();
    let errors = rejected(&book(&app, &athlete, &twenty).await);
    assert_eq!(errors.len(), 20);
    assert!(errors.values().all(|e| e == "eventNotFound"));

    // Booking for someone else: 403, unless admin. Every error of bookEvents is its
    // BookEventErrorResponse: the Error fields, the per-event list only on a refused order.
    let other = app.user();
    let r = app.book_events(Some(&athlete.token), order_body(other.id, &[e1])).await;
    assert_error(&r, 403, "forbidden");
    assert_eq!(r.body["endpoint"], "POST /v1/bookings", "{}", r.text);
    assert_eq!(places_taken(&app, &athlete, e1).await, 0);
    let admin = app.admin();
    let r = app.book_events(Some(&admin.token), order_body(other.id, &[e1])).await.expect(201);
    assert_eq!(uuid_of(&r.body["userId"]), other.id);
    assert_eq!(uuid_of(&r.body["bookings"][0]["userId"]), other.id);
    assert_eq!(places_taken(&app, &athlete, e1).await, 1);
    let listed = bookings_of(&app, &other, other.id).await.expect(200);
    assert_eq!(ids_of(&listed.body, "eventId"), vec![e1]);

    // Auth and scope.
    let r = app.book_events(None, order_body(athlete.id, &[e2])).await;
    assert_error(&r, 401, "unauthorized");
    let no_scope = User { id: athlete.id, token: app.token_for(athlete.id, "calendar:write", false, None) };
    let r = book(&app, &no_scope, &[e2]).await;
    assert_error(&r, 403, "forbidden");
    assert_eq!(places_taken(&app, &athlete, e2).await, 0);
}

// ------------------------------------------------------------------ 5. races

async fn concurrent_orders_never_overbook(app: TestApp) {
    let coach = app.user();
    let event = create_event(&app, &coach, jan(7, 10, 0), jan(7, 11, 0), 5).await;
    let athletes: Vec<User> = (0..20).map(|_| app.user()).collect();
    let one = [event];
    let replies = futures::future::join_all(athletes.iter().map(|a| book(&app, a, &one))).await;
    let mut created = 0;
    let mut overbooked = 0;
    for r in &replies {
        match r.status.as_u16() {
            201 => created += 1,
            400 => {
                assert_eq!(rejected(r), BTreeMap::from([(event, "overbooked".to_string())]), "{}", r.text);
                overbooked += 1;
            }
            other => panic!("unexpected {other}: {}", r.text),
        }
    }
    assert_eq!((created, overbooked), (5, 15));
    let e = get_event(&app, &coach, event).await;
    assert_eq!((e["placesTaken"].as_i64(), e["placesLeft"].as_i64()), (Some(5), Some(0)));
    let listed = app.get_bookings(&format!("eventId={event}"), Some(&coach.token)).await.expect(200);
    assert_eq!(listed.body.as_array().unwrap().len(), 5);
}

async fn concurrent_overlapping_orders_of_one_athlete(app: TestApp) {
    let coach = app.user();
    let athlete = app.user();
    for round in 0..3u32 {
        let day = 7 + round;
        let a = create_event(&app, &coach, jan(day, 10, 0), jan(day, 11, 0), 5).await;
        let b = create_event(&app, &coach, jan(day, 10, 30), jan(day, 11, 30), 5).await;
        let (only_a, only_b) = ([a], [b]);
        let (ra, rb) = futures::join!(book(&app, &athlete, &only_a), book(&app, &athlete, &only_b));
        let statuses = [ra.status.as_u16(), rb.status.as_u16()];
        assert!(statuses == [201, 400] || statuses == [400, 201], "round {round}: {} / {}", ra.text, rb.text);
        let (loser, lost) = if ra.status == 400 { (ra, a) } else { (rb, b) };
        assert_eq!(rejected(&loser), BTreeMap::from([(lost, "conflictingUserSchedules".to_string())]));
        assert_eq!(places_taken(&app, &athlete, a).await + places_taken(&app, &athlete, b).await, 1);
    }
    let mine = bookings_of(&app, &athlete, athlete.id).await.expect(200);
    assert_eq!(mine.body.as_array().unwrap().len(), 3);
}

async fn concurrent_cancellations(app: TestApp) {
    // The coach cancels the event while athletes order it: afterwards no live booking is left
    // on it, and every order either failed with eventCanceled or was canceled by the coach.
    let coach = app.user();
    let event = create_event(&app, &coach, jan(7, 10, 0), jan(7, 11, 0), 20).await;
    let athletes: Vec<User> = (0..10).map(|_| app.user()).collect();
    let one = [event];
    let (replies, canceled) = futures::join!(
        futures::future::join_all(athletes.iter().map(|a| book(&app, a, &one))),
        app.cancel_coach_event(event, Some(&coach.token))
    );
    canceled.expect(200);
    let mut booked = Vec::new();
    for r in &replies {
        match r.status.as_u16() {
            201 => booked.push(only_booking(&r.body)),
            400 => assert_eq!(rejected(r), BTreeMap::from([(event, "eventCanceled".to_string())]), "{}", r.text),
            other => panic!("unexpected {other}: {}", r.text),
        }
    }
    for id in booked {
        let b = booking_by_id(&app, &coach, id).await.expect(200).body;
        assert_eq!(b["bookingStatus"], "Canceled", "{b}");
        assert_eq!(b["canceledByRole"], "Coach", "{b}");
    }
    let e = get_event(&app, &coach, event).await;
    assert_eq!((e["status"].as_str(), e["placesTaken"].as_i64()), (Some("Canceled"), Some(0)));

    // The athlete and the coach cancel one booking at once: exactly one of them does it.
    let athlete = app.user();
    let e2 = create_event(&app, &coach, jan(8, 10, 0), jan(8, 11, 0), 1).await;
    let b = only_booking(&book_ok(&app, &athlete, &[e2]).await);
    let (by_athlete, by_coach) =
        futures::join!(cancel(&app, &athlete, b, "NoTime", None), cancel(&app, &coach, b, "Other", None));
    let statuses = [by_athlete.status.as_u16(), by_coach.status.as_u16()];
    assert!(statuses == [200, 400] || statuses == [400, 200], "{} / {}", by_athlete.text, by_coach.text);
    let winner = if by_athlete.status == 200 { ("Athlete", "NoTime") } else { ("Coach", "Other") };
    let loser = if by_athlete.status == 200 { &by_coach } else { &by_athlete };
    assert_errors(loser, 400, "validation");
    let now = booking_by_id(&app, &athlete, b).await.expect(200).body;
    assert_eq!(
        (now["canceledByRole"].as_str(), now["cancellationReasonCode"].as_str()),
        (Some(winner.0), Some(winner.1))
    );
    // The freed place is taken by exactly one of two racing athletes.
    let (x, y) = (app.user(), app.user());
    let only_e2 = [e2];
    let (rx, ry) = futures::join!(book(&app, &x, &only_e2), book(&app, &y, &only_e2));
    let mut statuses = [rx.status.as_u16(), ry.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, [201, 400], "{} / {}", rx.text, ry.text);
    assert_eq!(places_taken(&app, &coach, e2).await, 1);
}

// ------------------------------------------------------------------ 6. reading

async fn get_bookings_rules(app: TestApp) {
    let coach = app.user();
    let athlete = app.user();
    let stranger = app.user();
    let admin = app.admin();
    let e1 = create_event(&app, &coach, jan(7, 10, 0), jan(7, 11, 0), 5).await;
    let e2 = create_event(&app, &coach, jan(7, 12, 0), jan(7, 13, 0), 5).await;
    let e3 = create_event(&app, &coach, jan(7, 14, 0), jan(7, 15, 0), 5).await;
    // Booked out of order: the listing sorts by start.
    let o1 = book_ok(&app, &athlete, &[e3, e1]).await;
    let o2 = book_ok(&app, &athlete, &[e2]).await;
    let b2 = only_booking(&o2);
    let by_event: BTreeMap<Uuid, Uuid> =
        o1["bookings"].as_array().unwrap().iter().map(|b| (uuid_of(&b["eventId"]), uuid_of(&b["bookingId"]))).collect();
    let (b1, b3) = (by_event[&e1], by_event[&e3]);

    let r = app.get_bookings("", Some(&athlete.token)).await;
    assert_errors(&r, 400, "validation");

    let mine = bookings_of(&app, &athlete, athlete.id).await.expect(200);
    assert_eq!(ids_of(&mine.body, "bookingId"), vec![b1, b2, b3]);
    assert_eq!(ids_of(&mine.body, "eventId"), vec![e1, e2, e3]);
    let r = bookings_of(&app, &stranger, athlete.id).await;
    assert_errors(&r, 403, "forbidden");
    let r = bookings_of(&app, &admin, athlete.id).await.expect(200);
    assert_eq!(ids_of(&r.body, "bookingId"), vec![b1, b2, b3]);

    // By event: its coach (and admins) see every booking of it; strangers may not.
    let other = app.user();
    let o = book_ok(&app, &other, &[e1]).await;
    let other_b1 = only_booking(&o);
    let r = app.get_bookings(&format!("eventId={e1}"), Some(&coach.token)).await.expect(200);
    let mut got = ids_of(&r.body, "bookingId");
    got.sort();
    let mut want = vec![b1, other_b1];
    want.sort();
    assert_eq!(got, want);
    assert!(r.body.as_array().unwrap().iter().all(|b| uuid_of(&b["eventId"]) == e1));
    let r = app.get_bookings(&format!("eventId={e1}"), Some(&admin.token)).await.expect(200);
    assert_eq!(r.body.as_array().unwrap().len(), 2);
    let r = app.get_bookings(&format!("eventId={e1}"), Some(&stranger.token)).await;
    assert_errors(&r, 403, "forbidden");
    let r = app.get_bookings(&format!("eventId={}", Uuid::new_v4()), Some(&coach.token)).await;
    assert_errors(&r, 404, "notFound");

    // startAt/endAt select the bookings overlapping [startAt, endAt).
    let range = |start: Option<DateTime<Utc>>, end: Option<DateTime<Utc>>| {
        let mut query = format!("userId={}", athlete.id);
        if let Some(s) = start {
            query += &format!("&startAt={}", urlencode(&rfc(s)));
        }
        if let Some(e) = end {
            query += &format!("&endAt={}", urlencode(&rfc(e)));
        }
        let token = athlete.token.clone();
        let app = &app;
        async move { ids_of(&app.get_bookings(&query, Some(&token)).await.expect(200).body, "eventId") }
    };
    assert_eq!(
        range(Some(jan(7, 11, 0)), Some(jan(7, 12, 0))).await,
        Vec::<Uuid>::new(),
        "touching is not overlapping"
    );
    assert_eq!(range(Some(jan(7, 10, 59)), Some(jan(7, 12, 1))).await, vec![e1, e2]);
    assert_eq!(range(Some(jan(7, 12, 30)), None).await, vec![e2, e3]);
    assert_eq!(range(None, Some(jan(7, 12, 0))).await, vec![e1]);
    assert_eq!(range(Some(jan(7, 0, 0)), Some(jan(8, 0, 0))).await, vec![e1, e2, e3]);
    assert_eq!(range(Some(jan(8, 0, 0)), Some(jan(9, 0, 0))).await, Vec::<Uuid>::new());
    // The offset of the filter is honoured: 13:30+03:00 is 10:30Z.
    let query = format!(
        "userId={}&startAt={}&endAt={}",
        athlete.id,
        urlencode("2030-01-07T13:30:00+03:00"),
        urlencode("2030-01-07T13:45:00+03:00")
    );
    assert_eq!(ids_of(&app.get_bookings(&query, Some(&athlete.token)).await.expect(200).body, "eventId"), vec![e1]);
    let query = format!(
        "userId={}&startAt={}&endAt={}",
        athlete.id,
        urlencode(&rfc(jan(7, 12, 0))),
        urlencode(&rfc(jan(7, 11, 0)))
    );
    assert_errors(&app.get_bookings(&query, Some(&athlete.token)).await, 400, "validation");

    // Dismissed bookings are left out of the athlete's listing.
    cancel(&app, &athlete, b3, "NoTime", None).await.expect(200);
    let mine = bookings_of(&app, &athlete, athlete.id).await.expect(200);
    assert_eq!(ids_of(&mine.body, "bookingId"), vec![b1, b2, b3], "canceled bookings are still listed");
    assert_eq!(mine.body[2]["bookingStatus"], "Canceled");
    app.dismiss_booking(b3, &format!("userId={}", athlete.id), Some(&athlete.token)).await.expect(204);
    let mine = bookings_of(&app, &athlete, athlete.id).await.expect(200);
    assert_eq!(ids_of(&mine.body, "bookingId"), vec![b1, b2]);
}

async fn orders_and_booking_by_id_visibility(app: TestApp) {
    let coach = app.user();
    let athlete = app.user();
    let stranger = app.user();
    let admin = app.admin();
    let e1 = create_event(&app, &coach, jan(7, 10, 0), jan(7, 11, 0), 5).await;
    let e2 = create_event(&app, &coach, jan(8, 10, 0), jan(8, 11, 0), 5).await;
    let o1 = book_ok(&app, &athlete, &[e1]).await;
    let o2 = book_ok(&app, &athlete, &[e2]).await;
    let b1 = only_booking(&o1);

    let mine = orders_of(&app, &athlete, athlete.id).await.expect(200);
    let mut got = ids_of(&mine.body, "orderId");
    got.sort();
    let mut want = vec![uuid_of(&o1["orderId"]), uuid_of(&o2["orderId"])];
    want.sort();
    assert_eq!(got, want);
    for o in mine.body.as_array().unwrap() {
        assert_eq!(o["status"], "Active");
        assert_eq!(o["paymentStatus"], "Cash");
        assert_eq!(uuid_of(&o["userId"]), athlete.id);
        assert_eq!(o["bookings"].as_array().unwrap().len(), 1);
    }
    let listed_o1 = mine.body.as_array().unwrap().iter().find(|o| o["orderId"] == o1["orderId"]).unwrap();
    assert_eq!(listed_o1, &o1, "the listing shows the order as it was created");
    let r = orders_of(&app, &stranger, athlete.id).await;
    assert_errors(&r, 403, "forbidden");
    let r = orders_of(&app, &admin, athlete.id).await.expect(200);
    assert_eq!(r.body.as_array().unwrap().len(), 2);
    let r = orders_of(&app, &stranger, stranger.id).await.expect(200);
    assert_eq!(r.body, json!([]));
    let r = app.get_user_booking_orders("", Some(&athlete.token)).await;
    assert_errors(&r, 400, "validation");
    // startAt/endAt keep the orders with a booking overlapping [startAt, endAt).
    let in_range = |start: DateTime<Utc>, end: Option<DateTime<Utc>>| {
        let mut query = format!("userId={}&startAt={}", athlete.id, urlencode(&rfc(start)));
        if let Some(e) = end {
            query += &format!("&endAt={}", urlencode(&rfc(e)));
        }
        let token = athlete.token.clone();
        let app = &app;
        async move { app.get_user_booking_orders(&query, Some(&token)).await }
    };
    let r = in_range(jan(8, 0, 0), None).await.expect(200);
    assert_eq!(ids_of(&r.body, "orderId"), vec![uuid_of(&o2["orderId"])]);
    let r = in_range(jan(7, 0, 0), Some(jan(7, 10, 30))).await.expect(200);
    assert_eq!(ids_of(&r.body, "orderId"), vec![uuid_of(&o1["orderId"])]);
    let r = in_range(jan(7, 11, 0), Some(jan(8, 10, 0))).await.expect(200);
    assert_eq!(r.body, json!([]), "touching is not overlapping");
    let r = in_range(jan(8, 0, 0), Some(jan(7, 0, 0))).await;
    assert_errors(&r, 400, "validation");

    // getBookingById: its athlete, its coach and admins; anyone else is told 404.
    let a = booking_by_id(&app, &athlete, b1).await.expect(200);
    assert_eq!(a.body, o1["bookings"][0]);
    booking_by_id(&app, &coach, b1).await.expect(200);
    booking_by_id(&app, &admin, b1).await.expect(200);
    let r = booking_by_id(&app, &stranger, b1).await;
    assert_errors(&r, 404, "notFound");
    let r = app.get("/v1/bookings/not-a-uuid", Some(&athlete.token)).await;
    assert_errors(&r, 400, "validation");
    let r = app.get_booking_by_id(b1, None).await;
    assert_errors(&r, 401, "unauthorized");
}

// ------------------------------------------------------------------ 7. lifecycle

async fn cancel_booking_lifecycle(app: TestApp) {
    let coach = app.user();
    let athlete = app.user();
    let other = app.user();
    let stranger = app.user();
    let e1 = create_event(&app, &coach, jan(7, 10, 0), jan(7, 11, 0), 1).await;
    let b = only_booking(&book_ok(&app, &athlete, &[e1]).await);
    assert_eq!(places_taken(&app, &coach, e1).await, 1);

    let r = cancel(&app, &stranger, b, "Other", None).await;
    assert_errors(&r, 404, "notFound");
    let r = cancel(&app, &athlete, b, "Bored", None).await;
    assert_errors(&r, 400, "validation");
    let r = cancel(&app, &athlete, b, "Other", Some(&"x".repeat(2001))).await;
    assert_errors(&r, 400, "validation");
    let r = cancel(&app, &app.admin(), b, "Other", None).await;
    assert_errors(&r, 403, "forbidden");

    let r = cancel(&app, &athlete, b, "NotFeelingWell", Some("a cold")).await.expect(200);
    assert_eq!(uuid_of(&r.body["bookingId"]), b);
    assert_eq!(r.body["bookingStatus"], "Canceled");
    assert_eq!(r.body["canceledByRole"], "Athlete");
    assert_eq!(r.body["cancellationReasonCode"], "NotFeelingWell");
    assert_eq!(r.body["cancellationReasonText"], "a cold");
    assert!((Utc::now() - instant(&r.body["canceledAt"])).num_seconds().abs() < 60, "{}", r.text);
    assert_eq!(booking_by_id(&app, &athlete, b).await.expect(200).body, r.body);
    let e = get_event(&app, &coach, e1).await;
    assert_eq!((e["placesTaken"].as_i64(), e["placesLeft"].as_i64()), (Some(0), Some(1)));

    // Twice: 400.
    let r = cancel(&app, &athlete, b, "Other", None).await;
    assert_errors(&r, 400, "validation");

    // The freed place can be taken; the coach cancels that one.
    let ob = only_booking(&book_ok(&app, &other, &[e1]).await);
    let r = cancel(&app, &coach, ob, "NoTime", None).await.expect(200);
    assert_eq!(r.body["canceledByRole"], "Coach");
    assert_eq!(r.body["cancellationReasonCode"], "NoTime");
    assert!(r.body["cancellationReasonText"].is_null(), "{}", r.text);
    assert_eq!(places_taken(&app, &coach, e1).await, 0);
    // The athlete may book the event again after canceling.
    book_ok(&app, &athlete, &[e1]).await;
    assert_eq!(places_taken(&app, &coach, e1).await, 1);

    // After the start: 400, by anyone.
    let e2 = create_event(&app, &coach, jan(8, 10, 0), jan(8, 11, 0), 5).await;
    let b2 = only_booking(&book_ok(&app, &athlete, &[e2]).await);
    let later = app_at(&app, jan(8, 10, 5)).await;
    let r = cancel(&later, &later.as_user(athlete.id), b2, "NoTime", None).await;
    assert_errors(&r, 400, "validation");
    let r = cancel(&later, &later.as_user(coach.id), b2, "NoTime", None).await;
    assert_errors(&r, 400, "validation");
    assert_eq!(booking_by_id(&app, &athlete, b2).await.expect(200).body["bookingStatus"], "Accepted");
    let r = cancel(&app, &athlete, Uuid::new_v4(), "NoTime", None).await;
    assert_errors(&r, 404, "notFound");
}

async fn cancel_coach_event_lifecycle(app: TestApp) {
    let coach = app.user();
    let athlete = app.user();
    let other = app.user();
    let stranger = app.user();
    let admin = app.admin();
    let e = create_event(&app, &coach, jan(7, 10, 0), jan(7, 11, 0), 5).await;
    let ba = only_booking(&book_ok(&app, &athlete, &[e]).await);
    let bo = only_booking(&book_ok(&app, &other, &[e]).await);
    cancel(&app, &athlete, ba, "NoTime", Some("busy")).await.expect(200);

    let r = app.cancel_coach_event(e, Some(&stranger.token)).await;
    assert_error(&r, 403, "forbidden");
    let r = app.cancel_coach_event(e, Some(&athlete.token)).await;
    assert_error(&r, 403, "forbidden");
    let r = app.cancel_coach_event(Uuid::new_v4(), Some(&coach.token)).await;
    assert_error(&r, 404, "notFound");
    assert_eq!(places_taken(&app, &coach, e).await, 1);

    let r = app.cancel_coach_event(e, Some(&coach.token)).await.expect(200);
    assert_eq!(r.body["status"], "Canceled");
    assert!((Utc::now() - instant(&r.body["canceledAt"])).num_seconds().abs() < 60, "{}", r.text);
    assert_eq!((r.body["placesTaken"].as_i64(), r.body["placesLeft"].as_i64()), (Some(0), Some(5)));
    assert_eq!(get_event(&app, &stranger, e).await, r.body);
    let o = booking_by_id(&app, &other, bo).await.expect(200).body;
    assert_eq!(o["bookingStatus"], "Canceled");
    assert_eq!(o["canceledByRole"], "Coach");
    assert_eq!(o["eventStatus"], "Canceled");
    instant(&o["canceledAt"]);
    // The athlete's own earlier cancellation is kept as it was.
    let a = booking_by_id(&app, &athlete, ba).await.expect(200).body;
    assert_eq!(a["canceledByRole"], "Athlete");
    assert_eq!(a["cancellationReasonText"], "busy");
    // Twice: 400; and nobody can book it any more.
    let r = app.cancel_coach_event(e, Some(&coach.token)).await;
    assert_error(&r, 400, "validation");
    let r = book(&app, &stranger, &[e]).await;
    assert_eq!(rejected(&r), BTreeMap::from([(e, "eventCanceled".to_string())]));

    // An admin cancels: the System canceled the bookings.
    let e2 = create_event(&app, &coach, jan(8, 10, 0), jan(8, 11, 0), 5).await;
    let b2 = only_booking(&book_ok(&app, &athlete, &[e2]).await);
    let r = app.cancel_coach_event(e2, Some(&admin.token)).await.expect(200);
    assert_eq!(r.body["status"], "Canceled");
    let b = booking_by_id(&app, &athlete, b2).await.expect(200).body;
    assert_eq!(b["bookingStatus"], "Canceled");
    assert_eq!(b["canceledByRole"], "System");
    let r = app.cancel_coach_event(e2, Some(&admin.token)).await;
    assert_error(&r, 400, "validation");
}

async fn mark_completed_lifecycle(app: TestApp) {
    let coach = app.user();
    let athlete = app.user();
    let other = app.user();
    let stranger = app.user();
    let e = create_event(&app, &coach, jan(7, 10, 0), jan(7, 11, 0), 5).await;
    let b = only_booking(&book_ok(&app, &athlete, &[e]).await);
    let canceled = only_booking(&book_ok(&app, &other, &[e]).await);
    cancel(&app, &other, canceled, "NoTime", None).await.expect(200);

    let r = app.mark_booking_as_completed(b, Some(&athlete.token), json!({"completed": true})).await;
    assert_errors(&r, 403, "forbidden");
    let r = app.mark_booking_as_completed(b, Some(&coach.token), json!({"completed": true})).await;
    assert_errors(&r, 400, "validation");
    let r = app.mark_booking_as_completed(b, Some(&stranger.token), json!({"completed": true})).await;
    assert_errors(&r, 404, "notFound");

    // During the event it has not ended yet.
    let during = app_at(&app, jan(7, 10, 30)).await;
    let r =
        during.mark_booking_as_completed(b, Some(&during.as_user(coach.id).token), json!({"completed": true})).await;
    assert_errors(&r, 400, "validation");
    drop(during);

    let later = app_at(&app, jan(7, 12, 0)).await;
    let (l_coach, l_athlete) = (later.as_user(coach.id), later.as_user(athlete.id));
    let r = later.mark_booking_as_completed(b, Some(&l_athlete.token), json!({"completed": true})).await;
    assert_errors(&r, 403, "forbidden");
    let r = later.mark_booking_as_completed(b, Some(&l_coach.token), json!({"completed": true})).await.expect(200);
    assert_eq!(r.body["completed"], true);
    assert_eq!(r.body["bookingStatus"], "Accepted");
    assert_eq!(booking_by_id(&later, &l_athlete, b).await.expect(200).body["completed"], true);
    let r = later.mark_booking_as_completed(b, Some(&l_coach.token), json!({"completed": false})).await.expect(200);
    assert_eq!(r.body["completed"], false);
    let r = later.mark_booking_as_completed(canceled, Some(&l_coach.token), json!({"completed": true})).await;
    assert_errors(&r, 400, "validation");
    let r = later.mark_booking_as_completed(b, Some(&l_coach.token), json!({})).await;
    assert_errors(&r, 400, "validation");
    let r = later.mark_booking_as_completed(Uuid::new_v4(), Some(&l_coach.token), json!({"completed": true})).await;
    assert_errors(&r, 404, "notFound");
}

async fn booking_notes(app: TestApp) {
    let coach = app.user();
    let athlete = app.user();
    let stranger = app.user();
    let e = create_event(&app, &coach, jan(7, 10, 0), jan(7, 11, 0), 5).await;
    let b = only_booking(&book_ok(&app, &athlete, &[e]).await);

    let r = app.add_booking_note(b, Some(&athlete.token), json!({"note": "early"})).await;
    assert_errors(&r, 400, "validation");

    let later = app_at(&app, jan(7, 11, 30)).await;
    let (l_coach, l_athlete, l_stranger) =
        (later.as_user(coach.id), later.as_user(athlete.id), later.as_user(stranger.id));
    let r = later.add_booking_note(b, Some(&l_athlete.token), json!({"note": "great session"})).await.expect(200);
    assert_eq!(r.body["note"], "great session");
    let r = later.add_booking_note(b, Some(&l_coach.token), json!({"note": "well done"})).await.expect(200);
    assert_eq!(r.body["note"], "well done");
    assert_eq!(booking_by_id(&later, &l_athlete, b).await.expect(200).body["note"], "well done");
    let max = "é".repeat(2000);
    let r = later.add_booking_note(b, Some(&l_athlete.token), json!({"note": max})).await.expect(200);
    assert_eq!(r.body["note"].as_str().unwrap().chars().count(), 2000);
    let r = later.add_booking_note(b, Some(&l_athlete.token), json!({"note": "x".repeat(2001)})).await;
    assert_errors(&r, 400, "validation");
    let r = later.add_booking_note(b, Some(&l_stranger.token), json!({"note": "hi"})).await;
    assert_errors(&r, 404, "notFound");
    let r = later.add_booking_note(Uuid::new_v4(), Some(&l_athlete.token), json!({"note": "hi"})).await;
    assert_errors(&r, 404, "notFound");
    assert_eq!(
        booking_by_id(&later, &l_athlete, b).await.expect(200).body["note"].as_str().unwrap().chars().count(),
        2000
    );

    // A canceled booking did not take place: no note.
    let other = app.user();
    let b2 = only_booking(&book_ok(&app, &other, &[e]).await);
    cancel(&app, &other, b2, "NoTime", None).await.expect(200);
    let r = later.add_booking_note(b2, Some(&later.as_user(other.id).token), json!({"note": "x"})).await;
    assert_errors(&r, 400, "validation");
}

async fn disputes(app: TestApp) {
    let coach = app.user();
    let athlete = app.user();
    let other = app.user();
    let stranger = app.user();
    let e = create_event(&app, &coach, jan(7, 10, 0), jan(7, 11, 0), 5).await;
    let b = only_booking(&book_ok(&app, &athlete, &[e]).await);
    let ob = only_booking(&book_ok(&app, &other, &[e]).await);

    let r = app.open_booking_dispute(b, Some(&athlete.token)).await;
    assert_errors(&r, 400, "validation");

    let later = app_at(&app, jan(7, 10, 30)).await;
    let (l_coach, l_athlete, l_stranger) =
        (later.as_user(coach.id), later.as_user(athlete.id), later.as_user(stranger.id));
    let admin = app.admin();
    let l_admin = later.as_admin(admin.id);
    let r = later.open_booking_dispute(b, Some(&l_stranger.token)).await;
    assert_errors(&r, 404, "notFound");
    let r = later.open_booking_dispute(b, Some(&l_athlete.token)).await.expect(200);
    assert_eq!(r.body["bookingStatus"], "InDispute");
    let r = later.open_booking_dispute(b, Some(&l_athlete.token)).await;
    assert_errors(&r, 400, "validation");
    // The coach may dispute too.
    let r = later.open_booking_dispute(ob, Some(&l_coach.token)).await.expect(200);
    assert_eq!(r.body["bookingStatus"], "InDispute");

    let r = later.resolve_booking_dispute(b, Some(&l_athlete.token)).await;
    assert_errors(&r, 403, "forbidden");
    let r = later.resolve_booking_dispute(b, Some(&l_coach.token)).await;
    assert_errors(&r, 403, "forbidden");
    let r = later.resolve_booking_dispute(b, Some(&l_stranger.token)).await;
    assert_errors(&r, 404, "notFound");
    let r = later.resolve_booking_dispute(b, Some(&l_admin.token)).await.expect(200);
    assert_eq!(r.body["bookingStatus"], "DisputeDone");
    assert_eq!(booking_by_id(&later, &l_athlete, b).await.expect(200).body["bookingStatus"], "DisputeDone");
    let r = later.resolve_booking_dispute(b, Some(&l_admin.token)).await;
    assert_errors(&r, 400, "validation");
    let r = later.resolve_booking_dispute(Uuid::new_v4(), Some(&l_admin.token)).await;
    assert_errors(&r, 404, "notFound");
    // A dispute done cannot be reopened.
    let r = later.open_booking_dispute(b, Some(&l_athlete.token)).await;
    assert_errors(&r, 400, "validation");
    // A disputed booking still holds its place.
    assert_eq!(places_taken(&later, &l_coach, e).await, 2);
}

async fn dismiss_booking_rules(app: TestApp) {
    let coach = app.user();
    let athlete = app.user();
    let stranger = app.user();
    let e1 = create_event(&app, &coach, jan(7, 10, 0), jan(7, 11, 0), 5).await;
    let e2 = create_event(&app, &coach, jan(8, 10, 0), jan(8, 11, 0), 5).await;
    let b1 = only_booking(&book_ok(&app, &athlete, &[e1]).await);
    let b2 = only_booking(&book_ok(&app, &athlete, &[e2]).await);

    let r = app.dismiss_booking(b1, &format!("userId={}", athlete.id), Some(&athlete.token)).await;
    assert_errors(&r, 400, "validation");
    cancel(&app, &athlete, b1, "Other", None).await.expect(200);

    let r = app.dismiss_booking(b1, &format!("userId={}", coach.id), Some(&athlete.token)).await;
    assert_errors(&r, 403, "forbidden");
    let r = app.dismiss_booking(b1, &format!("userId={}", athlete.id), Some(&coach.token)).await;
    assert_errors(&r, 403, "forbidden");
    let r = app.dismiss_booking(b1, &format!("userId={}", coach.id), Some(&coach.token)).await;
    assert_errors(&r, 403, "forbidden");
    let r = app.dismiss_booking(b1, &format!("userId={}", stranger.id), Some(&stranger.token)).await;
    assert_errors(&r, 404, "notFound");
    let r = app.dismiss_booking(Uuid::new_v4(), &format!("userId={}", athlete.id), Some(&athlete.token)).await;
    assert_errors(&r, 404, "notFound");
    assert_eq!(ids_of(&bookings_of(&app, &athlete, athlete.id).await.expect(200).body, "bookingId"), vec![b1, b2]);

    let r = app.dismiss_booking(b1, &format!("userId={}", athlete.id), Some(&athlete.token)).await.expect(204);
    assert!(r.text.is_empty(), "{}", r.text);
    app.dismiss_booking(b1, &format!("userId={}", athlete.id), Some(&athlete.token)).await.expect(204);
    assert_eq!(ids_of(&bookings_of(&app, &athlete, athlete.id).await.expect(200).body, "bookingId"), vec![b2]);
    // Still readable by id.
    assert_eq!(booking_by_id(&app, &athlete, b1).await.expect(200).body["bookingStatus"], "Canceled");
}

async fn order_status_follows_bookings(app: TestApp) {
    let coach = app.user();
    let athlete = app.user();
    let e1 = create_event(&app, &coach, jan(7, 10, 0), jan(7, 11, 0), 5).await;
    let e2 = create_event(&app, &coach, jan(8, 10, 0), jan(8, 11, 0), 5).await;
    let e3 = create_event(&app, &coach, jan(9, 10, 0), jan(9, 11, 0), 5).await;
    let order = book_ok(&app, &athlete, &[e1, e2]).await;
    let order_id = order["orderId"].clone();
    let ids = ids_of(&order["bookings"], "bookingId");
    let single = book_ok(&app, &athlete, &[e3]).await;
    let single_id = single["orderId"].clone();
    let b3 = only_booking(&single);
    let status_of = |orders: &Value, id: &Value| -> String {
        orders.as_array().unwrap().iter().find(|o| &o["orderId"] == id).unwrap()["status"].as_str().unwrap().to_string()
    };

    cancel(&app, &athlete, ids[0], "Other", None).await.expect(200);
    let orders = orders_of(&app, &athlete, athlete.id).await.expect(200).body;
    assert_eq!(status_of(&orders, &order_id), "Active");
    cancel(&app, &athlete, ids[1], "Other", None).await.expect(200);
    let orders = orders_of(&app, &athlete, athlete.id).await.expect(200).body;
    assert_eq!(status_of(&orders, &order_id), "Canceled");
    assert_eq!(status_of(&orders, &single_id), "Active");

    // Completed once every live booking is completed.
    let later = app_at(&app, jan(9, 12, 0)).await;
    let l_athlete = later.as_user(athlete.id);
    later
        .mark_booking_as_completed(b3, Some(&later.as_user(coach.id).token), json!({"completed": true}))
        .await
        .expect(200);
    let orders = orders_of(&later, &l_athlete, athlete.id).await.expect(200).body;
    assert_eq!(status_of(&orders, &single_id), "Completed");
    assert_eq!(status_of(&orders, &order_id), "Canceled");
}

// ------------------------------------------------------------------ 8. deleting a user

async fn delete_user_from_bookings(app: TestApp) {
    let coach = app.user();
    let victim = app.user();
    let other = app.user();
    let admin = app.admin();
    let delete = |caller: &User, current: Uuid, target: Option<Uuid>| {
        let query = target.map(|t| format!("userId={t}")).unwrap_or_default();
        let token = caller.token.clone();
        let app = &app;
        async move { app.delete_user_from_bookings(current, &query, Some(&token)).await }
    };

    // The victim books two events of the coach (two orders) and coaches an event others booked.
    let c1 = create_event(&app, &coach, jan(7, 10, 0), jan(7, 11, 0), 5).await;
    let c2 = create_event(&app, &coach, jan(8, 10, 0), jan(8, 11, 0), 5).await;
    let vb1 = only_booking(&book_ok(&app, &victim, &[c1]).await);
    let vb2 = only_booking(&book_ok(&app, &victim, &[c2]).await);
    let own = create_event(&app, &victim, jan(9, 10, 0), jan(9, 11, 0), 5).await;
    let other_order = book_ok(&app, &other, &[own, c1]).await;
    let other_bookings: BTreeMap<Uuid, Uuid> = other_order["bookings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (uuid_of(&b["eventId"]), uuid_of(&b["bookingId"])))
        .collect();
    assert_eq!(places_taken(&app, &coach, c1).await, 2);
    // An athlete whose only order holds only the victim's event.
    let solo = app.user();
    book_ok(&app, &solo, &[own]).await;

    // Header and token disagree; a non-admin deleting someone else; no header at all.
    let r = delete(&victim, other.id, None).await;
    assert_errors(&r, 403, "forbidden");
    let r = delete(&other, other.id, Some(victim.id)).await;
    assert_errors(&r, 403, "forbidden");
    let r = app.delete("/v1/users", Some(&victim.token)).await;
    assert_errors(&r, 400, "validation");
    let r = app
        .send_with_headers(Method::DELETE, "/v1/users", Some(&victim.token), None, &[("x-current-user-id", "me")])
        .await;
    assert_errors(&r, 400, "validation");
    // Someone of whom nothing is held: 404.
    let nobody = app.user();
    let r = delete(&nobody, nobody.id, None).await;
    assert_errors(&r, 404, "notFound");
    let r = app.delete_user_from_bookings(victim.id, "", None).await;
    assert_errors(&r, 401, "unauthorized");
    booking_by_id(&app, &admin, vb1).await.expect(200);

    let r = delete(&victim, victim.id, None).await.expect(204);
    assert!(r.text.is_empty(), "{}", r.text);
    for id in [vb1, vb2, other_bookings[&own]] {
        let r = booking_by_id(&app, &admin, id).await;
        assert_errors(&r, 404, "notFound");
    }
    assert_eq!(orders_of(&app, &admin, victim.id).await.expect(200).body, json!([]));
    assert_eq!(bookings_of(&app, &admin, victim.id).await.expect(200).body, json!([]));
    let r = app.get_coach_event(own, Some(&admin.token)).await;
    assert_error(&r, 404, "notFound");
    // Others keep what is theirs: the coach's events, the other athlete's booking of c1.
    assert_eq!(places_taken(&app, &coach, c1).await, 1);
    assert_eq!(places_taken(&app, &coach, c2).await, 0);
    booking_by_id(&app, &other, other_bookings[&c1]).await.expect(200);
    let orders = orders_of(&app, &other, other.id).await.expect(200);
    assert_eq!(ids_of(&orders.body[0]["bookings"], "eventId"), vec![c1]);
    // An order left with no booking is gone with them.
    assert_eq!(orders_of(&app, &admin, solo.id).await.expect(200).body, json!([]));

    // Nothing is held any more: 404 (003 declares Errors).
    let r = delete(&victim, victim.id, None).await;
    assert_errors(&r, 404, "notFound");
    let r = delete(&admin, admin.id, Some(victim.id)).await;
    assert_errors(&r, 404, "notFound");

    // An admin deletes another user.
    let r = delete(&admin, admin.id, Some(other.id)).await.expect(204);
    assert!(r.text.is_empty());
    assert_eq!(orders_of(&app, &admin, other.id).await.expect(200).body, json!([]));
    assert_eq!(places_taken(&app, &coach, c1).await, 0);
    let r = booking_by_id(&app, &admin, other_bookings[&c1]).await;
    assert_errors(&r, 404, "notFound");
}

db_tests!(
    create_coach_event_validates,
    create_coach_event_takes_the_deprecated_time_slot_name,
    book_events_happy_path,
    book_events_lists_every_failing_event_and_writes_nothing,
    book_events_input_rules,
    concurrent_orders_never_overbook,
    concurrent_overlapping_orders_of_one_athlete,
    concurrent_cancellations,
    get_bookings_rules,
    orders_and_booking_by_id_visibility,
    cancel_booking_lifecycle,
    cancel_coach_event_lifecycle,
    mark_completed_lifecycle,
    booking_notes,
    disputes,
    dismiss_booking_rules,
    order_status_follows_bookings,
    delete_user_from_bookings,
);

// ------------------------------------------------------------------ server bugs
//
// Regressions: each test below pinned a server bug when it was written.

/// createCoachEvent accepted sub-second times but dropped the fraction from
/// `timeslot.startTime`, so the event it answered broke its own wall-clock rule. Now the
/// fraction is kept.
async fn sub_second_times_keep_their_wall_clock(app: TestApp) {
    let coach = app.user();
    let start = jan(7, 10, 0) + Duration::milliseconds(500);
    let end = start + Duration::hours(1);
    let mut body = event_body(start, end, 3);
    body["startAt"] = json!(start.to_rfc3339_opts(SecondsFormat::Millis, true));
    body["endAt"] = json!(end.to_rfc3339_opts(SecondsFormat::Millis, true));
    body["timeslot"]["startTime"] = json!("10:00:00.500+00:00");
    body["timeslot"]["endTime"] = json!("11:00:00.500+00:00");
    let r = app.create_coach_event(Some(&coach.token), body).await;
    if r.status == 400 {
        assert_error(&r, 400, "validation");
        return;
    }
    assert_eq!(r.status, 201, "{}", r.text);
    // What the server answered must pass its own check: resubmitting it is accepted.
    let e = &r.body;
    let again = json!({
        "sportId": e["sportId"],
        "startAt": e["startAt"],
        "endAt": e["endAt"],
        "timeslot": {
            "startTime": e["timeslot"]["startTime"],
            "endTime": e["timeslot"]["endTime"],
            "numberOfParticipants": 3, "slotType": "Offline", "ageFrom": 18, "ageTo": 99,
            "duration": e["timeslot"]["duration"], "price": 0, "priceCurrency": "RUB", "paymentMethod": "Cash"
        }
    });
    let r2 = app.create_coach_event(Some(&coach.token), again).await;
    assert_eq!(
        r2.status, 201,
        "the event as answered (startAt {}, timeslot.startTime {}) fails the server's own wall-clock rule: {}",
        e["startAt"], e["timeslot"]["startTime"], r2.text
    );
}

/// cancelCoachEvent had no time rule: after the event it turned completed bookings into
/// Canceled. Like cancelBooking, it is now a before-the-start operation (400 after).
async fn an_event_that_started_cannot_be_canceled(app: TestApp) {
    let coach = app.user();
    let athlete = app.user();
    let e = create_event(&app, &coach, jan(7, 10, 0), jan(7, 11, 0), 5).await;
    let b = only_booking(&book_ok(&app, &athlete, &[e]).await);
    let later = app_at(&app, jan(7, 12, 0)).await;
    let l_coach = later.as_user(coach.id);
    later.mark_booking_as_completed(b, Some(&l_coach.token), json!({"completed": true})).await.expect(200);
    let r = later.cancel_coach_event(e, Some(&l_coach.token)).await;
    let after = booking_by_id(&later, &l_coach, b).await.expect(200).body;
    assert_eq!(
        r.status, 400,
        "a coach canceled an event that already happened; its booking is now {} (completed {}): {}",
        after["bookingStatus"], after["completed"], r.text
    );
    assert_error(&r, 400, "validation");
    assert_eq!(after["bookingStatus"], "Accepted");
}

db_tests!(sub_second_times_keep_their_wall_clock, an_event_that_started_cannot_be_canceled,);
