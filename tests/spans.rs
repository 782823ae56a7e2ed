//! The use cases run in spans of their own, inside the request's span, carrying ids and never
//! secrets: recorded by an in-memory `Layer` installed for the test's (single) thread.
//!
//! A test binary of its own with one test: tracing caches each callsite's interest globally, so
//! in the shared `api` binary another test's thread could register a callsite (the `request`
//! span) while this test's subscriber was being installed, and this subscriber never saw it.
//! Here no other thread exists.

#[path = "api/helpers.rs"]
#[allow(dead_code, unused_imports, unused_macros)]
mod helpers;

use crate::helpers::*;
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

#[derive(Debug, Clone)]
struct SpanSeen {
    name: String,
    parent: Option<String>,
    fields: HashMap<String, String>,
}

#[derive(Default, Clone)]
struct Recorder {
    spans: Arc<Mutex<HashMap<u64, SpanSeen>>>,
    /// Fields of the events this crate logs.
    events: Arc<Mutex<Vec<HashMap<String, String>>>>,
}

struct Fields<'a>(&'a mut HashMap<String, String>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_string(), value.to_string());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_string(), format!("{value:?}"));
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Recorder {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = HashMap::new();
        attrs.record(&mut Fields(&mut fields));
        let parent = ctx.span(id).and_then(|s| s.parent()).map(|p| p.name().to_string());
        let seen = SpanSeen { name: attrs.metadata().name().to_string(), parent, fields };
        self.spans.lock().unwrap().insert(id.into_u64(), seen);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, _ctx: Context<'_, S>) {
        if let Some(seen) = self.spans.lock().unwrap().get_mut(&id.into_u64()) {
            values.record(&mut Fields(&mut seen.fields));
        }
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        if event.metadata().target().starts_with("bookings") {
            let mut fields = HashMap::new();
            event.record(&mut Fields(&mut fields));
            self.events.lock().unwrap().push(fields);
        }
    }
}

async fn reserving_a_slot_runs_in_a_reserve_span_without_secrets(backend: Backend) {
    let recorder = Recorder::default();
    // The test's runtime is single-threaded: the server, the client and the database calls are
    // all polled on this thread, so the thread's default subscriber sees every span.
    let _guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(recorder.clone()));
    // Another test's thread may have registered a callsite (`request`, say) while this
    // subscriber was being registered, caching "never" for it: ask every callsite again.
    tracing::callsite::rebuild_interest_cache();
    let app = spawn_app(backend).await;
    let owner = app.user();
    let cal = app.new_calendar(&owner).await;
    let hours = json!({"mon": [{"start": "09:00", "end": "12:00"}]});
    let r = app
        .create_link(&owner, cal, json!({"duration_minutes": 60, "timezone": "UTC", "working_hours": hours}))
        .await
        .expect(200);
    let token = r.body["token"].as_str().unwrap().to_string();
    let email = "visitor@example.com";
    app.reserve(&token, "2027-03-01T09:00:00Z", "2027-03-01T10:00:00Z").await.expect(200);
    // A failing reservation records its error in the span, still without the token.
    app.reserve(&token, "2027-03-01T09:00:00Z", "2027-03-01T10:00:00Z").await.expect(409);
    // The reservation's messages go out in a pass; each send is a span naming its message.
    let admin = app.admin();
    app.notify_bookings(Some(&admin.token)).await.expect(204);
    let listed = app.list_notifications("limit=50", Some(&admin.token)).await.expect(200);

    let spans: Vec<SpanSeen> = recorder.spans.lock().unwrap().values().cloned().collect();
    let reserves: Vec<&SpanSeen> = spans.iter().filter(|s| s.name == "reserve").collect();
    assert_eq!(reserves.len(), 2, "one reserve span per reservation: {spans:#?}");
    for span in &reserves {
        assert_eq!(span.fields.get("calendar_id"), Some(&cal.to_string()), "{span:?}");
        assert_eq!(span.parent.as_deref(), Some("request"), "the use case runs inside the request span: {span:?}");
    }
    assert!(reserves.iter().any(|s| s.fields.contains_key("event_id")), "the booked event's id: {reserves:?}");
    let creates: Vec<&SpanSeen> = spans.iter().filter(|s| s.name == "create_link").collect();
    assert_eq!(creates.len(), 1, "{spans:#?}");
    assert_eq!(creates[0].fields.get("user_id"), Some(&owner.id.to_string()));
    assert_eq!(creates[0].fields.get("calendar_id"), Some(&cal.to_string()));

    let delivers: Vec<&SpanSeen> = spans.iter().filter(|s| s.name == "deliver").collect();
    assert!(!delivers.is_empty(), "the pass sent the reservation's messages in deliver spans: {spans:#?}");
    let ids: Vec<String> =
        listed.body.as_array().into_iter().flatten().filter_map(|n| n["id"].as_str().map(str::to_string)).collect();
    for span in &delivers {
        assert_eq!(span.parent.as_deref(), Some("run_pass"), "a send is part of its pass: {span:?}");
        let id = span.fields.get("notification_id").expect("the message's id");
        assert!(ids.contains(id), "{id} is one of the listed messages {ids:?}");
        assert!(span.fields.contains_key("rule") && span.fields.contains_key("attempt"), "{span:?}");
    }

    let events = recorder.events.lock().unwrap().clone();
    let values = spans.iter().flat_map(|s| s.fields.values()).chain(events.iter().flat_map(|e| e.values()));
    for value in values {
        for secret in [token.as_str(), email, "Visitor", owner.token.as_str()] {
            assert!(!value.contains(secret), "{secret:?} recorded in {value:?}");
        }
    }
}

/// SQLite, then PostgreSQL when `TEST_DATABASE_URL` is set (as every database test here), in
/// one test so that nothing else runs beside it.
#[tokio::test]
async fn reserving_runs_in_a_reserve_span_without_secrets() {
    reserving_a_slot_runs_in_a_reserve_span_without_secrets(Backend::Sqlite).await;
    if pg_url().is_some() {
        reserving_a_slot_runs_in_a_reserve_span_without_secrets(Backend::Postgres).await;
    }
}
