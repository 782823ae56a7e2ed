//! Fixture contracts for the generator tests: a temp dir holding a `merge.yaml` and the documents
//! it lists, generated with the real templates in `codegen/templates`.
#![allow(dead_code)]

use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// The workspace root (the parent of the codegen crate).
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

pub fn templates() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("templates")
}

pub struct Fixture {
    pub dir: tempfile::TempDir,
}

impl Fixture {
    /// Writes `settings` as `merge.yaml` and each document under its file name (JSON for `.json`,
    /// YAML otherwise).
    pub fn new(settings: &Value, docs: &[(&str, &Value)]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("merge.yaml"), serde_yaml::to_string(settings).unwrap()).unwrap();
        for (name, doc) in docs {
            let text = if name.ends_with(".json") {
                serde_json::to_string_pretty(doc).unwrap()
            } else {
                serde_yaml::to_string(doc).unwrap()
            };
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        Fixture { dir }
    }

    pub fn generate(&self) -> anyhow::Result<codegen::Output> {
        codegen::generate(self.dir.path(), &templates())
    }

    /// Generates, panicking with the whole error chain on failure; returns the merged contract
    /// (parsed back from the emitted YAML) and the emitted Rust.
    pub fn ok(&self) -> (Value, String) {
        match self.generate() {
            Ok(out) => (serde_yaml::from_str(&out.openapi_yaml).expect("emitted YAML parses"), out.api_rs),
            Err(err) => panic!("expected the fixture to generate, got: {err:#}"),
        }
    }

    /// Generates, expecting failure; returns the whole error chain as one string.
    pub fn err(&self) -> String {
        match self.generate() {
            Ok(_) => panic!("expected the fixture to be rejected, but it generated"),
            Err(err) => format!("{err:#}"),
        }
    }

    /// Asserts generation fails with a message containing every needle.
    pub fn rejects(&self, needles: &[&str]) -> String {
        let msg = self.err();
        for needle in needles {
            assert!(msg.contains(needle), "error should mention {needle:?}, got: {msg}");
        }
        msg
    }
}

/// merge.yaml with the given `documents` entries: one tag `A`, bearer security, the error
/// envelope, and the 401-on-secured and 500-on-all additions the generator insists on.
pub fn settings(documents: Value) -> Value {
    json!({
        "openapi": "3.0.3",
        "info": {"title": "Fixture", "version": "1.0.0"},
        "servers": [{"url": "/v1"}],
        "security": [{"bearerHttpAuthentication": []}],
        "tags": [{"name": "A", "description": "fixture operations"}],
        "documents": documents,
        "error_envelope": {"error": "Error", "list": "Errors"},
        "response_additions": [
            {"why": "secured operations reject bad tokens", "operations": "secured", "status": "401",
             "response": {"$ref": "#/components/responses/Unauthorized"}},
            {"why": "anything can fail", "operations": "all", "status": "500",
             "response": {"$ref": "#/components/responses/InternalError"}}
        ]
    })
}

/// `documents` entries for plain files without renames.
pub fn files(names: &[&str]) -> Value {
    Value::Array(names.iter().map(|n| json!({"file": n})).collect())
}

/// A document holding what every fixture contract needs: the security scheme, the error
/// envelope, and the responses the settings add; plus one operation, `ping`.
pub fn base_doc() -> Value {
    let error_content = json!({"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}});
    json!({
        "openapi": "3.0.3",
        "info": {"title": "base", "version": "1"},
        "paths": {
            "/ping": {"get": op("ping", json!({"200": {"description": "pong"}}))}
        },
        "components": {
            "securitySchemes": {"bearerHttpAuthentication": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["code", "message", "endpoint", "requestId"],
                    "properties": {
                        "code": {"type": "string", "enum": ["validation", "unauthorized", "forbidden", "not_found", "too_many_requests", "internal"]},
                        "message": {"type": "string"},
                        "endpoint": {"type": "string"},
                        "requestId": {"type": "string"}
                    }
                },
                "Errors": {
                    "type": "object",
                    "required": ["errors"],
                    "properties": {"errors": {"type": "array", "items": {"$ref": "#/components/schemas/Error"}}}
                }
            },
            "responses": {
                "Unauthorized": {"description": "Unauthorized", "content": error_content.clone()},
                "InternalError": {"description": "Internal error", "content": error_content.clone()},
                "TooManyRequests": {"description": "Too many requests", "content": error_content}
            }
        }
    })
}

/// An operation tagged `A` with the given responses.
pub fn op(id: &str, responses: Value) -> Value {
    json!({"tags": ["A"], "operationId": id, "responses": responses})
}

/// A 200 response whose body is the given schema.
pub fn ok_with(schema: Value) -> Value {
    json!({"200": {"description": "ok", "content": {"application/json": {"schema": schema}}}})
}

pub fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// A minimal document (no security, no envelope) with the given paths and schemas.
pub fn doc(paths: Value, schemas: Value) -> Value {
    json!({
        "openapi": "3.0.3",
        "info": {"title": "fixture", "version": "1"},
        "paths": paths,
        "components": {"schemas": schemas}
    })
}

/// The operation at `path` and `method` of a merged contract.
pub fn operation<'a>(doc: &'a Value, path: &str, method: &str) -> &'a Value {
    doc["paths"]
        .get(path)
        .and_then(|item| item.get(method))
        .unwrap_or_else(|| panic!("{} {path} is missing from the merged contract", method.to_uppercase()))
}

/// Status codes an operation declares.
pub fn statuses(op: &Value) -> Vec<String> {
    op["responses"].as_object().map(|r| r.keys().cloned().collect()).unwrap_or_default()
}
