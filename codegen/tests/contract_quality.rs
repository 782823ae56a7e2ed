//! The merged contract as its readers meet it (Swagger UI, the SDK generators, schemathesis):
//! every example it shows is valid for its schema, every request body has one, every error
//! response shows what the server sends for that operation, every operation says who may call
//! it, and every property of the companion's schemas is described.

mod common;

use common::*;
use serde_json::{json, Map, Value};

const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

fn merged() -> Value {
    codegen::merge::merge(&workspace().join("spec"))
        .unwrap_or_else(|e| panic!("the real spec/ must merge: {e:#}"))
        .document
}

/// `(path, method, operation)` in document order.
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if METHODS.contains(&method.as_str()) {
                out.push((path.clone(), method.clone(), op.clone()));
            }
        }
    }
    out
}

/// An OpenAPI 3.0 schema as JSON Schema (2020-12): `$ref`s inlined, `nullable` as a `null`
/// type, OpenAPI's annotations dropped.
fn json_schema(doc: &Value, schema: &Value, depth: usize) -> Value {
    assert!(depth < 40, "schema nesting too deep (a $ref cycle?)");
    match schema {
        Value::Object(map) => {
            if let Some(r) = map.get("$ref").and_then(Value::as_str) {
                let target = doc.pointer(r.trim_start_matches('#')).unwrap_or_else(|| panic!("unresolved {r}"));
                return json_schema(doc, target, depth + 1);
            }
            let mut out = Map::new();
            for (k, v) in map {
                match k.as_str() {
                    "example" | "nullable" | "deprecated" | "discriminator" | "xml" | "externalDocs" => {}
                    "properties" | "patternProperties" => {
                        let props =
                            v.as_object().unwrap().iter().map(|(n, s)| (n.clone(), json_schema(doc, s, depth + 1)));
                        out.insert(k.clone(), Value::Object(props.collect()));
                    }
                    "items" | "additionalProperties" | "not" => {
                        out.insert(k.clone(), json_schema(doc, v, depth + 1));
                    }
                    "allOf" | "anyOf" | "oneOf" => {
                        let parts = v.as_array().unwrap().iter().map(|s| json_schema(doc, s, depth + 1));
                        out.insert(k.clone(), Value::Array(parts.collect()));
                    }
                    _ => {
                        out.insert(k.clone(), v.clone());
                    }
                }
            }
            if map.get("nullable").and_then(Value::as_bool) == Some(true) {
                return json!({"anyOf": [{"type": "null"}, Value::Object(out)]});
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

fn check(doc: &Value, schema: &Value, instance: &Value, at: &str, failures: &mut Vec<String>) {
    let schema = json_schema(doc, schema, 0);
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&schema)
        .unwrap_or_else(|e| panic!("{at}: the schema does not compile: {e}"));
    for error in validator.iter_errors(instance) {
        failures.push(format!("{at}: {error} (at {})", error.instance_path()));
    }
}

/// Every `example`, `examples` and `default` under `value`, checked against its schema: a media
/// type's, parameter's or header's `schema`, or the schema object that holds it.
fn walk(doc: &Value, value: &Value, at: &str, parent_key: &str, checked: &mut usize, failures: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            // A map of properties (or links, or responses) is named things, not a schema.
            let is_schema_position = !matches!(parent_key, "properties" | "links" | "responses" | "paths");
            if is_schema_position {
                let schema = map.get("schema").unwrap_or(value);
                if let Some(example) = map.get("example") {
                    *checked += 1;
                    check(doc, schema, example, &format!("{at}/example"), failures);
                }
                if let Some(examples) = map.get("examples").and_then(Value::as_object) {
                    for (name, example) in examples {
                        *checked += 1;
                        let example = example.get("value").unwrap_or(&Value::Null);
                        check(doc, schema, example, &format!("{at}/examples/{name}"), failures);
                    }
                }
                if let (Some(default), false) = (map.get("default"), map.contains_key("schema")) {
                    *checked += 1;
                    check(doc, value, default, &format!("{at}/default"), failures);
                }
            }
            for (k, v) in map {
                let skip = is_schema_position && matches!(k.as_str(), "example" | "examples" | "default");
                // A link's parameters and request body are runtime expressions, not data.
                if !skip && parent_key != "links" {
                    walk(doc, v, &format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")), k, checked, failures);
                }
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                walk(doc, v, &format!("{at}/{i}"), "", checked, failures);
            }
        }
        _ => {}
    }
}

#[test]
fn every_example_and_default_is_valid_for_its_schema() {
    let doc = merged();
    let (mut checked, mut failures) = (0, Vec::new());
    walk(&doc, &doc["paths"], "/paths", "paths", &mut checked, &mut failures);
    walk(&doc, &doc["components"], "/components", "components", &mut checked, &mut failures);
    assert!(failures.is_empty(), "{} of {checked} examples are not valid:\n{}", failures.len(), failures.join("\n"));
    // Every operation's error responses carry one at least.
    assert!(checked > 200, "only {checked} examples found: is the walk missing some?");
}

#[test]
fn the_example_check_catches_a_wrong_example() {
    // The seed's original 400 example (an integer code, no endpoint or requestId).
    let mut doc = merged();
    let example = json!({"errors": [{"code": 400, "message": "The request is not valid"}]});
    doc["components"]["schemas"]["Probe"] =
        json!({"type": "object", "properties": {"e": {"$ref": "#/components/schemas/Errors", "example": example}}});
    doc["components"]["schemas"]["Nullable"] = json!({"type": "string", "nullable": true, "example": 5});
    let (mut checked, mut failures) = (0, Vec::new());
    walk(&doc, &doc["components"]["schemas"]["Probe"], "/probe", "schemas", &mut checked, &mut failures);
    walk(&doc, &doc["components"]["schemas"]["Nullable"], "/nullable", "schemas", &mut checked, &mut failures);
    assert_eq!(checked, 2);
    let text = failures.join("\n");
    assert!(text.contains("endpoint") && text.contains("requestId") && text.contains("400"), "{text}");
    assert!(text.contains("/nullable/example"), "{text}");
    // null is fine where nullable.
    let (mut checked, mut failures) = (0, Vec::new());
    let nullable = json!({"type": "string", "nullable": true, "example": null});
    walk(&doc, &nullable, "/n", "schemas", &mut checked, &mut failures);
    assert_eq!((checked, failures.len()), (1, 0), "{failures:?}");
}

#[test]
fn every_request_body_has_an_example() {
    let doc = merged();
    for (path, method, op) in operations(&doc) {
        let Some(body) = op.get("requestBody") else { continue };
        let media = &body["content"]["application/json"];
        assert!(
            media.get("example").is_some() || media.get("examples").is_some(),
            "{} {path} ({}): its request body needs an example for Swagger UI's Try it out",
            method.to_uppercase(),
            op["operationId"]
        );
    }
}

#[test]
fn every_error_response_shows_the_envelope_of_its_operation() {
    let doc = merged();
    let mut codes = std::collections::BTreeMap::new();
    for (path, method, op) in operations(&doc) {
        let endpoint = format!("{} /v1{path}", method.to_uppercase());
        for (status, response) in op["responses"].as_object().unwrap() {
            if status.as_str() < "400" {
                continue;
            }
            let id = &op["operationId"];
            assert!(response.get("$ref").is_none(), "{id} {status}: written out, so its example names {endpoint}");
            let example = &response["content"]["application/json"]["example"];
            let errors = match example.get("errors").and_then(Value::as_array) {
                Some(list) if example.get("code").is_none() => list.clone(),
                _ => vec![example.clone()],
            };
            assert!(!errors.is_empty(), "{id} {status}: {example}");
            for e in errors {
                assert_eq!(e["endpoint"], endpoint.as_str(), "{id} {status}: {example}");
                assert!(e["requestId"].as_str().is_some_and(|r| !r.is_empty()), "{id} {status}: {example}");
                codes.entry(status.clone()).or_insert_with(std::collections::BTreeSet::new).insert(
                    e["code"].as_str().unwrap_or_else(|| panic!("{id} {status}: a string code: {example}")).to_string(),
                );
            }
        }
    }
    // One meaning per status, as the server's edge maps them (src/handlers/errors.rs).
    let expected = [
        ("400", "validation"),
        ("401", "unauthorized"),
        ("403", "forbidden"),
        ("404", "notFound"),
        ("409", "conflict"),
        ("429", "tooManyRequests"),
        ("500", "internal"),
        ("503", "unavailable"),
    ];
    for (status, code) in expected {
        let seen: Vec<&String> = codes[status].iter().collect();
        assert_eq!(seen, vec![code], "status {status}");
    }
    assert!(doc["components"].get("responses").is_none(), "shared responses left unreferenced");
}

#[test]
fn every_operation_has_a_summary_and_says_who_may_call_it() {
    let doc = merged();
    for (path, method, op) in operations(&doc) {
        let id = &op["operationId"];
        for field in ["summary", "description"] {
            let text = op[field].as_str().unwrap_or_default().trim();
            assert!(!text.is_empty(), "{} {path} ({id}) has no {field}", method.to_uppercase());
        }
    }
}

/// A property is described by its own `description`, or by the schema its `$ref` names.
fn described(doc: &Value, prop: &Value) -> bool {
    if prop.get("description").and_then(Value::as_str).is_some_and(|d| !d.trim().is_empty()) {
        return true;
    }
    match prop.get("$ref").and_then(Value::as_str) {
        Some(r) => doc.pointer(r.trim_start_matches('#')).is_some_and(|target| described(doc, target)),
        None => false,
    }
}

#[test]
fn every_companion_schema_property_is_described() {
    let doc = merged();
    let text = std::fs::read_to_string(workspace().join("spec/100_companion.yaml")).unwrap();
    let companion: Value = serde_yaml::from_str(&text).unwrap();
    let mut missing = Vec::new();
    for (name, schema) in companion["components"]["schemas"].as_object().unwrap() {
        for (prop, value) in schema.get("properties").and_then(Value::as_object).into_iter().flatten() {
            if !described(&doc, value) {
                missing.push(format!("{name}.{prop}"));
            }
        }
    }
    assert!(missing.is_empty(), "companion properties without a description: {}", missing.join(", "));
}

#[test]
fn links_name_operations_and_parameters_that_exist() {
    let doc = merged();
    let ops = operations(&doc);
    let mut links = 0;
    for (_, _, op) in &ops {
        for (status, response) in op["responses"].as_object().unwrap() {
            for (name, link) in response.get("links").and_then(Value::as_object).into_iter().flatten() {
                links += 1;
                let target = link["operationId"].as_str().unwrap_or_else(|| panic!("{name}: an operationId"));
                let (tpath, _, top) = ops
                    .iter()
                    .find(|(_, _, o)| o["operationId"] == target)
                    .unwrap_or_else(|| panic!("{} {status} {name}: no operation {target}", op["operationId"]));
                for param in link.get("parameters").and_then(Value::as_object).into_iter().flatten().map(|p| p.0) {
                    let mut declared = top["parameters"].as_array().cloned().unwrap_or_default();
                    declared.extend(doc["paths"][tpath]["parameters"].as_array().cloned().unwrap_or_default());
                    let known = declared.iter().any(|p| {
                        let p = match p.get("$ref").and_then(Value::as_str) {
                            Some(r) => doc.pointer(r.trim_start_matches('#')).unwrap(),
                            None => p,
                        };
                        p["name"] == param.as_str()
                    });
                    assert!(known, "{} {status} {name}: {target} has no parameter {param}", op["operationId"]);
                }
            }
        }
    }
    assert!(links >= 25, "only {links} links");
}
