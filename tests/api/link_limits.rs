//! Issue #25's link rules over HTTP: echoed with their defaults, changed and reset field by
//! field, refused with the field named; limits per week and on minutes, bookable dates and
//! `after_busy` slots that availability and reservations agree on (a weekly limit raced); the
//! location each reservation carries.

use crate::db_tests;
use crate::helpers::*;
use serde_json::{json, Value};

fn body(tz: &str, duration: i64, hours: Value, rules: Value) -> Value {
    let mut b = json!({"duration_minutes": duration, "timezone": tz, "working_hours": hours});
    for (k, v) in rules.as_object().unwrap() {
        b[k] = v.clone();
    }
    b
}

fn weekdays(start: &str, end: &str) -> Value {
    let w = json!([{"start": start, "end": end}]);
    json!({"mon": w, "tue": w, "wed": w, "thu": w, "fri": w})
}

fn starts(r: &Reply) -> Vec<String> {
    r.body["slots"].as_array().unwrap().iter().map(|s| s["start"].as_str().unwrap().to_string()).collect()
}

fn slots(r: &Reply) -> Vec<(String, String)> {
    r.body["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["start"].as_str().unwrap().to_string(), s["end"].as_str().unwrap().to_string()))
        .collect()
}

async fn new_link(app: &TestApp, owner: &User, cal: uuid::Uuid, body: Value) -> String {
    app.create_link(owner, cal, body).await.expect(200).body["token"].as_str().unwrap().to_string()
}

async fn rules_are_echoed_changed_and_reset(app: TestApp) {
    let owner = app.user();
    let cal = app.new_calendar(&owner).await;
    // Defaults, echoed on a link that sets none.
    let plain = app.create_link(&owner, cal, body("UTC", 30, weekdays("09:00", "17:00"), json!({}))).await.expect(200);
    let s = &plain.body["settings"];
    assert_eq!(s["booking_limits"], json!({"day": null, "week": null, "month": null, "year": null}), "{s}");
    assert_eq!(s["duration_limits_minutes"], json!({"day": null, "week": null}));
    assert_eq!(
        (&s["week_start"], &s["window_days_kind"], &s["slot_alignment"]),
        (&json!("mon"), &json!("calendar"), &json!("grid"))
    );
    assert_eq!((&s["bookable_from"], &s["bookable_until"], &s["location"]), (&Value::Null, &Value::Null, &Value::Null));

    let rules = json!({
        "booking_limits": {"day": 4, "week": 10, "month": 30},
        "duration_limits_minutes": {"week": 600},
        "week_start": "sun",
        "window_days_kind": "business",
        "max_days_ahead": 20,
        "bookable_from": "2027-01-04",
        "bookable_until": "2027-06-30",
        "slot_alignment": "after_busy",
        "location": {"kind": "url", "value": " https://meet.example.com/r/{reservation_id} "},
    });
    let created =
        app.create_link(&owner, cal, body("Europe/Berlin", 30, weekdays("09:00", "17:00"), rules)).await.expect(200);
    let token = created.body["token"].as_str().unwrap().to_string();
    let s = created.body["settings"].clone();
    assert_eq!(s["booking_limits"], json!({"day": 4, "week": 10, "month": 30, "year": null}), "{s}");
    assert_eq!(s["max_bookings_per_day"], 4, "the same setting as booking_limits.day");
    assert_eq!(s["duration_limits_minutes"], json!({"day": null, "week": 600}));
    assert_eq!(
        (&s["week_start"], &s["window_days_kind"], &s["slot_alignment"]),
        (&json!("sun"), &json!("business"), &json!("after_busy"))
    );
    assert_eq!((&s["bookable_from"], &s["bookable_until"]), (&json!("2027-01-04"), &json!("2027-06-30")));
    assert_eq!(s["location"], json!({"kind": "url", "value": "https://meet.example.com/r/{reservation_id}"}));
    let listed = app.list_booking_links(cal, "", Some(&owner.token)).await.expect(200);
    let mine = listed.body.as_array().unwrap().iter().find(|l| l["token"] == token.as_str()).unwrap().clone();
    assert_eq!(mine["settings"], s);

    // An object changes the periods it names; null removes one; left out keeps.
    let up = app
        .update_booking_link(
            cal,
            &token,
            Some(&owner.token),
            json!({"booking_limits": {"week": null, "year": 100}, "week_start": null}),
        )
        .await
        .expect(200);
    let s = &up.body["settings"];
    assert_eq!(s["booking_limits"], json!({"day": 4, "week": null, "month": 30, "year": 100}), "{s}");
    assert_eq!((&s["week_start"], &s["slot_alignment"]), (&json!("mon"), &json!("after_busy")));
    // The legacy field and booking_limits.day are one setting.
    let up =
        app.update_booking_link(cal, &token, Some(&owner.token), json!({"max_bookings_per_day": 6})).await.expect(200);
    assert_eq!(up.body["settings"]["booking_limits"]["day"], 6);
    // null resets the whole object, and each other rule.
    let reset = json!({"booking_limits": null, "duration_limits_minutes": null, "window_days_kind": null,
        "bookable_from": null, "bookable_until": null, "slot_alignment": null, "location": null});
    let up = app.update_booking_link(cal, &token, Some(&owner.token), reset).await.expect(200);
    let s = &up.body["settings"];
    assert_eq!(s["booking_limits"], json!({"day": null, "week": null, "month": null, "year": null}), "{s}");
    assert!(s.get("max_bookings_per_day").is_none(), "{s}");
    assert_eq!(s["duration_limits_minutes"], json!({"day": null, "week": null}));
    assert_eq!(
        (&s["window_days_kind"], &s["slot_alignment"], &s["location"]),
        (&json!("calendar"), &json!("grid"), &Value::Null)
    );
    assert_eq!((&s["bookable_from"], &s["bookable_until"]), (&Value::Null, &Value::Null));
}

async fn bad_rules_are_400_naming_the_field(app: TestApp) {
    let owner = app.user();
    let cal = app.new_calendar(&owner).await;
    let cases = [
        (json!({"booking_limits": {"week": 0}}), "week"),
        (json!({"booking_limits": {"year": 366001}}), "year"),
        (json!({"duration_limits_minutes": {"day": 1441}}), "day"),
        (json!({"booking_limits": {"day": 3}, "max_bookings_per_day": 4}), "booking_limits.day"),
        (json!({"bookable_from": "2027-02-01", "bookable_until": "2027-01-31"}), "bookable_until"),
        (json!({"bookable_from": "2027-02-30"}), "bookable_from"),
        (json!({"week_start": "monday"}), "week_start"),
        (json!({"slot_alignment": "optimized"}), "slot_alignment"),
        (json!({"location": {"kind": "url", "value": "javascript:alert(1)"}}), "location"),
        (json!({"location": {"kind": "phone", "value": "call me"}}), "location"),
        (json!({"location": {"kind": "fax", "value": "123"}}), "kind"),
    ];
    for (rules, field) in cases {
        let r = app.create_link(&owner, cal, body("UTC", 30, weekdays("09:00", "17:00"), rules.clone())).await;
        let r = r.expect(400);
        assert!(r.text.contains(field), "{rules}: {}", r.text);
    }
    let token = new_link(&app, &owner, cal, body("UTC", 30, weekdays("09:00", "17:00"), json!({}))).await;
    let r = app
        .update_booking_link(
            cal,
            &token,
            Some(&owner.token),
            json!({"booking_limits": {"day": 2}, "max_bookings_per_day": 3}),
        )
        .await
        .expect(400);
    assert!(r.text.contains("booking_limits.day"), "{}", r.text);
}

async fn a_weekly_limit_and_a_minutes_limit_hold_on_both_paths(app: TestApp) {
    let owner = app.user();
    let cal = app.new_calendar(&owner).await;
    // Asuncion (UTC-3 since 2025), weeks from Sunday: Mon 2027-03-01 .. Sat 2027-03-06.
    let rules = json!({"booking_limits": {"week": 2}, "week_start": "sun", "duration_limits_minutes": {"day": 90}});
    let token = new_link(&app, &owner, cal, body("America/Asuncion", 60, weekdays("09:00", "12:00"), rules)).await;
    let week = ("2027-02-28T03:00:00Z", "2027-03-07T03:00:00Z");
    assert_eq!(starts(&app.availability(&token, week.0, week.1).await.expect(200)).len(), 15);
    app.reserve(&token, "2027-03-01T09:00:00-03:00", "2027-03-01T10:00:00-03:00").await.expect(200);
    // Monday's minutes: 60 + 60 > 90, so Monday offers nothing more ...
    let monday = ("2027-03-01T03:00:00Z", "2027-03-02T03:00:00Z");
    assert!(starts(&app.availability(&token, monday.0, monday.1).await.expect(200)).is_empty());
    let r = app.reserve(&token, "2027-03-01T11:00:00-03:00", "2027-03-01T12:00:00-03:00").await.expect(409);
    assert!(r.text.contains("minutes a day"), "{}", r.text);
    // ... and once a second day has one, the week is full.
    app.reserve(&token, "2027-03-03T09:00:00-03:00", "2027-03-03T10:00:00-03:00").await.expect(200);
    assert!(starts(&app.availability(&token, week.0, week.1).await.expect(200)).is_empty());
    let r = app.reserve(&token, "2027-03-05T09:00:00-03:00", "2027-03-05T10:00:00-03:00").await.expect(409);
    assert_eq!(r.code(), "conflict");
    assert!(r.text.contains("the week of 2027-02-28"), "{}", r.text);
    // The next week (from Sunday the 7th) is open.
    let next = app.availability(&token, "2027-03-07T03:00:00Z", "2027-03-14T03:00:00Z").await.expect(200);
    assert_eq!(starts(&next).first().map(String::as_str), Some("2027-03-08T09:00:00-03:00"));
}

async fn twenty_racing_reservations_respect_a_weekly_limit(app: TestApp) {
    let owner = app.user();
    let cal = app.new_calendar(&owner).await;
    let token = new_link(
        &app,
        &owner,
        cal,
        body("UTC", 20, weekdays("09:00", "17:00"), json!({"booking_limits": {"week": 3}})),
    )
    .await;
    let week = ("2027-03-01T00:00:00Z", "2027-03-06T00:00:00Z");
    let offered = slots(&app.availability(&token, week.0, week.1).await.expect(200));
    // Spread over the week's days, so no daily count serialises them.
    let picks: Vec<_> = offered.iter().step_by(offered.len() / 20).take(20).collect();
    let results = futures::future::join_all(picks.iter().map(|(s, e)| app.reserve(&token, s, e))).await;
    let ok = results.iter().filter(|r| r.status == 200).count();
    let full = results.iter().filter(|r| r.status == 409).count();
    assert_eq!((ok, full), (3, 17), "{:?}", results.iter().map(|r| r.status).collect::<Vec<_>>());
    assert!(starts(&app.availability(&token, week.0, week.1).await.expect(200)).is_empty());
}

async fn bookable_dates_and_after_busy_slots_agree_with_reservations(app: TestApp) {
    let owner = app.user();
    let cal = app.new_calendar(&owner).await;
    let rules = json!({"slot_alignment": "after_busy", "buffer_before_minutes": 10,
        "bookable_from": "2027-03-02", "bookable_until": "2027-03-03"});
    let token = new_link(&app, &owner, cal, body("Europe/London", 60, weekdays("09:00", "13:00"), rules)).await;
    // Busy 09:00-09:20 on Tuesday 2027-03-02 (GMT): slots from 09:30.
    let busy = json!({"title": "Dentist", "start": "2027-03-02T09:00:00Z", "end": "2027-03-02T09:20:00Z"});
    app.create_calendar_event(cal, Some(&owner.token), busy).await.expect(201);
    let r = app.availability(&token, "2027-03-01T00:00:00Z", "2027-03-05T00:00:00Z").await.expect(200);
    assert_eq!(
        starts(&r),
        [
            "2027-03-02T09:30:00+00:00",
            "2027-03-02T10:30:00+00:00",
            "2027-03-02T11:30:00+00:00",
            "2027-03-03T09:00:00+00:00",
            "2027-03-03T10:00:00+00:00",
            "2027-03-03T11:00:00+00:00",
            "2027-03-03T12:00:00+00:00",
        ]
    );
    // Monday is before bookable_from, 10:00 Tuesday is off the after-busy grid: 400 both.
    let r = app.reserve(&token, "2027-03-01T09:00:00Z", "2027-03-01T10:00:00Z").await.expect(400);
    assert!(r.text.contains("2027-03-02"), "{}", r.text);
    app.reserve(&token, "2027-03-02T10:00:00Z", "2027-03-02T11:00:00Z").await.expect(400);
    app.reserve(&token, "2027-03-02T09:30:00Z", "2027-03-02T10:30:00Z").await.expect(200);
    // The new reservation is busy time too: the next slot starts after it plus the buffer.
    let r = app.availability(&token, "2027-03-02T00:00:00Z", "2027-03-03T00:00:00Z").await.expect(200);
    assert_eq!(starts(&r), ["2027-03-02T10:40:00+00:00", "2027-03-02T11:40:00+00:00"]);
}

async fn a_reservation_carries_its_links_location(app: TestApp) {
    let owner = app.user();
    let cal = app.new_calendar(&owner).await;
    let rules = json!({"location": {"kind": "url", "value": "https://meet.example.com/r/{reservation_id}"}});
    let token = new_link(&app, &owner, cal, body("UTC", 30, weekdays("09:00", "17:00"), rules)).await;
    let r = app.reserve(&token, "2027-03-01T09:00:00Z", "2027-03-01T09:30:00Z").await.expect(200);
    let id = r.body["event"]["id"].as_str().unwrap().to_string();
    let want = format!("https://meet.example.com/r/{id}");
    assert_eq!(r.body["event"]["location"], want.as_str(), "{}", r.text);
    let guest = app.get_reservation(r.body["manage_token"].as_str().unwrap()).await.expect(200);
    assert_eq!(guest.body["location"], want.as_str());
    // A later change of the link's location does not move a made reservation.
    let to_phone = json!({"location": {"kind": "phone", "value": "+49 30 1234567"}});
    app.update_booking_link(cal, &token, Some(&owner.token), to_phone).await.expect(200);
    let events = app
        .list_calendar_events(cal, "start=2027-03-01T00%3A00%3A00Z&end=2027-03-02T00%3A00%3A00Z", Some(&owner.token))
        .await;
    assert_eq!(events.expect(200).body[0]["location"], want.as_str());
    let r = app.reserve(&token, "2027-03-01T10:00:00Z", "2027-03-01T10:30:00Z").await.expect(200);
    assert_eq!(r.body["event"]["location"], "+49 30 1234567");
    // Without a location, there is none.
    let plain = new_link(&app, &owner, cal, body("UTC", 30, weekdays("09:00", "17:00"), json!({}))).await;
    let r = app.reserve(&plain, "2027-03-02T09:00:00Z", "2027-03-02T09:30:00Z").await.expect(200);
    assert!(r.body["event"].get("location").is_none(), "{}", r.text);
}

db_tests!(
    rules_are_echoed_changed_and_reset,
    bad_rules_are_400_naming_the_field,
    a_weekly_limit_and_a_minutes_limit_hold_on_both_paths,
    twenty_racing_reservations_respect_a_weekly_limit,
    bookable_dates_and_after_busy_slots_agree_with_reservations,
    a_reservation_carries_its_links_location,
);
