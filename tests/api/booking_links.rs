//! Booking links (seed 000): create, availability, reserve; every error status; races.

use crate::db_tests;
use crate::helpers::*;
use serde_json::{json, Value};

fn link_body(tz: &str, duration: i64, buffer: i64, hours: Value) -> Value {
    json!({"duration_minutes": duration, "buffer_minutes": buffer, "timezone": tz, "working_hours": hours})
}

/// Monday 09:00-12:00 only.
fn monday_morning() -> Value {
    json!({"mon": [{"start": "09:00", "end": "12:00"}]})
}

async fn new_link(app: &TestApp, owner: &User, cal: uuid::Uuid, body: Value) -> String {
    let r = app.create_link(owner, cal, body).await.expect(200);
    r.body["token"].as_str().unwrap().to_string()
}

async fn create_booking_link_validates_and_echoes(app: TestApp) {
    let owner = app.user();
    let cal = app.new_calendar(&owner).await;
    let r = app.create_link(&owner, cal, link_body("America/Asuncion", 30, 10, monday_morning())).await.expect(200);
    let token = r.body["token"].as_str().unwrap();
    assert!(token.len() >= 22, "at least 128 bits of randomness: {token}");
    assert_eq!(r.body["public_url"], format!("https://book.example.test/booking/{token}"));
    // The public URL's path, on this server, is the link's booking page (tests/api/pages.rs).
    let followed = reqwest::get(format!("{}/booking/{token}", app.address)).await.unwrap();
    assert_eq!(followed.status(), 200);
    assert!(followed.text().await.unwrap().contains("<h1>Work</h1>"));
    assert_eq!(r.body["settings"]["duration_minutes"], 30);
    assert_eq!(r.body["settings"]["buffer_minutes"], 10);
    assert_eq!(r.body["settings"]["timezone"], "America/Asuncion");
    assert_eq!(r.body["settings"]["active"], true);
    assert_eq!(r.body["settings"]["working_hours"]["mon"][0]["end"], "12:00");
    // Defaults: buffer 0, active true; and each POST makes a new link.
    let r2 = app
        .create_link(&owner, cal, json!({"duration_minutes": 30, "timezone": "UTC", "working_hours": {"sun": [{"start": "22:00", "end": "24:00"}]}}))
        .await
        .expect(200);
    assert_eq!(r2.body["settings"]["buffer_minutes"], 0);
    assert_ne!(r2.body["token"], r.body["token"]);
    let listed = app.list_booking_links(cal, "", Some(&owner.token)).await.expect(200);
    assert_eq!(listed.body.as_array().unwrap().len(), 2);

    let bad = [
        link_body("UTC", 4, 0, monday_morning()),
        link_body("UTC", 24 * 60 + 1, 0, monday_morning()),
        link_body("UTC", 30, -1, monday_morning()),
        link_body("Mars/Olympus", 30, 0, monday_morning()),
        link_body("UTC", 30, 0, json!({"mon": [{"start": "9:00", "end": "12:00"}]})),
        link_body("UTC", 30, 0, json!({"mon": [{"start": "12:00", "end": "09:00"}]})),
        link_body("UTC", 30, 0, json!({"mon": [{"start": "09:00", "end": "09:00"}]})),
        link_body("UTC", 30, 0, json!({"mon": [{"start": "24:00", "end": "24:00"}]})),
        link_body(
            "UTC",
            30,
            0,
            json!({"mon": [{"start": "09:00", "end": "12:00"}, {"start": "11:00", "end": "13:00"}]}),
        ),
        link_body("UTC", 30, 0, json!({"monday": [{"start": "09:00", "end": "12:00"}]})),
        json!({"timezone": "UTC", "working_hours": {}}),
    ];
    for body in bad {
        let r = app.create_link(&owner, cal, body.clone()).await;
        assert_eq!(r.status, 400, "{body} -> {}", r.text);
        assert_eq!(r.code(), "validation");
    }
    // Auth, ownership, scope, existence.
    let body = link_body("UTC", 30, 0, monday_morning());
    app.create_booking_link(cal, None, body.clone()).await.expect(401);
    let other = app.user();
    app.create_link(&other, cal, body.clone()).await.expect(403);
    let no_scope = User { id: owner.id, token: app.token_for(owner.id, "calendar:write", false, None) };
    app.create_link(&no_scope, cal, body.clone()).await.expect(403);
    app.create_link(&owner, uuid::Uuid::new_v4(), body).await.expect(404);
}

async fn availability_in_the_links_time_zone(app: TestApp) {
    let owner = app.user();
    let cal = app.new_calendar(&owner).await;
    let token = new_link(&app, &owner, cal, link_body("America/Asuncion", 60, 0, monday_morning())).await;
    // Monday 2027-03-01 in Asuncion (UTC-3 all year since 2025): 09:00, 10:00, 11:00 local.
    let r = app.availability(&token, "2027-03-01T00:00:00Z", "2027-03-02T12:00:00Z").await.expect(200);
    assert_eq!(r.body["timezone"], "America/Asuncion");
    assert_eq!(r.body["duration_minutes"], 60);
    assert_eq!(r.body["scheduling"], "single");
    let starts: Vec<&str> = r.body["slots"].as_array().unwrap().iter().map(|s| s["start"].as_str().unwrap()).collect();
    assert_eq!(starts, ["2027-03-01T09:00:00-03:00", "2027-03-01T10:00:00-03:00", "2027-03-01T11:00:00-03:00"]);
    assert_eq!(r.body["slots"][0]["end"], "2027-03-01T10:00:00-03:00");

    // Busy time 10:30-10:45 local takes the 10:00 slot; with the link's buffer it would take more.
    app.create_calendar_event(
        cal,
        Some(&owner.token),
        json!({"title": "busy", "start": "2027-03-01T13:30:00Z", "end": "2027-03-01T13:45:00Z"}),
    )
    .await
    .expect(201);
    let r = app.availability(&token, "2027-03-01T00:00:00Z", "2027-03-02T00:00:00Z").await.expect(200);
    assert_eq!(r.body["slots"].as_array().unwrap().len(), 2);

    // Errors.
    app.availability("no-such-token", "2027-03-01T00:00:00Z", "2027-03-02T00:00:00Z").await.expect(404);
    app.availability(&token, "2027-03-02T00:00:00Z", "2027-03-01T00:00:00Z").await.expect(400);
    app.availability(&token, "2027-03-01T00:00:00Z", "2027-03-01T00:00:00Z").await.expect(400);
    app.availability(&token, "2027-03-01T00:00:00Z", "2027-05-03T00:00:00Z").await.expect(400);
    app.availability(&token, "yesterday", "2027-03-02T00:00:00Z").await.expect(400);
    app.get_booking_availability(&token, "start=2027-03-01T00%3A00%3A00Z").await.expect(400);
    // An inactive link is not found.
    app.update_booking_link(cal, &token, Some(&owner.token), json!({"active": false})).await.expect(200);
    app.availability(&token, "2027-03-01T00:00:00Z", "2027-03-02T00:00:00Z").await.expect(404);
}

async fn reserve_validates_and_books_once(app: TestApp) {
    let owner = app.user();
    let cal = app.new_calendar(&owner).await;
    let token = new_link(&app, &owner, cal, link_body("America/Asuncion", 60, 15, monday_morning())).await;
    let (start, end) = ("2027-03-01T09:00:00-03:00", "2027-03-01T10:00:00-03:00");
    let reserve = |body: Value| app.reserve_booking_slot(&token, body);
    let ok = reserve(
        json!({"name": "Ana", "email": "ana@example.com", "slot_start": start, "slot_end": end, "notes": "hello"}),
    )
    .await
    .expect(200);
    assert_eq!(ok.body["ok"], true);
    assert_eq!(ok.body["event"]["attendee_name"], "Ana");
    assert_eq!(ok.body["event"]["attendee_email"], "ana@example.com");
    assert_eq!(ok.body["event"]["notes"], "hello");
    assert_eq!(ok.body["event"]["source"], "reservation");
    assert_eq!(ok.body["event"]["booking_link_token"], token.as_str());
    // Taken now: 409; and the next slot is within the 15-minute buffer of it: 409 as well.
    assert_eq!(app.reserve(&token, start, end).await.expect(409).code(), "conflict");
    app.reserve(&token, "2027-03-01T10:00:00-03:00", "2027-03-01T11:00:00-03:00").await.expect(409);
    app.reserve(&token, "2027-03-01T11:00:00-03:00", "2027-03-01T12:00:00-03:00").await.expect(200);

    let bad = [
        json!({"name": "", "email": "a@example.com", "slot_start": start, "slot_end": end}),
        json!({"name": "   ", "email": "a@example.com", "slot_start": start, "slot_end": end}),
        json!({"email": "a@example.com", "slot_start": start, "slot_end": end}),
        json!({"name": "A", "email": "not-an-email", "slot_start": start, "slot_end": end}),
        json!({"name": "A", "email": "a@example.com", "slot_start": "soon", "slot_end": end}),
        // Wrong length, off the grid, outside working hours, in the past.
        json!({"name": "A", "email": "a@example.com", "slot_start": start, "slot_end": "2027-03-01T09:30:00-03:00"}),
        json!({"name": "A", "email": "a@example.com", "slot_start": "2027-03-01T09:15:00-03:00", "slot_end": "2027-03-01T10:15:00-03:00"}),
        json!({"name": "A", "email": "a@example.com", "slot_start": "2027-03-02T09:00:00-03:00", "slot_end": "2027-03-02T10:00:00-03:00"}),
        json!({"name": "A", "email": "a@example.com", "slot_start": "2021-03-01T09:00:00-03:00", "slot_end": "2021-03-01T10:00:00-03:00"}),
    ];
    for body in bad {
        let r = reserve(body.clone()).await;
        assert_eq!(r.status, 400, "{body} -> {}", r.text);
        assert_eq!(r.code(), "validation");
    }
    app.reserve("no-such-token", start, end).await.expect(404);

    // Availability (read through its cache) shows the reservation at once ...
    let slot_starts = |r: &Reply| -> Vec<String> {
        r.body["slots"].as_array().unwrap().iter().map(|s| s["start"].as_str().unwrap().to_string()).collect()
    };
    let day = ("2027-03-01T00:00:00Z", "2027-03-02T00:00:00Z");
    let before = app.availability(&token, day.0, day.1).await.expect(200);
    assert!(!slot_starts(&before).contains(&start.to_string()), "{:?}", slot_starts(&before));

    // ... and deleting the reservation's event frees the slot, in availability too.
    let event = ok.body["event"]["id"].as_str().unwrap().parse().unwrap();
    app.delete_calendar_event(cal, event, Some(&owner.token)).await.expect(204);
    let after = app.availability(&token, day.0, day.1).await.expect(200);
    assert!(slot_starts(&after).contains(&start.to_string()), "{:?}", slot_starts(&after));
    app.reserve(&token, start, end).await.expect(200);

    // A link's new settings apply at once, to availability and to reservations.
    app.update_booking_link(cal, &token, Some(&owner.token), json!({"duration_minutes": 30})).await.expect(200);
    let r = app.availability(&token, day.0, day.1).await.expect(200);
    assert_eq!(r.body["duration_minutes"], 30);
    app.reserve(&token, "2027-03-01T11:30:00-03:00", "2027-03-01T12:30:00-03:00").await.expect(400);
}

async fn fifty_racing_reservations_give_one_booking(app: TestApp) {
    let owner = app.user();
    let cal = app.new_calendar(&owner).await;
    let token = new_link(&app, &owner, cal, link_body("Europe/Berlin", 30, 0, monday_morning())).await;
    let (start, end) = ("2027-03-01T09:00:00+01:00", "2027-03-01T09:30:00+01:00");
    let results = futures::future::join_all((0..50).map(|_| app.reserve(&token, start, end))).await;
    let ok = results.iter().filter(|r| r.status == 200).count();
    let conflicts = results.iter().filter(|r| r.status == 409).count();
    assert_eq!((ok, conflicts), (1, 49), "{:?}", results.iter().map(|r| r.status).collect::<Vec<_>>());
    let events = app
        .list_calendar_events(
            cal,
            &format!("start={}&end={}", urlencode("2027-03-01T00:00:00Z"), urlencode("2027-03-02T00:00:00Z")),
            Some(&owner.token),
        )
        .await
        .expect(200);
    assert_eq!(events.body.as_array().unwrap().len(), 1);
}

async fn overlapping_slots_of_two_links_never_both_win(app: TestApp) {
    let owner = app.user();
    let cal = app.new_calendar(&owner).await;
    let a = new_link(&app, &owner, cal, link_body("UTC", 60, 0, json!({"mon": [{"start": "09:00", "end": "12:00"}]})))
        .await;
    let b = new_link(&app, &owner, cal, link_body("UTC", 60, 0, json!({"mon": [{"start": "09:30", "end": "12:30"}]})))
        .await;
    for hour in [9, 10] {
        let a_start = format!("2027-03-01T{hour:02}:00:00Z");
        let a_end = format!("2027-03-01T{:02}:00:00Z", hour + 1);
        let b_start = format!("2027-03-01T{hour:02}:30:00Z");
        let b_end = format!("2027-03-01T{:02}:30:00Z", hour + 1);
        let (ra, rb) = tokio::join!(app.reserve(&a, &a_start, &a_end), app.reserve(&b, &b_start, &b_end));
        let wins = [ra.status, rb.status].iter().filter(|s| s.as_u16() == 200).count();
        assert_eq!(wins, 1, "a: {} b: {}", ra.text, rb.text);
        assert!([ra.status.as_u16(), rb.status.as_u16()].contains(&409));
    }
}

db_tests!(
    create_booking_link_validates_and_echoes,
    availability_in_the_links_time_zone,
    reserve_validates_and_books_once,
    fifty_racing_reservations_give_one_booking,
    overlapping_slots_of_two_links_never_both_win,
);
