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
    let r = app.get_booking_by_id(id, Some(&user.token)).await.expect(404);
    assert_eq!(r.code(), "notFound");
    // Its 404 is the list envelope, like its 400 (one error body per operation, merge.yaml).
    assert!(r.body.get("code").is_none(), "{}", r.text);
    assert_eq!(r.body["errors"].as_array().map(Vec::len), Some(1), "{}", r.text);
    assert_eq!(r.error()["endpoint"], "GET /v1/bookings/{bookingId}");
}

db_tests!(health_and_readiness, get_booking_by_id_reads_the_database);

fn contract() -> Value {
    serde_yaml::from_str(bookings::edge::CONTRACT_YAML).unwrap()
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
    assert_eq!(yaml.text, bookings::edge::CONTRACT_YAML);
    // The committed copy is what build.rs emitted.
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/generated/openapi.yaml")).unwrap();
    assert_eq!(committed, bookings::edge::CONTRACT_YAML, "generated/openapi.yaml drifted: run `make generate`");
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
    let r = app.send(reqwest::Method::OPTIONS, "/v1/bookings/notify", None, None).await.expect(405);
    assert_eq!(r.headers["allow"], "POST");
    // A route with path parameters knows its methods too.
    let path = format!("/v1/bookings/{}", uuid::Uuid::new_v4());
    let r = app.send(reqwest::Method::PUT, &path, None, Some(json!({}))).await.expect(405);
    assert_eq!(r.headers["allow"], "GET");
    let r = app.send(reqwest::Method::DELETE, "/v1/booking/some-token/availability", None, None).await.expect(405);
    assert_eq!(r.headers["allow"], "GET");
}

#[tokio::test]
async fn client_request_ids_are_echoed_and_bad_ones_replaced() {
    let app = spawn_app(Backend::Sqlite).await;
    let r = app.client.get(format!("{}/healthz", app.address)).header("x-request-id", "abc-123").send().await.unwrap();
    assert_eq!(r.headers()["x-request-id"], "abc-123");
    let r = app
        .client
        .get(format!("{}/healthz", app.address))
        .header("x-request-id", "bad id with spaces")
        .send()
        .await
        .unwrap();
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
    let r = app.create_calendar(Some(&user.token), json!({})).await.expect(400);
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

#[tokio::test]
async fn request_bodies_are_parsed_strictly() {
    let app = spawn_app(Backend::Sqlite).await;
    let user = app.user();
    // poem-openapi alone would read `false` into a string field.
    let r = app.create_calendar(Some(&user.token), json!({"name": false})).await.expect(400);
    assert!(r.error()["message"].as_str().unwrap().contains("body.name must be a string"), "{}", r.text);
    let r = app.create_calendar(Some(&user.token), json!({"name": 12})).await.expect(400);
    assert_eq!(r.code(), "validation");
    let cal = app.new_calendar(&user).await;
    // `null` where the contract does not allow it.
    let r = app
        .create_booking_link(
            cal,
            Some(&user.token),
            json!({"duration_minutes": 30, "timezone": "UTC", "working_hours": {"mon": null}}),
        )
        .await
        .expect(400);
    assert!(r.error()["message"].as_str().unwrap().contains("body.working_hours.mon must not be null"), "{}", r.text);
    let r = app.update_booking_link(cal, "x", Some(&user.token), json!({"working_hours": null})).await;
    assert_eq!(r.status, 400, "{}", r.text);
    // A body that is not an object at all.
    app.create_calendar(Some(&user.token), json!(["x"])).await.expect(400);
}

/// An empty header is a value, and an empty `traceparent` breaks the contract's pattern.
#[tokio::test]
async fn an_empty_traceparent_is_refused() {
    let app = spawn_app(Backend::Sqlite).await;
    let user = app.user();
    let r = app
        .client
        .get(format!("{}/v1/bookings/{}", app.address, uuid::Uuid::new_v4()))
        .bearer_auth(&user.token)
        .header("traceparent", "")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn unknown_query_parameters_are_refused() {
    let app = spawn_app(Backend::Sqlite).await;
    let user = app.user();
    let r = app.get_bookings(&format!("userId={}&userid=typo", user.id), Some(&user.token)).await.expect(400);
    assert!(r.error()["message"].as_str().unwrap().contains("userid"), "{}", r.text);
    app.get_bookings(&format!("userId={}", user.id), Some(&user.token)).await.expect(200);
}

/// (name, location, required) of every parameter, and the response codes, per operationId.
type Shape = std::collections::BTreeMap<String, (String, String, Vec<(String, String, bool)>, Vec<String>)>;

fn operations_of(doc: &Value) -> Shape {
    let resolve = |v: &Value| -> Value {
        match v.get("$ref").and_then(Value::as_str) {
            Some(r) => doc.pointer(r.trim_start_matches('#')).cloned().unwrap_or(Value::Null),
            None => v.clone(),
        }
    };
    let mut out = Shape::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let mut params: Vec<(String, String, bool)> = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| {
                    let p = resolve(p);
                    (
                        p["name"].as_str().unwrap().to_string(),
                        p["in"].as_str().unwrap().to_string(),
                        p["required"].as_bool().unwrap_or(false),
                    )
                })
                .collect();
            params.sort();
            let mut codes: Vec<String> = op["responses"].as_object().unwrap().keys().cloned().collect();
            codes.sort();
            let id = op["operationId"].as_str().unwrap().to_string();
            out.insert(id, (method.to_uppercase(), path.clone(), params, codes));
        }
    }
    out
}

#[tokio::test]
async fn poem_openapi_routes_exactly_the_contracts_operations() {
    let app = spawn_app(Backend::Sqlite).await;
    let state = bookings::startup::build_state(&app.settings).await.unwrap();
    let routed: Value = serde_json::from_str(&bookings::edge::routed_spec(state)).unwrap();
    let contract = contract();
    let routed_ops = operations_of(&routed);
    let contract_ops = operations_of(&contract);
    assert_eq!(routed_ops.len(), contract_ops.len());
    for (id, expected) in &contract_ops {
        let got = routed_ops.get(id).unwrap_or_else(|| panic!("{id} is not routed"));
        assert_eq!(got, expected, "{id}");
    }
}

#[tokio::test]
async fn public_operations_are_rate_limited_per_client() {
    let app = spawn_app_with(Backend::Sqlite, &["--public-rate-limit", "60", "--public-rate-burst", "3"]).await;
    let range = "start=2030-01-01T00%3A00%3A00Z&end=2030-01-02T00%3A00%3A00Z";
    for _ in 0..3 {
        app.get_booking_availability("no-such-token", range).await.expect(404);
    }
    let r = app.get_booking_availability("no-such-token", range).await.expect(429);
    assert_eq!(r.code(), "tooManyRequests");
    assert!(r.headers.contains_key("retry-after"));
    assert_eq!(r.error()["endpoint"], "GET /v1/booking/{token}/availability");
    // Secured operations are not limited this way.
    let user = app.user();
    for _ in 0..5 {
        app.create_calendar(Some(&user.token), json!({"name": "x"})).await.expect(201);
    }
}

#[tokio::test]
async fn request_bodies_have_a_size_limit() {
    let app = spawn_app_with(Backend::Sqlite, &["--max-body-bytes", "1024"]).await;
    let user = app.user();
    let big = "x".repeat(2048);
    let r = app.create_calendar(Some(&user.token), json!({"name": big})).await.expect(400);
    assert!(r.error()["message"].as_str().unwrap().contains("larger than 1024 bytes"), "{}", r.text);
    // 003 declares its 400s as Errors; the refusal follows the operation's declaration.
    let r = app.post("/v1/bookings/notify", Some(&user.token), json!({"pad": big})).await.expect(400);
    assert!(r.body["errors"].is_array(), "{}", r.text);
    // A streamed body without a length is cut off at the limit too.
    let chunks: Vec<Result<String, std::io::Error>> = vec![Ok(format!("{{\"name\": \"{big}\"}}"))];
    let r = app
        .client
        .post(format!("{}/v1/calendars", app.address))
        .bearer_auth(&user.token)
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    app.create_calendar(Some(&user.token), json!({"name": "small"})).await.expect(201);
}
