//! The scheduling rules of booking links (issue #12): echoed settings, validation, and
//! availability and reservations that agree on every rule (notice, booking window, interval,
//! overrides, overnight ranges, DST, the daily cap and its race).

use crate::db_tests;
use crate::helpers::*;
use chrono::{DateTime, Duration, DurationRound, Utc};
use serde_json::{json, Value};

const EVERY_DAY: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Every day `start`-`end`.
fn every_day(start: &str, end: &str) -> Value {
    let window = json!([{"start": start, "end": end}]);
    Value::Object(EVERY_DAY.iter().map(|d| (d.to_string(), window.clone())).collect())
}

/// A link body: the seed's fields plus `rules` merged in.
fn body(tz: &str, duration: i64, hours: Value, rules: Value) -> Value {
    let mut b = json!({"duration_minutes": duration, "timezone": tz, "working_hours": hours});
    for (k, v) in rules.as_object().unwrap() {
        b[k] = v.clone();
    }
    b
}

async fn new_link(app: &TestApp, owner: &User, cal: uuid::Uuid, body: Value) -> String {
    let r = app.create_link(owner, cal, body).await.expect(200);
    r.body["token"].as_str().unwrap().to_string()
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

fn utc(t: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(t).unwrap().with_timezone(&Utc)
}

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Reserves every slot availability offers over `[start, end)` (each must be accepted) and
/// returns them.
async fn reserve_all_offered(app: &TestApp, token: &str, start: &str, end: &str) -> Vec<(String, String)> {
    let offered = slots(&app.availability(token, start, end).await.expect(200));
    for (s, e) in &offered {
        app.reserve(token, s, e).await.expect(200);
    }
    offered
}

async fn settings_are_echoed_and_updated(app: TestApp) {
    let owner = app.user();
    let cal = app.new_calendar(&owner).await;
    let rules = json!({
        "buffer_minutes": 5,
        "min_notice_minutes": 120,
        "max_days_ahead": 60,
        "slot_interval_minutes": 15,
        "buffer_before_minutes": 10,
        "buffer_after_minutes": 20,
        "date_overrides": [
            {"date": "2027-12-31", "windows": []},
            {"date": "2027-12-24", "windows": [{"start": "09:00", "end": "12:00"}]},
        ],
        "max_bookings_per_day": 8,
    });
    let created = app.create_link(&owner, cal, body("Europe/Berlin", 30, every_day("09:00", "17:00"), rules)).await;
    let created = created.expect(200);
    let token = created.body["token"].as_str().unwrap().to_string();
    let expected = json!({
        "min_notice_minutes": 120,
        "max_days_ahead": 60,
        "slot_interval_minutes": 15,
        "buffer_before_minutes": 10,
        "buffer_after_minutes": 20,
        // Sorted by date.
        "date_overrides": [
            {"date": "2027-12-24", "windows": [{"start": "09:00", "end": "12:00"}]},
            {"date": "2027-12-31", "windows": []},
        ],
        "max_bookings_per_day": 8,
    });
    let check = |settings: &Value, expected: &Value| {
        for (k, v) in expected.as_object().unwrap() {
            assert_eq!(&settings[k], v, "{k} in {settings}");
        }
    };
    let s = &created.body["settings"];
    check(s, &expected);
    // The buffers differ: no common buffer_minutes.
    assert!(s.get("buffer_minutes").is_none(), "{s}");
    assert_eq!(s["duration_minutes"], 30);
    let listed = app.list_booking_links(cal, "", Some(&owner.token)).await.expect(200);
    let s = &listed.body[0]["settings"];
    check(s, &expected);
    assert!(s.get("buffer_minutes").is_none(), "{s}");

    // A link without rules shows the defaults; max_days_ahead and the cap only when set.
    let plain = app.create_link(&owner, cal, body("UTC", 45, every_day("09:00", "17:00"), json!({}))).await;
    let s = &plain.expect(200).body["settings"];
    check(
        s,
        &json!({"buffer_minutes": 0, "buffer_before_minutes": 0, "buffer_after_minutes": 0,
                "min_notice_minutes": 0, "slot_interval_minutes": 45, "date_overrides": []}),
    );
    assert!(s.get("max_days_ahead").is_none() && s.get("max_bookings_per_day").is_none(), "{s}");

    // Update: what is left out keeps its value; buffer_minutes sets both sides.
    let up = app.update_booking_link(cal, &token, Some(&owner.token), json!({"buffer_minutes": 25})).await;
    let s = &up.expect(200).body["settings"];
    check(
        s,
        &json!({"buffer_minutes": 25, "buffer_before_minutes": 25, "buffer_after_minutes": 25,
                "min_notice_minutes": 120, "max_days_ahead": 60, "slot_interval_minutes": 15,
                "max_bookings_per_day": 8}),
    );
    assert_eq!(s["date_overrides"].as_array().unwrap().len(), 2);
    // buffer_minutes with one side given: the given side wins.
    let up = app
        .update_booking_link(
            cal,
            &token,
            Some(&owner.token),
            json!({"buffer_minutes": 0, "buffer_after_minutes": 30, "min_notice_minutes": 0, "date_overrides": []}),
        )
        .await;
    let s = &up.expect(200).body["settings"];
    check(
        s,
        &json!({"buffer_before_minutes": 0, "buffer_after_minutes": 30, "min_notice_minutes": 0,
                "date_overrides": [], "slot_interval_minutes": 15}),
    );
    assert!(s.get("buffer_minutes").is_none(), "{s}");
    let listed = app.list_booking_links(cal, "", Some(&owner.token)).await.expect(200);
    let mine = listed.body.as_array().unwrap().iter().find(|l| l["token"] == token.as_str()).unwrap();
    assert_eq!(&mine["settings"], s);

    // New settings apply at once to (cached) availability (a date within max_days_ahead).
    let day = ("2027-01-04T00:00:00Z", "2027-01-05T00:00:00Z");
    let before = app.availability(&token, day.0, day.1).await.expect(200);
    assert_eq!(starts(&before).first().map(String::as_str), Some("2027-01-04T09:00:00+01:00"));
    assert_eq!(starts(&before).get(1).map(String::as_str), Some("2027-01-04T09:15:00+01:00"));
    let closed = json!({"date_overrides": [{"date": "2027-01-04", "windows": []}]});
    app.update_booking_link(cal, &token, Some(&owner.token), closed).await.expect(200);
    let after = app.availability(&token, day.0, day.1).await.expect(200);
    assert_eq!(starts(&after), Vec::<String>::new());

    // null sets a rule back to its default; left out, it keeps its value.
    let up = app
        .update_booking_link(
            cal,
            &token,
            Some(&owner.token),
            json!({"max_days_ahead": null, "max_bookings_per_day": null, "slot_interval_minutes": null}),
        )
        .await;
    let s = &up.expect(200).body["settings"];
    assert!(s.get("max_days_ahead").is_none() && s.get("max_bookings_per_day").is_none(), "{s}");
    check(s, &json!({"slot_interval_minutes": 30, "buffer_after_minutes": 30, "min_notice_minutes": 0}));
    let listed = app.list_booking_links(cal, "", Some(&owner.token)).await.expect(200);
    let mine = listed.body.as_array().unwrap().iter().find(|l| l["token"] == token.as_str()).unwrap();
    assert_eq!(&mine["settings"], s);
    // The window no longer ends 60 days ahead: a date years away is offered.
    let far = app.availability(&token, "2031-01-06T00:00:00Z", "2031-01-07T00:00:00Z").await.expect(200);
    assert_eq!(starts(&far).first().map(String::as_str), Some("2031-01-06T09:00:00+01:00"));
    // A rule that has no default cannot be reset: null is refused, naming the field.
    for field in ["duration_minutes", "timezone", "min_notice_minutes"] {
        let r = app.update_booking_link(cal, &token, Some(&owner.token), json!({ field: null })).await.expect(400);
        assert!(r.text.contains(field), "{field}: {}", r.text);
    }
}

async fn bad_rules_are_400_naming_the_field(app: TestApp) {
    let owner = app.user();
    let cal = app.new_calendar(&owner).await;
    let hours = every_day("09:00", "17:00");
    let w = |a: &str, b: &str| json!({"start": a, "end": b});
    let cases = [
        (json!({"min_notice_minutes": -1}), "min_notice_minutes"),
        (json!({"min_notice_minutes": 525_601}), "min_notice_minutes"),
        (json!({"max_days_ahead": -1}), "max_days_ahead"),
        (json!({"max_days_ahead": 731}), "max_days_ahead"),
        (json!({"slot_interval_minutes": 4}), "slot_interval_minutes"),
        (json!({"slot_interval_minutes": 1441}), "slot_interval_minutes"),
        (json!({"buffer_before_minutes": -1}), "buffer_before_minutes"),
        (json!({"buffer_before_minutes": 1441}), "buffer_before_minutes"),
        (json!({"buffer_after_minutes": -1}), "buffer_after_minutes"),
        (json!({"buffer_after_minutes": 1441}), "buffer_after_minutes"),
        (json!({"max_bookings_per_day": 0}), "max_bookings_per_day"),
        (json!({"max_bookings_per_day": 1001}), "max_bookings_per_day"),
        (
            json!({"date_overrides": [{"date": "2027-12-24", "windows": []}, {"date": "2027-12-24", "windows": []}]}),
            "date_overrides",
        ),
        (json!({"date_overrides": [{"date": "2027-13-01", "windows": []}]}), "date"),
        (json!({"date_overrides": [{"date": "24.12.2027", "windows": []}]}), "date"),
        (
            json!({"date_overrides": [{"date": "2027-12-24", "windows": [w("09:00", "12:00"), w("11:00", "13:00")]}]}),
            "date_overrides",
        ),
        (json!({"date_overrides": [{"date": "2027-12-24", "windows": [w("12:00", "09:00")]}]}), "date_overrides"),
        (json!({"date_overrides": [{"date": "2027-12-24", "windows": [w("9:00", "12:00")]}]}), "start"),
        (json!({"date_overrides": "none"}), "date_overrides"),
    ];
    let token = new_link(&app, &owner, cal, body("UTC", 30, hours.clone(), json!({}))).await;
    let too_many: Vec<Value> = (0..367)
        .map(|i| json!({"date": (chrono::NaiveDate::from_ymd_opt(2027, 1, 1).unwrap() + Duration::days(i)).to_string(), "windows": []}))
        .collect();
    let cases = cases.into_iter().chain([(json!({"date_overrides": too_many}), "date_overrides")]);
    for (rules, field) in cases {
        let r = app.create_link(&owner, cal, body("UTC", 30, hours.clone(), rules.clone())).await;
        assert_eq!(r.status, 400, "create {rules} -> {}", r.text);
        assert_eq!(r.code(), "validation");
        let message = r.error()["message"].as_str().unwrap().to_string();
        assert!(message.contains(field), "create {rules}: {message:?} names {field}");
        let r = app.update_booking_link(cal, &token, Some(&owner.token), rules.clone()).await;
        assert_eq!(r.status, 400, "update {rules} -> {}", r.text);
        let message = r.error()["message"].as_str().unwrap().to_string();
        assert!(message.contains(field), "update {rules}: {message:?} names {field}");
    }
    // Nothing was changed by the refused updates.
    let listed = app.list_booking_links(cal, "", Some(&owner.token)).await.expect(200);
    assert_eq!(listed.body.as_array().unwrap().len(), 1);
    assert_eq!(listed.body[0]["settings"]["date_overrides"], json!([]));
    assert_eq!(listed.body[0]["settings"]["slot_interval_minutes"], 30);
}

async fn notice_and_window_shape_availability_and_reserve_alike(app: TestApp) {
    let owner = app.user();
    let cal = app.new_calendar(&owner).await;
    // Every hour of every day, UTC; ten hours' notice, today and tomorrow only.
    let rules = json!({"min_notice_minutes": 600, "max_days_ahead": 1});
    let token = new_link(&app, &owner, cal, body("UTC", 60, every_day("00:00", "24:00"), rules)).await;
    let now = Utc::now();
    let today = now.duration_trunc(Duration::days(1)).unwrap();
    let (from, to) = (today, today + Duration::days(4));
    let r = app.availability(&token, &iso(from), &iso(to)).await.expect(200);
    let offered: Vec<DateTime<Utc>> = starts(&r).iter().map(|s| utc(s)).collect();
    let first = *offered.first().expect("slots tomorrow at least");
    let last = *offered.last().unwrap();
    // Strictly after now + notice, the first whole hour after it; the last ends tomorrow.
    assert!(first > now + Duration::minutes(600), "{first}");
    assert!(first - Duration::hours(1) <= now + Duration::minutes(600) + Duration::seconds(120), "{first}");
    assert_eq!(last, today + Duration::days(1) + Duration::hours(23));
    assert_eq!(offered.len() as i64, (last - first).num_hours() + 1);
    // Too soon (still in the future) and too far ahead are not offered: 400.
    let soon = first - Duration::hours(2);
    let r = app.reserve(&token, &iso(soon), &iso(soon + Duration::hours(1))).await.expect(400);
    assert!(r.error()["message"].as_str().unwrap().contains("notice"), "{}", r.text);
    let far = today + Duration::days(2);
    let r = app.reserve(&token, &iso(far), &iso(far + Duration::hours(1))).await.expect(400);
    assert!(r.error()["message"].as_str().unwrap().contains("too far ahead"), "{}", r.text);
    // Every offered slot is accepted.
    let reserved = reserve_all_offered(&app, &token, &iso(from), &iso(to)).await;
    assert_eq!(reserved.len(), offered.len());
    let r = app.availability(&token, &iso(from), &iso(to)).await.expect(200);
    assert_eq!(starts(&r), Vec::<String>::new());
}

async fn interval_override_and_overnight_agree(app: TestApp) {
    let owner = app.user();
    let cal = app.new_calendar(&owner).await;
    // Interval: 30-minute slots every 45 minutes of Monday 09:00-12:00 (UTC).
    let mon = json!({"mon": [{"start": "09:00", "end": "12:00"}]});
    let token = new_link(&app, &owner, cal, body("UTC", 30, mon, json!({"slot_interval_minutes": 45}))).await;
    let day = ("2027-03-01T00:00:00Z", "2027-03-02T00:00:00Z");
    let r = app.availability(&token, day.0, day.1).await.expect(200);
    let grid = [
        "2027-03-01T09:00:00+00:00",
        "2027-03-01T09:45:00+00:00",
        "2027-03-01T10:30:00+00:00",
        "2027-03-01T11:15:00+00:00",
    ];
    assert_eq!(starts(&r), grid);
    app.reserve(&token, "2027-03-01T09:30:00Z", "2027-03-01T10:00:00Z").await.expect(400);
    assert_eq!(reserve_all_offered(&app, &token, day.0, day.1).await.len(), 4);

    // Overrides: a weekday closed, a Saturday opened (Monday to Friday 09:00-11:00 otherwise).
    let weekdays = json!({
        "mon": [{"start": "09:00", "end": "11:00"}], "tue": [{"start": "09:00", "end": "11:00"}],
        "wed": [{"start": "09:00", "end": "11:00"}], "thu": [{"start": "09:00", "end": "11:00"}],
        "fri": [{"start": "09:00", "end": "11:00"}]});
    let rules = json!({"date_overrides": [
        {"date": "2027-03-09", "windows": []},
        {"date": "2027-03-13", "windows": [{"start": "14:00", "end": "15:00"}, {"start": "16:00", "end": "17:00"}]},
    ]});
    let token = new_link(&app, &owner, cal, body("Europe/Lisbon", 60, weekdays, rules)).await;
    let week = ("2027-03-08T00:00:00Z", "2027-03-15T00:00:00Z");
    let r = app.availability(&token, week.0, week.1).await.expect(200);
    let got = starts(&r);
    assert_eq!(got.len(), 2 * 4 + 2, "{got:?}");
    assert!(!got.iter().any(|s| s.starts_with("2027-03-09")), "{got:?}");
    assert!(got.contains(&"2027-03-13T14:00:00+00:00".to_string()), "{got:?}");
    assert!(got.contains(&"2027-03-13T16:00:00+00:00".to_string()), "{got:?}");
    app.reserve(&token, "2027-03-09T09:00:00Z", "2027-03-09T10:00:00Z").await.expect(400);
    app.reserve(&token, "2027-03-13T15:00:00Z", "2027-03-13T16:00:00Z").await.expect(400);
    assert_eq!(reserve_all_offered(&app, &token, week.0, week.1).await.len(), 10);

    // Overnight: Sunday 22:00-24:00 joined to Monday 00:00-02:00, one range; 60-minute slots
    // every 30 minutes, one of them across midnight.
    let night = json!({"sun": [{"start": "22:00", "end": "24:00"}], "mon": [{"start": "00:00", "end": "02:00"}]});
    let token = new_link(&app, &owner, cal, body("UTC", 60, night, json!({"slot_interval_minutes": 30}))).await;
    let range = ("2027-03-07T00:00:00Z", "2027-03-09T00:00:00Z");
    let r = app.availability(&token, range.0, range.1).await.expect(200);
    let expected: Vec<String> = [
        "2027-03-07T22:00",
        "2027-03-07T22:30",
        "2027-03-07T23:00",
        "2027-03-07T23:30",
        "2027-03-08T00:00",
        "2027-03-08T00:30",
        "2027-03-08T01:00",
    ]
    .iter()
    .map(|s| format!("{s}:00+00:00"))
    .collect();
    assert_eq!(starts(&r), expected);
    // Across midnight is accepted; then its overlapping neighbours are busy (409).
    app.reserve(&token, "2027-03-07T23:30:00Z", "2027-03-08T00:30:00Z").await.expect(200);
    app.reserve(&token, "2027-03-08T00:00:00Z", "2027-03-08T01:00:00Z").await.expect(409);
    app.reserve(&token, "2027-03-07T23:15:00Z", "2027-03-08T00:15:00Z").await.expect(400);
    app.reserve(&token, "2027-03-08T01:00:00Z", "2027-03-08T02:00:00Z").await.expect(200);
    app.reserve(&token, "2027-03-08T01:30:00Z", "2027-03-08T02:30:00Z").await.expect(400);
}

async fn separate_buffers_apply_on_their_side(app: TestApp) {
    let owner = app.user();
    let cal = app.new_calendar(&owner).await;
    let mon = json!({"mon": [{"start": "09:00", "end": "13:00"}]});
    let rules = json!({"buffer_before_minutes": 60, "buffer_after_minutes": 0});
    let token = new_link(&app, &owner, cal, body("UTC", 60, mon, rules)).await;
    // Busy 11:00-11:30: the 10:00 slot ends before it (no buffer after), the 11:00 and 12:00
    // slots would need an hour free before them.
    app.create_calendar_event(
        cal,
        Some(&owner.token),
        json!({"title": "busy", "start": "2027-03-01T11:00:00Z", "end": "2027-03-01T11:30:00Z"}),
    )
    .await
    .expect(201);
    let day = ("2027-03-01T00:00:00Z", "2027-03-02T00:00:00Z");
    let r = app.availability(&token, day.0, day.1).await.expect(200);
    assert_eq!(starts(&r), ["2027-03-01T09:00:00+00:00", "2027-03-01T10:00:00+00:00"]);
    app.reserve(&token, "2027-03-01T12:00:00Z", "2027-03-01T13:00:00Z").await.expect(409);
    app.reserve(&token, "2027-03-01T10:00:00Z", "2027-03-01T11:00:00Z").await.expect(200);
}

async fn an_override_on_new_yorks_fall_back_day(app: TestApp) {
    let owner = app.user();
    let cal = app.new_calendar(&owner).await;
    // 2027-11-07 01:00-02:00 in New York runs from 01:00 EDT (05:00Z) to 02:00 EST (07:00Z):
    // two real hours, four 30-minute slots.
    let rules = json!({"date_overrides": [{"date": "2027-11-07", "windows": [{"start": "01:00", "end": "02:00"}]}]});
    let token = new_link(&app, &owner, cal, body("America/New_York", 30, json!({}), rules)).await;
    let range = ("2027-11-06T00:00:00Z", "2027-11-09T00:00:00Z");
    let r = app.availability(&token, range.0, range.1).await.expect(200);
    assert_eq!(
        starts(&r),
        [
            "2027-11-07T01:00:00-04:00",
            "2027-11-07T01:30:00-04:00",
            "2027-11-07T01:00:00-05:00",
            "2027-11-07T01:30:00-05:00"
        ]
    );
    // 02:00 EST is the window's end; 07:00Z is not offered.
    app.reserve(&token, "2027-11-07T07:00:00Z", "2027-11-07T07:30:00Z").await.expect(400);
    assert_eq!(reserve_all_offered(&app, &token, range.0, range.1).await.len(), 4);
}

async fn the_daily_cap_counts_local_dates(app: TestApp) {
    let owner = app.user();
    let cal = app.new_calendar(&owner).await;
    // Tokyo is UTC+9: its 2027-03-01 runs from 2027-02-28T15:00Z to 2027-03-01T15:00Z.
    let rules = json!({"max_bookings_per_day": 2});
    let token = new_link(&app, &owner, cal, body("Asia/Tokyo", 60, every_day("00:00", "24:00"), rules)).await;
    let first = app.reserve(&token, "2027-03-01T00:00:00+09:00", "2027-03-01T01:00:00+09:00").await.expect(200);
    app.reserve(&token, "2027-03-01T23:00:00+09:00", "2027-03-02T00:00:00+09:00").await.expect(200);
    // Full: no slot of that local date is offered, and reserving one is a 409 ...
    let day1 = ("2027-02-28T15:00:00Z", "2027-03-01T15:00:00Z");
    let r = app.availability(&token, day1.0, day1.1).await.expect(200);
    assert_eq!(starts(&r), Vec::<String>::new());
    let r = app.reserve(&token, "2027-03-01T12:00:00+09:00", "2027-03-01T13:00:00+09:00").await.expect(409);
    assert_eq!(r.code(), "conflict");
    assert!(r.error()["message"].as_str().unwrap().contains("2027-03-01"), "{}", r.text);
    // ... while the next local date (same UTC date as the second reservation) is open.
    let r = app.availability(&token, "2027-03-01T15:00:00Z", "2027-03-02T15:00:00Z").await.expect(200);
    assert_eq!(starts(&r).len(), 24);
    app.reserve(&token, "2027-03-02T00:00:00+09:00", "2027-03-02T01:00:00+09:00").await.expect(200);
    // A cancelled (deleted) reservation no longer counts.
    let event = first.body["event"]["id"].as_str().unwrap().parse().unwrap();
    app.delete_calendar_event(cal, event, Some(&owner.token)).await.expect(204);
    let r = app.availability(&token, day1.0, day1.1).await.expect(200);
    assert_eq!(starts(&r).len(), 23);
    app.reserve(&token, "2027-03-01T12:00:00+09:00", "2027-03-01T13:00:00+09:00").await.expect(200);
    app.reserve(&token, "2027-03-01T13:00:00+09:00", "2027-03-01T14:00:00+09:00").await.expect(409);
}

async fn twenty_racing_reservations_respect_the_daily_cap(app: TestApp) {
    let owner = app.user();
    let cal = app.new_calendar(&owner).await;
    let mon = json!({"mon": [{"start": "09:00", "end": "17:00"}]});
    let token = new_link(&app, &owner, cal, body("UTC", 20, mon, json!({"max_bookings_per_day": 3}))).await;
    let day = ("2027-03-01T00:00:00Z", "2027-03-02T00:00:00Z");
    let offered = slots(&app.availability(&token, day.0, day.1).await.expect(200));
    assert_eq!(offered.len(), 24);
    let results = futures::future::join_all(offered.iter().take(20).map(|(s, e)| app.reserve(&token, s, e))).await;
    let ok = results.iter().filter(|r| r.status == 200).count();
    let full = results.iter().filter(|r| r.status == 409).count();
    assert_eq!((ok, full), (3, 17), "{:?}", results.iter().map(|r| r.status).collect::<Vec<_>>());
    let events = app
        .list_calendar_events(cal, &format!("start={}&end={}", urlencode(day.0), urlencode(day.1)), Some(&owner.token))
        .await
        .expect(200);
    assert_eq!(events.body.as_array().unwrap().len(), 3);
    let r = app.availability(&token, day.0, day.1).await.expect(200);
    assert_eq!(starts(&r), Vec::<String>::new());
}

db_tests!(
    settings_are_echoed_and_updated,
    bad_rules_are_400_naming_the_field,
    notice_and_window_shape_availability_and_reserve_alike,
    interval_override_and_overnight_agree,
    separate_buffers_apply_on_their_side,
    an_override_on_new_yorks_fall_back_day,
    the_daily_cap_counts_local_dates,
    twenty_racing_reservations_respect_the_daily_cap,
);
