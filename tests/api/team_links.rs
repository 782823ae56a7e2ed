//! Issue #25's team links over HTTP: `scheduling` and `members` echoed, validated and updated;
//! collective links offer the intersection of their members' answers and block every member's
//! calendar, atomically, also against a member's own busy event racing them; round-robin links
//! offer the union and assign each reservation by the stated rule (weights, fewest this month,
//! longest since last booked), 20 at once without ever double-booking a member; the visitor's
//! cancel of a collective reservation frees every member, and its visitor is told once.

use crate::db_tests;
use crate::helpers::*;
use serde_json::{json, Value};
use uuid::Uuid;

const MONDAY: (&str, &str) = ("2027-03-01T00:00:00Z", "2027-03-02T00:00:00Z");
const EVENTS: &str = "start=2027-03-01T00%3A00%3A00Z&end=2027-03-15T00%3A00%3A00Z";

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

fn slot(day: u32, hour: u32) -> (String, String) {
    (format!("2027-03-{day:02}T{hour:02}:00:00Z"), format!("2027-03-{day:02}T{:02}:00:00Z", hour + 1))
}

async fn reserve_as(app: &TestApp, token: &str, name: &str, (start, end): &(String, String)) -> Reply {
    let email = format!("{}@example.com", name.to_lowercase());
    app.reserve_booking_slot(token, json!({"name": name, "email": email, "slot_start": start, "slot_end": end})).await
}

async fn busy(app: &TestApp, owner: &User, cal: Uuid, (start, end): &(String, String)) -> Reply {
    app.create_calendar_event(cal, Some(&owner.token), json!({"title": "Own", "start": start, "end": end})).await
}

/// Live events of `cal` in the first two weeks of March 2027, as (start, id).
async fn events_of(app: &TestApp, owner: &User, cal: Uuid) -> Vec<(String, String)> {
    let r = app.list_calendar_events(cal, EVENTS, Some(&owner.token)).await.expect(200);
    r.body
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["start"].as_str().unwrap().to_string(), e["id"].as_str().unwrap().to_string()))
        .collect()
}

/// An owner, the link's own calendar and `n` member calendars, and a team link over them.
async fn team_link(app: &TestApp, kind: &str, members: Vec<Value>) -> (User, Vec<Uuid>, String) {
    let owner = app.user();
    let own = app.new_calendar(&owner).await;
    let mut cals = Vec::new();
    let mut list = Vec::new();
    for mut m in members {
        let cal = app.new_calendar(&owner).await;
        m["calendar_id"] = json!(cal);
        list.push(m);
        cals.push(cal);
    }
    let r = app.create_link(&owner, own, link_body(json!({"scheduling": kind, "members": list}))).await.expect(200);
    assert_eq!(r.body["settings"]["scheduling"], kind, "{}", r.text);
    (owner, cals, r.body["token"].as_str().unwrap().to_string())
}

async fn team_settings_are_echoed_validated_and_updated(app: TestApp) {
    let owner = app.user();
    let own = app.new_calendar(&owner).await;
    let (a, b) = (app.new_calendar(&owner).await, app.new_calendar(&owner).await);
    let plain = app.create_link(&owner, own, link_body(json!({}))).await.expect(200);
    assert_eq!(
        (&plain.body["settings"]["scheduling"], &plain.body["settings"]["members"]),
        (&json!("single"), &json!([]))
    );
    let token = plain.body["token"].as_str().unwrap().to_string();

    let members = json!([{"calendar_id": a, "weight": 2}, {"calendar_id": b, "max_bookings_per_day": 3}]);
    let r = app
        .create_link(&owner, own, link_body(json!({"scheduling": "round_robin", "members": members})))
        .await
        .expect(200);
    let echoed = json!([{"calendar_id": a, "weight": 2, "max_bookings_per_day": null},
        {"calendar_id": b, "weight": 1, "max_bookings_per_day": 3}]);
    assert_eq!(r.body["settings"]["members"], echoed, "{}", r.text);
    let rr = r.body["token"].as_str().unwrap().to_string();
    let list = app.list_booking_links(own, "", Some(&owner.token)).await.expect(200);
    let listed: Vec<&Value> = list.body.as_array().unwrap().iter().filter(|l| l["token"] == rr.as_str()).collect();
    assert_eq!(listed[0]["settings"]["members"], echoed, "{}", list.text);
    assert_eq!(listed[0]["settings"]["scheduling"], "round_robin");

    // Another user's calendar and one that does not exist answer alike, naming the member.
    let stranger = app.user();
    let theirs = app.new_calendar(&stranger).await;
    for other in [theirs, Uuid::new_v4()] {
        let members = json!([{"calendar_id": a}, {"calendar_id": other}]);
        let r = app.create_link(&owner, own, link_body(json!({"scheduling": "collective", "members": members}))).await;
        let r = r.expect(400);
        assert!(r.text.contains("members[1].calendar_id"), "{}", r.text);
        assert!(!r.text.contains(&other.to_string()), "says nothing of the calendar: {}", r.text);
    }
    // An admin may name anyone's calendars.
    let admin = app.admin();
    let members = json!([{"calendar_id": theirs}, {"calendar_id": a}]);
    app.create_link(&admin, own, link_body(json!({"scheduling": "collective", "members": members}))).await.expect(200);

    let bad = [
        json!({"scheduling": "collective", "members": []}),
        json!({"scheduling": "round_robin"}),
        json!({"members": [{"calendar_id": a}]}),
        json!({"scheduling": "collective", "members": [{"calendar_id": a}, {"calendar_id": a}]}),
        json!({"scheduling": "round_robin", "members": [{"calendar_id": a}], "seats_per_slot": 3}),
    ];
    for body in bad {
        let r = app.create_link(&owner, own, link_body(body.clone())).await.expect(400);
        assert!(r.text.contains("members") || r.text.contains("seats_per_slot"), "{body}: {}", r.text);
    }

    // Update: members replace the list; the scheduling back to single (null) drops them.
    let r = app
        .update_booking_link(own, &rr, Some(&owner.token), json!({"members": [{"calendar_id": b, "weight": 5}]}))
        .await
        .expect(200);
    assert_eq!(r.body["settings"]["members"], json!([{"calendar_id": b, "weight": 5, "max_bookings_per_day": null}]));
    let r = app.update_booking_link(own, &rr, Some(&owner.token), json!({"seats_per_slot": 2})).await.expect(400);
    assert!(r.text.contains("seats_per_slot"), "{}", r.text);
    // A team's reservations hold their time at once: no approval on a team link.
    let r =
        app.update_booking_link(own, &rr, Some(&owner.token), json!({"requires_confirmation": true})).await.expect(400);
    assert!(r.text.contains("requires_confirmation"), "{}", r.text);
    let r = app.update_booking_link(own, &rr, Some(&owner.token), json!({"scheduling": null})).await.expect(200);
    assert_eq!((&r.body["settings"]["scheduling"], &r.body["settings"]["members"]), (&json!("single"), &json!([])));
    let r = app
        .update_booking_link(
            own,
            &token,
            Some(&owner.token),
            json!({"scheduling": "collective", "members": [{"calendar_id": a}]}),
        )
        .await
        .expect(200);
    assert_eq!(r.body["settings"]["members"][0]["calendar_id"], json!(a));
}

async fn collective_offers_the_intersection_and_blocks_every_member(app: TestApp) {
    let (owner, cals, token) = team_link(&app, "collective", vec![json!({}), json!({})]).await;
    let offered = || async { starts(&app.availability(&token, MONDAY.0, MONDAY.1).await.expect(200)) };
    assert_eq!(offered().await, [at(9), at(10), at(11)]);
    assert_eq!(app.availability(&token, MONDAY.0, MONDAY.1).await.body["scheduling"], "collective");
    // The second member's own busy event at 10:00 removes the slot.
    busy(&app, &owner, cals[1], &slot(1, 10)).await.expect(201);
    assert_eq!(offered().await, [at(9), at(11)]);
    let r = reserve_as(&app, &token, "Ann", &slot(1, 10)).await.expect(409);
    assert!(r.text.contains("no longer available"), "{}", r.text);

    let ann = reserve_as(&app, &token, "Ann", &slot(1, 9)).await.expect(200);
    assert_eq!(ann.body["event"]["calendar_id"], json!(cals[0]), "the visitor's own row is the first member's");
    assert_eq!(offered().await, [at(11)]);
    let nine = "2027-03-01T09:00:00Z".to_string();
    for cal in &cals {
        let events = events_of(&app, &owner, *cal).await;
        assert!(events.iter().any(|(s, _)| s.starts_with("2027-03-01T09:00")), "{cal}: {events:?} {nine}");
    }
    // The guest cancels: every member is free again.
    let manage = ann.body["manage_token"].as_str().unwrap();
    app.cancel_reservation(manage, json!({})).await.expect(200);
    assert_eq!(app.get_reservation(manage).await.expect(200).body["status"], "canceled");
    assert_eq!(offered().await, [at(9), at(11)]);
    for cal in &cals {
        let events = events_of(&app, &owner, *cal).await;
        assert!(!events.iter().any(|(s, _)| s.starts_with("2027-03-01T09:00")), "{cal}: {events:?}");
    }

    // A move carries every member along.
    let ben = reserve_as(&app, &token, "Ben", &slot(1, 9)).await.expect(200);
    let manage = ben.body["manage_token"].as_str().unwrap();
    app.reschedule_reservation(manage, "2027-03-01T11:00:00Z", "2027-03-01T12:00:00Z").await.expect(200);
    assert_eq!(offered().await, [at(9)]);
    for cal in &cals {
        let events = events_of(&app, &owner, *cal).await;
        assert!(events.iter().any(|(s, _)| s.starts_with("2027-03-01T11:00")), "{cal}: {events:?}");
        assert!(!events.iter().any(|(s, _)| s.starts_with("2027-03-01T09:00")), "{cal}: {events:?}");
    }
    // A member's owner deletes their event: the booking needs every member, so all of it goes.
    let (_, second) =
        events_of(&app, &owner, cals[1]).await.into_iter().find(|(s, _)| s.starts_with("2027-03-01T11:00")).unwrap();
    app.delete_calendar_event(cals[1], second.parse().unwrap(), Some(&owner.token)).await.expect(204);
    assert_eq!(app.get_reservation(manage).await.expect(200).body["status"], "canceled");
    assert_eq!(offered().await, [at(9), at(11)]);
}

async fn round_robin_offers_the_union_and_assigns_by_the_rule(app: TestApp) {
    // The clock at 2027-03-01T01:00Z: March is the current period.
    let offset = (chrono::DateTime::parse_from_rfc3339("2027-03-01T01:00:00Z").unwrap().timestamp()
        - chrono::Utc::now().timestamp())
    .to_string();
    let app = spawn_app_sharing_with(&app, offset.parse().unwrap(), &[]).await;
    let members = vec![json!({"weight": 2}), json!({}), json!({})];
    let (owner, cals, token) = team_link(&app, "round_robin", members).await;
    let offered = || async { starts(&app.availability(&token, MONDAY.0, MONDAY.1).await.expect(200)) };
    busy(&app, &owner, cals[0], &slot(1, 10)).await.expect(201);
    busy(&app, &owner, cals[1], &slot(1, 10)).await.expect(201);
    assert_eq!(offered().await, [at(9), at(10), at(11)], "one free member is enough");
    busy(&app, &owner, cals[2], &slot(1, 10)).await.expect(201);
    assert_eq!(offered().await, [at(9), at(11)], "nobody free at 10:00");
    // The slot says nothing of the member; the answer says how its slots are made.
    let r = app.availability(&token, MONDAY.0, MONDAY.1).await.expect(200);
    assert_eq!(r.body["scheduling"], "round_robin");
    assert!(!r.text.contains(&cals[0].to_string()) && !r.text.contains("calendar"), "{}", r.text);

    // In turn: weights first (member 0 counts for two), then the longest since last booked.
    let mut got = Vec::new();
    for (i, hour) in [(2, 9), (2, 10), (2, 11), (3, 9), (3, 10), (3, 11), (4, 9), (4, 10)] {
        let r = reserve_as(&app, &token, &format!("V{i}{hour}"), &slot(i, hour)).await.expect(200);
        let cal: Uuid = r.body["event"]["calendar_id"].as_str().unwrap().parse().unwrap();
        got.push(cals.iter().position(|c| *c == cal).unwrap());
    }
    // 0 (never booked, first listed), 1, 2, 0 (1/2 < 1), then all at one for their weight:
    // the longest since last booked: 1, 2, 0, then 0 again (3/2 < 2).
    assert_eq!(got, [0, 1, 2, 0, 1, 2, 0, 0]);
    // A member's own busy time sends the reservation to the next by the rule.
    busy(&app, &owner, cals[1], &slot(5, 9)).await.expect(201);
    let r = reserve_as(&app, &token, "W", &slot(5, 9)).await.expect(200);
    assert_eq!(r.body["event"]["calendar_id"], json!(cals[2]), "{}", r.text);
    // A move keeps the member where it is free, and assigns again where it is not.
    let manage = r.body["manage_token"].as_str().unwrap();
    let moved = app.reschedule_reservation(manage, "2027-03-05T10:00:00Z", "2027-03-05T11:00:00Z").await.expect(200);
    let events = events_of(&app, &owner, cals[2]).await;
    assert!(events.iter().any(|(s, _)| s.starts_with("2027-03-05T10:00")), "{}: {events:?}", moved.text);
    busy(&app, &owner, cals[2], &slot(5, 11)).await.expect(201);
    let body = json!({"slot_start": "2027-03-05T11:00:00Z", "slot_end": "2027-03-05T12:00:00Z", "sequence": 1});
    app.post(&format!("/v1/reservations/{manage}/reschedule"), None, body).await.expect(200);
    let on = |cal: usize| {
        let app = &app;
        let owner = &owner;
        let cals = &cals;
        async move {
            events_of(app, owner, cals[cal]).await.iter().filter(|(s, _)| s.starts_with("2027-03-05T11:00")).count()
        }
    };
    // Member 2 is busy at 11:00; of 0 (4 for weight 2) and 1 (2 for weight 1), 0 and 1 tie at
    // two per weight: the longer since last booked is 1.
    assert_eq!((on(0).await, on(1).await, on(2).await), (0, 1, 1), "the visitor's on member 1, member 2's own event");
    drop(app);
}

async fn twenty_round_robin_reservations_at_once(app: TestApp) {
    let offset = (chrono::DateTime::parse_from_rfc3339("2027-03-01T01:00:00Z").unwrap().timestamp()
        - chrono::Utc::now().timestamp())
    .to_string();
    let app = spawn_app_sharing_with(&app, offset.parse().unwrap(), &[]).await;
    let members = vec![json!({"weight": 2}), json!({}), json!({})];
    let (owner, cals, token) = team_link(&app, "round_robin", members).await;
    // 20 visitors for 20 different slots at once: all placed, the counts 2:1:1 as the rule says.
    let slots: Vec<(String, String)> = (1..=5)
        .flat_map(|d| (9..=11).map(move |h| slot(d, h)))
        .chain([slot(8, 9), slot(8, 10), slot(8, 11), slot(9, 9), slot(9, 10)])
        .collect();
    assert_eq!(slots.len(), 20);
    let names: Vec<String> = (0..20).map(|i| format!("V{i}")).collect();
    let results =
        futures::future::join_all(names.iter().zip(&slots).map(|(n, s)| reserve_as(&app, &token, n, s))).await;
    assert!(results.iter().all(|r| r.status == 200), "{:?}", results.iter().map(|r| &r.text).collect::<Vec<_>>());
    let mut counts = [0usize; 3];
    for r in &results {
        let cal: Uuid = r.body["event"]["calendar_id"].as_str().unwrap().parse().unwrap();
        counts[cals.iter().position(|c| *c == cal).unwrap()] += 1;
    }
    assert_eq!(counts, [10, 5, 5]);

    // 20 visitors for ONE slot at once: one per member, never two on one calendar.
    let one = slot(10, 9);
    let results = futures::future::join_all(names.iter().map(|n| reserve_as(&app, &token, n, &one))).await;
    let ok: Vec<&Reply> = results.iter().filter(|r| r.status == 200).collect();
    let taken = results.iter().filter(|r| r.status == 409).count();
    assert_eq!((ok.len(), taken), (3, 17), "{:?}", results.iter().map(|r| r.status).collect::<Vec<_>>());
    let mut placed: Vec<&str> = ok.iter().map(|r| r.body["event"]["calendar_id"].as_str().unwrap()).collect();
    placed.sort();
    placed.dedup();
    assert_eq!(placed.len(), 3, "each member once");
    for cal in &cals {
        let r = app
            .list_calendar_events(
                *cal,
                "start=2027-03-10T00%3A00%3A00Z&end=2027-03-11T00%3A00%3A00Z",
                Some(&owner.token),
            )
            .await
            .expect(200);
        assert_eq!(r.body.as_array().unwrap().len(), 1, "{}", r.text);
    }
    drop(app);
}

async fn collective_reservations_race_a_members_busy_event(app: TestApp) {
    let (owner, cals, token) = team_link(&app, "collective", vec![json!({}), json!({}), json!({})]).await;
    let rounds: Vec<(String, String)> = (1..=5).flat_map(|d| (9..=11).map(move |h| slot(d, h))).collect();
    for s in &rounds {
        let (reserved, own) = futures::join!(reserve_as(&app, &token, "Ann", s), busy(&app, &owner, cals[2], s));
        own.expect(201);
        let rows: Vec<usize> = {
            let mut n = Vec::new();
            for cal in &cals[..2] {
                let events = events_of(&app, &owner, *cal).await;
                n.push(events.iter().filter(|(st, _)| st.starts_with(&s.0[..16])).count());
            }
            n
        };
        match reserved.status.as_u16() {
            // Accepted before the busy event: every member holds it.
            200 => assert_eq!(rows, [1, 1], "{s:?}"),
            // Refused after it: nothing written anywhere.
            409 => assert_eq!(rows, [0, 0], "{s:?}"),
            other => panic!("{other}: {}", reserved.text),
        }
        // Either way the slot is gone.
        let r = app.availability(&token, &s.0, &s.1).await.expect(200);
        assert!(starts(&r).is_empty(), "{s:?}: {}", r.text);
    }
    // Several visitors and the busy event at once: at most one visitor, never a partial booking.
    let s = slot(8, 9);
    let (results, own) = futures::join!(
        futures::future::join_all((0..8).map(|i| {
            let name = format!("R{i}");
            let token = token.clone();
            let app = &app;
            let s = s.clone();
            async move { reserve_as(app, &token, &name, &s).await }
        })),
        busy(&app, &owner, cals[0], &s)
    );
    own.expect(201);
    let ok = results.iter().filter(|r| r.status == 200).count();
    assert!(ok <= 1, "{ok} visitors placed on one slot");
    for cal in &cals[1..] {
        let events = events_of(&app, &owner, *cal).await;
        let n = events.iter().filter(|(st, _)| st.starts_with("2027-03-08T09:00")).count();
        assert_eq!(n, ok, "{cal}: {events:?}");
    }
}

async fn a_collective_booking_tells_its_visitor_once(app: TestApp) {
    let smtp = crate::smtp_sink::SmtpSink::start().await;
    let id = Uuid::new_v4();
    let owner =
        User { id, token: app.token_for(id, bookings::policy::DEFAULT_SCOPES, false, Some("lead@example.com")) };
    let own = app.new_calendar(&owner).await;
    let mut members = Vec::new();
    for _ in 0..3 {
        members.push(json!({"calendar_id": app.new_calendar(&owner).await}));
    }
    let r = app
        .create_link(&owner, own, link_body(json!({"scheduling": "collective", "members": members})))
        .await
        .expect(200);
    let token = r.body["token"].as_str().unwrap().to_string();
    reserve_as(&app, &token, "Vera", &slot(1, 9)).await.expect(200);
    let url = smtp.url();
    let notifier = spawn_app_sharing_with(&app, 0, &["--smtp-url", &url]).await;
    let admin = notifier.admin();
    notifier.notify_bookings(Some(&admin.token)).await.expect(204);
    let to = |who: &str| smtp.messages().into_iter().filter(|m| m.to.iter().any(|t| t == who)).count();
    assert_eq!(to("vera@example.com"), 1, "the visitor hears once");
    assert_eq!(to("lead@example.com"), 3, "each member calendar's owner hears of its event");
    drop(notifier);
}

/// An owner's calendar named `name`.
async fn named_calendar(app: &TestApp, owner: &User, name: &str) -> Uuid {
    let r = app.create_calendar(Some(&owner.token), json!({"name": name})).await.expect(201);
    r.body["id"].as_str().unwrap().parse().unwrap()
}

/// The manage page's HTML.
async fn manage_page(app: &TestApp, manage: &str) -> String {
    let r = reqwest::get(format!("{}/booking/manage/{manage}", app.address)).await.unwrap();
    assert_eq!(r.status(), 200);
    r.text().await.unwrap()
}

/// The guest's reservation names whom they meet (`hosts`): the assigned member of a round-robin
/// link, every member of a collective one (the visitor's own event's first), the link's own
/// calendar otherwise; the manage page says it under the link's title, also after a move and a
/// cancel.
async fn the_reservation_names_whom_the_visitor_meets(app: TestApp) {
    let owner = app.user();
    let desk = named_calendar(&app, &owner, "Front desk").await;
    let ana = named_calendar(&app, &owner, "Ana Ruiz").await;
    let bo = named_calendar(&app, &owner, "Bo Chen").await;
    let host = |cal: Uuid, name: &str| json!({"calendar_id": cal, "name": name});

    let single = app.create_link(&owner, desk, link_body(json!({}))).await.expect(200);
    let single = single.body["token"].as_str().unwrap().to_string();
    let r = reserve_as(&app, &single, "Cy", &slot(1, 9)).await.expect(200);
    let manage = r.body["manage_token"].as_str().unwrap();
    assert_eq!(app.get_reservation(manage).await.expect(200).body["hosts"], json!([host(desk, "Front desk")]));
    let html = manage_page(&app, manage).await;
    assert!(
        html.contains("Front desk") && !html.contains("<dt>With</dt>"),
        "a single link's host is its title: {html}"
    );

    let members = json!([{"calendar_id": ana}, {"calendar_id": bo}]);
    let rr = app.create_link(&owner, desk, link_body(json!({"scheduling": "round_robin", "members": members})));
    let rr = rr.await.expect(200).body["token"].as_str().unwrap().to_string();
    busy(&app, &owner, ana, &slot(2, 9)).await.expect(201);
    let r = reserve_as(&app, &rr, "Di", &slot(2, 9)).await.expect(200);
    let manage = r.body["manage_token"].as_str().unwrap();
    assert_eq!(app.get_reservation(manage).await.expect(200).body["hosts"], json!([host(bo, "Bo Chen")]));
    let html = manage_page(&app, manage).await;
    assert!(html.contains("<h2 id=\"what-title\">Front desk</h2>"), "the link's title, not the member's: {html}");
    assert!(html.contains("<dt>With</dt><dd>Bo Chen</dd>"), "{html}");
    // Moved to where only Ana is free: she is the host now, and the answer says so.
    busy(&app, &owner, bo, &slot(3, 10)).await.expect(201);
    let moved = app.reschedule_reservation(manage, "2027-03-03T10:00:00Z", "2027-03-03T11:00:00Z").await.expect(200);
    assert_eq!(moved.body["hosts"], json!([host(ana, "Ana Ruiz")]), "{}", moved.text);

    let members = json!([{"calendar_id": bo}, {"calendar_id": ana}]);
    let team = app.create_link(&owner, desk, link_body(json!({"scheduling": "collective", "members": members})));
    let team = team.await.expect(200).body["token"].as_str().unwrap().to_string();
    let r = reserve_as(&app, &team, "Ed", &slot(4, 11)).await.expect(200);
    let manage = r.body["manage_token"].as_str().unwrap();
    let both = json!([host(bo, "Bo Chen"), host(ana, "Ana Ruiz")]);
    assert_eq!(app.get_reservation(manage).await.expect(200).body["hosts"], both, "the visitor's own event's first");
    assert!(manage_page(&app, manage).await.contains("<dt>With</dt><dd>Bo Chen and Ana Ruiz</dd>"));
    let canceled = app.cancel_reservation(manage, json!({})).await.expect(200);
    assert_eq!(canceled.body["hosts"], both, "a canceled reservation still says whom it was with");
}

db_tests!(
    the_reservation_names_whom_the_visitor_meets,
    a_collective_booking_tells_its_visitor_once,
    team_settings_are_echoed_validated_and_updated,
    collective_offers_the_intersection_and_blocks_every_member,
    round_robin_offers_the_union_and_assigns_by_the_rule,
    twenty_round_robin_reservations_at_once,
    collective_reservations_race_a_members_busy_event,
);
