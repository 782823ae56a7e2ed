//! Guests manage what they booked (issue #13): reserveBookingSlot's manage token, and
//! getReservation, cancelReservation, rescheduleReservation with it; the link's
//! min_cancel_notice_minutes; races of reschedules against reservations and each other.

use crate::db_tests;
use crate::helpers::*;
use chrono::{DateTime, Duration, DurationRound, Utc};
use serde_json::{json, Value};

const EVERY_DAY: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn every_day(start: &str, end: &str) -> Value {
    let window = json!([{"start": start, "end": end}]);
    Value::Object(EVERY_DAY.iter().map(|d| (d.to_string(), window.clone())).collect())
}

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A link of `owner`'s new calendar, 30-minute slots all day every day in `tz`, with `extra`
/// settings; its calendar and token.
pub(crate) async fn all_day_link(app: &TestApp, owner: &User, tz: &str, extra: Value) -> (uuid::Uuid, String) {
    let cal = app.new_calendar(owner).await;
    let mut body = json!({"duration_minutes": 30, "timezone": tz, "working_hours": every_day("00:00", "24:00")});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let r = app.create_link(owner, cal, body).await.expect(200);
    (cal, r.body["token"].as_str().unwrap().to_string())
}

/// The slots (as availability writes them, in the link's offset) offered over `[from, from + days)`.
pub(crate) async fn offered(app: &TestApp, token: &str, from: DateTime<Utc>, days: i64) -> Vec<(String, String)> {
    let r = app.availability(token, &iso(from), &iso(from + Duration::days(days))).await.expect(200);
    r.body["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["start"].as_str().unwrap().to_string(), s["end"].as_str().unwrap().to_string()))
        .collect()
}

/// Midnight UTC `days` from now.
pub(crate) fn days_ahead(days: i64) -> DateTime<Utc> {
    (Utc::now() + Duration::days(days)).duration_trunc(Duration::days(1)).unwrap()
}

pub(crate) fn reserve_body(start: &str, end: &str) -> Value {
    json!({"name": "Visitor", "email": "visitor@example.com", "slot_start": start, "slot_end": end})
}

fn manage_token(r: &Reply) -> String {
    r.body["manage_token"].as_str().unwrap_or_else(|| panic!("no manage_token: {}", r.text)).to_string()
}

/// A manage token of the right shape that names no reservation.
fn stranger_token() -> String {
    "A".repeat(43)
}

async fn a_visitor_reserves_reads_moves_and_cancels(app: TestApp) {
    let owner = app.user();
    // 30-minute slots every 15 minutes: a slot 15 minutes on overlaps the one before.
    let (cal, link) = all_day_link(&app, &owner, "Europe/Berlin", json!({"slot_interval_minutes": 15})).await;
    let from = days_ahead(3);
    let slots = offered(&app, &link, from, 1).await;
    let (first, second, third) = (slots[40].clone(), slots[48].clone(), slots[56].clone());

    let r = app
        .reserve_booking_slot(
            &link,
            json!({"name": "Ada", "email": "ada@example.com", "slot_start": first.0, "slot_end": first.1, "notes": "hi"}),
        )
        .await
        .expect(200);
    let token = manage_token(&r);
    assert_eq!(token.len(), 43, "256 random bits, URL-safe base64: {token}");
    assert_eq!(r.body["manage_url"], format!("https://book.example.test/booking/manage/{token}"));
    let id = r.body["event"]["id"].as_str().unwrap().to_string();
    // The manage URL's path, on this server, is the reservation's page (tests/api/pages.rs).
    let followed = reqwest::get(format!("{}/booking/manage/{token}", app.address)).await.unwrap();
    assert_eq!(followed.status(), 200);
    assert!(followed.text().await.unwrap().contains("ada@example.com"));

    let read = app.get_reservation(&token).await.expect(200).body;
    assert_eq!(read["id"], id);
    assert_eq!(read["status"], "confirmed");
    assert_eq!(read["slot_start"], first.0, "in the link's offset, as availability wrote it");
    assert_eq!(read["slot_end"], first.1);
    assert_eq!(read["timezone"], "Europe/Berlin");
    assert_eq!(read["duration_minutes"], 30);
    assert_eq!((read["name"].as_str(), read["email"].as_str()), (Some("Ada"), Some("ada@example.com")));
    assert_eq!(read["notes"], "hi");
    assert_eq!(read["sequence"], 0);
    assert_eq!(read["canceled_at"], Value::Null);
    assert_eq!(read["booking_token"], link);
    assert!(!offered(&app, &link, from, 1).await.contains(&first));

    // Move it: same reservation, sequence + 1; the old slot is offered again, the new one not.
    let moved = app.reschedule_reservation(&token, &second.0, &second.1).await.expect(200).body;
    assert_eq!((moved["id"].as_str(), moved["sequence"].as_i64()), (Some(id.as_str()), Some(1)));
    assert_eq!((moved["slot_start"].as_str(), moved["status"].as_str()), (Some(second.0.as_str()), Some("confirmed")));
    assert_eq!(app.get_reservation(&token).await.expect(200).body, moved);
    let now_offered = offered(&app, &link, from, 1).await;
    assert!(now_offered.contains(&first) && !now_offered.contains(&second));
    // Its own time does not stand in its way: 15 minutes on overlaps it, not offered to
    // others while it is there, yet it moves there.
    let overlapping = slots[49].clone();
    assert!(!now_offered.contains(&overlapping));
    // A second move this soon, without the sequence read, is taken for part of a burst (409);
    // with it, it goes.
    let soon = app.reschedule_reservation(&token, &overlapping.0, &overlapping.1).await.expect(409);
    assert!(soon.error()["message"].as_str().unwrap().contains("sequence you read"), "{}", soon.text);
    let path = format!("/v1/reservations/{token}/reschedule");
    let body = json!({"slot_start": overlapping.0, "slot_end": overlapping.1, "sequence": 1});
    let moved = app.post(&path, None, body).await.expect(200).body;
    assert_eq!(moved["sequence"], 2);
    // A slot not offered: 400; one taken by another reservation: 409; nothing changes.
    let at = |start: &str, end: &str| json!({"slot_start": start, "slot_end": end, "sequence": 2});
    let odd = app.post(&path, None, at(&iso(from + Duration::minutes(7)), &iso(from + Duration::minutes(37)))).await;
    assert_eq!((odd.status.as_u16(), odd.code()), (400, "validation".to_string()), "{}", odd.text);
    let other = app.reserve(&link, &third.0, &third.1).await.expect(200);
    let taken = app.post(&path, None, at(&third.0, &third.1)).await.expect(409);
    assert_eq!(taken.code(), "conflict");
    assert!(taken.error()["message"].as_str().unwrap().contains("no longer available"), "{}", taken.text);
    assert_eq!(app.get_reservation(&token).await.expect(200).body, moved);
    // A stranger's token, or the other visitor's, never reaches this reservation.
    app.get_reservation(&stranger_token()).await.expect(404);
    app.get_reservation("not-a-token").await.expect(404);
    app.cancel_reservation(&stranger_token(), json!({})).await.expect(404);
    app.reschedule_reservation(&stranger_token(), &second.0, &second.1).await.expect(404);
    let theirs = app.get_reservation(&manage_token(&other)).await.expect(200).body;
    assert_ne!(theirs["id"], id);
    let events = app
        .list_calendar_events(
            cal,
            &format!("start={}&end={}", urlencode(&iso(from)), urlencode(&iso(from + Duration::days(1)))),
            Some(&owner.token),
        )
        .await
        .expect(200);
    assert_eq!(events.body.as_array().unwrap().len(), 2, "moving never copies: {}", events.text);

    // Cancel: the time is free again; cancelling again answers the same state.
    let canceled = app.cancel_reservation(&token, json!({"reason": "ill"})).await.expect(200).body;
    assert_eq!((canceled["status"].as_str(), canceled["id"].as_str()), (Some("canceled"), Some(id.as_str())));
    assert!(canceled["canceled_at"].is_string());
    assert_eq!(canceled["cancel_reason"], "ill");
    assert!(offered(&app, &link, from, 1).await.contains(&overlapping));
    let again = app.cancel_reservation(&token, json!({})).await.expect(200).body;
    assert_eq!(again, canceled);
    assert_eq!(app.get_reservation(&token).await.expect(200).body, canceled);
    // A cancelled reservation cannot be moved, not even onto a free slot.
    let r = app.reschedule_reservation(&token, &first.0, &first.1).await.expect(409);
    assert!(r.error()["message"].as_str().unwrap().contains("canceled"), "{}", r.text);
    // Bad bodies are the 400.
    let long = "x".repeat(2001);
    app.cancel_reservation(&manage_token(&other), json!({"reason": long})).await.expect(400);
    app.cancel_reservation(&manage_token(&other), json!({"reason": "nul\u{0}"})).await.expect(400);
    app.post(&format!("/v1/reservations/{}/reschedule", manage_token(&other)), None, json!({"slot_start": "x"}))
        .await
        .expect(400);
}

async fn the_owner_cancels_and_the_guest_reads_canceled(app: TestApp) {
    let owner = app.user();
    let (cal, link) = all_day_link(&app, &owner, "UTC", json!({})).await;
    let slots = offered(&app, &link, days_ahead(2), 1).await;
    let r = app.reserve(&link, &slots[30].0, &slots[30].1).await.expect(200);
    let token = manage_token(&r);
    let id: uuid::Uuid = r.body["event"]["id"].as_str().unwrap().parse().unwrap();
    app.delete_calendar_event(cal, id, Some(&owner.token)).await.expect(204);
    let read = app.get_reservation(&token).await.expect(200).body;
    assert_eq!(read["status"], "canceled");
    assert!(read["canceled_at"].is_string());
    assert_eq!(read["cancel_reason"], Value::Null);
    assert_eq!(app.cancel_reservation(&token, json!({})).await.expect(200).body, read);
    app.reschedule_reservation(&token, &slots[31].0, &slots[31].1).await.expect(409);
    // A link switched off still lets its visitors cancel, not move.
    let r = app.reserve(&link, &slots[32].0, &slots[32].1).await.expect(200);
    let token = manage_token(&r);
    app.update_booking_link(cal, &link, Some(&owner.token), json!({"active": false})).await.expect(200);
    app.get_reservation(&token).await.expect(200);
    let r = app.reschedule_reservation(&token, &slots[33].0, &slots[33].1).await.expect(400);
    assert!(r.error()["message"].as_str().unwrap().contains("switched off"), "{}", r.text);
    app.cancel_reservation(&token, json!({})).await.expect(200);
}

async fn cancel_notice_is_a_link_setting(app: TestApp) {
    let owner = app.user();
    let (cal, link) = all_day_link(&app, &owner, "UTC", json!({"min_cancel_notice_minutes": 1440})).await;
    let listed = app.list_booking_links(cal, "", Some(&owner.token)).await.expect(200);
    assert_eq!(listed.body[0]["settings"]["min_cancel_notice_minutes"], 1440);
    // Within a day of the start: refused, saying why.
    let soon = offered(&app, &link, Utc::now() + Duration::hours(2), 1).await[0].clone();
    let r = app.reserve(&link, &soon.0, &soon.1).await.expect(200);
    let token = manage_token(&r);
    let refused = app.cancel_reservation(&token, json!({})).await.expect(400);
    assert!(refused.error()["message"].as_str().unwrap().contains("1440 minutes before it starts"), "{}", refused.text);
    let later = offered(&app, &link, days_ahead(5), 1).await[0].clone();
    app.reschedule_reservation(&token, &later.0, &later.1).await.expect(400);
    assert_eq!(app.get_reservation(&token).await.expect(200).body["status"], "confirmed");
    // Far enough ahead: allowed.
    let r = app.reserve(&link, &later.0, &later.1).await.expect(200);
    app.cancel_reservation(&manage_token(&r), json!({})).await.expect(200);
    // The setting changes like the others, and is validated.
    let updated =
        app.update_booking_link(cal, &link, Some(&owner.token), json!({"min_cancel_notice_minutes": 0})).await;
    assert_eq!(updated.expect(200).body["settings"]["min_cancel_notice_minutes"], 0);
    app.cancel_reservation(&token, json!({})).await.expect(200);
    for bad in [-1, 525_601] {
        let r =
            app.update_booking_link(cal, &link, Some(&owner.token), json!({"min_cancel_notice_minutes": bad})).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.text);
    }
    let r = app
        .create_link(&owner, cal, json!({"duration_minutes": 30, "timezone": "UTC", "working_hours": every_day("09:00", "10:00"), "min_cancel_notice_minutes": 525_601}))
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    let r = app
        .create_link(
            &owner,
            cal,
            json!({"duration_minutes": 30, "timezone": "UTC", "working_hours": every_day("09:00", "10:00")}),
        )
        .await
        .expect(200);
    assert_eq!(r.body["settings"]["min_cancel_notice_minutes"], 0, "default");
}

async fn a_started_reservation_can_no_longer_be_changed(app: TestApp) {
    let owner = app.user();
    let (_, link) = all_day_link(&app, &owner, "UTC", json!({})).await;
    let slot = offered(&app, &link, days_ahead(2), 1).await[0].clone();
    let token = manage_token(&app.reserve(&link, &slot.0, &slot.1).await.expect(200));
    // Three days on, on another server over the same database.
    let later = spawn_app_sharing(&app, 3 * 86_400).await;
    let r = later.cancel_reservation(&token, json!({})).await.expect(400);
    assert!(r.error()["message"].as_str().unwrap().contains("already started"), "{}", r.text);
    let next = offered(&later, &link, days_ahead(5), 1).await[0].clone();
    later.reschedule_reservation(&token, &next.0, &next.1).await.expect(400);
    assert_eq!(later.get_reservation(&token).await.expect(200).body["status"], "confirmed");
}

/// A reschedule and a new reservation race for one slot: exactly one gets it.
async fn a_reschedule_racing_a_reservation_for_one_slot(app: TestApp) {
    let owner = app.user();
    let (cal, link) = all_day_link(&app, &owner, "UTC", json!({})).await;
    let from = days_ahead(4);
    let slots = offered(&app, &link, from, 1).await;
    let mut reservations_won = 0;
    for round in 0..5 {
        let (mine, target) = (&slots[2 * round], &slots[20 + round]);
        let token = manage_token(&app.reserve(&link, &mine.0, &mine.1).await.expect(200));
        let (moved, reserved) = futures::join!(
            app.reschedule_reservation(&token, &target.0, &target.1),
            app.reserve(&link, &target.0, &target.1)
        );
        let codes = [moved.status.as_u16(), reserved.status.as_u16()];
        assert!(
            codes == [200, 409] || codes == [409, 200],
            "round {round}: {codes:?} {} {}",
            moved.text,
            reserved.text
        );
        reservations_won += usize::from(reserved.status == 200);
        let read = app.get_reservation(&token).await.expect(200).body;
        let expected = if moved.status == 200 { target } else { mine };
        assert_eq!(read["slot_start"], expected.0);
    }
    let events = app
        .list_calendar_events(
            cal,
            &format!("start={}&end={}", urlencode(&iso(from)), urlencode(&iso(from + Duration::days(1)))),
            Some(&owner.token),
        )
        .await
        .expect(200);
    let list = events.body.as_array().unwrap();
    assert_eq!(list.len(), 5 + reservations_won, "{}", events.text);
    for (i, a) in list.iter().enumerate() {
        for b in &list[i + 1..] {
            assert!(
                a["end"].as_str() <= b["start"].as_str() || b["end"].as_str() <= a["start"].as_str(),
                "{a} overlaps {b}"
            );
        }
    }
}

/// 20 reschedules of one reservation at once, each to another free slot, with or without the
/// sequence the client read: exactly one moves it, the others answer 409; it ends in the
/// winner's slot and no slot is held twice.
async fn concurrent_reschedules_of_one_reservation(app: TestApp) {
    let owner = app.user();
    let (cal, link) = all_day_link(&app, &owner, "UTC", json!({})).await;
    let from = days_ahead(6);
    let slots = offered(&app, &link, from, 1).await;
    let token = manage_token(&app.reserve(&link, &slots[0].0, &slots[0].1).await.expect(200));
    let path = format!("/v1/reservations/{token}/reschedule");
    let mut held = slots[0].clone();
    for (round, with_sequence) in [(0, true), (1, false), (2, true)] {
        let sequence = app.get_reservation(&token).await.expect(200).body["sequence"].as_i64().unwrap();
        // 20 slots (even ones, then odd ones, then even again), but the one it holds.
        let targets: Vec<_> = (0..20).map(|i| slots[2 + 2 * i - round % 2].clone()).collect();
        let targets: Vec<_> = targets.into_iter().filter(|t| *t != held).collect();
        let answers = futures::future::join_all(targets.iter().map(|t| {
            let mut body = json!({"slot_start": t.0, "slot_end": t.1});
            if with_sequence {
                body["sequence"] = json!(sequence);
            }
            app.post(&path, None, body)
        }))
        .await;
        let won: Vec<&Reply> = answers.iter().filter(|r| r.status == 200).collect();
        for r in &answers {
            assert!(r.status == 200 || r.status == 409, "{}", r.text);
        }
        assert_eq!(won.len(), 1, "exactly one wins: {:?}", answers.iter().map(|r| r.status).collect::<Vec<_>>());
        let read = app.get_reservation(&token).await.expect(200).body;
        assert_eq!(read, won[0].body, "it is where the winning move put it");
        assert_eq!(read["sequence"].as_i64(), Some(sequence + 1), "it moved once");
        let events = app
            .list_calendar_events(
                cal,
                &format!("start={}&end={}", urlencode(&iso(from)), urlencode(&iso(from + Duration::days(1)))),
                Some(&owner.token),
            )
            .await
            .expect(200);
        assert_eq!(events.body.as_array().unwrap().len(), 1, "no slot is held twice: {}", events.text);
        let free = offered(&app, &link, from, 1).await;
        for t in targets.iter().chain([&held]) {
            let holds = read["slot_start"].as_str() == Some(t.0.as_str());
            assert_eq!(free.contains(t), !holds, "{t:?}");
        }
        held = targets.iter().find(|t| read["slot_start"].as_str() == Some(t.0.as_str())).unwrap().clone();
        // The next burst comes once this one has settled.
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    }
    // A stale sequence alone is a 409, whenever it comes.
    let target = slots[47].clone();
    let r =
        app.post(&path, None, json!({"slot_start": target.0, "slot_end": target.1, "sequence": 0})).await.expect(409);
    assert!(r.error()["message"].as_str().unwrap().contains("expected"), "{}", r.text);
}

/// The paths contract 2.0.0 moved (`/v1/booking/reservations/...`) still serve 1.x clients and
/// links shared before: the same answers, marked deprecated with a link to the new path.
async fn the_moved_guest_paths_still_work(app: TestApp) {
    let owner = app.user();
    let (_, link) = all_day_link(&app, &owner, "UTC", json!({})).await;
    let slots = offered(&app, &link, days_ahead(2), 1).await;
    let token = manage_token(&app.reserve(&link, &slots[3].0, &slots[3].1).await.expect(200));
    let old = app.get(&format!("/v1/booking/reservations/{token}"), None).await.expect(200);
    assert_eq!(old.body, app.get_reservation(&token).await.expect(200).body);
    assert_eq!(old.headers["deprecation"], "true");
    assert_eq!(old.headers["link"], format!("</v1/reservations/{token}>; rel=\"successor-version\"").as_str());
    let body = json!({"slot_start": slots[5].0, "slot_end": slots[5].1});
    let moved = app.post(&format!("/v1/booking/reservations/{token}/reschedule"), None, body).await.expect(200);
    assert_eq!(
        (moved.body["sequence"].as_i64(), moved.body["slot_start"].as_str()),
        (Some(1), Some(slots[5].0.as_str()))
    );
    let canceled = app.post(&format!("/v1/booking/reservations/{token}/cancel"), None, json!({})).await.expect(200);
    assert_eq!(canceled.body["status"], "canceled");
    // Errors are the new operation's, and an unknown token is still a 404.
    let missing = app.get(&format!("/v1/booking/reservations/{}", stranger_token()), None).await.expect(404);
    assert_eq!(missing.error()["endpoint"], "GET /v1/reservations/{manageToken}");
    // The seed's availability path is untouched by the move.
    app.get(
        &format!(
            "/v1/booking/{link}/availability?start={}&end={}",
            urlencode(&iso(days_ahead(2))),
            urlencode(&iso(days_ahead(3)))
        ),
        None,
    )
    .await
    .expect(200);
}

db_tests!(
    the_moved_guest_paths_still_work,
    a_visitor_reserves_reads_moves_and_cancels,
    the_owner_cancels_and_the_guest_reads_canceled,
    cancel_notice_is_a_link_setting,
    a_started_reservation_can_no_longer_be_changed,
    a_reschedule_racing_a_reservation_for_one_slot,
    concurrent_reschedules_of_one_reservation,
);

#[tokio::test]
async fn the_guest_operations_are_rate_limited_per_client() {
    let app = spawn_app_with(Backend::Sqlite, &["--public-rate-limit", "60", "--public-rate-burst", "3"]).await;
    app.get_reservation(&stranger_token()).await.expect(404);
    app.cancel_reservation(&stranger_token(), json!({})).await.expect(404);
    app.reschedule_reservation(&stranger_token(), "2030-01-01T00:00:00Z", "2030-01-01T00:30:00Z").await.expect(404);
    let r = app.get_reservation(&stranger_token()).await.expect(429);
    assert!(r.headers.contains_key("retry-after"));
    let r = app.cancel_reservation(&stranger_token(), json!({})).await.expect(429);
    assert_eq!(r.error()["endpoint"], "POST /v1/reservations/{manageToken}/cancel");
}
