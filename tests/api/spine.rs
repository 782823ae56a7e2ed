//! The spine: health, the served contract, Swagger UI, error envelopes, request ids.

use crate::db_tests;
use crate::helpers::*;
use serde_json::{json, Value};

async fn health_and_readiness(app: TestApp) {
    assert_eq!(app.get("/healthz", None).await.expect(200).body["status"], "ok");
    assert_eq!(app.get("/readyz", None).await.expect(200).body["status"], "ready");
}

async fn get_booking_by_id_reads_the_database(app: TestApp) {
    let user = app.user();
    let id = uuid::Uuid::new_v4();
    let r = app.get(&format!("/v1/bookings/{id}"), Some(&user.token)).await.expect(404);
    assert_eq!(r.code(), "notFound");
    // 003 declares its 404 as a single Error.
    assert!(r.body.get("code").is_some(), "{}", r.text);
    assert_eq!(r.error()["endpoint"], "GET /v1/bookings/{bookingId}");
}

db_tests!(health_and_readiness, get_booking_by_id_reads_the_database);

fn contract() -> Value {
    serde_yaml::from_str(bookings::startup::CONTRACT_YAML).unwrap()
}

#[tokio::test]
async fn serves_the_merged_contract() {
    let app = spawn_app(Backend::Sqlite).await;
    let served = app.get("/openapi.json", None).await.expect(200);
    assert_eq!(served.headers["content-type"], "application/json");
    assert_eq!(served.body, contract());
    assert_eq!(served.body["openapi"], "3.0.3");
    assert_eq!(served.body["servers"][0]["url"], "/v1");
    let yaml = app.get("/openapi.yaml", None).await.expect(200);
    assert_eq!(yaml.text, bookings::startup::CONTRACT_YAML);
    // The committed copy is what build.rs emitted.
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/generated/openapi.yaml")).unwrap();
    assert_eq!(committed, bookings::startup::CONTRACT_YAML, "generated/openapi.yaml drifted: run `make generate`");
}

#[test]
fn committed_api_rs_matches_what_build_rs_emits() {
    let emitted = include_str!(concat!(env!("OUT_DIR"), "/api.rs"));
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/generated/api.rs")).unwrap();
    assert!(committed == emitted, "generated/api.rs drifted from what build.rs emits: run `make generate`");
}

#[tokio::test]
async fn swagger_ui_is_bundled_and_shows_the_contract() {
    let app = spawn_app(Backend::Sqlite).await;
    let r = app.get("/docs", None).await.expect(200);
    assert!(r.text.contains("SwaggerUIBundle"), "swagger UI script is inlined");
    assert!(r.text.contains("\"operationId\":\"reserveBookingSlot\""), "the merged contract is embedded");
    assert!(!r.text.contains("<script src=\"http"), "no CDN assets");
    assert!(!r.text.contains("<link rel=\"stylesheet\" href=\"http"), "no CDN assets");
}

#[tokio::test]
async fn unknown_routes_and_methods_get_the_envelope() {
    let app = spawn_app(Backend::Sqlite).await;
    let r = app.get("/v1/nothing-here", None).await.expect(404);
    assert_eq!(r.code(), "notFound");
    let r = app.send(reqwest::Method::PUT, "/v1/calendars", None, Some(json!({}))).await.expect(405);
    r.error();
    assert_eq!(r.headers["allow"], "POST");
    let r = app.send(reqwest::Method::TRACE, "/v1/bookings", None, None).await.expect(405);
    assert_eq!(r.headers["allow"], "GET, POST");
}

#[tokio::test]
async fn client_request_ids_are_echoed_and_bad_ones_replaced() {
    let app = spawn_app(Backend::Sqlite).await;
    let r = app.client.get(format!("{}/healthz", app.address)).header("x-request-id", "abc-123").send().await.unwrap();
    assert_eq!(r.headers()["x-request-id"], "abc-123");
    let r = app.client.get(format!("{}/healthz", app.address)).header("x-request-id", "bad id with spaces").send().await.unwrap();
    assert_ne!(r.headers()["x-request-id"], "bad id with spaces");
}

#[tokio::test]
async fn parse_failures_answer_the_declared_400_envelope() {
    let app = spawn_app(Backend::Sqlite).await;
    let user = app.user();
    // Malformed JSON.
    let r = app
        .client
        .post(format!("{}/v1/calendars", app.address))
        .bearer_auth(&user.token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "validation");
    // Wrong content type: still the declared 400, not a bare 415.
    let r = app
        .client
        .post(format!("{}/v1/calendars", app.address))
        .bearer_auth(&user.token)
        .header("content-type", "text/plain")
        .body("name=x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // A missing required field.
    let r = app.post("/v1/calendars", Some(&user.token), json!({})).await.expect(400);
    assert_eq!(r.code(), "validation");
    // A path parameter that is not a UUID; 003 declares its 400 as `Errors`.
    let r = app.get("/v1/bookings/not-a-uuid", Some(&user.token)).await.expect(400);
    assert!(r.body["errors"].is_array(), "{}", r.text);
    assert_eq!(r.code(), "validation");
    // A traceparent that breaks the contract's pattern.
    let r = app
        .client
        .get(format!("{}/v1/bookings/{}", app.address, uuid::Uuid::new_v4()))
        .bearer_auth(&user.token)
        .header("traceparent", "nonsense")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}
