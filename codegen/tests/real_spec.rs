//! The real contract: spec/ merges and renders, deterministically, into what the seed documents
//! promise; and the restored seed documents are faithful to the shared originals.

mod common;

use common::*;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::PathBuf;

/// The public booking operations, and the guest's, in the contract's order (the manage token
/// is their secret).
const PUBLIC_OPERATIONS: [&str; 5] =
    ["getBookingAvailability", "reserveBookingSlot", "getReservation", "cancelReservation", "rescheduleReservation"];
const DOCUMENTS: [&str; 3] = ["000_calendar.json", "003_lekobookings.yaml", "100_companion.yaml"];
const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

fn spec_dir() -> PathBuf {
    workspace().join("spec")
}

fn generate_real() -> codegen::Output {
    codegen::generate(&spec_dir(), &templates()).unwrap_or_else(|e| panic!("the real spec/ must build: {e:#}"))
}

fn merged() -> Value {
    serde_yaml::from_str(&generate_real().openapi_yaml).expect("merged contract parses")
}

/// A document of spec/, parsed independently of the generator.
fn spec_document(name: &str) -> Value {
    let path = spec_dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    if name.ends_with(".json") {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
    } else {
        serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
    }
}

/// (path, method, operationId) of every operation of a document.
fn operations_of(doc: &Value) -> Vec<(String, String, String)> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for (method, op) in item.as_object().into_iter().flatten() {
            if METHODS.contains(&method.as_str()) {
                let id = op["operationId"].as_str().unwrap_or_else(|| panic!("{method} {path} has no operationId"));
                ops.push((path.clone(), method.clone(), id.to_string()));
            }
        }
    }
    ops
}

fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// JSON pointers of every `$ref` equal to `target` in `value`.
fn refs_to(value: &Value, target: &str, at: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if k == "$ref" && v.as_str() == Some(target) {
                    out.push(format!("{at}/$ref"));
                } else {
                    refs_to(v, target, format!("{at}/{}", escape(k)), out);
                }
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                refs_to(v, target, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// A seed document as it was given, kept verbatim in spec/seeds/ so the repository stands alone.
fn seed(name: &str) -> String {
    let path = spec_dir().join("seeds").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("the seed {} cannot be read: {e}", path.display()))
}

// ---- building ----------------------------------------------------------------------------------

#[test]
fn the_real_spec_builds() {
    let out = generate_real();
    assert!(!out.openapi_yaml.is_empty() && !out.api_rs.is_empty());
}

#[test]
fn generation_is_deterministic() {
    let first = generate_real();
    let second = generate_real();
    assert!(first.openapi_yaml == second.openapi_yaml, "openapi.yaml differs between two runs");
    assert!(first.api_rs == second.api_rs, "api.rs differs between two runs");
}

#[test]
fn the_emitted_rust_starts_with_the_generated_header() {
    let api = generate_real().api_rs;
    assert!(api.starts_with(codegen::HEADER), "api.rs must start with the header");
    assert!(api.starts_with("// @generated"), "api.rs must start with `// @generated`");
}

// ---- the merged contract -----------------------------------------------------------------------

#[test]
fn the_contract_is_openapi_3_0_3() {
    assert_eq!(merged()["openapi"], json!("3.0.3"));
}

#[test]
fn every_operation_of_the_three_documents_is_kept_under_its_path_and_method() {
    let merged = merged();
    let mut expected = BTreeSet::new();
    for name in DOCUMENTS {
        let ops = operations_of(&spec_document(name));
        assert!(!ops.is_empty(), "{name} defines no operations");
        for (path, method, id) in ops {
            let op = operation(&merged, &path, &method);
            assert_eq!(op["operationId"], json!(id), "{} {path} from {name}", method.to_uppercase());
            expected.insert((path, method, id));
        }
    }
    let actual: BTreeSet<_> = operations_of(&merged).into_iter().collect();
    assert_eq!(actual, expected, "the contract has exactly the documents' operations");
}

#[test]
fn the_calendar_documents_time_slot_refs_point_at_available_slot() {
    let merged = merged();
    let calendar = spec_document("000_calendar.json");
    let mut pointers = Vec::new();
    refs_to(&calendar, "#/components/schemas/TimeSlot", String::new(), &mut pointers);
    assert!(!pointers.is_empty(), "000 references TimeSlot");
    for p in &pointers {
        assert_eq!(merged.pointer(p), Some(&json!("#/components/schemas/AvailableSlot")), "{p}");
    }
    let schemas = &merged["components"]["schemas"];
    assert!(schemas.get("AvailableSlot").is_some(), "AvailableSlot is defined");
    // TimeSlot stays 003's coach time slot (with what merge.yaml adds to it: a description).
    let leko = spec_document("003_lekobookings.yaml");
    let time_slot = leko["components"]["schemas"]["TimeSlot"].clone();
    assert_eq!(schemas["TimeSlot"], with_declared_additions(time_slot, "/components/schemas/TimeSlot"));
}

/// `value` with the spec's `additions` under `prefix` applied (as the generator must).
fn with_declared_additions(mut value: Value, prefix: &str) -> Value {
    let settings: Value =
        serde_yaml::from_str(&std::fs::read_to_string(spec_dir().join("merge.yaml")).unwrap()).unwrap();
    for addition in settings["additions"].as_array().into_iter().flatten() {
        let at = addition["at"].as_str().unwrap();
        let Some(rest) = at.strip_prefix(prefix) else {
            continue;
        };
        let (parent, key) = rest.rsplit_once('/').unwrap();
        match value.pointer_mut(parent).unwrap() {
            Value::Array(items) if key == "-" => items.push(addition["value"].clone()),
            Value::Object(map) => {
                map.insert(key.replace("~1", "/").replace("~0", "~"), addition["value"].clone());
            }
            other => panic!("unexpected addition target {other}"),
        }
    }
    value
}

#[test]
fn the_calendar_documents_error_refs_resolve_to_the_leko_error() {
    let merged = merged();
    let calendar = spec_document("000_calendar.json");
    assert!(calendar.pointer("/components/schemas/Error").is_none(), "000 does not define Error itself");
    let mut pointers = Vec::new();
    refs_to(&calendar, "#/components/schemas/Error", String::new(), &mut pointers);
    assert!(!pointers.is_empty(), "000 references Error");
    for p in &pointers {
        assert_eq!(merged.pointer(p), Some(&json!("#/components/schemas/Error")), "{p}");
    }
    let leko_error = spec_document("003_lekobookings.yaml")["components"]["schemas"]["Error"].clone();
    assert!(leko_error.is_object(), "003 defines Error");
    let expected = with_declared_additions(leko_error, "/components/schemas/Error");
    assert_eq!(merged["components"]["schemas"]["Error"], expected);
}

#[test]
fn public_operations_keep_empty_security_and_every_other_operation_has_401() {
    let merged = merged();
    let mut public = Vec::new();
    for (path, method, id) in operations_of(&merged) {
        let op = operation(&merged, &path, &method);
        if op.get("security") == Some(&json!([])) {
            public.push(id.clone());
            assert!(!statuses(op).contains(&"401".to_string()), "{id} is public but declares 401");
        } else {
            assert!(statuses(op).contains(&"401".to_string()), "{id} is secured but lacks 401");
        }
    }
    assert_eq!(public, PUBLIC_OPERATIONS, "exactly the public booking operations are public");
}

#[test]
fn every_operation_has_500() {
    let merged = merged();
    for (path, method, id) in operations_of(&merged) {
        let op = operation(&merged, &path, &method);
        assert!(statuses(op).contains(&"500".to_string()), "{id} lacks 500");
    }
}

#[test]
fn every_ref_of_the_contract_resolves() {
    let merged = merged();
    let mut refs = Vec::new();
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                m.iter().for_each(
                    |(k, v)| {
                        if k == "$ref" {
                            out.push(v.as_str().unwrap().to_string())
                        } else {
                            walk(v, out)
                        }
                    },
                )
            }
            Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    walk(&merged, &mut refs);
    assert!(!refs.is_empty());
    for r in refs {
        assert!(merged.pointer(r.trim_start_matches('#')).is_some(), "unresolved {r}");
    }
}

#[test]
fn booking_order_status_is_defined() {
    let merged = merged();
    let order = &merged["components"]["schemas"]["BookingOrder"];
    assert!(order["required"].as_array().unwrap().contains(&json!("status")));
    assert!(order.pointer("/properties/status").is_some(), "BookingOrder.status is defined in the contract");
}

// ---- the restored seed documents ---------------------------------------------------------------

#[test]
fn the_restored_leko_document_has_the_seeds_tokens() {
    let want = seed("003_d11363c82bcf96cc.txt");
    let got = std::fs::read_to_string(spec_dir().join("003_lekobookings.yaml")).unwrap();
    let want: Vec<&str> = want.split_whitespace().collect();
    let got: Vec<&str> = got.split_whitespace().collect();
    if let Some(i) = want.iter().zip(&got).position(|(w, g)| w != g) {
        panic!("token {i} differs: spec/003_lekobookings.yaml has {:?}, the seed {:?}", got[i], want[i]);
    }
    assert_eq!(got.len(), want.len(), "token count: spec/003_lekobookings.yaml vs the seed");
}

#[test]
fn the_calendar_document_is_the_seeds_json() {
    let want: Value = serde_json::from_str(&seed("000_a1235934d45c2beb.txt")).expect("the 000 seed is JSON");
    let got = spec_document("000_calendar.json");
    assert!(got == want, "spec/000_calendar.json does not parse to the same JSON value as the seed");
}

#[test]
fn without_its_additions_the_booking_order_status_flaw_stops_the_build() {
    // The seed's BookingOrder requires `status` but never defines it; merge.yaml's additions
    // define it. Without them the real contract must not build.
    let dir = tempfile::tempdir().unwrap();
    for name in DOCUMENTS {
        std::fs::copy(spec_dir().join(name), dir.path().join(name)).unwrap();
    }
    let mut settings: Value =
        serde_yaml::from_str(&std::fs::read_to_string(spec_dir().join("merge.yaml")).unwrap()).unwrap();
    let additions = settings["additions"].as_array_mut().expect("merge.yaml has additions");
    let before = additions.len();
    additions.retain(|a| !a["at"].as_str().unwrap().starts_with("/components/schemas/BookingOrder"));
    assert!(additions.len() < before, "merge.yaml defines BookingOrder.status by additions");
    std::fs::write(dir.path().join("merge.yaml"), serde_yaml::to_string(&settings).unwrap()).unwrap();
    let err = match codegen::generate(dir.path(), &templates()) {
        Ok(_) => panic!("the contract built although BookingOrder.status is undefined"),
        Err(e) => format!("{e:#}"),
    };
    assert!(err.contains("BookingOrder") && err.contains("`status` is required but never defined"), "{err}");
}

#[test]
fn the_contract_has_no_null_valued_keys() {
    fn walk(v: &Value, at: &str) {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    assert!(!(v.is_null() && k != "example" && k != "default"), "{at}/{k} is null");
                    if k != "example" && k != "examples" {
                        walk(v, &format!("{at}/{k}"));
                    }
                }
            }
            Value::Array(items) => items.iter().enumerate().for_each(|(i, v)| walk(v, &format!("{at}/{i}"))),
            _ => {}
        }
    }
    walk(&merged(), "");
}

// ---- one error body per operation --------------------------------------------------------------

/// status -> the schema name of each error (4xx/5xx) response of `op`, following response `$ref`s.
fn error_bodies(merged: &Value, op: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (status, resp) in op["responses"].as_object().into_iter().flatten() {
        if !(status.starts_with('4') || status.starts_with('5')) {
            continue;
        }
        let mut resp = resp;
        while let Some(r) = resp.get("$ref").and_then(Value::as_str) {
            resp = merged.pointer(r.trim_start_matches('#')).expect("refs resolve");
        }
        let schema = resp
            .pointer("/content/application~1json/schema/$ref")
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("{} {status} has no schema $ref", op["operationId"]));
        out.push((status.clone(), schema.trim_start_matches("#/components/schemas/").to_string()));
    }
    out
}

#[test]
fn every_operation_answers_one_error_body_type() {
    // Clients that type an operation's errors as one type (progenitor) need it; sdk-check proves it.
    let merged = merged();
    for (path, method, id) in operations_of(&merged) {
        let bodies = error_bodies(&merged, operation(&merged, &path, &method));
        let kinds: BTreeSet<&str> = bodies.iter().map(|(_, s)| s.as_str()).collect();
        assert_eq!(kinds.len(), 1, "{id} answers its errors in more than one body type: {bodies:?}");
    }
}

#[test]
fn leko_operations_answer_errors_book_events_its_own_response_and_the_rest_error() {
    let merged = merged();
    let mut leko = 0;
    for (path, method, id) in operations_of(&merged) {
        let op = operation(&merged, &path, &method);
        let want = match (op["tags"][0].as_str(), id.as_str()) {
            (_, "bookEvents") => "BookEventErrorResponse",
            (Some("Bookings"), _) => {
                leko += 1;
                "Errors"
            }
            _ => "Error",
        };
        for (status, schema) in error_bodies(&merged, op) {
            assert_eq!(schema, want, "{id} {status}");
        }
    }
    // The seed's eight operations but bookEvents, and the companion's cancel and disputes.
    assert_eq!(leko, 11, "LE-KO operations answering Errors");
    // A not-found booking, for instance, is the list envelope.
    let by_id = operation(&merged, "/bookings/{bookingId}", "get");
    assert_eq!(
        by_id.pointer("/responses/404/content/application~1json/schema/$ref"),
        Some(&json!("#/components/schemas/Errors"))
    );
}
