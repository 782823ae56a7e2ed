//! iCalendar invitations, updates and cancellations (RFC 5545, iTIP RFC 5546) through the lives
//! of one reservation and one booking, received by a real SMTP sink and read by a real
//! iCalendar parser (the `icalendar` crate): one UID for an event's life, METHOD:REQUEST with
//! SEQUENCE 0 on creation and + 1 on each move, METHOD:CANCEL with STATUS:CANCELLED and a higher
//! SEQUENCE to everyone invited, whoever cancels; the visitor's emails carry their manage link.

use crate::db_tests;
use crate::guests::{all_day_link, days_ahead, offered};
use crate::helpers::*;
use crate::leko::{book_ok, cancel, create_event, only_booking};
use crate::smtp_sink::{Received, SmtpSink};
use chrono::{DateTime, Duration, DurationRound, Utc};
use icalendar::Component;
use serde_json::json;
use std::str::FromStr;
use uuid::Uuid;

/// What a received invitation says.
#[derive(Debug)]
struct Invitation {
    content_type: String,
    method: String,
    uid: String,
    sequence: u32,
    status: String,
    /// DTSTART and DTEND as UTC instants (read in their TZID).
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    organizer: String,
    attendees: Vec<String>,
    description: String,
    location: Option<String>,
}

/// The text/calendar part of `m`, parsed by the icalendar crate.
fn invitation(m: &Received) -> Invitation {
    let content_type = m
        .data
        .split("\r\n")
        .find(|l| l.starts_with("Content-Type: text/calendar"))
        .expect("a text/calendar part")
        .trim_start_matches("Content-Type: ")
        .to_string();
    let ics = crate::notify_ics::extract(&m.data).expect("an ics part");
    let cal = icalendar::Calendar::from_str(&ics).unwrap_or_else(|e| panic!("icalendar parses it: {e}\n{ics}"));
    let event = cal
        .components
        .iter()
        .find_map(|c| match c {
            icalendar::CalendarComponent::Event(e) => Some(e.clone()),
            _ => None,
        })
        .expect("one VEVENT");
    let instant = |name: &str| -> DateTime<Utc> {
        let p = event.properties().get(name).unwrap_or_else(|| panic!("{name}"));
        let tz: chrono_tz::Tz = p.params().get("TZID").expect("TZID").value().parse().expect("an IANA zone");
        let local = chrono::NaiveDateTime::parse_from_str(p.value(), "%Y%m%dT%H%M%S").expect("local date-time");
        local.and_local_timezone(tz).single().expect("unambiguous").with_timezone(&Utc)
    };
    let attendees: Vec<String> = match event.multi_properties().get("ATTENDEE") {
        Some(list) => list.iter().map(|p| p.value().to_string()).collect(),
        None => event.property_value("ATTENDEE").into_iter().map(str::to_string).collect(),
    };
    Invitation {
        content_type,
        method: cal.property_value("METHOD").expect("METHOD").to_string(),
        uid: event.get_uid().expect("UID").to_string(),
        sequence: event.property_value("SEQUENCE").expect("SEQUENCE").parse().expect("a number"),
        status: event.property_value("STATUS").expect("STATUS").to_string(),
        start: instant("DTSTART"),
        end: instant("DTEND"),
        organizer: event.property_value("ORGANIZER").expect("ORGANIZER").to_string(),
        attendees,
        description: event.get_description().unwrap_or_default().to_string(),
        location: icalendar::EventLike::get_location(&event).map(str::to_string),
    }
}

/// A visitor's reservation of `slot` through `link`: its id and the answer.
async fn reserve_as(app: &TestApp, link: &str, name: &str, email: &str, slot: &(String, String)) -> (String, Reply) {
    let body = json!({"name": name, "email": email, "slot_start": slot.0, "slot_end": slot.1});
    let r = app.reserve_booking_slot(link, body).await.expect(200);
    (r.body["event"]["id"].as_str().unwrap().to_string(), r)
}

/// An SMTP sink, and a server on `app`'s database that sends to it.
async fn mailing(app: &TestApp) -> (SmtpSink, TestApp) {
    let smtp = SmtpSink::start().await;
    let server = spawn_app_sharing_with(app, 0, &["--smtp-url", &smtp.url()]).await;
    (smtp, server)
}

fn person(app: &TestApp, email: &str) -> User {
    let id = Uuid::new_v4();
    User { id, token: app.token_for(id, bookings::policy::DEFAULT_SCOPES, false, Some(email)) }
}

/// Runs a pass and answers what it sent (each message once), to `to`, after the `seen` first.
async fn pass(app: &TestApp, smtp: &SmtpSink, seen: &mut usize) -> Vec<Received> {
    app.notify_bookings(Some(&app.admin().token)).await.expect(204);
    let all = smtp.messages();
    let new = all[*seen..].to_vec();
    *seen = all.len();
    new
}

fn to<'a>(messages: &'a [Received], address: &str) -> Vec<&'a Received> {
    messages.iter().filter(|m| m.to == [address]).collect()
}

fn instant(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn assert_request(inv: &Invitation, uid: &str, sequence: u32, slot: &(String, String)) {
    assert_eq!(inv.method, "REQUEST", "{inv:?}");
    assert_eq!(inv.content_type, "text/calendar; method=REQUEST; charset=UTF-8");
    assert_eq!((inv.uid.as_str(), inv.sequence, inv.status.as_str()), (uid, sequence, "CONFIRMED"));
    assert_eq!((inv.start, inv.end), (instant(&slot.0), instant(&slot.1)), "{inv:?}");
}

fn assert_cancel(inv: &Invitation, uid: &str, sequence: u32) {
    assert_eq!(inv.method, "CANCEL", "{inv:?}");
    assert_eq!(inv.content_type, "text/calendar; method=CANCEL; charset=UTF-8");
    assert_eq!((inv.uid.as_str(), inv.sequence, inv.status.as_str()), (uid, sequence, "CANCELLED"));
}

/// A reservation made, moved twice and cancelled by its guest; another cancelled by the owner.
async fn a_reservation_through_its_life(app: TestApp) {
    let (smtp, server) = mailing(&app).await;
    let mut seen = 0;
    let owner = person(&app, "owner@example.com");
    let (cal, link) = all_day_link(&app, &owner, "America/Asuncion", json!({})).await;
    let slots = offered(&app, &link, days_ahead(5), 1).await;
    let (id, reserved) = reserve_as(&app, &link, "Vera Díaz", "vera@example.com", &slots[20]).await;
    let manage_token = reserved.body["manage_token"].as_str().unwrap().to_string();
    let manage_url = reserved.body["manage_url"].as_str().unwrap().to_string();
    let uid = format!("{id}@bookings");

    // Created: REQUEST, SEQUENCE 0, to the visitor (with their manage link) and the owner.
    let sent = pass(&server, &smtp, &mut seen).await;
    let (vera, own) = (to(&sent, "vera@example.com"), to(&sent, "owner@example.com"));
    assert_eq!((vera.len(), own.len()), (1, 1), "{sent:?}");
    let inv = invitation(vera[0]);
    assert_request(&inv, &uid, 0, &slots[20]);
    assert_eq!(inv.organizer, "mailto:owner@example.com");
    assert_eq!(inv.attendees, ["mailto:vera@example.com"]);
    assert!(inv.description.contains(&manage_url), "{inv:?}");
    assert!(vera[0].data.contains(&manage_url) || vera[0].data.contains(&manage_token), "the email carries the link");
    let for_owner = invitation(own[0]);
    assert_request(&for_owner, &uid, 0, &slots[20]);
    assert!(!own[0].data.contains(&manage_token), "the owner never gets the guest's token");
    // The link in the email works.
    assert_eq!(app.get_reservation(&manage_token).await.expect(200).body["id"], id.as_str());

    // Moved: REQUEST, SEQUENCE 1, the new times, the same UID; and again: SEQUENCE 2.
    app.reschedule_reservation(&manage_token, &slots[30].0, &slots[30].1).await.expect(200);
    let sent = pass(&server, &smtp, &mut seen).await;
    let (vera, own) = (to(&sent, "vera@example.com"), to(&sent, "owner@example.com"));
    assert_eq!((vera.len(), own.len()), (1, 1), "{sent:?}");
    assert_request(&invitation(vera[0]), &uid, 1, &slots[30]);
    assert_request(&invitation(own[0]), &uid, 1, &slots[30]);
    assert!(vera[0].header("Subject").unwrap().starts_with("Moved"));
    let path = format!("/v1/reservations/{manage_token}/reschedule");
    app.post(&path, None, json!({"slot_start": slots[40].0, "slot_end": slots[40].1, "sequence": 1})).await.expect(200);
    let sent = pass(&server, &smtp, &mut seen).await;
    assert_eq!(sent.len(), 2, "{sent:?}");
    for m in &sent {
        assert_request(&invitation(m), &uid, 2, &slots[40]);
    }
    // Nothing new is sent again.
    assert!(pass(&server, &smtp, &mut seen).await.is_empty());

    // Cancelled by the guest: CANCEL, SEQUENCE 3, to both.
    app.cancel_reservation(&manage_token, json!({"reason": "sick"})).await.expect(200);
    let sent = pass(&server, &smtp, &mut seen).await;
    let (vera, own) = (to(&sent, "vera@example.com"), to(&sent, "owner@example.com"));
    assert_eq!((vera.len(), own.len()), (1, 1), "{sent:?}");
    assert_cancel(&invitation(vera[0]), &uid, 3);
    assert_cancel(&invitation(own[0]), &uid, 3);
    assert!(own[0].data.contains("sick"), "the owner reads the reason");

    // Another reservation, cancelled by the owner: CANCEL, SEQUENCE 1, to the visitor and the owner.
    let other_id: Uuid = reserve_as(&app, &link, "Bo", "bo@example.com", &slots[22]).await.0.parse().unwrap();
    let sent = pass(&server, &smtp, &mut seen).await;
    assert_request(&invitation(to(&sent, "bo@example.com")[0]), &format!("{other_id}@bookings"), 0, &slots[22]);
    app.delete_calendar_event(cal, other_id, Some(&owner.token)).await.expect(204);
    let sent = pass(&server, &smtp, &mut seen).await;
    let (bo, own) = (to(&sent, "bo@example.com"), to(&sent, "owner@example.com"));
    assert_eq!((bo.len(), own.len()), (1, 1), "{sent:?}");
    assert_cancel(&invitation(bo[0]), &format!("{other_id}@bookings"), 1);
    assert_cancel(&invitation(own[0]), &format!("{other_id}@bookings"), 1);

    // A third, on the calendar of an owner who is then erased: the visitor's calendar drops it.
    let (third_id, _) = reserve_as(&app, &link, "Cy", "cy@example.com", &slots[24]).await;
    pass(&server, &smtp, &mut seen).await;
    app.delete_user_from_bookings(owner.id, "", Some(&owner.token)).await.expect(204);
    let sent = pass(&server, &smtp, &mut seen).await;
    assert_eq!(sent.len(), 1, "the visitor only: {sent:?}");
    assert_cancel(&invitation(to(&sent, "cy@example.com")[0]), &format!("{third_id}@bookings"), 1);
}

/// A booking made and cancelled by its athlete; one cancelled with its coach event; one whose
/// athlete is erased.
async fn a_booking_through_its_life(app: TestApp) {
    let (smtp, server) = mailing(&app).await;
    let mut seen = 0;
    let coach = person(&app, "coach@example.com");
    let athlete = person(&app, "athlete@example.com");
    let start = (Utc::now() + Duration::days(3)).duration_trunc(Duration::hours(1)).unwrap();
    let slot = (start.to_rfc3339(), (start + Duration::hours(1)).to_rfc3339());
    let event = create_event(&app, &coach, start, start + Duration::hours(1), 5).await;
    let booking = only_booking(&book_ok(&app, &athlete, &[event]).await);
    let uid = format!("{booking}@bookings");

    let sent = pass(&server, &smtp, &mut seen).await;
    let (a, c) = (to(&sent, "athlete@example.com"), to(&sent, "coach@example.com"));
    assert_eq!((a.len(), c.len()), (1, 1), "{sent:?}");
    let inv = invitation(a[0]);
    assert_request(&inv, &uid, 0, &slot);
    assert_eq!(
        (inv.organizer.as_str(), inv.attendees.clone()),
        ("mailto:coach@example.com", vec!["mailto:athlete@example.com".to_string()])
    );
    assert_request(&invitation(c[0]), &uid, 0, &slot);

    // The athlete cancels: both calendars drop it.
    cancel(&app, &athlete, booking, "NoTime", None).await.expect(200);
    let sent = pass(&server, &smtp, &mut seen).await;
    let (a, c) = (to(&sent, "athlete@example.com"), to(&sent, "coach@example.com"));
    assert_eq!((a.len(), c.len()), (1, 1), "{sent:?}");
    assert_cancel(&invitation(a[0]), &uid, 1);
    assert_cancel(&invitation(c[0]), &uid, 1);

    // The coach cancels the event: each booking's athlete and the coach.
    let second = only_booking(&book_ok(&app, &athlete, &[event]).await);
    pass(&server, &smtp, &mut seen).await;
    app.cancel_coach_event(event, Some(&coach.token)).await.expect(200);
    let sent = pass(&server, &smtp, &mut seen).await;
    let (a, c) = (to(&sent, "athlete@example.com"), to(&sent, "coach@example.com"));
    assert_eq!((a.len(), c.len()), (1, 1), "{sent:?}");
    assert_cancel(&invitation(a[0]), &format!("{second}@bookings"), 1);
    assert_cancel(&invitation(c[0]), &format!("{second}@bookings"), 1);

    // The athlete is erased: the coach's calendar drops their booking; the athlete hears nothing.
    let other_event =
        create_event(&app, &coach, start + Duration::days(1), start + Duration::days(1) + Duration::hours(1), 5).await;
    let third = only_booking(&book_ok(&app, &athlete, &[other_event]).await);
    pass(&server, &smtp, &mut seen).await;
    app.delete_user_from_bookings(athlete.id, "", Some(&athlete.token)).await.expect(204);
    let sent = pass(&server, &smtp, &mut seen).await;
    assert_eq!(sent.len(), 1, "the coach only: {sent:?}");
    assert_cancel(&invitation(to(&sent, "coach@example.com")[0]), &format!("{third}@bookings"), 1);
}

/// A link's location, its `{reservation_id}` filled, reaches the visitor's and the owner's
/// emails and invitations (LOCATION), as the reservation carries it.
async fn a_reservations_location_is_in_its_messages(app: TestApp) {
    let (smtp, server) = mailing(&app).await;
    let mut seen = 0;
    let owner = person(&app, "owner@example.com");
    let location = json!({"location": {"kind": "url", "value": "https://meet.example.com/r/{reservation_id}"}});
    let (_, link) = all_day_link(&app, &owner, "Asia/Kolkata", location).await;
    let slots = offered(&app, &link, days_ahead(3), 1).await;
    let (id, _) = reserve_as(&app, &link, "Asha", "asha@example.com", &slots[10]).await;
    let want = format!("https://meet.example.com/r/{id}");
    let sent = pass(&server, &smtp, &mut seen).await;
    for who in ["asha@example.com", "owner@example.com"] {
        let m = to(&sent, who);
        assert_eq!(m.len(), 1, "{who}: {sent:?}");
        assert_eq!(invitation(m[0]).location.as_deref(), Some(want.as_str()), "{who}");
        assert!(m[0].data.contains(&format!("Where: {want}")), "{who}: the text says where");
    }
    // Without a location: no LOCATION and no "Where:".
    let (_, plain) = all_day_link(&app, &owner, "Asia/Kolkata", json!({})).await;
    reserve_as(&app, &plain, "Ravi", "ravi@example.com", &slots[12]).await;
    let sent = pass(&server, &smtp, &mut seen).await;
    let m = to(&sent, "ravi@example.com");
    assert_eq!(invitation(m[0]).location, None);
    assert!(!m[0].data.contains("Where:"));
}

db_tests!(a_reservation_through_its_life, a_booking_through_its_life, a_reservations_location_is_in_its_messages);
