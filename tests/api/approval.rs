//! Issue #25's approval over HTTP: a link whose reservations wait for the owner's confirmation.
//! A pending reservation holds its slot (or not, `pending_blocks_slot: false`) until the owner
//! confirms or declines it (confirmReservation, declineReservation), or until it lapses
//! (`pending_expires_minutes`, at its start at the latest); its visitor and owner are told of
//! each step by email and webhook.

use crate::db_tests;
use crate::helpers::*;
use crate::smtp_sink::SmtpSink;
use crate::webhook_sink::WebhookSink;
use serde_json::{json, Value};
use uuid::Uuid;

const MONDAY: (&str, &str) = ("2027-03-01T00:00:00Z", "2027-03-02T00:00:00Z");
const NINE: (&str, &str) = ("2027-03-01T09:00:00Z", "2027-03-01T10:00:00Z");
const TEN: (&str, &str) = ("2027-03-01T10:00:00Z", "2027-03-01T11:00:00Z");
const SECRET: &str = "webhook-secret-0123456789";

fn link_body(rules: Value) -> Value {
    let w = json!([{"start": "09:00", "end": "12:00"}]);
    let mut b = json!({"duration_minutes": 60, "timezone": "UTC",
        "working_hours": {"mon": w, "tue": w, "wed": w, "thu": w, "fri": w}});
    for (k, v) in rules.as_object().unwrap() {
        b[k] = v.clone();
    }
    b
}

fn starts(r: &Reply) -> Vec<String> {
    r.body["slots"].as_array().unwrap().iter().map(|s| s["start"].as_str().unwrap().to_string()).collect()
}

fn at(hour: u32) -> String {
    format!("2027-03-01T{hour:02}:00:00+00:00")
}

/// An owner whose token carries their address (the server keeps it for their messages).
fn owner(app: &TestApp) -> User {
    let id = Uuid::new_v4();
    User { id, token: app.token_for(id, bookings::policy::DEFAULT_SCOPES, false, Some("owner@example.com")) }
}

async fn link(app: &TestApp, owner: &User, rules: Value) -> (Uuid, String) {
    let cal = app.new_calendar(owner).await;
    let r = app.create_link(owner, cal, link_body(rules)).await.expect(200);
    (cal, r.body["token"].as_str().unwrap().to_string())
}

/// Reserves `slot` as `name`: the event's id and the manage token.
async fn request(app: &TestApp, token: &str, name: &str, slot: (&str, &str)) -> (Uuid, String) {
    let email = format!("{}@example.com", name.to_lowercase());
    let body = json!({"name": name, "email": email, "slot_start": slot.0, "slot_end": slot.1});
    let r = app.reserve_booking_slot(token, body).await.expect(200);
    (r.body["event"]["id"].as_str().unwrap().parse().unwrap(), r.body["manage_token"].as_str().unwrap().to_string())
}

async fn decide(app: &TestApp, owner: &User, cal: Uuid, id: Uuid, what: &str, body: Option<Value>) -> Reply {
    app.send(reqwest::Method::POST, &format!("/v1/calendars/{cal}/reservations/{id}/{what}"), Some(&owner.token), body)
        .await
}

/// Subjects of the emails received since the last call, to `to`, sorted.
fn mails(smtp: &SmtpSink, seen: &mut usize, to: &str) -> Vec<String> {
    let all = smtp.messages();
    let mut out: Vec<String> = all[*seen..]
        .iter()
        .filter(|m| m.to.iter().any(|t| t == to))
        .map(|m| m.header("Subject").unwrap_or_default())
        .collect();
    out.sort();
    out
}

async fn settings_are_echoed_and_checked(app: TestApp) {
    let owner = app.user();
    let cal = app.new_calendar(&owner).await;
    let plain = app.create_link(&owner, cal, link_body(json!({}))).await.expect(200);
    let s = &plain.body["settings"];
    assert_eq!((&s["requires_confirmation"], &s["pending_blocks_slot"]), (&json!(false), &json!(true)), "{s}");
    assert_eq!(s["pending_expires_minutes"], Value::Null);
    let rules = json!({"requires_confirmation": true, "pending_blocks_slot": false, "pending_expires_minutes": 90});
    let r = app.create_link(&owner, cal, link_body(rules)).await.expect(200);
    let s = &r.body["settings"];
    assert_eq!((&s["requires_confirmation"], &s["pending_blocks_slot"]), (&json!(true), &json!(false)), "{s}");
    assert_eq!(s["pending_expires_minutes"], 90);
    let token = r.body["token"].as_str().unwrap();
    let back = json!({"requires_confirmation": null, "pending_blocks_slot": null, "pending_expires_minutes": null});
    let r = app.update_booking_link(cal, token, Some(&owner.token), back).await.expect(200);
    let s = &r.body["settings"];
    assert_eq!((&s["requires_confirmation"], &s["pending_blocks_slot"]), (&json!(false), &json!(true)), "{s}");
    let r = app.create_link(&owner, cal, link_body(json!({"pending_expires_minutes": 4}))).await.expect(400);
    assert!(r.text.contains("pending_expires_minutes"), "{}", r.text);
    let both = json!({"requires_confirmation": true, "pending_blocks_slot": false, "seats_per_slot": 3});
    let r = app.create_link(&owner, cal, link_body(both)).await.expect(400);
    assert!(r.text.contains("pending_blocks_slot"), "{}", r.text);
}

async fn a_pending_reservation_holds_its_slot_until_the_owner_decides(app: TestApp) {
    let (smtp, hooks) = (SmtpSink::start().await, WebhookSink::start().await);
    let (smtp_url, hook_url) = (smtp.url(), hooks.url("/hook"));
    let args = ["--smtp-url", &smtp_url, "--webhook-urls", &hook_url, "--webhook-secret", SECRET];
    let notifier = spawn_app_sharing_with(&app, 0, &args).await;
    let admin = notifier.admin();
    let notify = || async { notifier.notify_bookings(Some(&admin.token)).await.expect(204) };
    let mut seen = 0;

    let owner = owner(&app);
    let (cal, token) = link(&app, &owner, json!({"requires_confirmation": true})).await;
    let (ann, ann_token) = request(&app, &token, "Ann", NINE).await;
    let guest = app.get_reservation(&ann_token).await.expect(200);
    assert_eq!(guest.body["status"], "pending", "{}", guest.text);
    assert_eq!(guest.body["pending_until"], "2027-03-01T09:00:00+00:00", "at its start, without an expiry");
    // It holds its slot: not offered, and a second visitor is refused.
    let r = app.availability(&token, MONDAY.0, MONDAY.1).await.expect(200);
    assert_eq!(starts(&r), [at(10), at(11)]);
    let taken = json!({"name": "Bob", "email": "bob@example.com", "slot_start": NINE.0, "slot_end": NINE.1});
    app.reserve_booking_slot(&token, taken).await.expect(409);
    let events = app.list_calendar_events(
        cal,
        "start=2027-03-01T00%3A00%3A00Z&end=2027-03-02T00%3A00%3A00Z",
        Some(&owner.token),
    );
    assert_eq!(events.await.expect(200).body[0]["pending"], true);
    // Told: the visitor that it waits, the owner that it asks; no invitation yet.
    notify().await;
    assert_eq!(mails(&smtp, &mut seen, "ann@example.com"), ["Requested: Booking: Ann on 2027-03-01 09:00"]);
    let own = mails(&smtp, &mut seen, "owner@example.com");
    assert_eq!(own, ["To confirm: Ann on 2027-03-01 09:00"]);
    assert!(smtp.messages().iter().all(|m| !m.data.contains("text/calendar")), "no invitation while pending");
    seen = smtp.messages().len();

    // Only the owner decides.
    let stranger = app.user();
    let r = decide(&app, &stranger, cal, ann, "confirm", None).await;
    assert!(r.status == 403 || r.status == 404, "{}", r.text);
    // Confirmed: it is the visitor's, and both get the invitation.
    let r = decide(&app, &owner, cal, ann, "confirm", None).await.expect(200);
    assert_eq!(r.body["pending"], false, "{}", r.text);
    assert_eq!(app.get_reservation(&ann_token).await.expect(200).body["status"], "confirmed");
    decide(&app, &owner, cal, ann, "confirm", None).await.expect(200);
    let r = decide(&app, &owner, cal, ann, "decline", Some(json!({}))).await.expect(409);
    assert!(r.text.contains("deleteCalendarEvent"), "{}", r.text);
    notify().await;
    let to_ann: Vec<_> =
        smtp.messages()[seen..].iter().filter(|m| m.to.iter().any(|t| t == "ann@example.com")).cloned().collect();
    assert_eq!(to_ann.len(), 1);
    assert!(to_ann[0].header("Subject").unwrap().starts_with("Confirmed"), "{:?}", to_ann[0].header("Subject"));
    assert!(to_ann[0].data.contains("METHOD:REQUEST"), "the invitation comes with the confirmation");
    seen = smtp.messages().len();

    // Declined, with a reason: the slot is free again and the visitor is told why.
    let (cy, cy_token) = request(&app, &token, "Cy", TEN).await;
    let r = app.reschedule_reservation(&cy_token, "2027-03-01T11:00:00Z", "2027-03-01T12:00:00Z").await.expect(409);
    assert!(r.text.contains("confirmation"), "a pending request is not moved: {}", r.text);
    let r = decide(&app, &owner, cal, cy, "decline", Some(json!({"reason": "I am away that hour"}))).await.expect(200);
    assert_eq!(r.body["pending"], false);
    let guest = app.get_reservation(&cy_token).await.expect(200);
    assert_eq!(
        (&guest.body["status"], &guest.body["cancel_reason"]),
        (&json!("declined"), &json!("I am away that hour"))
    );
    decide(&app, &owner, cal, cy, "decline", Some(json!({}))).await.expect(200);
    decide(&app, &owner, cal, cy, "confirm", None).await.expect(409);
    let r = app.availability(&token, MONDAY.0, MONDAY.1).await.expect(200);
    assert_eq!(starts(&r), [at(10), at(11)]);
    notify().await;
    let cy_mail: Vec<_> =
        smtp.messages()[seen..].iter().filter(|m| m.to.iter().any(|t| t == "cy@example.com")).cloned().collect();
    let subjects: Vec<String> = cy_mail.iter().map(|m| m.header("Subject").unwrap_or_default()).collect();
    assert!(subjects.iter().any(|s| s.starts_with("Declined")), "{subjects:?}");
    assert!(cy_mail.iter().any(|m| m.data.contains("I am away that hour")));
    let types: Vec<String> =
        hooks.requests().iter().map(|r| r.json()["type"].as_str().unwrap_or_default().to_string()).collect();
    for t in ["reservation.requested", "reservation.created", "reservation.declined"] {
        assert!(types.iter().any(|x| x == t), "{t} in {types:?}");
    }
    // Unknown reservations, and events that are not reservations, are 404.
    decide(&app, &owner, cal, Uuid::new_v4(), "confirm", None).await.expect(404);
}

async fn pending_reservations_that_do_not_block(app: TestApp) {
    let owner = owner(&app);
    let (cal, token) = link(&app, &owner, json!({"requires_confirmation": true, "pending_blocks_slot": false})).await;
    let (first, _) = request(&app, &token, "Ann", NINE).await;
    let (second, second_token) = request(&app, &token, "Bob", NINE).await;
    let r = app.availability(&token, MONDAY.0, MONDAY.1).await.expect(200);
    assert_eq!(starts(&r), [at(9), at(10), at(11)], "pending requests hold nothing");
    decide(&app, &owner, cal, first, "confirm", None).await.expect(200);
    let r = app.availability(&token, MONDAY.0, MONDAY.1).await.expect(200);
    assert_eq!(starts(&r), [at(10), at(11)]);
    let r = decide(&app, &owner, cal, second, "confirm", None).await.expect(409);
    assert!(r.text.contains("no longer available"), "{}", r.text);
    decide(&app, &owner, cal, second, "decline", Some(json!({}))).await.expect(200);
    assert_eq!(app.get_reservation(&second_token).await.expect(200).body["status"], "declined");
}

async fn an_unanswered_request_lapses(app: TestApp) {
    let smtp = SmtpSink::start().await;
    let smtp_url = smtp.url();
    let owner = owner(&app);
    let (cal, token) = link(&app, &owner, json!({"requires_confirmation": true, "pending_expires_minutes": 5})).await;
    let (ann, ann_token) = request(&app, &token, "Ann", NINE).await;
    let until = app.get_reservation(&ann_token).await.expect(200).body["pending_until"].clone();
    let until: chrono::DateTime<chrono::Utc> = until.as_str().unwrap().parse().unwrap();
    assert!((until - chrono::Utc::now()).num_seconds().abs() <= 5 * 60 + 5, "five minutes after it was made");
    // Ten minutes later: a new request for the same slot finds it released first.
    let later = spawn_app_sharing_with(&app, 600, &["--smtp-url", &smtp_url]).await;
    let (bob, _) = request(&later, &token, "Bob", NINE).await;
    assert_eq!(app.get_reservation(&ann_token).await.expect(200).body["status"], "expired");
    let owner_later = later.as_user(owner.id);
    let r = decide(&later, &owner_later, cal, ann, "confirm", None).await.expect(409);
    assert!(r.text.contains("released"), "{}", r.text);
    // The cron's pass tells the visitor.
    let admin = later.admin();
    later.notify_bookings(Some(&admin.token)).await.expect(204);
    let mut seen = 0;
    let ann_mail = mails(&smtp, &mut seen, "ann@example.com");
    assert!(ann_mail.iter().any(|s| s.starts_with("Lapsed")), "{ann_mail:?}");
    // And releases what lapses without a new request: Bob's, twenty minutes on.
    let even_later = spawn_app_sharing_with(&app, 1800, &["--smtp-url", &smtp_url]).await;
    let admin = even_later.admin();
    even_later.notify_bookings(Some(&admin.token)).await.expect(204);
    let owner_even_later = even_later.as_user(owner.id);
    decide(&even_later, &owner_even_later, cal, bob, "confirm", None).await.expect(409);
    drop(even_later);
    drop(later);
}

db_tests!(
    settings_are_echoed_and_checked,
    a_pending_reservation_holds_its_slot_until_the_owner_decides,
    pending_reservations_that_do_not_block,
    an_unanswered_request_lapses,
);
