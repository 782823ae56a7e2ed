//! Merges the OpenAPI documents listed in `spec/merge.yaml` into one OpenAPI 3.0.3 contract.
//!
//! Rules (each one is an error when broken, so a bad contract never builds):
//! - same-named components that are identical are shared; same-named components that differ are
//!   an error unless the settings rename one of them (the rename also rewrites that document's
//!   `$ref`s);
//! - colliding paths (same path and method) and duplicate operationIds are errors;
//! - every `$ref` must resolve in the merged document;
//! - the settings *add*: a response an operation lacks, or a value at a JSON pointer that does
//!   not exist yet;
//! - the settings replace or remove only what an `overrides` entry names, and only while the
//!   documents still say there exactly what the entry `expect`s: a seed that changes under an
//!   override stops the build instead of being silently overridden.
//!
//! Order: the documents are merged (renames applied), then `overrides` in their order, then
//! `response_additions`, then `additions`, then `error_examples`: every error response of every
//! operation is written out in the operation (no longer a `$ref`) with an example in the error
//! envelope stamped with that operation's `endpoint` and a request id, as the server answers it;
//! the shared responses no operation references any more are then dropped.
//!
//! Output order is deterministic: paths in the order of the documents and of each document,
//! components sorted by name.

use anyhow::{anyhow, bail, Context, Result};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::Path;

pub const HTTP_METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
const COMPONENT_SECTIONS: [&str; 7] =
    ["schemas", "parameters", "responses", "securitySchemes", "requestBodies", "headers", "examples"];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub openapi: String,
    pub info: Value,
    pub servers: Vec<Value>,
    pub security: Vec<Value>,
    #[serde(default)]
    pub tags: Vec<Value>,
    pub documents: Vec<DocumentSettings>,
    pub error_envelope: ErrorEnvelope,
    #[serde(default)]
    pub response_additions: Vec<ResponseAddition>,
    #[serde(default)]
    pub additions: Vec<Addition>,
    #[serde(default)]
    pub overrides: Vec<Override>,
    #[serde(default)]
    pub error_examples: Option<ErrorExamples>,
    /// Header parameters the server's edge consumes before an operation runs (see
    /// [`EdgeHeader`]).
    #[serde(default)]
    pub edge_headers: Vec<EdgeHeader>,
}

/// A header parameter served by the edge, not by the operation (a trace context, an
/// Idempotency-Key): it stays declared in the contract, and the generated route still parses
/// and validates it, but the handler trait does not take it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EdgeHeader {
    pub name: String,
    pub why: String,
}

/// How each operation's error responses get their examples (see the module's Order).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorExamples {
    pub why: String,
    /// The `requestId` every example shows.
    pub request_id: String,
    /// By status: the code and message of the example of a response that gives none itself.
    pub defaults: BTreeMap<String, ExampleError>,
    /// By operationId, then status: the code and message where that operation's answer says
    /// something more specific (they win over the response's own example).
    #[serde(default)]
    pub operations: BTreeMap<String, BTreeMap<String, ExampleError>>,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct ExampleError {
    pub code: String,
    pub message: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentSettings {
    pub file: String,
    #[serde(default)]
    pub renames: Vec<Rename>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rename {
    pub why: String,
    /// Component section, e.g. `schemas`.
    pub section: String,
    pub from: String,
    pub to: String,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct ErrorEnvelope {
    /// The single error object (`Error`).
    pub error: String,
    /// The list form (`Errors`: `{errors: [Error]}`).
    pub list: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponseAddition {
    pub why: String,
    pub operations: OperationSelector,
    pub status: String,
    pub response: Value,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum OperationSelector {
    /// `all`, `secured` or `public`.
    Kind(String),
    /// Explicit operationIds.
    Ids(Vec<String>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Addition {
    pub why: String,
    /// JSON pointer (RFC 6901) of a location that must not exist yet; its parent must exist.
    pub at: String,
    pub value: Value,
}

/// A declared replacement of what the merged documents say at one JSON pointer.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Override {
    pub why: String,
    /// JSON pointer (RFC 6901) of a location that must exist in the merged documents.
    pub at: String,
    /// What the documents say there now; anything else fails the merge.
    pub expect: Value,
    /// The replacement (exactly one of `value` and `remove: true`).
    #[serde(default)]
    pub value: Option<Value>,
    /// Delete the key (or array item) instead of replacing it.
    #[serde(default)]
    pub remove: bool,
}

pub struct Merged {
    pub document: Value,
    pub settings: Settings,
}

pub fn load_settings(spec_dir: &Path) -> Result<Settings> {
    let path = spec_dir.join("merge.yaml");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let settings: Settings = serde_yaml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    for (i, r) in settings.response_additions.iter().enumerate() {
        if r.why.trim().is_empty() {
            bail!("response_additions[{i}] needs a `why`");
        }
    }
    for (i, a) in settings.additions.iter().enumerate() {
        if a.why.trim().is_empty() {
            bail!("additions[{i}] needs a `why`");
        }
    }
    let mut seen: Vec<&str> = Vec::new();
    for (i, o) in settings.overrides.iter().enumerate() {
        if o.why.trim().is_empty() {
            bail!("overrides[{i}] (at {}) needs a `why`", o.at);
        }
        if !o.at.starts_with('/') {
            bail!("overrides[{i}]: `at` must be a JSON pointer starting with /, not {:?}", o.at);
        }
        match (&o.value, o.remove) {
            (Some(_), true) => bail!("overrides[{i}] at {}: give either `value` or `remove: true`, not both", o.at),
            (None, false) => bail!("overrides[{i}] at {}: needs a `value` (or `remove: true`)", o.at),
            _ => {}
        }
        if seen.contains(&o.at.as_str()) {
            bail!("overrides[{i}]: {} is overridden twice", o.at);
        }
        seen.push(&o.at);
    }
    Ok(settings)
}

pub fn load_document(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let value: Value = if path.extension().and_then(|e| e.to_str()) == Some("json") {
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?
    } else {
        serde_yaml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?
    };
    if !value.is_object() {
        bail!("{} is not an object", path.display());
    }
    Ok(value)
}

/// Rewrites every `$ref` equal to `from` into `to`, recursively.
fn rewrite_refs(value: &mut Value, from: &str, to: &str) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if k == "$ref" {
                    if v.as_str() == Some(from) {
                        *v = Value::String(to.to_string());
                    }
                } else {
                    rewrite_refs(v, from, to);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rewrite_refs(v, from, to)),
        _ => {}
    }
}

fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if k == "$ref" {
                    if let Some(s) = v.as_str() {
                        out.push(s.to_string());
                    }
                } else {
                    collect_refs(v, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

/// Resolves a local JSON pointer (`#/a/b` or `/a/b`).
pub fn pointer<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
    doc.pointer(reference.trim_start_matches('#'))
}

pub fn merge(spec_dir: &Path) -> Result<Merged> {
    let settings = load_settings(spec_dir)?;
    let mut paths = Map::new();
    let mut components: BTreeMap<&str, BTreeMap<String, (Value, String)>> = BTreeMap::new();
    let mut operation_ids: BTreeMap<String, String> = BTreeMap::new();

    for doc_settings in &settings.documents {
        let file = &doc_settings.file;
        let mut doc = load_document(&spec_dir.join(file))?;
        for rename in &doc_settings.renames {
            if rename.why.trim().is_empty() {
                bail!("rename of {} in {file} needs a `why`", rename.from);
            }
            let from = format!("#/components/{}/{}", rename.section, rename.from);
            let to = format!("#/components/{}/{}", rename.section, rename.to);
            // Renaming a component the document defines must not replace another one it defines.
            if pointer(&doc, &from).is_some() && pointer(&doc, &to).is_some() {
                bail!("{file}: renaming {from} to {to} would replace the document's own {to}");
            }
            rewrite_refs(&mut doc, &from, &to);
            if let Some(section) = doc
                .get_mut("components")
                .and_then(|c| c.get_mut(rename.section.as_str()))
                .and_then(Value::as_object_mut)
            {
                if let Some(v) = section.remove(&rename.from) {
                    section.insert(rename.to.clone(), v);
                }
            }
        }

        if let Some(doc_paths) = doc.get("paths").and_then(Value::as_object) {
            for (path, item) in doc_paths {
                let item = item.as_object().ok_or_else(|| anyhow!("{file}: path {path} is not an object"))?;
                let target = paths
                    .entry(path.clone())
                    .or_insert_with(|| Value::Object(Map::new()))
                    .as_object_mut()
                    .expect("path items are objects");
                for (method, op) in item {
                    if target.contains_key(method) {
                        bail!("{file}: {} {path} is defined by two documents", method.to_uppercase());
                    }
                    if HTTP_METHODS.contains(&method.as_str()) {
                        let id = op
                            .get("operationId")
                            .and_then(Value::as_str)
                            .ok_or_else(|| anyhow!("{file}: {} {path} has no operationId", method.to_uppercase()))?;
                        if let Some(other) = operation_ids.insert(id.to_string(), file.clone()) {
                            bail!("operationId {id} is defined in {other} and again in {file}");
                        }
                    }
                    target.insert(method.clone(), op.clone());
                }
            }
        }

        if let Some(doc_components) = doc.get("components").and_then(Value::as_object) {
            for (section, entries) in doc_components {
                let section = COMPONENT_SECTIONS
                    .iter()
                    .find(|s| **s == section)
                    .ok_or_else(|| anyhow!("{file}: unsupported component section {section}"))?;
                let entries = entries.as_object().ok_or_else(|| anyhow!("{file}: components.{section}"))?;
                let merged = components.entry(section).or_default();
                for (name, value) in entries {
                    match merged.get(name) {
                        Some((existing, origin)) if existing != value => bail!(
                            "components.{section}.{name} differs between {origin} and {file}; \
                             rename one of them in merge.yaml"
                        ),
                        Some(_) => {}
                        None => {
                            merged.insert(name.clone(), (value.clone(), file.clone()));
                        }
                    }
                }
            }
        }
    }

    let mut doc = Map::new();
    doc.insert("openapi".into(), Value::String(settings.openapi.clone()));
    doc.insert("info".into(), settings.info.clone());
    doc.insert("servers".into(), Value::Array(settings.servers.clone()));
    doc.insert("security".into(), Value::Array(settings.security.clone()));
    doc.insert("tags".into(), Value::Array(settings.tags.clone()));
    doc.insert("paths".into(), Value::Object(paths));
    let mut comps = Map::new();
    for (section, entries) in components {
        let mut m = Map::new();
        for (name, (value, _)) in entries {
            m.insert(name, value);
        }
        comps.insert(section.to_string(), Value::Object(m));
    }
    doc.insert("components".into(), Value::Object(comps));
    let mut doc = Value::Object(doc);

    for o in &settings.overrides {
        apply_override(&mut doc, o)?;
    }
    apply_response_additions(&mut doc, &settings)?;
    for addition in &settings.additions {
        apply_addition(&mut doc, addition)?;
    }
    if let Some(examples) = &settings.error_examples {
        if examples.why.trim().is_empty() {
            bail!("error_examples needs a `why`");
        }
        apply_error_examples(&mut doc, &settings, examples)?;
        drop_unreferenced_responses(&mut doc);
    }
    check_refs(&doc)?;
    check_tags(&doc)?;
    check_no_nulls(&doc, "")?;
    Ok(Merged { document: doc, settings })
}

/// Whether an operation needs authentication: its own `security`, else the document's.
pub fn is_secured(doc: &Value, op: &Value) -> bool {
    let security = op.get("security").or_else(|| doc.get("security"));
    matches!(security, Some(Value::Array(items)) if !items.is_empty())
}

fn apply_response_additions(doc: &mut Value, settings: &Settings) -> Result<()> {
    let snapshot = doc.clone();
    let known: Vec<String> = operations(&snapshot).map(|o| o.id.to_string()).collect();
    for addition in &settings.response_additions {
        if let OperationSelector::Ids(ids) = &addition.operations {
            for id in ids {
                if !known.contains(id) {
                    bail!("response addition {} names unknown operationId {id}", addition.status);
                }
            }
        }
        if let OperationSelector::Kind(kind) = &addition.operations {
            if !["all", "secured", "public"].contains(&kind.as_str()) {
                bail!("response addition selector must be all, secured, public or a list of operationIds, not {kind}");
            }
        }
    }
    let paths = doc["paths"].as_object_mut().expect("paths");
    for (_, item) in paths.iter_mut() {
        for (method, op) in item.as_object_mut().expect("path item").iter_mut() {
            if !HTTP_METHODS.contains(&method.as_str()) {
                continue;
            }
            let secured = is_secured(&snapshot, op);
            let id = op["operationId"].as_str().unwrap_or_default().to_string();
            for addition in &settings.response_additions {
                let applies = match &addition.operations {
                    OperationSelector::Kind(k) if k == "all" => true,
                    OperationSelector::Kind(k) if k == "secured" => secured,
                    OperationSelector::Kind(_) => !secured,
                    OperationSelector::Ids(ids) => ids.contains(&id),
                };
                if !applies {
                    continue;
                }
                let responses = op
                    .get_mut("responses")
                    .and_then(Value::as_object_mut)
                    .ok_or_else(|| anyhow!("{id} has no responses"))?;
                if !responses.contains_key(&addition.status) {
                    responses.insert(addition.status.clone(), addition.response.clone());
                    sort_responses(responses);
                }
            }
        }
    }
    Ok(())
}

fn sort_responses(responses: &mut Map<String, Value>) {
    let mut entries: Vec<(String, Value)> = std::mem::take(responses).into_iter().collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    responses.extend(entries);
}

fn apply_addition(doc: &mut Value, addition: &Addition) -> Result<()> {
    let (parent, key) =
        addition.at.rsplit_once('/').ok_or_else(|| anyhow!("addition at {}: not a JSON pointer", addition.at))?;
    let key = key.replace("~1", "/").replace("~0", "~");
    let parent_value = doc
        .pointer_mut(parent)
        .ok_or_else(|| anyhow!("addition at {}: parent {parent} does not exist", addition.at))?;
    match parent_value {
        Value::Object(map) => {
            if map.contains_key(&key) {
                bail!("addition at {} would overwrite what the documents say", addition.at);
            }
            map.insert(key, addition.value.clone());
        }
        Value::Array(items) if key == "-" => items.push(addition.value.clone()),
        _ => bail!("addition at {}: parent is not an object (or `-` on an array)", addition.at),
    }
    Ok(())
}

fn apply_override(doc: &mut Value, o: &Override) -> Result<()> {
    let found = doc.pointer(&o.at).ok_or_else(|| {
        anyhow!("override at {}: the documents have nothing there (overrides only replace; use additions to add)", o.at)
    })?;
    if *found != o.expect {
        bail!(
            "override at {}: expected {} but the documents have {}; did a seed change? \
             Review the override (and its `expect`) in merge.yaml",
            o.at,
            serde_json::to_string(&o.expect)?,
            serde_json::to_string(found)?
        );
    }
    match &o.value {
        Some(value) => *doc.pointer_mut(&o.at).expect("found above") = value.clone(),
        None => {
            let (parent, key) = o.at.rsplit_once('/').expect("starts with /");
            let key = key.replace("~1", "/").replace("~0", "~");
            match doc.pointer_mut(parent).expect("the parent of an existing value exists") {
                Value::Object(map) => {
                    map.remove(&key);
                }
                Value::Array(items) => {
                    items.remove(key.parse::<usize>().expect("an existing array index"));
                }
                _ => unreachable!("only objects and arrays have children"),
            }
        }
    }
    Ok(())
}

/// Writes every error response (status 400 and up, with a JSON body) out in its operation, its
/// example in the error envelope: the response's own example if it has one, else the default for
/// its status, wrapped in the list envelope where the body is that; every error object in it
/// then gets the operation's `endpoint` (`METHOD /base/path`, as the server fills it) and the
/// request id.
fn apply_error_examples(doc: &mut Value, settings: &Settings, examples: &ErrorExamples) -> Result<()> {
    let base = settings
        .servers
        .first()
        .and_then(|s| s.get("url"))
        .and_then(Value::as_str)
        .filter(|u| u.starts_with('/'))
        .unwrap_or("")
        .trim_end_matches('/')
        .to_string();
    let snapshot = doc.clone();
    let envelope = &settings.error_envelope;
    let paths = doc["paths"].as_object_mut().expect("paths");
    for (path, item) in paths.iter_mut() {
        for (method, op) in item.as_object_mut().expect("path item").iter_mut() {
            if !HTTP_METHODS.contains(&method.as_str()) {
                continue;
            }
            let id = op["operationId"].as_str().unwrap_or_default().to_string();
            let endpoint = format!("{} {base}{path}", method.to_uppercase());
            let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else { continue };
            for (status, response) in responses.iter_mut() {
                if status.parse::<u16>().map_or(true, |code| code < 400) {
                    continue;
                }
                let mut resolved = response.clone();
                let mut hops = 0;
                while let Some(reference) = resolved.get("$ref").and_then(Value::as_str) {
                    hops += 1;
                    if hops > 8 {
                        bail!("{id} {status}: $ref loop at {reference}");
                    }
                    resolved = pointer(&snapshot, reference)
                        .ok_or_else(|| anyhow!("{id} {status}: unresolved $ref {reference}"))?
                        .clone();
                }
                let Some(media) = resolved.pointer_mut("/content/application~1json").and_then(Value::as_object_mut)
                else {
                    continue;
                };
                if media.contains_key("examples") {
                    bail!("{id} {status}: give an error response one `example`, not `examples`");
                }
                let list = match envelope_kind(&snapshot, envelope, media.get("schema")) {
                    Some(list) => list,
                    None => bail!("{id} {status}: an error response's body must be the error envelope"),
                };
                let specific = examples.operations.get(&id).and_then(|by_status| by_status.get(status));
                let example = match (specific, media.get("example")) {
                    (None, Some(example)) => example.clone(),
                    (specific, _) => {
                        let default = specific.or_else(|| examples.defaults.get(status)).ok_or_else(|| {
                            anyhow!("{id} {status}: no example, and error_examples has no default for {status}")
                        })?;
                        let error = serde_json::json!({"code": default.code, "message": default.message});
                        if list {
                            serde_json::json!({"errors": [error]})
                        } else {
                            error
                        }
                    }
                };
                media.insert("example".into(), stamp(example, &endpoint, &examples.request_id));
                *response = resolved;
            }
        }
    }
    for (id, by_status) in &examples.operations {
        for status in by_status.keys() {
            let declared = operations(doc).any(|op| op.id == id && op.op["responses"].get(status).is_some());
            if !declared {
                bail!("error_examples.operations: {id} declares no {status}");
            }
        }
    }
    Ok(())
}

/// Whether an error body is the list envelope (`Some(true)`), the single one or an `allOf` that
/// extends it (`Some(false)`), or neither (`None`).
fn envelope_kind(doc: &Value, envelope: &ErrorEnvelope, schema: Option<&Value>) -> Option<bool> {
    let name = schema?.get("$ref")?.as_str()?.strip_prefix("#/components/schemas/")?;
    if name == envelope.list {
        return Some(true);
    }
    if name == envelope.error {
        return Some(false);
    }
    let single = format!("#/components/schemas/{}", envelope.error);
    let extends = doc
        .pointer(&format!("/components/schemas/{name}/allOf"))?
        .as_array()?
        .iter()
        .any(|part| part.get("$ref").and_then(Value::as_str) == Some(single.as_str()));
    extends.then_some(false)
}

/// Every object with a `code` and a `message` (an error) gets `endpoint` and `requestId`.
fn stamp(mut example: Value, endpoint: &str, request_id: &str) -> Value {
    fn walk(value: &mut Value, endpoint: &str, request_id: &str) {
        match value {
            Value::Object(map) => {
                if map.contains_key("code") && map.contains_key("message") {
                    map.insert("endpoint".into(), Value::String(endpoint.to_string()));
                    map.insert("requestId".into(), Value::String(request_id.to_string()));
                }
                map.values_mut().for_each(|v| walk(v, endpoint, request_id));
            }
            Value::Array(items) => items.iter_mut().for_each(|v| walk(v, endpoint, request_id)),
            _ => {}
        }
    }
    walk(&mut example, endpoint, request_id);
    example
}

/// Drops the shared responses nothing references any more (every error response is written out
/// in its operation by `apply_error_examples`).
fn drop_unreferenced_responses(doc: &mut Value) {
    let mut refs = Vec::new();
    collect_refs(doc, &mut refs);
    let Some(responses) = doc.pointer_mut("/components/responses").and_then(Value::as_object_mut) else { return };
    responses.retain(|name, _| {
        let escaped = name.replace('~', "~0").replace('/', "~1");
        refs.iter().any(|r| r == &format!("#/components/responses/{escaped}"))
    });
    if responses.is_empty() {
        doc["components"].as_object_mut().expect("components").remove("responses");
    }
}

fn check_refs(doc: &Value) -> Result<()> {
    let mut refs = Vec::new();
    collect_refs(doc, &mut refs);
    refs.sort();
    refs.dedup();
    for r in refs {
        if !r.starts_with("#/") || pointer(doc, &r).is_none() {
            bail!("unresolved $ref {r} in the merged contract");
        }
    }
    Ok(())
}

/// A `key: null` in an OpenAPI document is almost always a YAML slip (an unquoted `a, b: c`
/// in a flow mapping); only examples and defaults may be null.
fn check_no_nulls(value: &Value, at: &str) -> Result<()> {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let here = format!("{at}/{k}");
                if v.is_null() && !matches!(k.as_str(), "example" | "default") {
                    bail!("{here} is null: a YAML slip? (quote values that contain `, ` or `: `)");
                }
                if k != "example" && k != "examples" && k != "default" {
                    check_no_nulls(v, &here)?;
                }
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                check_no_nulls(v, &format!("{at}/{i}"))?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn check_tags(doc: &Value) -> Result<()> {
    let declared: Vec<&str> =
        doc["tags"].as_array().map(|t| t.iter().filter_map(|t| t["name"].as_str()).collect()).unwrap_or_default();
    for op in operations(doc) {
        if op.tags.len() != 1 {
            bail!("operation {} must have exactly one tag (it selects the handler trait)", op.id);
        }
        if !declared.contains(&op.tags[0].as_str()) {
            bail!("operation {} uses tag {} that merge.yaml does not declare", op.id, op.tags[0]);
        }
    }
    Ok(())
}

pub struct OperationRef<'a> {
    pub path: &'a str,
    pub method: &'a str,
    pub id: &'a str,
    pub tags: Vec<String>,
    pub op: &'a Value,
}

/// Operations in document order.
pub fn operations(doc: &Value) -> impl Iterator<Item = OperationRef<'_>> {
    doc["paths"].as_object().into_iter().flat_map(|paths| {
        paths.iter().flat_map(|(path, item)| {
            item.as_object().into_iter().flat_map(move |item| {
                item.iter().filter(|(m, _)| HTTP_METHODS.contains(&m.as_str())).map(move |(method, op)| OperationRef {
                    path: path.as_str(),
                    method: method.as_str(),
                    id: op["operationId"].as_str().unwrap_or_default(),
                    tags: op["tags"]
                        .as_array()
                        .map(|t| t.iter().filter_map(|t| t.as_str().map(String::from)).collect())
                        .unwrap_or_default(),
                    op,
                })
            })
        })
    })
}
