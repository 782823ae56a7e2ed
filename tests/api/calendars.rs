//! Calendars and busy time (companion operations): owner-only, scopes, validation.

use crate::db_tests;
use crate::helpers::*;
use serde_json::json;

async fn calendars_are_owner_only(app: TestApp) {
    let owner = app.user();
    let other = app.user();
    let cal = app.new_calendar(&owner).await;
    let r = app.get_calendar(cal, Some(&owner.token)).await.expect(200);
    assert_eq!(r.body["owner_id"], owner.id.to_string());
    assert_eq!(app.get_calendar(cal, Some(&other.token)).await.expect(403).code(), "forbidden");
    let unknown = uuid::Uuid::new_v4();
    assert_eq!(app.get_calendar(unknown, Some(&owner.token)).await.expect(404).code(), "notFound");
    // An admin may look.
    app.get_calendar(cal, Some(&app.admin().token)).await.expect(200);
    // Every calendar operation is owner-only.
    let range = "start=2030-01-01T00:00:00Z&end=2030-01-02T00:00:00Z";
    app.list_calendar_events(cal, range, Some(&other.token)).await.expect(403);
    app.list_booking_links(cal, "", Some(&other.token)).await.expect(403);
    app.delete_calendar_event(cal, unknown, Some(&other.token)).await.expect(403);
    app.create_calendar_event(
        cal,
        Some(&other.token),
        json!({"title": "x", "start": "2030-01-01T10:00:00Z", "end": "2030-01-01T11:00:00Z"}),
    )
    .await
    .expect(403);
    app.update_booking_link(cal, "abc", Some(&other.token), json!({"active": false})).await.expect(403);
}

async fn writing_needs_the_scope(app: TestApp) {
    let id = uuid::Uuid::new_v4();
    let read_only = app.token_for(id, "", false, None);
    let r = app.create_calendar(Some(&read_only), json!({"name": "x"})).await.expect(403);
    assert!(r.error()["message"].as_str().unwrap().contains("calendar:write"));
    let r = app.create_calendar(Some(&read_only), json!({"name": "   "})).await;
    assert_eq!(r.status, 403, "scope is checked before anything else");
}

/// Every operation that needs a scope or the admin role says so (403) whatever the request
/// carries: who may act is answered before what they sent.
async fn permission_is_answered_before_the_input(app: TestApp) {
    let owner = app.user();
    let cal = app.new_calendar(&owner).await;
    let read_only = app.token_for(owner.id, "", false, None);
    // Bodies of the contract's shape whose values break a rule (a 400 for a caller allowed).
    let link = json!({"duration_minutes": 30, "buffer_minutes": 0, "timezone": "Mars/Olympus", "working_hours": {}});
    app.create_booking_link(cal, Some(&owner.token), link.clone()).await.expect(400);
    app.create_booking_link(cal, Some(&read_only), link).await.expect(403);
    let change = json!({"timezone": "Mars/Olympus"});
    app.update_booking_link(cal, "abc", Some(&read_only), change).await.expect(403);
    // Admin only: a bad cursor from anyone else is still their 403.
    app.list_notifications("cursor=not-a-cursor", Some(&app.admin().token)).await.expect(400);
    app.list_notifications("cursor=not-a-cursor", Some(&owner.token)).await.expect(403);
}

async fn busy_time_lifecycle(app: TestApp) {
    let owner = app.user();
    let cal = app.new_calendar(&owner).await;
    let e = app
        .create_calendar_event(cal, Some(&owner.token), json!({"title": "Dentist", "start": "2030-01-07T10:00:00+01:00", "end": "2030-01-07T11:00:00+01:00", "notes": "bring card"}))
        .await
        .expect(201);
    assert_eq!(e.body["source"], "manual");
    assert_eq!(e.body["start"], "2030-01-07T09:00:00+00:00");
    assert_eq!(e.body["notes"], "bring card");
    let id: uuid::Uuid = e.body["id"].as_str().unwrap().parse().unwrap();
    // Bad input.
    for body in [
        json!({"title": "x", "start": "2030-01-07T11:00:00Z", "end": "2030-01-07T10:00:00Z"}),
        json!({"title": "x", "start": "2030-01-07T11:00:00Z", "end": "2030-01-07T11:00:00Z"}),
        json!({"title": "", "start": "2030-01-07T10:00:00Z", "end": "2030-01-07T11:00:00Z"}),
        json!({"title": "x", "start": "tomorrow", "end": "2030-01-07T11:00:00Z"}),
    ] {
        app.create_calendar_event(cal, Some(&owner.token), body).await.expect(400);
    }
    let list = |start: &'static str, end: &'static str| format!("start={}&end={}", urlencode(start), urlencode(end));
    let r = app
        .list_calendar_events(cal, &list("2030-01-07T00:00:00Z", "2030-01-08T00:00:00Z"), Some(&owner.token))
        .await
        .expect(200);
    assert_eq!(r.body.as_array().unwrap().len(), 1);
    // [start, end) overlap: an event ending at the range start is not listed.
    let r = app
        .list_calendar_events(cal, &list("2030-01-07T10:00:00Z", "2030-01-08T00:00:00Z"), Some(&owner.token))
        .await
        .expect(200);
    assert_eq!(r.body.as_array().unwrap().len(), 0);
    app.list_calendar_events(cal, &list("2030-01-08T00:00:00Z", "2030-01-07T00:00:00Z"), Some(&owner.token))
        .await
        .expect(400);
    app.list_calendar_events(cal, &list("2030-01-01T00:00:00Z", "2031-06-01T00:00:00Z"), Some(&owner.token))
        .await
        .expect(400);
    app.list_calendar_events(cal, "start=2030-01-01T00:00:00Z", Some(&owner.token)).await.expect(400);
    app.delete_calendar_event(cal, id, Some(&owner.token)).await.expect(204);
    app.delete_calendar_event(cal, id, Some(&owner.token)).await.expect(404);
    let r = app
        .list_calendar_events(cal, &list("2030-01-07T00:00:00Z", "2030-01-08T00:00:00Z"), Some(&owner.token))
        .await
        .expect(200);
    assert_eq!(r.body.as_array().unwrap().len(), 0);
}

db_tests!(
    calendars_are_owner_only,
    writing_needs_the_scope,
    permission_is_answered_before_the_input,
    busy_time_lifecycle
);
