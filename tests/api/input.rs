//! One rule per kind of input (src/domain/input.rs), on both databases: NUL and control
//! characters, names trimmed, free text kept, plain email addresses only, link tokens of their
//! alphabet, and instants within 0001-01-01..9999-12-31 UTC. Always the operation's declared
//! 400 (or 404 for a token), never a 500, and nothing stored.

use crate::db_tests;
use crate::helpers::*;
use crate::leko::{book_ok, cancel, create_event, event_body, only_booking, rfc};
use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use uuid::Uuid;

const BAD_EMAILS: [&str; 3] = ["victim@bank.example <attacker@evil.example>", "a@[127.0.0.1]", "a@localhost"];

/// The operation's 400, in its envelope, whose message names `field`.
#[track_caller]
fn refused(r: Reply, field: &str) {
    let r = r.expect(400);
    let message = r.error()["message"].as_str().unwrap().to_string();
    assert!(message.contains(field), "the message should name {field}: {message}");
}

/// A link open every hour of every day in `tz`, 60-minute slots.
async fn open_link(app: &TestApp, owner: &User, calendar: Uuid, tz: &str, buffer: i64) -> String {
    let day = json!([{"start": "00:00", "end": "24:00"}]);
    let hours = json!({"mon": day, "tue": day, "wed": day, "thu": day, "fri": day, "sat": day, "sun": day});
    let body = json!({"duration_minutes": 60, "buffer_minutes": buffer, "timezone": tz, "working_hours": hours});
    let r = app.create_link(owner, calendar, body).await.expect(200);
    r.body["token"].as_str().unwrap().to_string()
}

fn reserve_body(name: &str, email: &str, start: &str, end: &str, notes: Option<&str>) -> Value {
    let mut body = json!({"name": name, "email": email, "slot_start": start, "slot_end": end});
    if let Some(notes) = notes {
        body["notes"] = json!(notes);
    }
    body
}

async fn events_of(app: &TestApp, owner: &User, calendar: Uuid) -> Vec<Value> {
    let early = app
        .list_calendar_events(calendar, "start=0001-01-01T00:00:00Z&end=0002-01-01T00:00:00Z", Some(&owner.token))
        .await
        .expect(200)
        .body
        .as_array()
        .unwrap()
        .clone();
    assert!(early.is_empty(), "{early:?}");
    let mut all = Vec::new();
    // Every year the tests reserve in, in ranges listCalendarEvents answers (at most 366 days).
    for (start, end) in
        [("2026-06-01T00:00:00Z", "2027-06-01T00:00:00Z"), ("9999-01-01T00:00:00Z", "9999-12-31T23:59:59Z")]
    {
        let query = format!("start={}&end={}", urlencode(start), urlencode(end));
        all.extend(
            app.list_calendar_events(calendar, &query, Some(&owner.token))
                .await
                .expect(200)
                .body
                .as_array()
                .unwrap()
                .clone(),
        );
    }
    all
}

/// Tomorrow at 10:00 UTC, a slot of an always-open UTC link.
fn tomorrow() -> (String, String) {
    let start = (Utc::now() + Duration::days(1)).date_naive().and_hms_opt(10, 0, 0).unwrap().and_utc();
    (rfc(start), rfc(start + Duration::hours(1)))
}

async fn nul_in_any_string_is_refused_and_nothing_is_stored(app: TestApp) {
    let owner = app.user();
    let calendar = app.new_calendar(&owner).await;
    let token = open_link(&app, &owner, calendar, "UTC", 0).await;
    let (start, end) = tomorrow();

    refused(app.create_calendar(Some(&owner.token), json!({"name": "Wo\u{0}rk"})).await, "name");
    let event = |title: &str, notes: &str| json!({"title": title, "start": start, "end": end, "notes": notes});
    refused(app.create_calendar_event(calendar, Some(&owner.token), event("Den\u{0}tist", "x")).await, "title");
    refused(app.create_calendar_event(calendar, Some(&owner.token), event("Dentist", "bring \u{0}")).await, "notes");

    let hours = json!({"mon": [{"start": "09:00", "end": "17:00"}]});
    let body = json!({"duration_minutes": 30, "timezone": "UTC\u{0}", "working_hours": hours});
    refused(app.create_booking_link(calendar, Some(&owner.token), body).await, "timezone");
    refused(
        app.update_booking_link(calendar, &token, Some(&owner.token), json!({"timezone": "Europe/Berlin\u{0}"})).await,
        "timezone",
    );

    let ok = "visitor@example.com";
    refused(app.reserve_booking_slot(&token, reserve_body("Vis\u{0}itor", ok, &start, &end, None)).await, "name");
    refused(
        app.reserve_booking_slot(&token, reserve_body("Visitor", "visi\u{0}tor@example.com", &start, &end, None)).await,
        "email",
    );
    refused(
        app.reserve_booking_slot(&token, reserve_body("Visitor", ok, &start, &end, Some("hi\u{0}"))).await,
        "notes",
    );
    assert!(events_of(&app, &owner, calendar).await.is_empty(), "nothing was stored");

    // %00 (and any character outside the token alphabet) in a link token: no such link.
    for bad in ["%00", &format!("{token}%00"), "a.b", "%E2%80%8B"] {
        app.get(&format!("/v1/booking/{bad}/availability?start={}&end={}", urlencode(&start), urlencode(&end)), None)
            .await
            .expect(404)
            .error();
        app.post(&format!("/v1/booking/{bad}/reserve"), None, reserve_body("Visitor", ok, &start, &end, None))
            .await
            .expect(404)
            .error();
        app.patch(
            &format!("/v1/calendars/{calendar}/booking-links/{bad}"),
            Some(&owner.token),
            json!({"active": false}),
        )
        .await
        .expect(404)
        .error();
    }
    // The link is still there and still offers the slot.
    let r = app.availability(&token, &start, &end).await.expect(200);
    assert_eq!(r.body["slots"].as_array().unwrap().len(), 1, "{}", r.text);

    // LE-KO: a cancellation's reasonText, a booking's note, a coach event's wall-clock time.
    let coach = app.user();
    let athlete = app.user();
    let at = Utc::now() + Duration::days(3);
    let event = create_event(&app, &coach, at, at + Duration::hours(1), 5).await;
    let booking = only_booking(&book_ok(&app, &athlete, &[event]).await);
    refused(cancel(&app, &athlete, booking, "NoTime", Some("sorry\u{0}")).await, "reasonText");
    let r = app.get_booking_by_id(booking, Some(&athlete.token)).await.expect(200);
    assert_eq!(r.body["bookingStatus"], "Accepted", "nothing was changed: {}", r.text);
    assert!(r.body["cancellationReasonText"].is_null(), "{}", r.text);
    // Checked before anything else: even a booking that does not exist answers the 400.
    refused(app.add_booking_note(Uuid::new_v4(), Some(&athlete.token), json!({"note": "good\u{0}"})).await, "note");
    let mut body = event_body(at, at + Duration::hours(1), 5);
    body["timeslot"]["startTime"] = json!(format!("{}\u{0}", body["timeslot"]["startTime"].as_str().unwrap()));
    app.create_coach_event(Some(&coach.token), body).await.expect(400).error();

    let admin = app.admin();
    refused(
        app.set_user_email(Uuid::new_v4(), Some(&admin.token), json!({"email": "a\u{0}@example.com"})).await,
        "email",
    );
}

async fn names_refuse_control_characters_free_text_keeps_tab_and_newline(app: TestApp) {
    let owner = app.user();
    for name in ["Wo\trk", "Work\n", "Wo\u{1b}[31mrk", "Wo\u{7f}rk", "Wo\u{2028}rk"] {
        refused(app.create_calendar(Some(&owner.token), json!({"name": name})).await, "name");
    }
    let r = app.create_calendar(Some(&owner.token), json!({"name": "  Work  "})).await.expect(201);
    assert_eq!(r.body["name"], "Work", "names are trimmed");
    let calendar: Uuid = r.body["id"].as_str().unwrap().parse().unwrap();
    let token = open_link(&app, &owner, calendar, "UTC", 0).await;
    let (start, end) = tomorrow();

    let text = "Bring:\n\t- the card\r\n\t- the letter";
    refused(
        app.create_calendar_event(
            calendar,
            Some(&owner.token),
            json!({"title": "Den\ntist", "start": start, "end": end}),
        )
        .await,
        "title",
    );
    refused(
        app.create_calendar_event(
            calendar,
            Some(&owner.token),
            json!({"title": "Dentist", "start": start, "end": end, "notes": "a\u{7}b"}),
        )
        .await,
        "notes",
    );
    let r = app
        .create_calendar_event(
            calendar,
            Some(&owner.token),
            json!({"title": " Dentist ", "start": start, "end": end, "notes": text}),
        )
        .await
        .expect(201);
    assert_eq!(r.body["title"], "Dentist");
    assert_eq!(r.body["notes"], text, "free text is kept as given");
    let id: Uuid = r.body["id"].as_str().unwrap().parse().unwrap();
    app.delete_calendar_event(calendar, id, Some(&owner.token)).await.expect(204);

    let ok = "visitor@example.com";
    refused(app.reserve_booking_slot(&token, reserve_body("Vis\nitor", ok, &start, &end, None)).await, "name");
    refused(
        app.reserve_booking_slot(&token, reserve_body("Visitor", ok, &start, &end, Some("\u{1b}[2J"))).await,
        "notes",
    );
    let r = app.reserve_booking_slot(&token, reserve_body("  Ada  ", ok, &start, &end, Some(text))).await.expect(200);
    assert_eq!(r.body["event"]["attendee_name"], "Ada");
    assert_eq!(r.body["event"]["notes"], text);

    // LE-KO free text: tab and newline kept in a cancellation's reason, control characters not.
    let coach = app.user();
    let athlete = app.user();
    let at = Utc::now() + Duration::days(3);
    let event = create_event(&app, &coach, at, at + Duration::hours(1), 5).await;
    let booking = only_booking(&book_ok(&app, &athlete, &[event]).await);
    refused(cancel(&app, &athlete, booking, "NoTime", Some("bell\u{7}")).await, "reasonText");
    let r = cancel(&app, &athlete, booking, "NoTime", Some("line one\n\tline two")).await.expect(200);
    assert_eq!(r.body["cancellationReasonText"], "line one\n\tline two");
}

async fn only_plain_addresses_are_accepted(app: TestApp) {
    let owner = app.user();
    let calendar = app.new_calendar(&owner).await;
    let token = open_link(&app, &owner, calendar, "UTC", 0).await;
    let (start, end) = tomorrow();
    let admin = app.admin();
    let user = Uuid::new_v4();
    for bad in BAD_EMAILS {
        refused(app.reserve_booking_slot(&token, reserve_body("Visitor", bad, &start, &end, None)).await, "email");
        refused(app.set_user_email(user, Some(&admin.token), json!({"email": bad})).await, "email");
    }
    assert!(events_of(&app, &owner, calendar).await.is_empty(), "nothing was stored");
    assert_eq!(stored_email(&app, user).await, None);
    // Who may act is answered before what they sent.
    app.set_user_email(user, Some(&owner.token), json!({"email": BAD_EMAILS[2]})).await.expect(403);
    let read_only = app.token_for(owner.id, "", false, None);
    app.create_calendar_event(calendar, Some(&read_only), json!({"title": "a\u{0}", "start": start, "end": end}))
        .await
        .expect(403);

    // The email claim of a token: remembered when plain, ignored (never stored) otherwise.
    let someone = Uuid::new_v4();
    let probe = Uuid::new_v4();
    let good = app.token_for(someone, "calendar:write booking:write", false, Some("someone@example.com"));
    app.get_calendar(probe, Some(&good)).await.expect(404);
    assert_eq!(stored_email(&app, someone).await.as_deref(), Some("someone@example.com"));
    for bad in BAD_EMAILS {
        let token = app.token_for(someone, "calendar:write booking:write", false, Some(bad));
        app.get_calendar(probe, Some(&token)).await.expect(404);
        let fresh = Uuid::new_v4();
        let token = app.token_for(fresh, "calendar:write booking:write", false, Some(bad));
        app.get_calendar(probe, Some(&token)).await.expect(404);
        assert_eq!(stored_email(&app, fresh).await, None, "{bad:?} was stored");
    }
    assert_eq!(stored_email(&app, someone).await.as_deref(), Some("someone@example.com"));

    // A plain address is still fine everywhere.
    app.set_user_email(user, Some(&admin.token), json!({"email": "user@example.com"})).await.expect(204);
    assert_eq!(stored_email(&app, user).await.as_deref(), Some("user@example.com"));
    app.reserve_booking_slot(&token, reserve_body("Visitor", "visitor@example.com", &start, &end, None))
        .await
        .expect(200);
}

/// The address stored for a user, read from the database itself.
async fn stored_email(app: &TestApp, user: Uuid) -> Option<String> {
    use sea_orm::{Database, EntityTrait};
    let db = Database::connect(app.settings.database_url.clone().unwrap()).await.unwrap();
    let row = bookings::entities::users::Entity::find_by_id(bookings::domain::ids::UserId::from_uuid(user))
        .one(&db)
        .await
        .unwrap();
    db.close().await.ok();
    row.and_then(|u| u.email)
}

async fn instants_outside_0001_to_9999_are_refused(app: TestApp) {
    let owner = app.user();
    let calendar = app.new_calendar(&owner).await;
    let new_york = open_link(&app, &owner, calendar, "America/New_York", 0).await;

    // Late on 9999-12-31 in a negative offset is in year 10000 in UTC: refused, however often.
    let (late_start, late_end) = ("9999-12-31T22:00:00-05:00", "9999-12-31T23:00:00-05:00");
    for _ in 0..3 {
        let r = app
            .reserve_booking_slot(&new_york, reserve_body("Visitor", "v@example.com", late_start, late_end, None))
            .await;
        refused(r, "slot_start");
    }
    // Near 0001-01-01: before it in UTC, or simply long past.
    let r = app
        .reserve_booking_slot(
            &new_york,
            reserve_body("V", "v@example.com", "0001-01-01T00:30:00+01:00", "0001-01-01T01:30:00+01:00", None),
        )
        .await;
    refused(r, "slot_start");
    let r = app
        .reserve_booking_slot(
            &new_york,
            reserve_body("V", "v@example.com", "0001-01-01T00:00:00-05:00", "0001-01-01T01:00:00-05:00", None),
        )
        .await;
    r.expect(400).error();
    assert!(events_of(&app, &owner, calendar).await.is_empty(), "nothing was stored");

    // Within the range, once (the second is the conflict the databases now see).
    let (start, end) = ("9999-12-31T17:00:00-05:00", "9999-12-31T18:00:00-05:00");
    app.reserve_booking_slot(&new_york, reserve_body("Visitor", "v@example.com", start, end, None)).await.expect(200);
    app.reserve_booking_slot(&new_york, reserve_body("Visitor", "v@example.com", start, end, None))
        .await
        .expect(409)
        .error();
    assert_eq!(events_of(&app, &owner, calendar).await.len(), 1);

    // A buffer that would reach past the end: refused too, and never offered.
    let other = app.new_calendar(&owner).await;
    let buffered = open_link(&app, &owner, other, "UTC", 120).await;
    let r = app
        .reserve_booking_slot(
            &buffered,
            reserve_body("V", "v@example.com", "9999-12-31T22:00:00Z", "9999-12-31T23:00:00Z", None),
        )
        .await;
    r.expect(400).error();
    let r = app.availability(&buffered, "9999-12-31T00:00:00Z", "9999-12-31T23:59:59Z").await.expect(200);
    let last = r.body["slots"].as_array().unwrap().last().unwrap()["end"].as_str().unwrap().to_string();
    // Slots are hourly here; 21:00-22:00 and 22:00-23:00 would need buffer in year 10000.
    assert_eq!(last, "9999-12-31T21:00:00+00:00", "the last slot leaves room for its buffer: {}", r.text);

    // Availability near the ends: slots in the link's offset, never a year 10000 or 0000.
    let tokyo = open_link(&app, &owner, app.new_calendar(&owner).await, "Asia/Tokyo", 0).await;
    for (token, start, end) in [
        (&tokyo, "9999-12-30T00:00:00Z", "9999-12-31T23:59:59Z"),
        (&new_york, "9999-12-30T00:00:00Z", "9999-12-31T23:59:59Z"),
        (&new_york, "0001-01-01T00:00:00Z", "0001-01-03T00:00:00Z"),
        (&tokyo, "0001-01-01T00:00:00Z", "0001-01-03T00:00:00Z"),
    ] {
        let r = app.availability(token, start, end).await.expect(200);
        for slot in r.body["slots"].as_array().unwrap() {
            for end in ["start", "end"] {
                let text = slot[end].as_str().unwrap();
                let t = DateTime::parse_from_rfc3339(text).unwrap_or_else(|e| panic!("{text}: {e}"));
                assert!(text.len() == 25 && !text.starts_with('+') && !text.starts_with("0000"), "{text}");
                assert!(t.to_utc() <= "9999-12-31T23:59:59Z".parse::<DateTime<Utc>>().unwrap());
            }
        }
        if token == &tokyo && start.starts_with("9999") {
            let slots = r.body["slots"].as_array().unwrap();
            assert_eq!(slots.last().unwrap()["end"], "9999-12-31T23:00:00+09:00", "{}", r.text);
        }
    }
    let r = app.availability(&new_york, "9999-12-31T22:00:00-05:00", "9999-12-31T23:00:00-05:00").await;
    refused(r, "start");
    let r = app.availability(&new_york, "0001-01-01T00:00:00+01:00", "0001-01-02T00:00:00Z").await;
    refused(r, "start");

    // Busy time, list filters and coach events: the same range.
    let r = app
        .create_calendar_event(
            calendar,
            Some(&owner.token),
            json!({"title": "T", "start": start, "end": "9999-12-31T23:30:00-05:00"}),
        )
        .await;
    refused(r, "end");
    let query = format!("start={}&end={}", urlencode("9999-12-01T00:00:00Z"), urlencode(late_end));
    refused(app.list_calendar_events(calendar, &query, Some(&owner.token)).await, "end");
    let query = format!("userId={}&startAt={}", owner.id, urlencode("0001-01-01T00:00:00+01:00"));
    refused(app.get_bookings(&query, Some(&owner.token)).await, "startAt");
    let query = format!("userId={}&endAt={}", owner.id, urlencode(late_end));
    refused(app.get_user_booking_orders(&query, Some(&owner.token)).await, "endAt");
    let mut body = event_body(Utc::now() + Duration::days(1), Utc::now() + Duration::days(1) + Duration::hours(1), 3);
    body["startAt"] = json!("9999-12-31T22:00:00-05:00");
    body["endAt"] = json!("9999-12-31T23:00:00-05:00");
    refused(app.create_coach_event(Some(&owner.token), body).await, "startAt");
}

db_tests!(
    nul_in_any_string_is_refused_and_nothing_is_stored,
    names_refuse_control_characters_free_text_keeps_tab_and_newline,
    only_plain_addresses_are_accepted,
    instants_outside_0001_to_9999_are_refused,
);
